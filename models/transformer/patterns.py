"""What the heads do: a score per layer and head for four known attention patterns.

- previous-token: the mean weight each token gives the token just before it;
- first-token ("attention sink"): the mean weight on the first token, where heads park attention they do not need;
- broad: how evenly a head spreads its weight (row entropy over the allowed keys, 1 = uniform);
- induction: on a random token sequence repeated twice, the weight from each token of the second copy to the token
  that followed the same token in the first copy ("last time after A came B, so look at B"). Chance is one over the
  number of keys a row may see; trained language models have heads far above it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models.core.paths import REPO_ROOT
from models.transformer.opened import OpenedTransformer
from models.transformer.trace import AttentionBlock

REPEATED_LENGTH = 20  # random tokens per copy: 2 copies fit within MAX_TOKENS with the special tokens
SEED = 0
FINDINGS = REPO_ROOT / "assets" / "transformer" / "findings.md"  # the shipped models' heads, measured with this module


@dataclass
class HeadPatterns:
    """Scores (L, H) for one attention block, from one input (`tokens`)."""

    block: str
    previous_token: np.ndarray | None  # None, like induction, for cross-attention
    first_token: np.ndarray
    broad: np.ndarray
    induction: np.ndarray | None  # None for cross-attention (queries and keys are different sentences)
    induction_chance: float

    def best(self, pattern: str, count: int = 3) -> list[tuple[int, int, float]]:
        """The `count` highest-scoring heads for `pattern`: (layer, head, score)."""
        scores = getattr(self, pattern)
        order = np.argsort(scores, axis=None)[::-1][:count]
        return [(int(i // scores.shape[1]), int(i % scores.shape[1]), float(scores.flat[i])) for i in order]


def position_scores(block: AttentionBlock) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Previous-token (None for cross-attention), first-token and broad scores (each (L, H)), over every row but
    the first (which in a causal model can only see itself)."""
    weights = block.weights[:, :, 1:]  # (L, H, Tq-1, Tk)
    rows = torch.arange(1, block.weights.shape[2])
    previous = block.weights[:, :, rows, rows - 1].mean(-1).numpy() if block.is_self else None
    first = weights[..., 0].mean(-1)
    allowed = block.mask[1:].sum(-1).clamp(min=2)  # (Tq-1,)
    entropy = -(weights * weights.clamp(min=1e-12).log()).sum(-1)  # (L, H, Tq-1)
    broad = (entropy / allowed.log()).mean(-1)
    return previous, first.numpy(), broad.numpy()


def induction_scores(block: AttentionBlock, start: int, length: int) -> tuple[np.ndarray, float]:
    """On a block whose tokens hold a random run of `length` tokens at `start`, repeated right after it: the mean
    weight from each token of the second copy (but its last) to the token after its first occurrence, (L, H);
    and that weight's value under uniform attention."""
    queries = torch.arange(start + length, start + 2 * length - 1)
    targets = queries - length + 1
    scores = block.weights[:, :, queries, targets].mean(-1)
    chance = float((1 / block.mask[queries].sum(-1).float()).mean())
    return scores.numpy(), chance


def head_patterns(model: OpenedTransformer, length: int = REPEATED_LENGTH, seed: int = SEED) -> list[HeadPatterns]:
    """Every attention block's scores, on the model's repeated random sequence (`OpenedTransformer.repeated`)."""
    trace, starts = model.repeated(length, seed)
    found = []
    for key, block in trace.blocks.items():
        previous, first, broad = position_scores(block)
        induction, chance = induction_scores(block, starts[key], length) if block.is_self else (None, float("nan"))
        found.append(HeadPatterns(block.name, previous, first, broad, induction, chance))
    return found


def findings_markdown() -> str:
    """The card of what the shipped models' heads do."""
    return FINDINGS.read_text(encoding="utf-8")
