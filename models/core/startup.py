"""Getting the heavy libraries ready without making the first page wait for them.

Importing torch and the technique modules takes seconds. The navigation and the home page
need none of it, so the app starts `prepare_in_background()` once its first page has been sent (a technique
page: before it runs) and shows the home page at once; a technique page asks `preparation()` how far it got
and shows that as progress until it is done. With `warm=True` the same thread then loads every default model
(`Registry.warm_in_background`), one at a time, and not while a page's script runs (`script_run`).
Light to import: nothing heavy is imported at module level.
"""

import importlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("studio.startup")

# (what the page says, module imported in that stage); the last stage builds the registry. Not
# transformers (0.6 s more here): only the models built on it need it, and they import it as they load.
STAGES: list[tuple[str, str]] = [
    ("PyTorch", "torch"),
    ("the model registry and the technique modules", "models.core.registry"),
]


@dataclass
class Preparation:
    """How far the background preparation got."""

    done: list[str] = field(default_factory=list)  # names of the finished stages
    error: str | None = None
    seconds: float | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def fraction(self) -> float:
        return len(self.done) / len(STAGES)

    @property
    def next_stage(self) -> str | None:
        return STAGES[len(self.done)][0] if len(self.done) < len(STAGES) else None


_preparation: Preparation | None = None
_lock = threading.Lock()
# Page script runs in progress, in any session: the warm-up starts no load while there are any (on two cores a
# load beside a page's run, both holding the GIL in turn, made the page up to twice as slow), waiting at most
# WARM_UP_PATIENCE_S each time so that it still gets through while visitors keep the server busy. (Waiting a
# further 1.5 s after each run, for the browser to draw, made the bench's later pages slower: their models were
# then not loaded in time.)
_script_runs = 0
_script_runs_done = threading.Condition()
WARM_UP_PATIENCE_S = 5.0


@contextmanager
def script_run() -> Iterator[None]:
    """Counts a page's script run while it lasts (app.py wraps every run in it)."""
    global _script_runs
    with _script_runs_done:
        _script_runs += 1
    try:
        yield
    finally:
        with _script_runs_done:
            _script_runs -= 1
            _script_runs_done.notify_all()


def wait_while_pages_run(patience: float = WARM_UP_PATIENCE_S) -> bool:
    """Until no page script runs, or `patience` seconds; True when none runs."""
    with _script_runs_done:
        return _script_runs_done.wait_for(lambda: _script_runs == 0, timeout=patience)


def _prepare(preparation: Preparation, warm: bool, go: threading.Event, patience: float) -> None:
    go.wait(timeout=patience)
    started = time.perf_counter()
    try:
        for name, module in STAGES:
            importlib.import_module(module)
            preparation.done.append(name)
        from models.core.device import use_app_thread_policy
        from models.core.registry import get_registry

        use_app_thread_policy()
        registry = get_registry()
        preparation.seconds = time.perf_counter() - started
        log.info("libraries and registry ready in %.2f s", preparation.seconds)
    except Exception as exc:  # shown on the page that waits; the page's own imports then say more
        preparation.error = f"{type(exc).__name__}: {exc}"
        log.exception("preparing the libraries failed")
        return
    finally:
        preparation.finished.set()
    if warm:
        registry.warm_in_background(before_each_load=wait_while_pages_run)


_go = threading.Event()  # set: the preparation starts (or has started)


def prepare_in_background(warm: bool = False, within: float = 0.0) -> Preparation:
    """Start importing the heavy libraries (and, with `warm`, loading the default models) in a daemon
    thread, once per process; later calls return the same progress record.

    With `within` > 0 (the server at launch) the thread waits up to that many seconds for a call without it
    (app.py makes one as a technique page opens, and after the first page has been sent): on two cores the
    imports beside Streamlit's own start-up and the first page, all sharing the GIL, made that page a second
    slower."""
    global _preparation
    with _lock:
        if within <= 0:
            _go.set()
        if _preparation is None:
            _preparation = Preparation()
            threading.Thread(
                target=_prepare, args=(_preparation, warm, _go, within), name="prepare", daemon=True
            ).start()
        return _preparation


def preparation() -> Preparation | None:
    """The progress record, or None when nothing started the preparation."""
    return _preparation


def registry_if_ready() -> Any | None:
    """The process-wide registry once the preparation built it, else None (never waits, never imports)."""
    if _preparation is None or not _preparation.finished.is_set() or _preparation.error:
        return None
    from models.core.registry import get_registry

    return get_registry()
