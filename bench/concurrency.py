"""Many sessions at once, without the browser: 32 threads call each shared model's inference together,
first with micro-batching off (every call runs its own forward pass in its own thread, as without
models/core/batching.py), then on. Throughput in requests/s and the ratio on/off (issue 9's target:
>= 3x for the transformer models on CPU).

    python -m bench concurrency            # THREADS=32 by default; BENCH_THREADS=8 for a quick look

Each request is what one click on a page asks: one sentence through MiniLM, one picture through
EfficientNet-Lite0, one sentence through the English->Spanish transformer with beam search, 16
greedy tokens from SmolLM2.
"""

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from models import generation as gen
from models.classification.classifier import as_image_classifier
from models.core.device import use_app_thread_policy
from models.core.images import SAMPLES, sample_image
from models.core.registry import get_registry
from models.sentiment import TRICKY_EXAMPLES, as_classifier
from models.translation.translator import as_translator

THREADS = int(os.environ.get("BENCH_THREADS", "32"))
NEW_TOKENS = 16


def requests_per_second(request: Callable[[int], Any], per_thread: int) -> float:
    """`per_thread` requests from each of THREADS threads, all started together."""
    start_line = threading.Barrier(THREADS + 1)

    def client(index: int) -> None:
        start_line.wait()
        for repeat in range(per_thread):
            request(index * per_thread + repeat)

    with ThreadPoolExecutor(THREADS) as pool:
        clients = [pool.submit(client, i) for i in range(THREADS)]
        start_line.wait()
        started = time.perf_counter()
        for finished in clients:
            finished.result()
    return THREADS * per_thread / (time.perf_counter() - started)


def compare(name: str, batcher: Any, request: Callable[[int], Any], per_thread: int) -> dict[str, float]:
    request(0)  # warm-up
    figures = {}
    for enabled in (False, True):
        batcher.enabled = enabled
        figures[f"{name}: requests/s, batching {'on' if enabled else 'off'}"] = requests_per_second(request, per_thread)
    off, on = figures.values()
    figures[f"{name}: throughput ratio on/off"] = on / off
    return figures


def run() -> dict[str, float | str]:
    use_app_thread_policy()  # measure what the app runs
    registry = get_registry()
    figures: dict[str, float | str] = {
        "device": str(registry.device),
        "torch threads per forward pass": str(torch.get_num_threads()),
        "client threads": str(THREADS),
    }

    sentiment = as_classifier(registry.load("sentiment-minilm"))
    sentences = [text for _, text, _ in TRICKY_EXAMPLES]
    figures |= compare(
        "MiniLM sentiment, 1 sentence",
        sentiment.batcher,
        lambda i: sentiment.predict([sentences[i % len(sentences)]]),
        per_thread=4,
    )

    classifier = as_image_classifier(registry.load("efficientnet-lite0"), "Lite0")
    images = [sample_image(name) for name in SAMPLES]
    figures |= compare(
        "EfficientNet-Lite0, 1 picture", classifier.batcher, lambda i: classifier.predict(images[i % len(images)]), 2
    )

    translator = as_translator(registry.load("translation-enes"))
    figures |= compare(
        "English->Spanish transformer, beam 5",
        translator.batcher,
        lambda i: translator.translate(sentences[i % len(sentences)], "beam", beam_width=5),
        per_thread=2,
    )

    spec = registry.get("smollm2-135m-instruct")
    lm = gen.as_language_model(registry.load(spec.id), spec.name)
    prompts = [text for _, text, _ in TRICKY_EXAMPLES]
    greedy = gen.Decoding(strategy="greedy", max_new_tokens=NEW_TOKENS)
    figures |= compare(
        f"SmolLM2, {NEW_TOKENS} tokens",
        lm.batcher,
        lambda i: list(gen.generate(lm, prompts[i % len(prompts)], greedy)),
        per_thread=1,
    )
    return figures
