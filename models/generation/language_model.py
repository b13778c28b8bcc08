"""The one interface both kinds of language model offer to the generation loop: encode a prompt, start
and advance a batch of states, decode ids, and say which token stops.
"""

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import torch

from models.core.text import without_surrogates


class LanguageModel(ABC):
    """What the generation loop needs from a model: ids in, next-token logits and a state out."""

    name: str
    unit: str  # "character" or "token"
    max_new_tokens: int
    supports_chat: bool = False
    partial_tokens: bool = False  # a token can be part of a character (byte-level BPE)

    @abstractmethod
    def encode(self, prompt: str, chat: bool = False) -> list[int]:
        """Prompt -> ids the model starts from (never empty); InputError when it cannot be used."""

    @abstractmethod
    def start(self, ids: list[int]) -> tuple[torch.Tensor, Any]:
        """Run the prompt alone; return the logits for the next token (V,) and its state (a batch of one)."""

    @abstractmethod
    def join(self, states: list[Any]) -> Any:
        """Several batches' states -> one batched state, rows in order (streams join a running batch)."""

    @abstractmethod
    def keep(self, state: Any, rows: list[int]) -> Any:
        """The batched state with only `rows` (finished and abandoned streams leave the batch)."""

    @abstractmethod
    def advance(self, token_ids: list[int], state: Any) -> tuple[torch.Tensor, Any]:
        """Feed one token per row; return the next logits (B, V) and the new state."""

    @abstractmethod
    def decode(self, ids: list[int]) -> str:
        """Generated ids -> text."""

    @abstractmethod
    def label(self, token_id: int) -> str:
        """One token as shown in a chart (whitespace made visible)."""

    def stream_generation(self, prompt: str, decoding: Any, chat: bool) -> Iterator[Any] | None:
        """The steps of a generation made somewhere else, or None: `generate` makes them here. A model
        served by Ray Serve answers with its replica's stream (`serving.client.RemoteModel`)."""
        return None

    @abstractmethod
    def is_stop(self, token_id: int) -> bool:
        """Whether choosing this token ends the text."""


def visible(text: str) -> str:
    return text.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥") or "∅"


def normalise_text(text: str) -> str:
    """NFC and Unix newlines, so that 'é' typed two ways or a pasted CRLF is one known character. Lone
    surrogates (invalid Unicode, which the Rust tokenizers reject with a TypeError) become U+FFFD."""
    text = without_surrogates(text)
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
