"""Verdicts as the page draws them: an emoji per confidence band, words shaded by their push."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from models.core import display
from models.sentiment.classifier import Explanation

if TYPE_CHECKING:
    pass


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
