"""Micro-batching: concurrent calls share batches, each caller gets its own answer (or its own error),
the queue is bounded, and the real models answer the same batched as alone."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from models.classification.classifier import as_image_classifier
from models.core.batching import MicroBatcher, ServerBusyError
from models.core.images import SAMPLES, sample_image
from models.core.registry import get_registry
from models.sentiment import TRICKY_EXAMPLES, as_classifier
from models.translation.translator import as_translator


def call_together(function, items: list) -> list:
    """Call `function(item)` from one thread per item, all released at the same moment."""
    start = threading.Barrier(len(items))

    def call(item):
        start.wait()
        return function(item)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(call, items))


def test_concurrent_calls_share_batches_and_get_their_own_answers():
    sizes = []

    def double(items: list[int]) -> list[int]:
        sizes.append(len(items))
        return [2 * item for item in items]

    batcher = MicroBatcher(double, name="doubler", max_batch=8, wait_ms=200)
    assert call_together(batcher, list(range(20))) == [2 * i for i in range(20)]
    assert sum(sizes) == 20 and max(sizes) == 8 and len(sizes) < 20


def test_an_error_reaches_only_the_caller_whose_item_caused_it():
    def checked_square(items: list[int]) -> list[int]:
        if any(item < 0 for item in items):
            raise ValueError("negative")
        return [item * item for item in items]

    batcher = MicroBatcher(checked_square, name="squarer", wait_ms=200)

    def outcome(item: int) -> int | str:
        try:
            return batcher(item)
        except ValueError as exc:
            return str(exc)

    assert call_together(outcome, [3, -1, 4, 5]) == [9, "negative", 16, 25]


def test_a_full_queue_answers_busy_at_once():
    release = threading.Event()

    def slow(items: list[int]) -> list[int]:
        release.wait(30)
        return items

    batcher = MicroBatcher(slow, name="The slow model", max_batch=1, wait_ms=0, max_waiting=2, max_workers=1)
    with ThreadPoolExecutor(3) as pool:
        running = [pool.submit(batcher, 0)]
        while not batcher.workers or batcher.waiting:  # the worker has taken the first call
            time.sleep(0.01)
        running += [pool.submit(batcher, 1), pool.submit(batcher, 2)]
        while batcher.waiting < 2:
            time.sleep(0.01)
        with pytest.raises(ServerBusyError, match="The slow model is busy: 2 requests"):
            batcher(3)
        release.set()
        assert [future.result(timeout=30) for future in running] == [0, 1, 2]


def test_a_second_worker_runs_a_batch_while_the_first_is_busy():
    both_running = threading.Barrier(2, timeout=30)  # passes only when two batches run at once

    def meet(items: list[int]) -> list[int]:
        both_running.wait()
        return items

    batcher = MicroBatcher(meet, name="pair", max_batch=1, wait_ms=0, max_workers=2)
    assert call_together(batcher, [1, 2]) == [1, 2]


def test_requests_one_after_another_are_served_by_one_worker_thread():
    # A thread's first GPU call sets up per-thread state; a new worker for every request (while others sat
    # idle) made English->Spanish beam search 14x slower on an H200 than without the batcher.
    threads = []
    batcher = MicroBatcher(lambda items: threads.append(threading.current_thread()) or items, name="one", wait_ms=0)
    assert batcher.max_workers > 1
    assert [batcher(i) for i in range(6)] == list(range(6))
    assert len(set(threads)) == 1 and len(batcher.workers) == 1


def test_turned_off_it_runs_in_the_callers_thread():
    threads = []
    batcher = MicroBatcher(lambda items: threads.append(threading.current_thread()) or items, name="inline")
    batcher.enabled = False
    assert batcher(7) == 7 and threads == [threading.current_thread()] and not batcher.workers


def test_minilm_answers_the_same_batched_as_alone():
    classifier = as_classifier(get_registry().load("sentiment-minilm"))
    texts = [text for _, text, _ in TRICKY_EXAMPLES]
    alone = [classifier.predict([text]).probs[0] for text in texts]
    together = call_together(lambda text: classifier.predict([text]).probs[0], texts)
    for batched, single in zip(together, alone, strict=True):
        assert batched == pytest.approx(single, abs=1e-5)


def test_cnn_answers_the_same_batched_as_alone():
    classifier = as_image_classifier(get_registry().load("efficientnet-lite0"), "Lite0")
    images = [sample_image(name) for name in list(SAMPLES)[:4]]
    alone = [classifier.logits(image) for image in images]
    batcher, enabled = classifier.batcher, classifier.batcher.enabled  # off on the CPU by default
    sizes: list[int] = []
    hook = classifier.net._conv_stem.register_forward_pre_hook(lambda _, args: sizes.append(len(args[0])))
    batcher.enabled, batcher.wait_seconds = True, 0.5
    try:
        together = call_together(classifier.logits, images * 2)
    finally:
        hook.remove()
        batcher.enabled, batcher.wait_seconds = enabled, 0.003
    assert max(sizes) > 1
    for batched, single in zip(together, alone * 2, strict=True):
        torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_translations_batched_match_each_alone(method):
    translator = as_translator(get_registry().load("translation-enes"))
    texts = ["In the beginning was the Word.", "Love one another.", "The light shines in the darkness.", "Peace."]
    translator.batcher.enabled = False
    alone = [translator.translate(text, method, beam_width=3) for text in texts]
    sizes: list[int] = []
    hook = translator.model.encoder[0].register_forward_pre_hook(lambda _, args: sizes.append(len(args[0])))
    translator.batcher.enabled, translator.batcher.wait_seconds = True, 0.5  # wait for all four
    try:
        together = call_together(lambda text: translator.translate(text, method, beam_width=3), texts)
    finally:
        hook.remove()
        translator.batcher.wait_seconds = 0.003
    assert sizes == [len(texts)]  # one encoder pass for the four requests
    for batched, single in zip(together, alone, strict=True):
        assert [c.text for c in batched.candidates] == [c.text for c in single.candidates]
        assert [c.score for c in batched.candidates] == pytest.approx([c.score for c in single.candidates], abs=1e-4)
        assert len(batched.search.tree) == len(single.search.tree)
        # Attention covers this sentence's own source tokens, not the padding of the shared batch.
        best = batched.best
        assert best.attention.shape[0] == len(best.tokens) and best.attention.shape[-1] == len(batched.source.ids)
        np.testing.assert_allclose(best.attention, single.best.attention, atol=1e-4)
