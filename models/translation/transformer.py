"""A small encoder-decoder transformer for subword translation, in plain PyTorch.

Pre-norm layers, learned positions, one embedding table shared by encoder, decoder and output
(the subword vocabulary is joint English-Spanish). Decoding is incremental: each step feeds only the
newest token and keeps every layer's self-attention keys and values in a cache, so a beam search step
costs one token per hypothesis rather than the whole prefix.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class TransformerConfig:
    vocab: int = 4000
    d_model: int = 192
    heads: int = 4
    encoder_layers: int = 3
    decoder_layers: int = 3
    ffn: int = 768
    max_len: int = 160
    dropout: float = 0.1
    pad_id: int = 0


class Attention(nn.Module):
    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.heads = c.heads
        self.query = nn.Linear(c.d_model, c.d_model)
        self.key_value = nn.Linear(c.d_model, 2 * c.d_model)
        self.out = nn.Linear(c.d_model, c.d_model)
        self.dropout = c.dropout

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, H, T, D/H)"""
        return x.view(x.size(0), x.size(1), self.heads, -1).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.key_value(x).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    def forward(
        self,
        x: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D) attends to k, v (B, H, S, D/H); mask (B or 1, 1, T or 1, S) True = may attend.
        -> (B, T, D) and, if asked, the weights (B, H, T, S)."""
        q = self.split(self.query(x))  # (B, H, T, D/H)
        if need_weights:  # explicit softmax: the page shows the weights
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, T, S)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = scores.softmax(-1)
            y = weights @ v
        else:
            dropout = self.dropout if self.training else 0.0
            y, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout), None
        y = y.transpose(1, 2).reshape(x.size(0), x.size(1), -1)  # (B, T, D)
        return self.out(y), weights


class FeedForward(nn.Sequential):
    def __init__(self, c: TransformerConfig) -> None:
        super().__init__(nn.Linear(c.d_model, c.ffn), nn.GELU(), nn.Linear(c.ffn, c.d_model), nn.Dropout(c.dropout))


class EncoderLayer(nn.Module):
    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.attention = Attention(c)
        self.ffn = FeedForward(c)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.drop(self.attention(h, *self.attention.keys_values(h), mask)[0])
        return x + self.ffn(self.norm2(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(c.d_model) for _ in range(3))
        self.self_attention = Attention(c)
        self.cross_attention = Attention(c)
        self.ffn = FeedForward(c)
        self.drop = nn.Dropout(c.dropout)

    def forward(
        self,
        x: torch.Tensor,
        self_kv: tuple[torch.Tensor, torch.Tensor],
        self_mask: torch.Tensor | None,
        cross_kv: tuple[torch.Tensor, torch.Tensor],
        cross_mask: torch.Tensor,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D); self_kv: keys/values of the target prefix, x's own included. -> (B, T, D), cross weights."""
        x = x + self.drop(self.self_attention(self.norm1(x), *self_kv, self_mask)[0])
        attended, weights = self.cross_attention(self.norm2(x), *cross_kv, cross_mask, need_weights)
        x = x + self.drop(attended)
        return x + self.ffn(self.norm3(x)), weights


class Seq2SeqTransformer(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab, c.d_model, padding_idx=c.pad_id)
        self.source_positions = nn.Embedding(c.max_len, c.d_model)
        self.target_positions = nn.Embedding(c.max_len, c.d_model)
        self.encoder = nn.ModuleList(EncoderLayer(c) for _ in range(c.encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(c) for _ in range(c.decoder_layers))
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def embed(self, tokens: torch.Tensor, positions: nn.Embedding, offset: int = 0) -> torch.Tensor:
        steps = torch.arange(offset, offset + tokens.size(1), device=tokens.device)
        # Scaled up so the shared embedding (also the output layer, hence small) outweighs the positions.
        return self.drop(self.embedding(tokens) * math.sqrt(self.config.d_model) + positions(steps))

    def encode(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """source (B, S) -> memory (B, S, D) and its mask (B, 1, 1, S)."""
        mask = (source != self.config.pad_id)[:, None, None, :]
        x = self.embed(source, self.source_positions)
        for layer in self.encoder:
            x = layer(x, mask)
        return self.encoder_norm(x), mask

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.decoder_norm(x), self.embedding.weight)  # (B, T, V); no transposed copy

    def forward(self, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: source (B, S), target_in (B, T) -> logits (B, T, V)."""
        memory, memory_mask = self.encode(source)
        t = target_in.size(1)
        causal = torch.ones(t, t, dtype=torch.bool, device=source.device).tril()[None, None]  # (1, 1, T, T)
        x = self.embed(target_in, self.target_positions)
        for layer in self.decoder:
            h = layer.norm1(x)
            x, _ = layer(
                x, layer.self_attention.keys_values(h), causal, layer.cross_attention.keys_values(memory), memory_mask
            )
        return self.logits(x)

    def start_decoding(self, source: torch.Tensor) -> dict:
        """The decoding state for `source` (B, S): cross-attention keys/values and empty self-attention caches."""
        memory, memory_mask = self.encode(source)
        return {
            "cross": [layer.cross_attention.keys_values(memory) for layer in self.decoder],
            "mask": memory_mask,
            "cache": [None] * len(self.decoder),
        }

    def decode_step(
        self, tokens: torch.Tensor, state: dict, need_weights: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
        """tokens (B,) the newest token of each hypothesis -> log-probs (B, V), cross-attention
        (B, layers, heads, S) or None without `need_weights`, and the state with the caches grown by one."""
        offset = 0 if state["cache"][0] is None else state["cache"][0][0].size(2)
        x = self.embed(tokens[:, None], self.target_positions, offset)  # (B, 1, D)
        caches, weights = [], []
        for layer, cache, cross in zip(self.decoder, state["cache"], state["cross"], strict=True):
            k, v = layer.self_attention.keys_values(layer.norm1(x))  # (B, H, 1, D/H)
            if cache is not None:
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            caches.append((k, v))
            x, w = layer(x, (k, v), None, cross, state["mask"], need_weights)
            if w is not None:
                weights.append(w[:, :, 0])  # (B, H, S)
        log_probs = self.logits(x)[:, 0].float().log_softmax(-1)
        return log_probs, torch.stack(weights, dim=1) if weights else None, {**state, "cache": caches}
