"""Micro-batching: requests to one shared model from many sessions at once run as one batch.

Thirty students pressing the same button would otherwise start thirty batch-1 forward passes that
fight over the same cores (each with its own intra-op threads); one forward over a batch of thirty
costs far less than thirty. Each model gets a queue and, while there is work, worker threads:

- `MicroBatcher` (one-shot calls: classify, score, translate): a worker waits a few milliseconds
  after the first request for others to arrive, runs them as one batch (at most `max_batch`), and
  hands each caller its own result. Requests that arrive while a batch runs form the next one,
  on a second worker when there is a free core (one worker per CPU core, each forward pass on one
  thread: see models/core/device.py).
- `generation.py` builds a continuous batcher on `BatchWorker`: new streams join the running batch
  at its next step.

The queue is bounded: when it is full a request fails at once with `ServerBusyError` instead of
waiting for minutes. `STUDIO_BATCHING=0` turns batching off (each call runs in its caller's thread).
"""

import os
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from models.core.errors import StudioError

Item = TypeVar("Item")  # one request's input
Answer = TypeVar("Answer")  # one request's output

IDLE_SECONDS = 2.0  # a worker with nothing to do for this long exits; the next request starts another


class ServerBusyError(StudioError):
    """Too many requests are already waiting for this model."""


def batching_enabled() -> bool:
    return os.environ.get("STUDIO_BATCHING", "1") != "0"


class BatchWorker(ABC, Generic[Item]):
    """A bounded queue of requests and, while it is not empty, up to `max_workers` threads serving it."""

    def __init__(self, name: str, max_waiting: int, max_workers: int = 1) -> None:
        self.name, self.max_waiting, self.max_workers = name, max_waiting, max_workers
        self.enabled = batching_enabled()
        self._pending: deque[Item] = deque()
        self._wakeup = threading.Condition()
        self._workers: set[threading.Thread] = set()
        self._idle = 0  # workers waiting for a request

    @property
    def workers(self) -> list[threading.Thread]:
        """The worker threads while there is work (none when idle)."""
        return list(self._workers)

    @property
    def waiting(self) -> int:
        """Requests in the queue, not yet taken by a worker."""
        return len(self._pending)

    def submit(self, request: Item) -> None:
        with self._wakeup:
            if len(self._pending) >= self.max_waiting:
                raise ServerBusyError(
                    f"{self.name} is busy: {len(self._pending)} requests are already waiting. Try again in a moment."
                )
            self._pending.append(request)
            # A new thread only when every worker is busy: a thread's first GPU call sets up per-thread state
            # (cuBLAS handles and workspaces), so threads that come and go make every request pay for it again.
            if len(self._pending) > self._idle and len(self._workers) < self.max_workers:
                worker = threading.Thread(target=self._run_worker, name=f"batch: {self.name}", daemon=True)
                self._workers.add(worker)
                worker.start()
            self._wakeup.notify_all()

    def take(self, limit: int, wait_seconds: float = 0.0) -> list[Item]:
        """Up to `limit` pending requests (maybe none, when another worker took them). With
        `wait_seconds`, wait that long after the first one (or until `limit` are there) so that
        requests arriving together share a batch."""
        with self._wakeup:
            deadline = time.monotonic() + wait_seconds
            while self._pending and len(self._pending) < limit and (left := deadline - time.monotonic()) > 0:
                self._wakeup.wait(left)
            return [self._pending.popleft() for _ in range(min(limit, len(self._pending)))]

    def _run_worker(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self._wakeup:
                    if not self._pending:
                        self._idle += 1
                        try:
                            self._wakeup.wait(IDLE_SECONDS)
                        finally:
                            self._idle -= 1
                    if not self._pending:  # leave under the lock, so a new request starts a new worker
                        self._workers.discard(me)
                        return
                self.serve()
        except BaseException:  # serve() failed outside its own handling: the next request starts a worker
            with self._wakeup:
                self._workers.discard(me)
            raise

    @abstractmethod
    def serve(self) -> None:
        """Take pending requests (`take`) and answer them; called by the worker while any are pending."""


@dataclass
class _Call(Generic[Item, Answer]):
    item: Item
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class MicroBatcher(BatchWorker[_Call[Item, Answer]]):
    """`batcher(item)` returns `run_batch([item, ...])`'s answer for that item, computed together with
    whatever other items arrived within `wait_ms`. If a batch fails, its items are retried one by one,
    so an error reaches only the caller whose item caused it."""

    def __init__(
        self,
        run_batch: Callable[[list[Item]], list[Answer]],
        name: str,
        max_batch: int = 32,
        wait_ms: float = 3.0,
        max_waiting: int = 256,
        max_workers: int = os.cpu_count() or 1,
    ) -> None:
        super().__init__(name, max_waiting, max_workers)
        self.run_batch, self.max_batch, self.wait_seconds = run_batch, max_batch, wait_ms / 1000

    def __call__(self, item: Item) -> Answer:
        if not self.enabled:
            return self.run_batch([item])[0]
        call: _Call[Item, Answer] = _Call(item)
        self.submit(call)
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    def serve(self) -> None:
        calls = self.take(self.max_batch, self.wait_seconds)
        if not calls:
            return
        try:
            for call, answer in zip(calls, answers_or_errors(self.run_batch, [c.item for c in calls]), strict=True):
                if isinstance(answer, Exception):
                    call.error = answer
                else:
                    call.result = answer
        finally:
            for call in calls:
                call.done.set()


def answers_or_errors(run_batch: Callable[[list[Item]], list[Answer]], items: list[Item]) -> list[Answer | Exception]:
    """`run_batch(items)`, or, if the batch fails, each item run alone, so that an error reaches only the
    request whose item caused it: in that item's place in the list. (Ray Serve's replicas batch with this too.)"""
    try:
        answers = list(run_batch(items))
        if len(answers) == len(items):
            return answers
    except Exception as exc:
        if len(items) == 1:
            return [exc]
    alone: list[Answer | Exception] = []
    for item in items:
        try:
            alone.append(run_batch([item])[0])
        except Exception as exc:
            alone.append(exc)
    return alone
