"""Character-level language models the project trains (`training/generation_charlm.py`): a vanilla
RNN, LSTM or GRU over characters, its vocabulary, and the `LanguageModel` that steps it one character at
a time with one cell per layer.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from models.core.device import half_dtype, upload
from models.core.errors import InputError, ModelLoadError
from models.generation.language_model import LanguageModel, normalise_text, visible

ASSETS_DIR = "assets/generation"
CELLS = ("rnn", "lstm", "gru")
CORPORA = {"hamlet": "Hamlet", "names": "Names"}
CELL_NAMES = {"rnn": "vanilla RNN", "lstm": "LSTM", "gru": "GRU"}
MAX_NEW_CHARS = 2000  # bound for character models


@dataclass(frozen=True)
class CharLMConfig:
    vocab_size: int
    cell: str = "lstm"  # one of CELLS
    embed_dim: int = 48
    hidden_dim: int = 256
    num_layers: int = 1


class CharLM(nn.Module):
    """Embedding -> recurrent cell (RNN, LSTM or GRU) -> linear head over the characters."""

    def __init__(self, config: CharLMConfig):
        super().__init__()
        if config.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, not {config.cell!r}")
        self.config = config
        recurrent = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[config.cell]
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.rnn = recurrent(config.embed_dim, config.hidden_dim, num_layers=config.num_layers, batch_first=True)
        self.head = nn.Linear(config.hidden_dim, config.vocab_size)

    def forward(self, ids: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        x = self.embed(ids)  # (B, T) -> (B, T, E)
        out, state = self.rnn(x, state)  # (B, T, H); state: (L, B, H), or a pair of them for the LSTM
        return self.head(out), state  # logits (B, T, V)


@dataclass(frozen=True)
class CharVocab:
    """Characters of a corpus. Index 0 is the boundary symbol: it starts every document (so an empty
    prompt has something to start from) and, for corpora of short items like names, ends one."""

    chars: tuple[str, ...]  # index i + 1 -> chars[i]
    stop_at_boundary: bool
    BOUNDARY = 0

    @property
    def size(self) -> int:
        return len(self.chars) + 1

    def encode(self, text: str) -> list[int]:
        index = {c: i + 1 for i, c in enumerate(self.chars)}
        unknown = sorted({c for c in text if c not in index})
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:12])
            raise InputError(
                f"This model never saw {len(unknown)} of the characters in the prompt: {shown}. "
                f"It knows only these {len(self.chars)}: {''.join(c for c in self.chars if c.isprintable())}"
            )
        return [index[c] for c in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i - 1] if i != self.BOUNDARY else "\n" for i in ids)

    def to_json(self) -> dict[str, Any]:
        return {"chars": list(self.chars), "boundary": self.BOUNDARY, "stop_at_boundary": self.stop_at_boundary}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CharVocab":
        return cls(chars=tuple(data["chars"]), stop_at_boundary=bool(data["stop_at_boundary"]))


def char_lm_path(corpus: str, cell: str) -> str:
    return f"{ASSETS_DIR}/charlm-{corpus}-{cell}.safetensors"


class CharLanguageModel(LanguageModel):
    """A trained `CharLM` with its vocabulary and the metrics recorded at training time."""

    unit = "character"
    max_new_tokens = MAX_NEW_CHARS

    def __init__(self, model: CharLM, vocab: CharVocab, metadata: dict[str, str], device: torch.device):
        dtype = half_dtype(device)
        self.model, self.vocab, self.device = model.to(device, dtype).eval(), vocab, device
        self.corpus, self.cell = metadata.get("corpus", "?"), model.config.cell
        self.cells = step_cells(self.model.rnn, self.cell).to(device, dtype).eval()
        self.val_loss = float(metadata.get("val_loss", "nan"))
        self.name = f"{CELL_NAMES[self.cell]} · {CORPORA.get(self.corpus, self.corpus)}"

    @property
    def perplexity(self) -> float:
        return math.exp(self.val_loss)

    def encode(self, prompt: str, chat: bool = False) -> list[int]:
        return [CharVocab.BOUNDARY, *self.vocab.encode(normalise_text(prompt))]

    def start(self, ids: list[int]) -> tuple[torch.Tensor, Any]:
        logits, state = self.model(torch.tensor([ids], device=self.device))
        return logits[0, -1], state

    def join(self, states: list[Any]) -> Any:
        # The recurrent state is (L, B, H), or an (h, c) pair of them for the LSTM: rows stack on dim 1.
        if self.cell == "lstm":
            return tuple(torch.cat(parts, dim=1) for parts in zip(*states, strict=True))
        return torch.cat(states, dim=1)

    def keep(self, state: Any, rows: list[int]) -> Any:
        index = upload(rows, self.device)
        if self.cell == "lstm":
            return tuple(part.index_select(1, index) for part in state)
        return state.index_select(1, index)

    def advance(self, token_ids: list[int], state: Any) -> tuple[torch.Tensor, Any]:
        # One character per row through the per-layer cells; the state keeps nn.RNN's (L, B, H) layout.
        x = self.model.embed(upload(token_ids, self.device))  # (B, E)
        hidden, memory = [], []
        for layer, cell in enumerate(self.cells):
            if self.cell == "lstm":
                x, c = cell(x, (state[0][layer], state[1][layer]))  # (B, H) each
                memory.append(c)
            else:
                x = cell(x, state[layer])  # (B, H)
            hidden.append(x)
        state = (torch.stack(hidden), torch.stack(memory)) if self.cell == "lstm" else torch.stack(hidden)
        return self.model.head(x), state  # (B, V)

    def decode(self, ids: list[int]) -> str:
        return self.vocab.decode(ids)

    def label(self, token_id: int) -> str:
        if token_id == CharVocab.BOUNDARY:
            return "⟨end⟩" if self.vocab.stop_at_boundary else "⟨new speech⟩"
        return visible(self.vocab.chars[token_id - 1])

    def is_stop(self, token_id: int) -> bool:
        return self.vocab.stop_at_boundary and token_id == CharVocab.BOUNDARY


def step_cells(rnn: nn.RNNBase, cell: str) -> nn.ModuleList:
    """A copy of a recurrent layer as one cell per layer: stepping one character through nn.LSTMCell
    costs about a quarter of a call to nn.LSTM with a sequence of length 1."""
    cell_class = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell]
    cells = nn.ModuleList()
    for layer in range(rnn.num_layers):
        step = cell_class(rnn.input_size if layer == 0 else rnn.hidden_size, rnn.hidden_size)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        step.load_state_dict({name: getattr(rnn, f"{name}_l{layer}").detach().clone() for name in names})
        cells.append(step)
    return cells


def load_char_lm(location: str, device: torch.device) -> CharLanguageModel:
    """Registry loader: a `charlm-<corpus>-<cell>.safetensors` file whose metadata names its vocabulary."""
    path = Path(location)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        vocab = CharVocab.from_json(json.loads((path.parent / metadata["vocab"]).read_text(encoding="utf-8")))
        config = CharLMConfig(
            vocab_size=vocab.size,
            cell=metadata["cell"],
            embed_dim=int(metadata["embed_dim"]),
            hidden_dim=int(metadata["hidden_dim"]),
            num_layers=int(metadata["num_layers"]),
        )
        model = CharLM(config)
        # Stored in fp16 to halve the file; computed in fp32.
        model.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    except (OSError, KeyError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"Could not load the character model {path.name}: {exc}") from exc
    return CharLanguageModel(model, vocab, metadata, device)
