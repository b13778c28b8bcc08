"""Decoder-only causal LMs opened up: SmolLM2-135M, or any transformers model of the same Llama-style layout
(`model.layers[i].self_attn.{q,k,v,o}_proj`, a rotary embedding, a final norm, `lm_head`). Causal self-attention
with rotary positions; queries share key/value heads (grouped-query attention)."""

from __future__ import annotations

import sys
from typing import Any

import torch

from models.core.errors import ModelLoadError
from models.transformer.hooks import recording
from models.transformer.opened import OpenedHFTransformer
from models.transformer.trace import AttentionBlock, PositionSignal, Trace, per_head


def token_labels(tokenizer: Any, ids: list[int]) -> list[str]:
    """Each token as text, spaces and line breaks made visible."""
    return [tokenizer.decode([i]).replace(" ", "·").replace("\n", "↵") or "∅" for i in ids]


class OpenedDecoder(OpenedHFTransformer):
    architecture = "decoder-only"
    examples = (
        "The cat sat on the mat. The dog sat on the",
        "Paris is the capital of France, and Madrid is the capital of",
        "When Mary and John went to the store, John gave a drink to",
        "1, 2, 3, 4, 5, 6,",
    )

    def __init__(self, model: Any, tokenizer: Any, name: str) -> None:
        inner = getattr(model, "model", None)
        if inner is None or not hasattr(inner, "rotary_emb") or not hasattr(inner, "layers"):
            raise ModelLoadError(f"{name} is not a Llama-style causal LM this page can open.")
        self.model, self.tokenizer, self.name = model.eval(), tokenizer, name
        self.layers = inner.layers
        self.vocab_size = model.config.vocab_size
        attention = self.layers[0].self_attn
        self.head_dim = attention.head_dim
        self.groups = attention.num_key_value_groups
        # The model's own rotary function, from the module that defines its attention.
        self.apply_rotary = sys.modules[type(attention).__module__].apply_rotary_pos_emb

    def labels(self, ids: list[int]) -> list[str]:
        return token_labels(self.tokenizer, ids)

    def rotary(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The rotary cos and sin tables for positions 0..count-1, each (1, count, d)."""
        positions = torch.arange(count)[None]
        probe = torch.zeros(1, dtype=next(self.model.parameters()).dtype)
        return self.model.model.rotary_emb(probe, positions)

    def trace_ids(self, ids: list[int]) -> Trace:
        modules: dict[Any, torch.nn.Module] = {"embedding": self.model.model.embed_tokens}
        for i, layer in enumerate(self.layers):
            modules |= {(i, "q"): layer.self_attn.q_proj, (i, "k"): layer.self_attn.k_proj}
            modules |= {(i, "v"): layer.self_attn.v_proj, (i, "residual"): layer}
        with torch.inference_mode(), recording(modules) as seen:
            out = self.model(input_ids=torch.tensor([ids]), output_attentions=True, use_cache=False)
        t = len(ids)
        cos, sin = self.rotary(t)
        qs, ks, vs = [], [], []
        for i in range(len(self.layers)):
            q = per_head(seen[i, "q"], self.head_dim)[None]  # (1, H, T, d)
            k = per_head(seen[i, "k"], self.head_dim)[None]  # (1, H_kv, T, d)
            q, k = self.apply_rotary(q, k, cos, sin)
            qs.append(q[0])
            ks.append(k[0].repeat_interleave(self.groups, dim=0))  # each key/value head serves `groups` queries
            vs.append(per_head(seen[i, "v"], self.head_dim).repeat_interleave(self.groups, dim=0))
        labels = self.labels(ids)
        block = AttentionBlock(
            name="self-attention (causal)",
            query_tokens=labels,
            key_tokens=labels,
            q=torch.stack(qs).float(),
            k=torch.stack(ks).float(),
            v=torch.stack(vs).float(),
            mask=torch.ones(t, t, dtype=torch.bool).tril(),
            weights=torch.cat(out.attentions).float(),  # L x (1, H, T, T)
            scale=self.layers[0].self_attn.scaling,
        )
        inv_freq = self.model.model.rotary_emb.inv_freq.float()  # (d/2,)
        angles = torch.arange(t, dtype=torch.float32)[:, None] * inv_freq[None]  # (T, d/2)
        positions = PositionSignal(
            "rotary",
            angles.numpy(),
            "Nothing is added to the token vectors. Instead, in every layer each pair of q and k dimensions is "
            "turned by an angle of position × frequency; the first pairs turn fast, the last ones barely. "
            "After turning, q·k depends on how far apart the two tokens are, not where they stand.",
        )
        residuals = [seen["embedding"]] + [seen[i, "residual"] for i in range(len(self.layers))]
        return Trace(
            model_name=self.name,
            architecture=self.architecture,
            ids=ids,
            tokens=labels,
            embeddings=seen["embedding"][0].float().numpy(),
            positions=positions,
            blocks={"self": block},
            residuals=torch.cat(residuals).float(),  # (L+1, T, D)
            logits=out.logits[0].float(),  # (T, V)
        )

    def read_out(self, residual: torch.Tensor) -> torch.Tensor:
        """The residual stream (..., D) read as next-token logits (..., V): the final norm, then the unembedding."""
        with torch.inference_mode():
            return self.model.lm_head(self.model.model.norm(residual)).float()
