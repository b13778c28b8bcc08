"""The sentiment models the registry offers (VADER, TF-IDF, the BiLSTM, MiniLM) with their cards' metrics,
and the wrapper that turns what the registry loaded into a `SentimentClassifier`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from models.core.errors import ModelLoadError
from models.core.specs import ModelSpec
from models.sentiment.bilstm import BiLSTMClassifier
from models.sentiment.classifier import SentimentClassifier
from models.sentiment.minilm import TransformerClassifier, load_minilm
from models.sentiment.tfidf import load_tfidf
from models.sentiment.vader import load_vader

if TYPE_CHECKING:
    pass


def as_classifier(loaded: Any, name: str = "the model") -> SentimentClassifier:
    """Our classifiers as they are; a user's transformers model (loaders.HFModel) wrapped."""
    from models.core.loaders import HFModel

    if isinstance(loaded, SentimentClassifier):
        return loaded
    if isinstance(loaded, HFModel):
        return loaded.wrapper(
            "text-classifier", lambda: TransformerClassifier(loaded.model, loaded.preprocessor, loaded.device)
        )
    raise ModelLoadError(f"{name} ({type(loaded).__name__}) is not a text classifier this page can use.")


def card_metrics(markdown: str) -> dict[str, float]:
    """Numbers from a model card's metrics table: rows like `| test accuracy | 0.812 |`."""
    found = {}
    for name, value in re.findall(r"^\|\s*([^|]+?)\s*\|\s*([0-9][0-9,.]*)\s*\|", markdown, flags=re.M):
        found[name.lower()] = float(value.replace(",", ""))
    return found


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
        loader=BiLSTMClassifier.load,
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
WRAPPERS = {"text-classification": as_classifier}
