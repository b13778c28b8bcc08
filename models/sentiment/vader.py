"""VADER, the rule-based baseline: a hand-made lexicon of word valences with rules for negation, degree
words, "but" and punctuation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from models.sentiment.classifier import Explanation, Prediction, SentimentClassifier

if TYPE_CHECKING:
    pass


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
