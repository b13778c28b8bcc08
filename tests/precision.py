"""What tests/test_half_precision.py and tests/test_gpu.py share: the model under test (the candidate:
reduced precision, on the CPU or a GPU) against the CPU fp32 reference, and a small causal LM trained
here, whose confident predictions can be compared where a random model's near-uniform ones cannot.

The candidate is bf16 on the CPU by default; tools/gpu_check.py sets HALF_CHECK_DEVICE=cuda (and
HALF_CHECK_DTYPE=float16 for a second pass) to run the same comparisons on a GPU."""

import os
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import torch

from models import generation as gen
from models.core.device import forced_half_dtype
from models.core.errors import ModelLoadError
from models.core.registry import default_specs, resolve_source
from models.translation.dates import BOS, TARGET_VOCAB
from models.translation.translator import Translation, Translator

CPU = torch.device("cpu")
CANDIDATE_DEVICE = torch.device(os.environ.get("HALF_CHECK_DEVICE", "cpu"))
CANDIDATE_DTYPE: torch.dtype = getattr(torch, os.environ.get("HALF_CHECK_DTYPE", "bfloat16"))
# A choice the reference itself nearly did not make (its top two probabilities closer than this) may go
# the other way in reduced precision; any other difference is a bug.
NEAR_TIE = 0.05


SPECS = {spec.id: spec for spec in default_specs()}  # without the techniques whose libraries are missing


def load(model_id: str, device: torch.device = CPU, dtype: torch.dtype | None = None) -> object:
    """A default model on `device`, the CPU fp32 reference by default; with `dtype`, in that dtype where the
    device policy picks reduced precision. Skips the test where the model is not installed (the GPU
    machine carries only some): its source is missing, or the reference cannot load (MiniLM's base
    package). Load the reference first: a candidate that fails to load where it loads is a failure."""
    if model_id not in SPECS:
        pytest.skip(f"{model_id} is not registered here: a library its technique needs is not installed")
    spec = SPECS[model_id]
    reference = device == CPU and dtype is None
    try:
        location = resolve_source(spec, online=False).location
        with forced_half_dtype(dtype) if dtype is not None else nullcontext():
            return spec.loader(location, device)
    except ModelLoadError as exc:
        if not reference:
            raise
        pytest.skip(f"{model_id} is not installed here: {exc}")


class Pairs:
    """Reference and candidate copies of default models, each loaded once per test module."""

    def __init__(self) -> None:
        self.loaded: dict[tuple[str, bool], object] = {}

    def __call__(self, model_id: str) -> tuple[object, object]:
        if (model_id, False) not in self.loaded:
            self.loaded[model_id, False] = load(model_id)
            self.loaded[model_id, True] = load(model_id, CANDIDATE_DEVICE, CANDIDATE_DTYPE)
        return self.loaded[model_id, False], self.loaded[model_id, True]


def first_difference(a: Sequence, b: Sequence) -> int | None:
    """The first index where `a` and `b` differ (a length difference counts), None if they are equal."""
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return None if len(a) == len(b) else min(len(a), len(b))


def assert_same_choices(reference: Sequence, candidate: Sequence, gap_at) -> None:
    """Greedy choices (token ids, labels) must be the same, except that from a near tie on they may part:
    `gap_at(i)` is the reference's probability of its own choice at step i minus its probability of the
    candidate's choice there."""
    index = first_difference(reference, candidate)
    if index is None or index >= min(len(reference), len(candidate)):
        assert index is None, f"one output stopped early at step {index}: {reference} vs {candidate}"
        return
    gap = gap_at(index)
    assert gap < NEAR_TIE, (
        f"step {index}: {reference[index]!r} (reference) vs {candidate[index]!r} (candidate), and the reference "
        f"preferred its choice by {gap:.3f} in probability, no near tie: {reference} vs {candidate}"
    )


def assert_fp32_array(array: object, shape: tuple[int, ...] | None = None) -> None:
    """What leaves torch for numpy, OpenCV, PIL or plotly: a plain (CPU) numpy float32 array."""
    assert isinstance(array, np.ndarray), type(array)
    assert array.dtype == np.float32, array.dtype
    assert np.isfinite(array).all()
    if shape is not None:
        assert array.shape == shape, (array.shape, shape)


# ------------------------------------------------------------------- sequence models


def greedy_steps(lm: gen.LanguageModel, prompt: str, tokens: int, chat: bool = False) -> list[gen.Step]:
    return list(gen.generate(lm, prompt, gen.Decoding(strategy="greedy", max_new_tokens=tokens), chat=chat))


def assert_same_steps(expected: list[gen.Step], got: list[gen.Step]) -> None:
    """Greedy generations of the reference and the candidate: the same tokens up to a near tie, each with
    about the same probability. The reference's top tokens at a step (`alternatives`) give the gap."""

    def gap(step: int) -> float:
        return expected[step].prob - dict(expected[step].alternatives).get(got[step].label, 0.0)

    assert_same_choices([s.token_id for s in expected], [s.token_id for s in got], gap)
    for a, b in zip(expected, got, strict=False):
        if a.token_id != b.token_id:
            break
        assert isinstance(b.prob, float) and b.prob == pytest.approx(a.prob, abs=NEAR_TIE)


def assert_same_greedy_text(reference: gen.LanguageModel, candidate: gen.LanguageModel, prompt: str, tokens: int):
    assert_same_steps(greedy_steps(reference, prompt, tokens), greedy_steps(candidate, prompt, tokens))


def assert_same_translation(reference: Translator, expected: Translation, got: Translation) -> None:
    """Greedy translations of one text by the reference and the candidate: the same tokens up to a near
    tie in the reference's own next-token probabilities (teacher-forced on its output)."""
    ids, got_ids = expected.search.best.tokens, got.search.best.tokens
    start = getattr(reference, "bos", TARGET_VOCAB.id(BOS))  # the subword model's, else the date model's
    source = torch.tensor([expected.source.ids])
    with torch.inference_mode():
        probabilities = reference.model(source, torch.tensor([[start, *ids[:-1]]]))[0].float().softmax(-1)  # (T, V)
    assert_same_choices(ids, got_ids, lambda i: float(probabilities[i, ids[i]] - probabilities[i, got_ids[i]]))


# ------------------------------------------------------------------- a causal LM with something to say

RECITED = [
    "the cat sat on the mat and looked at the door",
    "a dog ran in the park after a red ball",
    "we read the book by the window until the light went out",
]


def tiny_llama(texts: list[str], vocab_size: int, hidden_size: int) -> tuple[object, object]:
    """A random 2-layer Llama and a byte-level BPE tokenizer trained on `texts`, built offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<s>", "</s>"], initial_alphabet=alphabet)
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config), tokenizer


def train_tiny_llama(folder: Path) -> None:
    """A tiny Llama (`tiny_llama`) trained for a few seconds to recite `RECITED` (saved to `folder` as a
    user's causal LM would be)."""
    model, tokenizer = tiny_llama(RECITED * 10, vocab_size=320, hidden_size=64)
    rows = [[*tokenizer(sentence).input_ids, tokenizer.eos_token_id] for sentence in RECITED]
    longest = max(map(len, rows))
    ids = torch.tensor([row + [tokenizer.eos_token_id] * (longest - len(row)) for row in rows])  # (3, T)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(30):  # confident (0.86-0.99 per recited token), not saturated at 1.0 where nothing could differ
        loss = model(input_ids=ids, labels=ids).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
