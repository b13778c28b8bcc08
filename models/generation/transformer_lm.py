"""Transformer causal language models (SmolLM2-135M-Instruct by default, or any transformers causal LM)
behind the `LanguageModel` interface: a key/value cache per stream, left-padded into one batch.
"""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models.core.device import half_linear_weights, upload
from models.core.errors import InputError, ModelLoadError
from models.core.loaders import HFModel, load_hf
from models.core.paths import cache_dir
from models.generation.language_model import LanguageModel, normalise_text, visible
from models.generation.streams import StreamBatcher

MAX_NEW_TOKENS = 512  # bound for transformer models
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_CACHE = "smollm2-135m-instruct"


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
        index = upload(rows, self.device)
        mask = state.mask_or_ones().index_select(0, index)
        first = int(mask.any(dim=0).int().argmax())  # columns before it are padding in every kept row
        layers = [
            (layer.keys.index_select(0, index)[:, :, first:], layer.values.index_select(0, index)[:, :, first:])
            for layer in state.cache.layers
        ]
        mask = mask[:, first:]
        return KVBatch(kv_cache(layers), None if bool(mask.all()) else mask, state.positions.index_select(0, index))

    def advance(self, token_ids: list[int], state: "KVBatch") -> tuple[torch.Tensor, "KVBatch"]:
        ids = upload(token_ids, self.device)[:, None]  # (B, 1)
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
    if not location.endswith(".gguf"):
        return load_hf("causal-lm", location, device)
    loaded = load_hf("causal-lm", str(smollm2_folder(location)), device)
    half_linear_weights(loaded.model)
    return loaded


def smollm2_folder(location: str) -> Path:
    """The transformers folder of SmolLM2 converted from its GGUF file at `location`: made once in the
    cache (the GGUF read de-quantises it, tens of seconds), then read from there."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
    return cached
