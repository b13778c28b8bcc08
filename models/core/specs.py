"""What the registry knows about a model, before anything is loaded: its task, where its weights come
from and its card. Every technique package imports these types; this module imports nothing of the
project's but its paths, so it sits at the bottom of the import graph."""

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from models.core.paths import REPO_ROOT

Task = Literal[
    "word-vectors",
    "char-lm",
    "causal-lm",
    "text-classification",
    "translation",
    "word-alignment",
    "image-classification",
    "segmentation",
    "instance-segmentation",
    "spacy-pipeline",
    "speech-recognition",
    "voice-activity",
    "transformer-internals",
]
# Tasks a user can add models for, and what such a model is.
USER_TASKS: dict[str, str] = {
    "word-vectors": "a gensim KeyedVectors file (word2vec text/binary, GloVe text, or .kv)",
    "causal-lm": "a transformers causal language model",
    "text-classification": "a transformers sequence classifier",
    "translation": "a transformers seq2seq translator",
    "image-classification": "a transformers image classifier",
    "segmentation": "a transformers semantic segmenter",
    "instance-segmentation": "a transformers instance or panoptic segmenter (Mask2Former, MaskFormer, ...)",
    "spacy-pipeline": "a spaCy pipeline folder or installed package (spacy.load)",
}
Loader = Callable[[str, torch.device], Any]
# (what the registry loaded, the model's name) -> the object a page of the task uses
PipelineWrapper = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Source:
    kind: Literal["local", "embedded", "hub"]
    location: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.location}"


@dataclass(frozen=True)
class ModelSpec:
    """One model the app can use.

    `loader(location, device)` builds the model from a resolved source's location.
    `embedded` is where the default weights are: `pkg:<package>/<path inside it>` for an
    installed package, or a path relative to the repository (e.g. `assets/...`).
    `card` is markdown, or a path relative to the repository of a markdown file.
    """

    id: str
    task: Task
    name: str
    licence: str
    card: str
    loader: Loader
    embedded: str | None = None
    local_path: str | None = None
    hub_id: str | None = None
    summary: str = ""
    # The warm-up loads it after the others: no page opens with it, and its load is long (pages opened during
    # the warm-up would load their own models beside it).
    warm_last: bool = False

    def card_markdown(self) -> str:
        path = REPO_ROOT / self.card
        if self.card.endswith(".md") and path.is_file():
            return path.read_text(encoding="utf-8")
        return self.card


def embedded_path(embedded: str) -> Path | None:
    """The file or directory an `embedded` reference points to, or None if it is not installed."""
    if embedded.startswith("pkg:"):
        package, _, inner = embedded[4:].partition("/")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / inner
    else:
        path = REPO_ROOT / embedded
    return path if path.exists() else None
