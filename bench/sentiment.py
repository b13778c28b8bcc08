"""Sentiment speed: single-sentence latency per model, and MiniLM throughput on 1,000 snippets for
our batched path against transformers' pipeline("text-classification") on the same model.

Latency is measured with 1 and with 2 torch threads: on a busy shared 2-core machine two OpenMP
threads often wait for a core that is taken, which shows up as stalls of hundreds of ms."""

import statistics
import time

import torch

from models import sentiment as sm
from models.core.registry import get_registry
from models.core.specs import embedded_path

SENTENCE = "Not bad at all: the cast is great, even if the plot is a bit of a mess."
REPEATS = 30
N_THROUGHPUT = 1_000


def p50_ms(action) -> float:
    action()  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def run() -> dict[str, float | str]:
    from transformers import pipeline

    registry = get_registry()
    figures: dict[str, float | str] = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for spec in sm.MODELS:
            classifier = sm.as_classifier(registry.load(spec.id))
            figures[f"{spec.name}: predict p50 ms, {threads} thr"] = p50_ms(lambda c=classifier: c.predict([SENTENCE]))
            figures[f"{spec.name}: explain p50 ms, {threads} thr"] = p50_ms(lambda c=classifier: c.explain(SENTENCE))
    torch.set_num_threads(1)  # throughput on one thread: stable on a shared machine, the same for both paths

    texts = sm.split_frame("test")["text"].tolist()[:N_THROUGHPUT]
    ours = sm.as_classifier(registry.load("sentiment-minilm"))
    start = time.perf_counter()
    our_labels = ours.predict(texts).top()
    our_rate = len(texts) / (time.perf_counter() - start)

    model, tokenizer = sm.build_minilm(embedded_path(registry.get("sentiment-minilm").embedded), torch.device("cpu"))
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device=torch.device("cpu"))
    start = time.perf_counter()
    pipeline_labels = [r["label"] for r in classify(texts, truncation=True, max_length=sm.TRANSFORMER_MAX_TOKENS)]
    pipeline_rate = len(texts) / (time.perf_counter() - start)

    figures |= {
        "MiniLM ours: sentences/s (1,000 snippets, 1 thr)": our_rate,
        "MiniLM pipeline: sentences/s (1,000 snippets, 1 thr)": pipeline_rate,
        "MiniLM ours / pipeline throughput ratio": our_rate / pipeline_rate,
        "MiniLM ours vs pipeline: same label share": sum(map(str.__eq__, our_labels, pipeline_labels)) / len(texts),
    }
    return figures
