"""The project's English->Spanish encoder-decoder transformer opened up (models/translation/transformer.py):
encoder self-attention over the English sentence, masked decoder self-attention over the Spanish prefix, and
cross-attention from each Spanish token to the English ones. The decoder reads the model's own greedy translation
(teacher forcing: one pass over the whole output)."""

from __future__ import annotations

import math

import torch

from models.core.errors import InputError
from models.transformer.opened import MAX_TOKENS, OpenedTransformer
from models.transformer.trace import AttentionBlock, Trace, learned_similarity
from models.translation.transformer import Attention, Seq2SeqTransformer
from models.translation.translator import SubwordTranslator

BLOCK_NAMES = {
    "encoder": "encoder self-attention (bidirectional)",
    "decoder": "decoder self-attention (masked)",
    "cross": "cross-attention (decoder → encoder)",
}


class AttentionRecorder:
    """While active, every `Attention` module of the model is asked for its weights (its explicit-softmax path, the
    same numbers as the fused one) and records its inputs' keys, values and mask, its queries and its weights."""

    def __init__(self, modules: dict[str, list[Attention]]) -> None:
        self.modules = modules
        self.seen: dict[tuple[str, int], dict[str, torch.Tensor]] = {}

    def __enter__(self) -> AttentionRecorder:
        self.handles = []
        for kind, layers in self.modules.items():
            for i, module in enumerate(layers):
                self.handles.append(module.register_forward_pre_hook(self.ask_weights, with_kwargs=True))
                self.handles.append(module.register_forward_hook(self.keep(kind, i), with_kwargs=True))
                self.handles.append(module.query.register_forward_hook(self.keep_query(kind, i)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()

    @staticmethod
    def ask_weights(module: Attention, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        x, k, v, mask = args[:4]  # the layers pass (x, k, v, mask[, need_weights]) by position
        return (x, k, v, mask), {**kwargs, "need_weights": True}

    def keep(self, kind: str, i: int):
        def hook(module: Attention, args: tuple, kwargs: dict, output: tuple) -> None:
            _, k, v, mask = args[:4]
            self.seen.setdefault((kind, i), {}).update(k=k[0], v=v[0], mask=mask, weights=output[1][0])

        return hook

    def keep_query(self, kind: str, i: int):
        def hook(module: torch.nn.Module, args: tuple, output: torch.Tensor) -> None:
            heads = self.modules[kind][i].heads
            q = output[0].view(output.shape[1], heads, -1).transpose(0, 1)  # (H, T, d)
            self.seen.setdefault((kind, i), {})["q"] = q

        return hook


class OpenedTranslator(OpenedTransformer):
    architecture = "encoder-decoder"

    def __init__(self, translator: SubwordTranslator, name: str) -> None:
        self.translator, self.name = translator, name
        self.model: Seq2SeqTransformer = translator.model
        self.vocab_size = self.model.config.vocab
        self.examples = translator.examples[:4]
        self.modules = {
            "encoder": [layer.attention for layer in self.model.encoder],
            "decoder": [layer.self_attention for layer in self.model.decoder],
            "cross": [layer.cross_attention for layer in self.model.decoder],
        }

    def encode(self, text: str) -> list[int]:
        return self.translator.preprocess(text).ids

    def random_ids(self, count: int, seed: int) -> list[int]:
        generator = torch.Generator().manual_seed(seed)
        return torch.randint(10, self.vocab_size, (count,), generator=generator).tolist()

    def repeated(self, length: int, seed: int) -> tuple[Trace, dict[str, int]]:
        """The random run twice through the encoder (then the end token) and twice through the decoder (after the
        start token, so there it starts one place later)."""
        run = self.random_ids(length, seed)
        trace = self.trace_ids([*run, *run, self.translator.eos], target=[self.translator.bos, *run, *run])
        return trace, {"encoder": 0, "decoder": 1, "cross": 0}

    def label(self, token: int) -> str:
        return self.translator.token_label(token)

    def translate_ids(self, source: list[int]) -> list[int]:
        """The greedy translation's tokens (without the end token), up to MAX_TOKENS."""
        with torch.inference_mode():
            state = self.model.start_decoding(torch.tensor([source]))
            output = [self.translator.bos]
            for _ in range(MAX_TOKENS):
                log_probs, _, state = self.model.decode_step(torch.tensor(output[-1:]), state, need_weights=False)
                token = int(log_probs[0].argmax())
                if token == self.translator.eos:
                    break
                output.append(token)
        return output

    def trace_ids(self, ids: list[int], target: list[int] | None = None) -> Trace:
        """The source `ids` through the encoder and `target` (default: the greedy translation, starting with the
        start token) through the decoder."""
        if not ids:
            raise InputError("The sentence gave no tokens to translate.")
        target = self.translate_ids(ids) if target is None else target
        with torch.inference_mode(), AttentionRecorder(self.modules) as recorder:
            source = torch.tensor([ids])
            embedded = self.model.embedding(source)
            self.model(source, torch.tensor([target]))
        labels = {"encoder": [self.label(i) for i in ids], "decoder": [self.label(i) for i in target]}
        blocks = {}
        for kind, name in BLOCK_NAMES.items():
            layers = [recorder.seen[kind, i] for i in range(len(self.modules[kind]))]
            queries = labels["encoder" if kind == "encoder" else "decoder"]
            keys = labels["decoder" if kind == "decoder" else "encoder"]
            stacked = {part: torch.stack([layer[part] for layer in layers]).float() for part in "qkv"}
            mask = layers[0]["mask"].reshape(-1, len(keys)).expand(len(queries), len(keys))  # (Tq, Tk)
            blocks[kind] = AttentionBlock(
                name=name,
                query_tokens=queries,
                key_tokens=keys,
                **stacked,
                mask=mask.bool(),
                weights=torch.stack([layer["weights"] for layer in layers]).float(),
                scale=1 / math.sqrt(stacked["q"].shape[-1]),
            )
        table = self.model.source_positions.weight.detach()
        return Trace(
            model_name=self.name,
            architecture=self.architecture,
            ids=ids,
            tokens=labels["encoder"],
            embeddings=(embedded[0] * math.sqrt(self.model.config.d_model)).float().numpy(),
            positions=learned_similarity(table, max(len(ids), MAX_TOKENS)),
            blocks=blocks,
            target_tokens=labels["decoder"],
        )
