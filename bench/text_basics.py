"""Text basics speed: spaCy's whole pipeline on a 40-word sentence, the eight-tokenizer comparison on
the same sentence (and each tokenizer alone), training a BPE on Hamlet, and building the tagger
comparison: spaCy's silver tags on Hamlet, then each tagger's training time.

Targets (issue 14): pipeline p50 under 15 ms, the tokenizer comparison under 30 ms, each statistical
tagger trained in under 5 s.

Every figure is given as wall time and as this process's CPU time: on a shared machine (the load average
at the start is recorded) a preempted call's wall time grows, while the CPU time stays what the same
single-threaded work takes on an idle core."""

import os
import statistics
import time

from models.core.paths import extra_file
from models.core.registry import get_registry
from models.text_basics import entities as te
from models.text_basics import pipeline as tb
from models.text_basics import taggers as tg
from models.text_basics import tokens as tt

# 40 words (whitespace-separated).
SENTENCE = (
    "Dr. Ada Lovelace wrote the first published computer program in London in 1843, although Babbage's "
    "engine was never finished and the British government had already spent £17,000 on it; today's "
    "tokenizers still disagree on how to split words like “unbelievably”."
)
REPEATS = 50


def p50_ms(action) -> tuple[float, float]:
    """Median wall and CPU milliseconds of `action` over REPEATS calls, after one warm-up call."""
    action()
    wall, cpu = [], []
    for _ in range(REPEATS):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def timed(action) -> tuple[object, float, float]:
    """`action()`'s result, its wall seconds and its CPU seconds."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - start, time.process_time() - start_cpu


def record(figures: dict[str, float | str], name: str, wall: float, cpu: float, unit: str) -> None:
    figures[f"{name}: wall {unit}"] = wall
    figures[f"{name}: CPU {unit}"] = cpu


def run() -> dict[str, float | str]:
    assert len(SENTENCE.split()) == 40
    figures: dict[str, float | str] = {"load average (1 min) at start": os.getloadavg()[0]}
    nlp = get_registry().load(tb.SPACY_ID)
    subword = tt.load_tokenizers()
    record(figures, "spaCy full pipeline, 40 words, p50", *p50_ms(lambda: nlp(SENTENCE)), "ms")
    doc = nlp(SENTENCE)
    comparison_p50 = p50_ms(lambda: tt.tokenize_all(SENTENCE, doc, subword))
    record(figures, "tokenizer comparison (8 tokenizers), 40 words, p50", *comparison_p50, "ms")
    for name in tt.TOKENIZER_NAMES:
        record(figures, f"  {name}, p50", *p50_ms(lambda n=name: tt.tokenize_all(SENTENCE, doc, subword, [n])), "ms")
    record(figures, "stems and lemmas table, p50", *p50_ms(lambda: tb.stems_and_lemmas(doc)), "ms")
    record(figures, "dependency trees (SVG), p50", *p50_ms(lambda: tb.dependency_svgs(doc)), "ms")

    recognizer, wall, cpu = timed(lambda: te.rule_recognizer(te.load_gazetteer()))
    record(figures, "entity rules: build from the gazetteer", wall, cpu, "s")
    record(
        figures, "entity rules on the parsed sentence, p50", *p50_ms(lambda: te.rule_entities(recognizer, doc)), "ms"
    )

    hamlet = extra_file("hamlet.txt").read_text(encoding="utf-8", errors="replace")
    _, wall, cpu = timed(lambda: tt.train_bpe(hamlet, 1_000))
    record(figures, "BPE on Hamlet (175 kB), vocabulary 1,000: training", wall, cpu, "s")

    sentences, wall, cpu = timed(lambda: tg.silver_sentences(nlp))
    record(figures, f"spaCy silver tags on Hamlet ({len(sentences):,} sentences)", wall, cpu, "s")
    comparison = tg.compare_taggers(sentences)
    for tagger in comparison.taggers:
        figures[f"{tagger.name}: held-out agreement with spaCy"] = comparison.accuracy[tagger.name]
    trainers = (
        ("N-gram backoff", tg.ngram_tagger),
        ("Hidden Markov model", tg.hmm_tagger),
        ("Averaged perceptron", tg.perceptron_tagger),
    )
    for name, train in trainers:
        _, wall, cpu = timed(lambda t=train: t(comparison.train))
        record(figures, f"{name}: training on {len(comparison.train):,} sentences", wall, cpu, "s")
    return figures
