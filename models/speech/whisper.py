"""Whisper as a plain PyTorch module (Radford et al., 2022): a transformer encoder over 30 seconds of
log-mel frames and a transformer decoder that writes text tokens while attending to them.

Sizes are those of tiny.en; `WhisperDims` holds them. Both stacks are pre-norm (x + f(LayerNorm(x))).
The decoder keeps a key/value cache: `decode` takes only the new tokens of each hypothesis and the cache
of the ones before, so a search step costs one token per hypothesis.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class WhisperDims:
    n_mels: int = 80
    n_audio_ctx: int = 1500  # encoder frames: 3000 mel frames, halved by the second convolution
    n_text_ctx: int = 448  # decoder positions
    n_vocab: int = 51864
    width: int = 384
    heads: int = 6
    encoder_layers: int = 4
    decoder_layers: int = 4


class MultiHeadAttention(nn.Module):
    """Attention with separate q, k, v projections (k without a bias, as Whisper has it). Returns the
    output and the attention weights (B, heads, Tq, Tk), which the word timestamps read."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(width, width)
        self.out = nn.Linear(width, width)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        return x.view(b, t, self.heads, c // self.heads).transpose(1, 2)  # (B, heads, T, c/heads)

    def attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # q (B, h, Tq, d), k and v (B, h, Tk, d)
        scores = q @ k.transpose(-1, -2) / q.size(-1) ** 0.5  # (B, h, Tq, Tk)
        if causal and q.size(2) > 1:
            tq, tk = q.size(2), k.size(2)
            future = torch.ones(tq, tk, dtype=torch.bool, device=q.device).triu(tk - tq + 1)
            scores = scores.masked_fill(future, float("-inf"))
        weights = scores.float().softmax(-1).to(q.dtype)
        out = (weights @ v).transpose(1, 2).flatten(2)  # (B, Tq, C)
        return self.out(out), weights


class ResidualBlock(nn.Module):
    """Self-attention, then (decoder only) cross-attention to the audio, then a 4x MLP; each pre-norm."""

    def __init__(self, width: int, heads: int, cross: bool):
        super().__init__()
        self.attn_ln = nn.LayerNorm(width)
        self.attn = MultiHeadAttention(width, heads)
        self.cross_attn_ln = nn.LayerNorm(width) if cross else None
        self.cross_attn = MultiHeadAttention(width, heads) if cross else None
        self.mlp_ln = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder block: x (B, T, C) -> (B, T, C). Nothing reads the encoder's attention weights, so it uses
        torch's fused attention, which never holds the (heads, 1500, 1500) score matrix."""
        attn, h = self.attn, self.attn_ln(x)
        q, k, v = attn.split(attn.query(h)), attn.split(attn.key(h)), attn.split(attn.value(h))  # (B, heads, T, d)
        x = x + attn.out(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2))
        return x + self.mlp(self.mlp_ln(x))


class AudioEncoder(nn.Module):
    def __init__(self, dims: WhisperDims):
        super().__init__()
        self.conv1 = nn.Conv1d(dims.n_mels, dims.width, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(dims.width, dims.width, kernel_size=3, stride=2, padding=1)
        self.register_buffer("positions", torch.zeros(dims.n_audio_ctx, dims.width))
        self.blocks = nn.ModuleList(
            ResidualBlock(dims.width, dims.heads, cross=False) for _ in range(dims.encoder_layers)
        )
        self.ln_post = nn.LayerNorm(dims.width)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, 80, 3000) -> audio features (B, 1500, C)."""
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).transpose(1, 2)  # (B, 1500, C)
        x = x + self.positions[: x.size(1)]
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x)


class TextDecoder(nn.Module):
    def __init__(self, dims: WhisperDims):
        super().__init__()
        self.token_embedding = nn.Embedding(dims.n_vocab, dims.width)
        self.positions = nn.Parameter(torch.zeros(dims.n_text_ctx, dims.width))
        self.blocks = nn.ModuleList(
            ResidualBlock(dims.width, dims.heads, cross=True) for _ in range(dims.decoder_layers)
        )
        self.ln = nn.LayerNorm(dims.width)

    def audio_cache(self, audio: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each layer's cross-attention keys and values of the audio (B, heads, 1500, d): computed once."""
        cache = []
        for block in self.blocks:
            attn = block.cross_attn
            cache.append((attn.split(attn.key(audio)), attn.split(attn.value(audio))))
        return cache

    def forward(
        self,
        tokens: torch.Tensor,
        audio_cache: list[tuple[torch.Tensor, torch.Tensor]],
        self_cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]], list[torch.Tensor]]:
        """tokens (B, t) following the `self_cache` positions -> (logits (B, t, V), the extended self-attention
        cache, each layer's cross-attention weights (B, heads, t, 1500))."""
        offset = 0 if self_cache is None else self_cache[0][0].size(2)
        x = self.token_embedding(tokens) + self.positions[offset : offset + tokens.size(1)]
        new_cache, cross_weights = [], []
        for i, block in enumerate(self.blocks):
            attn, h = block.attn, block.attn_ln(x)
            q, k, v = attn.split(attn.query(h)), attn.split(attn.key(h)), attn.split(attn.value(h))
            if self_cache is not None:
                k, v = torch.cat([self_cache[i][0], k], 2), torch.cat([self_cache[i][1], v], 2)
            new_cache.append((k, v))
            x = x + attn.attend(q, k, v, causal=True)[0]
            cross, h = block.cross_attn, block.cross_attn_ln(x)
            out, weights = cross.attend(cross.split(cross.query(h)), *audio_cache[i], causal=False)
            x = x + out
            cross_weights.append(weights)
            x = x + block.mlp(block.mlp_ln(x))
        logits = self.ln(x) @ self.token_embedding.weight.T  # (B, t, V): the output layer is the embedding
        return logits, new_cache, cross_weights


class Whisper(nn.Module):
    def __init__(self, dims: WhisperDims = WhisperDims()):
        super().__init__()
        self.dims = dims
        self.encoder = AudioEncoder(dims)
        self.decoder = TextDecoder(dims)
