"""Generic loaders for models users add: any transformers model of a known task, and gensim
word vectors. Technique modules wrap what these return in their own pipelines."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from models.core.device import half_dtype
from models.core.errors import ModelLoadError

# Which transformers Auto class and preprocessor serve each user task.
AUTO_MODEL = {
    "causal-lm": "AutoModelForCausalLM",
    "text-classification": "AutoModelForSequenceClassification",
    "translation": "AutoModelForSeq2SeqLM",
    "image-classification": "AutoModelForImageClassification",
    "segmentation": "AutoModelForSemanticSegmentation",
    "instance-segmentation": "AutoModelForUniversalSegmentation",
}
IMAGE_TASKS = {"image-classification", "segmentation", "instance-segmentation"}
T = TypeVar("T")


@dataclass
class HFModel:
    """A transformers model in eval mode on its device, with its tokenizer or image processor."""

    task: str
    model: Any
    preprocessor: Any
    device: torch.device
    _wrappers: dict[str, Any] = field(default_factory=dict, repr=False)

    def wrapper(self, kind: str, make: Callable[[], T]) -> T:
        """The page pipeline of this `kind` built on the model, made once: every session then shares
        it, and with it the pipeline's micro-batching queue."""
        if kind not in self._wrappers:
            self._wrappers[kind] = make()
        return self._wrappers[kind]


def load_hf(task: str, location: str, device: torch.device) -> HFModel:
    """Load a transformers model of `task` from a local folder or (online) a hub id."""
    import transformers

    if task not in AUTO_MODEL:
        raise ModelLoadError(f"No transformers loader for task '{task}'.")
    auto_model = getattr(transformers, AUTO_MODEL[task])
    try:
        if task in IMAGE_TASKS:
            preprocessor = transformers.AutoImageProcessor.from_pretrained(location)
        else:
            preprocessor = transformers.AutoTokenizer.from_pretrained(location)
        # Half precision only where it is safe (CUDA); CPU stays fp32.
        model = auto_model.from_pretrained(location, dtype=half_dtype(device))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"Could not load a {task} model from '{location}': {exc}") from exc
    return HFModel(task=task, model=model.to(device).eval(), preprocessor=preprocessor, device=device)


def load_word_vectors(location: str, device: torch.device) -> Any:
    """Load gensim KeyedVectors from word2vec text (.txt/.vec), word2vec binary (.bin),
    GloVe text without a header, or gensim's own .kv format. `device` is unused: gensim is CPU-only."""
    from gensim.models import KeyedVectors

    path = Path(location)
    try:
        if path.suffix == ".kv":
            # gensim's native format is a pickle: only for files the user configured themselves.
            return KeyedVectors.load(str(path), mmap="r")
        if path.suffix == ".bin":
            return KeyedVectors.load_word2vec_format(str(path), binary=True)
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline().split()
        has_header = len(first) == 2 and all(part.isdigit() for part in first)
        return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=not has_header)
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"Could not read word vectors from '{location}': {exc}") from exc


def load_spacy_pipeline(location: str, device: torch.device) -> Any:
    """A spaCy pipeline from its folder (the one with config.cfg) or an installed package name.
    `device` is unused: the page's small pipelines run on the CPU (spaCy's GPU needs cupy)."""
    import spacy

    try:
        return spacy.load(location)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise ModelLoadError(f"Could not load a spaCy pipeline from '{location}': {exc}") from exc
