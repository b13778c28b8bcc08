"""What one forward pass of a transformer showed: its tokens, embeddings, position signal and, for each kind of
attention it has, the queries, keys, values and weights of every layer and head, taken from hooks on the
model's own forward pass. Also the arithmetic of one head worked out from those numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class AttentionBlock:
    """One kind of attention (a model's self-attention, or an encoder-decoder's encoder, decoder or cross-attention)
    over every layer and head of one input. q and k are as the scores use them: rotary positions applied where the
    model uses them, and a key/value head shared by several query heads repeated for each."""

    name: str
    query_tokens: list[str]
    key_tokens: list[str]
    q: torch.Tensor  # (L, H, Tq, d)
    k: torch.Tensor  # (L, H, Tk, d)
    v: torch.Tensor  # (L, H, Tk, d)
    mask: torch.Tensor  # (Tq, Tk) bool, True = may attend
    weights: torch.Tensor  # (L, H, Tq, Tk) the attention weights the model returned
    scale: float  # the factor on q·k, 1/sqrt(d)

    @property
    def layers(self) -> int:
        return self.weights.shape[0]

    @property
    def heads(self) -> int:
        return self.weights.shape[1]

    @property
    def is_self(self) -> bool:
        """Queries and keys come from the same tokens (self-attention, not cross-attention)."""
        return self.query_tokens == self.key_tokens


@dataclass
class PositionSignal:
    """How the model tells positions apart. `kind` "rotary": `values` holds the angle (radians) by which each
    position (rows) turns each pair of q/k dimensions (columns). `kind` "learned": `values` holds the cosine
    similarity of the learned position vectors, position by position. `kind` "sinusoidal": `values` holds the
    original Transformer's fixed table, position by dimension."""

    kind: str
    values: np.ndarray
    explanation: str


@dataclass
class Trace:
    """One input through one model. `embeddings` are the token vectors before any position is added (T, D)
    for the first stream of tokens (the source sentence of a translator)."""

    model_name: str
    architecture: str
    ids: list[int]
    tokens: list[str]
    embeddings: np.ndarray  # (T, D)
    positions: PositionSignal
    blocks: dict[str, AttentionBlock]
    notices: list[str] = field(default_factory=list)
    target_tokens: list[str] = field(default_factory=list)  # a translator's output, fed to its decoder
    residuals: torch.Tensor | None = None  # (L+1, T, D) a decoder's residual stream: embeddings, then each layer
    logits: torch.Tensor | None = None  # (T, V) a decoder's next-token logits at every position


@dataclass
class HeadWorking:
    """One head's attention for one query token, step by step: the scores q·k/sqrt(d) for every key, the mask,
    the softmax, and the weighted sum of the values."""

    query_token: str
    key_tokens: list[str]
    q: np.ndarray  # (d,)
    k: np.ndarray  # (Tk, d)
    scores: np.ndarray  # (Tk,) q·k * scale, before the mask
    allowed: np.ndarray  # (Tk,) bool
    weights: np.ndarray  # (Tk,) the softmax over the allowed keys
    returned: np.ndarray  # (Tk,) what the model itself returned for this row
    output: np.ndarray  # (d,) sum of weights * v
    scale: float


def recomputed_weights(block: AttentionBlock) -> torch.Tensor:
    """Every layer's and head's attention recomputed from the hooked q, k and the mask: softmax(q·kᵀ·scale),
    masked keys getting nothing. (L, H, Tq, Tk); equal to `block.weights` for a faithful trace."""
    scores = block.q @ block.k.transpose(-2, -1) * block.scale  # (L, H, Tq, Tk)
    return scores.masked_fill(~block.mask, float("-inf")).softmax(-1)


def work_head(block: AttentionBlock, layer: int, head: int, query: int) -> HeadWorking:
    """The arithmetic of one head for one query position, from the trace's own q, k, v."""
    q, k, v = block.q[layer, head, query], block.k[layer, head], block.v[layer, head]  # (d,), (Tk, d), (Tk, d)
    scores = k @ q * block.scale  # (Tk,)
    allowed = block.mask[query]
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
    return HeadWorking(
        query_token=block.query_tokens[query],
        key_tokens=block.key_tokens,
        q=q.numpy(),
        k=k.numpy(),
        scores=scores.numpy(),
        allowed=allowed.numpy(),
        weights=weights.numpy(),
        returned=block.weights[layer, head, query].numpy(),
        output=(weights @ v).numpy(),
        scale=block.scale,
    )


def per_head(x: torch.Tensor, head_dim: int) -> torch.Tensor:
    """A projection's output (1, T, H*d) -> (H, T, d)."""
    return x[0].view(x.shape[1], -1, head_dim).transpose(0, 1)


def learned_similarity(table: torch.Tensor, count: int) -> PositionSignal:
    """The cosine similarity of the first `count` learned position vectors (rows of `table`)."""
    vectors = torch.nn.functional.normalize(table[:count].float(), dim=-1)
    return PositionSignal(
        "learned",
        (vectors @ vectors.T).numpy(),
        "Each position has a vector of its own, learned in training and added to the token's vector. Their "
        "cosine similarity: nearby positions learned similar vectors, so the model can tell near from far.",
    )


def sinusoidal_table(count: int, dim: int) -> PositionSignal:
    """The original Transformer's positions (Vaswani et al. 2017): sin and cos of position / 10000^(2i/dim), added to
    the token vectors; fixed, not learned. (count, dim), sines in the even dimensions, cosines in the odd ones."""
    positions = torch.arange(count, dtype=torch.float32)[:, None]  # (P, 1)
    frequencies = 10000 ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # (dim/2,)
    table = torch.zeros(count, dim)
    table[:, 0::2], table[:, 1::2] = (positions * frequencies).sin(), (positions * frequencies).cos()
    return PositionSignal(
        "sinusoidal",
        table.numpy(),
        "For comparison, the original Transformer's positions: a fixed table of sines and cosines of position × "
        "frequency, fast in the first dimensions and slow in the last, added to the token vectors. Nothing learned.",
    )
