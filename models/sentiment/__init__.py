"""Sentiment analysis, from word lists to transformers, behind one interface.

Every classifier answers two questions (`classifier.py`):
- `predict(texts)`: probabilities over its labels for a batch of texts (a `Prediction`);
- `explain(text)`: the tokens it actually saw, each with its push toward positive (an `Explanation`).

The four defaults, a file each: VADER (`vader.py`, a hand-made lexicon with rules), TF-IDF + logistic
regression (`tfidf.py`), a BiLSTM over GloVe (`bilstm.py`) and MiniLM-L6 fine-tuned by the project
(`minilm.py`, which also wraps any transformers sequence classifier a user adds). `catalog.py` lists them
for the registry (`as_classifier` wraps what it loaded); `data.py` is the Rotten Tomatoes data and its
fixed split; `inputs.py` what the page accepts (one text, a CSV column, pasted lines); `plots.py` the
verdicts and shaded words. The names below are the package's public face.
"""

from models.sentiment.bilstm import BiLSTMClassifier
from models.sentiment.catalog import MODELS, WRAPPERS, as_classifier, card_metrics
from models.sentiment.classifier import (
    TRICKY_EXAMPLES,
    Explanation,
    Prediction,
    SentimentClassifier,
    occlusion,
    words,
)
from models.sentiment.data import (
    LABELS,
    SENTIMENT_ASSETS,
    SPLIT_FILE,
    SPLIT_SEED,
    load_corpus,
    load_split,
    make_split,
    split_frame,
)
from models.sentiment.inputs import (
    MAX_CHARS,
    MAX_ROWS,
    column_texts,
    pasted_lines,
    predict_in_chunks,
    prepare_text,
    read_table,
    text_columns,
)
from models.sentiment.minilm import (
    TRANSFORMER_MAX_TOKENS,
    TransformerClassifier,
    build_minilm,
    load_minilm,
    minilm_base_dir,
)
from models.sentiment.plots import shaded_html, verdict_emoji
from models.sentiment.tfidf import TfidfClassifier
from models.sentiment.vader import VaderClassifier

__all__ = [
    "LABELS",
    "MAX_CHARS",
    "MAX_ROWS",
    "MODELS",
    "SENTIMENT_ASSETS",
    "SPLIT_FILE",
    "SPLIT_SEED",
    "TRANSFORMER_MAX_TOKENS",
    "TRICKY_EXAMPLES",
    "WRAPPERS",
    "BiLSTMClassifier",
    "Explanation",
    "Prediction",
    "SentimentClassifier",
    "TfidfClassifier",
    "TransformerClassifier",
    "VaderClassifier",
    "as_classifier",
    "build_minilm",
    "card_metrics",
    "column_texts",
    "load_corpus",
    "load_minilm",
    "load_split",
    "make_split",
    "minilm_base_dir",
    "occlusion",
    "pasted_lines",
    "predict_in_chunks",
    "prepare_text",
    "read_table",
    "shaded_html",
    "split_frame",
    "text_columns",
    "verdict_emoji",
    "words",
]
