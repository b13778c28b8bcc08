"""The interface every opened transformer offers the page: text in, a `Trace` out (and the same for token ids,
which the head-pattern detectors feed with repeated random tokens). The text limits live here, so that every
view, and every attention tensor kept, stays small."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from models.core.errors import InputError
from models.core.text import TextPolicy, prepare_text
from models.transformer.trace import Trace

MAX_CHARS = 300
MAX_TOKENS = 48  # attention is kept for every layer and head: (L, H, T, T) stays a few MB
TEXT_POLICY = TextPolicy(MAX_CHARS, "Type a sentence to look inside the model: the text box is empty.")


class OpenedTransformer(ABC):
    """A transformer with hooks on its forward pass. `architecture` is one of "decoder-only",
    "encoder-only", "encoder-decoder"."""

    name: str
    architecture: str
    vocab_size: int
    examples: tuple[str, ...]

    def trace(self, text: str) -> Trace:
        """`text` (cut to MAX_CHARS, its tokens to MAX_TOKENS, with notices) through the model."""
        prepared = prepare_text(text, TEXT_POLICY)
        ids = self.encode(prepared.text)
        notices = list(prepared.notices)
        if len(ids) > MAX_TOKENS:
            notices.append(f"The text is {len(ids)} tokens long; this page looks at the first {MAX_TOKENS}.")
            ids = ids[:MAX_TOKENS]
        if not ids:
            raise InputError("The text gave no tokens to look at.")
        trace = self.trace_ids(ids)
        trace.notices = notices + trace.notices
        return trace

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """The token ids the model reads for `text`, special tokens included."""

    @abstractmethod
    def trace_ids(self, ids: list[int]) -> Trace:
        """The forward pass on these ids, with every attention block recorded."""

    def repeated(self, length: int, seed: int) -> tuple[Trace, dict[str, int]]:
        """The trace of `length` random tokens written twice in a row, and where the first copy starts in each
        attention block's queries (by block key)."""
        run = self.random_ids(length, seed)
        ids, start = self.framed(run + run)
        trace = self.trace_ids(ids)
        return trace, dict.fromkeys(trace.blocks, start)

    def framed(self, ids: list[int]) -> tuple[list[int], int]:
        """`ids` with the special tokens the model expects around a text, and where `ids` start in it."""
        return ids, 0

    @abstractmethod
    def random_ids(self, count: int, seed: int) -> list[int]:
        """`count` ordinary tokens drawn at random (no special tokens), for the induction test; the model's
        own start tokens are added by `trace_ids` where it needs them."""


class OpenedHFTransformer(OpenedTransformer):
    """An opened transformers model: its tokenizer encodes texts and draws the random tokens."""

    tokenizer: Any

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text).input_ids

    def random_ids(self, count: int, seed: int) -> list[int]:
        special = set(self.tokenizer.all_special_ids)
        generator = torch.Generator().manual_seed(seed)
        ids = torch.randint(1000, self.vocab_size, (count * 2,), generator=generator).tolist()
        return [i for i in ids if i not in special][:count]
