"""The interface every sentiment classifier offers: `predict(texts)` -> a `Prediction` (probabilities over
its labels) and `explain(text)` -> an `Explanation` (the tokens it saw, each with its push toward
positive); occlusion, the explanation any classifier can give; the tricky sentences of the comparison.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from models.sentiment.data import LABELS

if TYPE_CHECKING:
    pass


_WORD = re.compile(r"\w+(?=n't)|n't|'\w+|\w+|[^\w\s]")


def words(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens; the TF-IDF model and the BiLSTM both read these."""
    return _WORD.findall(text.lower().replace("’", "'").replace("‘", "'"))


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


def to_log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def occlusion(classifier: SentimentClassifier, tokens: list[str], join: str = " ") -> list[float]:
    """Push of each token: how much the log-odds of "positive" drop when that token is deleted.
    All the shortened texts go through the model as one batch."""
    variants = [join.join(tokens)] + [join.join(tokens[:i] + tokens[i + 1 :]) for i in range(len(tokens))]
    log_odds = to_log_odds(classifier.predict(variants).positive_prob())
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
