"""Generation speed: SmolLM2 tokens/s through our token-by-token loop and through transformers'
`pipeline("text-generation")` on the same loaded model (greedy, 128 new tokens, batch 1), and
characters/s of the character-level LSTM. On the registry's device (CUDA when present), with the app's CPU
thread policy (models/core/device.py: one thread per forward pass unless STUDIO_TORCH_THREADS says otherwise).
BENCH_CAUSAL_LM names another registered causal LM to measure instead of SmolLM2 (tools/gpu_check.py: a
model of SmolLM2's shape with random weights, where SmolLM2's package cannot be carried)."""

import os
import time

import torch

from models import generation as gen
from models.core.device import use_app_thread_policy
from models.core.registry import get_registry

PROMPT = "Once upon a time, in a small village by the sea, there lived"
NEW_TOKENS = 128
NEW_CHARS = 2000
REPEATS = 3


def timed(action) -> tuple[float, float]:
    """Wall and process CPU seconds of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - wall, time.process_time() - cpu


def best_seconds(*actions) -> list[tuple[float, float]]:
    """Per action, the fastest of a few runs (wall, CPU seconds). Runs alternate between the actions
    so that a shared machine's changing load hits them alike; the minimum is the least disturbed run,
    and CPU time is what the work itself cost."""
    runs = [[timed(action) for action in actions] for _ in range(REPEATS)]
    return [min(run[i] for run in runs) for i in range(len(actions))]


def run() -> dict[str, float | str]:
    from transformers import pipeline

    use_app_thread_policy()  # measure what the app runs
    registry = get_registry()
    spec = registry.get(os.environ.get("BENCH_CAUSAL_LM", "smollm2-135m-instruct"))
    hf = registry.load(spec.id)
    lm = gen.as_language_model(hf, spec.name)
    greedy = gen.Decoding(strategy="greedy", max_new_tokens=NEW_TOKENS)
    ours_tokens = len(list(gen.generate(lm, PROMPT, greedy)))  # also the warm-up
    pipe = pipeline("text-generation", model=hf.model, tokenizer=hf.preprocessor)
    pipe_kwargs = {"max_new_tokens": NEW_TOKENS, "do_sample": False, "return_full_text": False}
    pipe_text = pipe(PROMPT, **pipe_kwargs)[0]["generated_text"]
    pipe_tokens = len(hf.preprocessor(pipe_text, add_special_tokens=False).input_ids)

    (ours_wall, ours_cpu), (pipe_wall, pipe_cpu) = best_seconds(
        lambda: list(gen.generate(lm, PROMPT, greedy)), lambda: pipe(PROMPT, **pipe_kwargs)
    )

    char_lm = registry.load("charlm-hamlet-lstm")
    sample = gen.Decoding(max_new_tokens=NEW_CHARS, seed=0)
    [(chars_wall, chars_cpu)] = best_seconds(lambda: list(gen.generate(char_lm, "", sample)))
    return {
        "device": str(registry.device),
        "causal LM": spec.name,
        "torch threads": str(torch.get_num_threads()),
        "SmolLM2 new tokens (ours / pipeline)": f"{ours_tokens} / {pipe_tokens}",
        "SmolLM2 tokens/s, our loop": ours_tokens / ours_wall,
        "SmolLM2 tokens/s, transformers pipeline": pipe_tokens / pipe_wall,
        "SmolLM2 speed ratio ours/pipeline (target >= 1.0)": (ours_tokens / ours_wall) / (pipe_tokens / pipe_wall),
        "SmolLM2 speed ratio by CPU time": (ours_tokens / ours_cpu) / (pipe_tokens / pipe_cpu),
        "char-LSTM (Hamlet) characters/s (target >= 2000)": NEW_CHARS / chars_wall,
        "char-LSTM characters per CPU second": NEW_CHARS / chars_cpu,
    }
