"""Word analogies on the default GloVe 6B 50d vectors: the load time, and the latency of a
top-10 analogy query through our solver and through gensim's `most_similar` on the same vectors."""

import statistics
import time
from collections.abc import Callable

from models.analogies.vectors import WordVectors, load_glove, load_questions
from models.core.device import best_device
from models.core.registry import get_registry
from models.core.specs import embedded_path

QUERIES = 200  # analogy questions, spread over every section of the Google set


def _latencies_ms(query: Callable[[tuple[str, str, str, str]], object], questions: list) -> list[float]:
    query(questions[0])  # warm-up: first-call allocations
    times = []
    for question in questions:
        start = time.perf_counter()
        query(question)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def run() -> dict[str, float | str]:
    spec = get_registry().get("glove-6b-50d")
    location = str(embedded_path(spec.embedded))
    load_glove(location, best_device())  # a cold first read fills the OS file cache
    start = time.perf_counter()
    vectors: WordVectors = load_glove(location, best_device())
    load_s = time.perf_counter() - start

    sections = load_questions()
    every = max(1, sum(len(s.questions) for s in sections) // QUERIES)
    questions = [tuple(w.lower() for w in q) for s in sections for q in s.questions[::every]]
    questions = [q for q in questions if all(w in vectors.index for w in q)]

    kv = vectors.kv
    kv.fill_norms()  # gensim computes its norms once, on first use; not part of a query
    ours = _latencies_ms(lambda q: vectors.analogy(q[0], q[1], q[2], topn=10), questions)
    theirs = _latencies_ms(lambda q: kv.most_similar(positive=[q[1], q[2]], negative=[q[0]], topn=10), questions)
    cosmul = _latencies_ms(lambda q: vectors.analogy(q[0], q[1], q[2], method="3CosMul", topn=10), questions)
    agree = sum(
        vectors.analogy(q[0], q[1], q[2], topn=1)[0][0]
        == kv.most_similar(positive=[q[1], q[2]], negative=[q[0]], topn=1)[0][0]
        for q in questions
    )
    return {
        "vectors": f"GloVe 6B 50d, {len(vectors):,} x {vectors.dim}",
        "device": str(vectors.device),
        "queries": len(questions),
        "load warm (s)": load_s,
        "ours 3CosAdd top-10 p50 (ms)": statistics.median(ours),
        "ours 3CosAdd top-10 p95 (ms)": _percentile(ours, 95),
        "gensim most_similar top-10 p50 (ms)": statistics.median(theirs),
        "gensim most_similar top-10 p95 (ms)": _percentile(theirs, 95),
        "ratio ours / gensim (p50)": statistics.median(ours) / statistics.median(theirs),
        "ours 3CosMul top-10 p50 (ms)": statistics.median(cosmul),
        "same top answer as gensim": f"{agree} / {len(questions)}",
    }
