"""Encoder-only models opened up: MiniLM-L6 (a 6-layer BERT, the sentiment page's fine-tuned one), or any
transformers BERT-style sequence classifier. Bidirectional self-attention: every token sees every other; learned
position vectors are added to the token vectors before the first layer."""

from __future__ import annotations

from typing import Any

import torch

from models.core.errors import ModelLoadError
from models.transformer.hooks import recording
from models.transformer.opened import MAX_TOKENS, OpenedHFTransformer
from models.transformer.trace import AttentionBlock, Trace, learned_similarity, per_head


class OpenedEncoder(OpenedHFTransformer):
    architecture = "encoder-only"
    examples = (
        "I sat by the bank of the river and watched the water.",
        "Not bad at all: the cast is great, even if the plot is a bit of a mess.",
        "The keys to the cabinet are on the table.",
    )

    def __init__(self, model: Any, tokenizer: Any, name: str) -> None:
        self.bert = getattr(model, "bert", None)
        if self.bert is None:
            raise ModelLoadError(f"{name} is not a BERT-style encoder this page can open.")
        self.model, self.tokenizer, self.name = model.eval(), tokenizer, name
        self.layers = self.bert.encoder.layer
        self.vocab_size = model.config.vocab_size
        self.head_dim = self.layers[0].attention.self.attention_head_size

    def framed(self, ids: list[int]) -> tuple[list[int], int]:
        return [self.tokenizer.cls_token_id, *ids, self.tokenizer.sep_token_id], 1

    def trace_ids(self, ids: list[int]) -> Trace:
        modules: dict[Any, torch.nn.Module] = {"embedding": self.bert.embeddings.word_embeddings}
        for i, layer in enumerate(self.layers):
            attention = layer.attention.self
            modules |= {(i, "q"): attention.query, (i, "k"): attention.key, (i, "v"): attention.value}
        with torch.inference_mode(), recording(modules) as seen:
            out = self.model(input_ids=torch.tensor([ids]), output_attentions=True)
        labels = self.tokenizer.convert_ids_to_tokens(ids)
        t = len(ids)
        stacked = {
            part: torch.stack([per_head(seen[i, part], self.head_dim) for i in range(len(self.layers))]).float()
            for part in "qkv"
        }  # each (L, H, T, d)
        block = AttentionBlock(
            name="self-attention (bidirectional)",
            query_tokens=labels,
            key_tokens=labels,
            **stacked,
            mask=torch.ones(t, t, dtype=torch.bool),
            weights=torch.cat(out.attentions).float(),
            scale=self.layers[0].attention.self.scaling,
        )
        table = self.bert.embeddings.position_embeddings.weight.detach()
        return Trace(
            model_name=self.name,
            architecture=self.architecture,
            ids=ids,
            tokens=labels,
            embeddings=seen["embedding"][0].float().numpy(),
            positions=learned_similarity(table, max(t, MAX_TOKENS)),
            blocks={"self": block},
        )
