"""The model registry: every model the app can use, where its weights come from, and one
loaded copy of each per process.

Each technique module (models/analogies/vectors.py, models/generation/__init__.py, ...) lists its embedded
defaults in a module-level `MODELS: list[ModelSpec]`. Users add their own models of a known
task in a TOML file or an environment variable (see `user_specs`).

Sources are tried in this order:
1. `local_path`: a directory or file the user named (an error if it does not exist);
2. `embedded`: the project's default, from an installed package or a file in assets/;
3. `hub_id`: a Hugging Face hub id, only in online mode (`STUDIO_ONLINE=1`).
"""

import contextlib
import functools
import importlib
import importlib.util
import logging
import os
import pickle
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from models.core.device import best_device
from models.core.errors import ModelLoadError
from models.core.network import ONLINE_ENV, apply_network_mode, is_online
from models.core.specs import USER_TASKS, Loader, ModelSpec, PipelineWrapper, Source, embedded_path
from models.serving.client import RayBackend, backend_from_environment

log = logging.getLogger("studio.registry")

# Modules that contribute embedded defaults; a technique whose module is not written yet is skipped.
# In the navigation's order: the warm-up loads their models in this order.
TECHNIQUE_MODULES = (
    "models.text_basics.pipeline",
    "models.analogies.vectors",
    "models.generation.catalog",
    "models.sentiment.catalog",
    "models.translation.translator",
    "models.translation.baselines",
    "models.speech.catalog",
    "models.classification.classifier",
    "models.segmentation.segmenter",
    "models.segmentation.instances",
    "models.transformer.catalog",
)
CONFIG_ENV = "STUDIO_CONFIG"
MODELS_ENV = "STUDIO_MODELS"
DEFAULT_CONFIG = Path("studio.toml")


def resolve_source(spec: ModelSpec, online: bool | None = None) -> Source:
    """Pick the source to load `spec` from, in the documented order, or explain why none works."""
    online = is_online() if online is None else online
    if spec.local_path:
        path = Path(spec.local_path).expanduser()
        if not path.exists():
            raise ModelLoadError(f"{spec.name}: the local path {path} does not exist.")
        return Source("local", str(path))
    if spec.embedded:
        path = embedded_path(spec.embedded)
        if path is not None:
            return Source("embedded", str(path))
    if spec.hub_id:
        if online:
            return Source("hub", spec.hub_id)
        raise ModelLoadError(
            f"{spec.name} comes from the Hugging Face hub ('{spec.hub_id}') and the app is offline. "
            f"Start it with {ONLINE_ENV}=1 to allow downloads, or download the model and name its "
            "folder as `path` in studio.toml."
        )
    missing = f" ({spec.embedded} is not installed)" if spec.embedded else ""
    raise ModelLoadError(f"{spec.name} has no source it can load from{missing}. Run `make setup`.")


def source_size_bytes(source: Source) -> int | None:
    """Bytes on disk of a local or embedded source; None for a hub id."""
    if source.kind == "hub":
        return None
    path = Path(source.location)
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@dataclass
class LoadStatus:
    state: Literal["not loaded", "loading", "loaded", "failed"] = "not loaded"
    seconds: float | None = None
    device: str | None = None
    source: Source | None = None
    error: str | None = None


def _user_loader(task: str) -> Loader:
    from models.core import loaders

    if task == "word-vectors":
        return loaders.load_word_vectors
    if task == "spacy-pipeline":
        return loaders.load_spacy_pipeline
    return functools.partial(loaders.load_hf, task)


def user_spec(entry: dict[str, Any]) -> ModelSpec:
    """A ModelSpec from one user entry: {task, path or hub, id?, name?, licence?, card?}."""
    task = entry.get("task")
    if task not in USER_TASKS:
        raise ModelLoadError(f"Model entry {entry}: task must be one of {', '.join(USER_TASKS)}.")
    path, hub = entry.get("path"), entry.get("hub")
    if not path and not hub:
        raise ModelLoadError(f"Model entry {entry}: give a `path` or a `hub` id.")
    label = str(path or hub)
    model_id = entry.get("id") or f"user:{label}"
    return ModelSpec(
        id=model_id,
        task=task,
        name=entry.get("name") or Path(label).name or label,
        licence=entry.get("licence", "see the model's own card"),
        card=entry.get("card", f"User model ({USER_TASKS[task]}) from `{label}`."),
        loader=_user_loader(task),
        local_path=path,
        hub_id=hub,
        summary=f"added by the user from {label}",
    )


def user_specs(environ: dict[str, str] | None = None) -> list[ModelSpec]:
    """User models from the TOML config and the environment variable.

    TOML (`$STUDIO_CONFIG`, else ./studio.toml):

        [[models]]
        task = "text-classification"
        hub = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
        name = "DistilBERT SST-2"

    Environment: `STUDIO_MODELS="text-classification=/path/to/dir;causal-lm=hub:gpt2"`.
    """
    environ = os.environ if environ is None else environ
    entries: list[dict[str, Any]] = []
    config = Path(environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    if config.is_file():
        try:
            entries += tomllib.loads(config.read_text(encoding="utf-8")).get("models", [])
        except tomllib.TOMLDecodeError as exc:
            raise ModelLoadError(f"{config} is not valid TOML: {exc}") from exc
    elif environ.get(CONFIG_ENV):
        raise ModelLoadError(f"{CONFIG_ENV} names {config}, which does not exist.")
    for item in filter(None, (s.strip() for s in environ.get(MODELS_ENV, "").split(";"))):
        task, sep, where = item.partition("=")
        if not sep:
            raise ModelLoadError(f"{MODELS_ENV} entry '{item}' should look like task=path or task=hub:id.")
        key, location = ("hub", where[4:]) if where.startswith("hub:") else ("path", where)
        entries.append({"task": task.strip(), key: location.strip()})
    return [user_spec(entry) for entry in entries]


@functools.cache
def technique_catalog() -> tuple[tuple[ModelSpec, ...], dict[str, PipelineWrapper]]:
    """Every technique module's embedded defaults (`MODELS`) and its pipeline wrappers (`WRAPPERS`, task ->
    what turns a loaded model of that task into the object its page uses), read once per process."""
    specs: list[ModelSpec] = []
    wrappers: dict[str, PipelineWrapper] = {}
    for name in TECHNIQUE_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A library the technique needs is not installed (gensim on the GPU check's machine): its
            # models are left out and the rest of the app works. Our own missing modules are bugs.
            if not exc.name or exc.name.split(".")[0] == "models":
                raise
            log.warning("%s's models are left out: the library %s is not installed", name, exc.name)
            continue
        specs += module.MODELS
        wrappers.update(getattr(module, "WRAPPERS", {}))
    return tuple(specs), wrappers


def default_specs() -> list[ModelSpec]:
    return list(technique_catalog()[0])


def wrap_for_task(task: str, loaded: Any, name: str) -> Any:
    """What the registry loaded -> the pipeline object a page of `task` uses: the technique's own wrapper."""
    wrappers = technique_catalog()[1]
    if task not in wrappers:
        raise ModelLoadError(f"Models of the task '{task}' have no pipeline to serve them in.")
    return wrappers[task](loaded, name)


@dataclass
class Registry:
    """Specs by id, and at most one loaded copy of each model per process."""

    specs: dict[str, ModelSpec]
    device: torch.device = field(default_factory=best_device)
    config_error: str | None = None  # why the user's model config could not be read, if it could not
    backend: RayBackend | None = None  # STUDIO_BACKEND=ray: models served by Ray Serve (models/serving/)
    _warmup: threading.Thread | None = None
    # Keyed by (model id, device): None is the shared copy, on `device`; an explicit device (the CPU
    # fallback after a CUDA out-of-memory error) is a copy of its own.
    _models: dict[tuple[str, torch.device | None], Any] = field(default_factory=dict)
    _status: dict[tuple[str, torch.device | None], LoadStatus] = field(default_factory=dict)
    _locks: dict[tuple[str, torch.device | None], threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    # Loads a page asked for and that are still running: the warm-up starts no new load while there are any.
    _page_loads: int = 0
    _page_loads_done: threading.Condition = field(default_factory=threading.Condition)

    @classmethod
    def from_specs(cls, specs: list[ModelSpec], **kwargs: Any) -> "Registry":
        by_id: dict[str, ModelSpec] = {}
        for spec in specs:
            if spec.id in by_id:
                raise ModelLoadError(f"Two models share the id '{spec.id}'.")
            by_id[spec.id] = spec
        return cls(specs=by_id, **kwargs)

    def list(self, task: str | None = None) -> list[ModelSpec]:
        return [s for s in self.specs.values() if task is None or s.task == task]

    def get(self, model_id: str) -> ModelSpec:
        if model_id not in self.specs:
            raise ModelLoadError(f"No model with id '{model_id}' is registered.")
        return self.specs[model_id]

    def status(self, model_id: str, device: torch.device | None = None) -> LoadStatus:
        return self._status.get((model_id, device), LoadStatus())

    def is_loaded(self, model_id: str, device: torch.device | None = None) -> bool:
        return (model_id, device) in self._models

    def load(self, model_id: str, device: torch.device | None = None) -> Any:
        """The loaded model, loading it on first use. Concurrent callers wait for one load.

        `device=None` is the copy every page shares, on the registry's device. An explicit device
        (`torch.device("cpu")` for one request after the GPU ran out of memory) gets a separate copy,
        loaded once and kept, even when it is the registry's own device."""
        key = (model_id, device)
        if key in self._models:
            return self._models[key]
        spec = self.get(model_id)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with self._page_load(), lock:
            if key in self._models:
                return self._models[key]
            target = self.device if device is None else device
            status = LoadStatus(state="loading")
            self._status[key] = status
            start = time.perf_counter()
            try:
                served = self._connect(spec) if self.backend is not None and device is None else None
                if served is not None:  # a handle on the model's Ray Serve deployment
                    model, where = served, "Ray Serve"
                else:
                    status.source = resolve_source(spec)
                    model, where = spec.loader(status.source.location, target), str(target)
            except Exception as exc:  # any loader failure becomes one clear, page-level message
                status.state, status.error = "failed", _describe_failure(spec, status.source, exc)
                raise ModelLoadError(status.error) from exc
            status.state, status.seconds, status.device = "loaded", time.perf_counter() - start, where
            self._models[key] = model
            # One line per load in the server's log: the load test counts them (each model once), so a
            # fallback copy's line reads differently.
            if device is None:
                log.info("loaded model %s in %.2f s on %s", model_id, status.seconds, status.device)
            else:
                log.info("loaded a separate %s copy of model %s in %.2f s", status.device, model_id, status.seconds)
            return model

    @contextlib.contextmanager
    def _page_load(self) -> Iterator[None]:
        """Counts a load that a page (any thread but the warm-up's) waits for, while it runs."""
        if threading.current_thread() is self._warmup:
            yield
            return
        with self._page_loads_done:
            self._page_loads += 1
        try:
            yield
        finally:
            with self._page_loads_done:
                self._page_loads -= 1
                self._page_loads_done.notify_all()

    def _connect(self, spec: ModelSpec) -> Any:
        """The backend's stand-in for `spec`'s served model, with how to get a local copy of it (for the
        features that read a model's internals), or None when the model runs in this process."""

        def local_copy() -> Any:
            return wrap_for_task(spec.task, self.load(spec.id, self.device), spec.name)

        return self.backend.connect(spec, local_copy)

    def warm_in_background(self, before_each_load: Callable[[], object] = lambda: None) -> threading.Thread:
        """Load every model that has a local or embedded source, one after another, in a daemon
        thread, so the first visitor does not wait. Failures are recorded in each model's status.
        Started once per registry: later calls return the same thread.

        Pages come first: the thread runs at a lower CPU priority (Linux), it starts no load while a page waits
        for one, so a page opened during the warm-up loads its own model (or waits only for the one being
        loaded), not behind the whole list, and models marked `warm_last` (long loads no page opens with) come
        after the others. `before_each_load()` may wait longer (the app waits while any page's script runs:
        models/core/startup.py)."""

        def warm() -> None:
            lower_this_threads_priority()
            for spec in sorted(self.list(), key=lambda spec: spec.warm_last):  # stable: the navigation's order
                before_each_load()
                with self._page_loads_done:
                    self._page_loads_done.wait_for(lambda: self._page_loads == 0)
                try:
                    if resolve_source(spec).kind != "hub":
                        self.load(spec.id)
                except ModelLoadError:
                    continue

        with self._guard:
            if self._warmup is None:
                self._warmup = threading.Thread(target=warm, name="model-warmup", daemon=True)
                self._warmup.start()
            return self._warmup


def lower_this_threads_priority(niceness: int = 10) -> None:
    """Make the calling thread yield the CPU to the others (Linux: a thread's own nice value; the
    OpenMP workers that torch starts from it inherit it). Elsewhere nothing changes."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def _describe_failure(spec: ModelSpec, source: Source | None, exc: Exception) -> str:
    if isinstance(exc, ModelLoadError):
        return str(exc)
    where = f" from {source.location}" if source else ""
    if isinstance(exc, pickle.UnpicklingError):  # torch.load's own message advises weights_only=False: not here
        return f"Could not load {spec.name}{where}: the file is corrupt or not a PyTorch checkpoint."
    return f"Could not load {spec.name}{where}: {type(exc).__name__}: {exc}"


_registry: Registry | None = None
_registry_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry: embedded defaults plus the user's models."""
    global _registry
    with _registry_lock:
        if _registry is None:
            apply_network_mode()
            try:
                extra, error = user_specs(), None
            except ModelLoadError as exc:  # a bad config must not take the built-in models down
                extra, error = [], str(exc)
            try:
                backend = backend_from_environment()
            except ModelLoadError as exc:  # a misconfigured backend: say so, run the models here
                backend, error = None, str(exc)
            _registry = Registry.from_specs(default_specs() + extra, config_error=error, backend=backend)
        return _registry
