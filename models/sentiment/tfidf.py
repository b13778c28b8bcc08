"""TF-IDF features and logistic regression, the classic statistical baseline; its explanation is each
word's weight times its TF-IDF value.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from models.sentiment.classifier import Explanation, Prediction, SentimentClassifier, words

if TYPE_CHECKING:
    pass


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
