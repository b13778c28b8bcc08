"""The `ray` inference backend: shared models served by Ray Serve, used through the same objects the
pages already call.

`STUDIO_BACKEND=ray` (with `RAY_ADDRESS`, e.g. `127.0.0.1:6379`, naming the cluster) makes the registry
hand out, for every model that has a Serve application of its id on the cluster (deployed by
`models/serving/deploy.py`, e.g. through `make serve-cluster`), a `RemoteModel` instead of loading the
weights in this process. A `RemoteModel` stands in for the technique's pipeline object (a `Translator`, a
`SentimentClassifier`, a `LanguageModel`...): `isinstance` checks and the technique wrappers
(`as_translator`, ...) accept it, its plain attributes (names, labels, limits) were copied once from the
replica, and each method call runs in a replica of the model's deployment. Generation streams its steps
from the replica (`stream_generation`); closing the iterator cancels the request there.

What stays in the app's process: models of tasks that are not served (word vectors, spaCy pipelines and
other lookup-heavy models that pages read directly), models the cluster has no application for, and the
rare feature that reads a model's internals (transfer learning reads the backbone's layers): it gets a
local copy of that model, loaded once, on first use.

Light to import: Ray is imported only when the backend connects.
"""

import asyncio
import functools
import inspect
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from types import FunctionType
from typing import TYPE_CHECKING, Any

from models.core.batching import ServerBusyError
from models.core.errors import ModelLoadError, StudioError

if TYPE_CHECKING:
    from models.core.specs import ModelSpec

log = logging.getLogger("studio.serving")

BACKEND_ENV = "STUDIO_BACKEND"
ADDRESS_ENV = "RAY_ADDRESS"
NAMESPACE = "studio"
REQUEST_TIMEOUT_S = 300.0  # a request that long is answered with the "busy" message, not a hang
RETRIES, RETRY_PAUSE_S = 2, 1.0  # a call whose replica died, sent again while Serve replaces it
RECONNECT_AFTER_S = 30.0  # after failing to reach the cluster, pages get the same message until then
# Tasks whose models run in Serve deployments. The others are read directly by their pages (word vectors:
# 400k x 50 floats scanned per query; spaCy pipelines) and stay in the app's process.
SERVED_TASKS = ("char-lm", "causal-lm", "text-classification", "translation", "image-classification", "segmentation")
LOOPBACK = ("127.", "localhost", "::1", "[::1]")


class ModelServerError(StudioError):
    """The replica answering a request stopped (it is being replaced)."""


# ---------------------------------------------------------------- what a replica tells the client


@dataclass(frozen=True)
class Description:
    """A pipeline object as the client sees it: its class (for isinstance), the plain values of its
    attributes and properties, its method names, and the attributes that only a local copy has
    (weights, tokenizers: never sent over the network)."""

    cls: type
    attributes: dict[str, Any]
    methods: frozenset[str]
    local_only: frozenset[str]


def is_plain(value: Any, depth: int = 0) -> bool:
    """Small data that is cheap to copy to the client: numbers, strings, and containers of them."""
    if isinstance(value, str | bytes | int | float | bool | type(None)):
        return not isinstance(value, str | bytes) or len(value) < 100_000
    if depth > 3:
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return len(value) <= 10_000 and all(is_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return len(value) <= 10_000 and all(is_plain(k, depth + 1) and is_plain(v, depth + 1) for k, v in value.items())
    return type(value).__name__ == "device" and type(value).__module__ == "torch"  # torch.device


def describe(obj: Any) -> Description:
    """The `Description` of a pipeline object (run in the replica)."""
    attributes: dict[str, Any] = {}
    methods: set[str] = set()
    local_only: set[str] = set()
    for name in dir(obj):
        if name.startswith("_"):
            continue
        if isinstance(inspect.getattr_static(type(obj), name, None), FunctionType | staticmethod | classmethod):
            methods.add(name)
            continue
        try:
            value = getattr(obj, name)  # properties are evaluated once, here
        except Exception:  # a property that does not apply to this model (e.g. NotImplementedError)
            continue
        if is_plain(value):
            attributes[name] = value
        else:
            local_only.add(name)
    return Description(type(obj), attributes, frozenset(methods), frozenset(local_only))


# ---------------------------------------------------------------- the client side


@contextmanager
def remote_errors(name: str) -> Iterator[None]:
    """Errors from the cluster as the app shows them: the model's own error (an InputError, an
    out-of-memory error...) as if it had been raised here; a full queue as the "busy" message; a replica
    that died as a `ModelServerError`. Never a Ray traceback on the page."""
    from ray import exceptions as ray_errors
    from ray.serve import exceptions as serve_errors

    try:
        yield
    except ray_errors.RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, serve_errors.BackPressureError):
            raise _busy(name) from None
        if isinstance(cause, Exception) and not isinstance(cause, ray_errors.RayError):
            raise cause from None
        raise ModelServerError(f"{name} failed on the Ray cluster: {type(cause).__name__}. Try again.") from None
    except serve_errors.BackPressureError:
        raise _busy(name) from None
    except (TimeoutError, ray_errors.GetTimeoutError):
        raise ServerBusyError(
            f"{name} did not answer within {REQUEST_TIMEOUT_S:.0f} s: the cluster is overloaded. Try again later."
        ) from None
    except (
        ray_errors.RayActorError,
        ray_errors.ActorUnavailableError,
        serve_errors.ReplicaUnavailableError,
        serve_errors.DeploymentUnavailableError,
    ):
        raise ModelServerError(
            f"The server running {name} stopped while answering; it is being replaced. Try again in a moment."
        ) from None
    except (ray_errors.RayError, serve_errors.RayServeException) as exc:  # anything else Ray reports
        raise ModelServerError(f"{name} failed on the Ray cluster ({type(exc).__name__}). Try again.") from None


def outside_event_loop(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)`, waited for in a helper thread when this thread runs an asyncio event loop:
    Ray Serve's handles refuse to block inside one (a notebook's, or Playwright's sync API in the tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def answer(response: Any) -> Any:
    """A Serve handle call's result, within the request timeout."""
    return outside_event_loop(response.result, timeout_s=REQUEST_TIMEOUT_S)


def _busy(name: str) -> ServerBusyError:
    return ServerBusyError(f"{name} is busy: too many requests are already waiting. Try again in a moment.")


class RemoteModel:
    """Stands in for a pipeline object that lives in a Ray Serve deployment (see the module docstring)."""

    def __init__(self, spec: "ModelSpec", handle: Any, description: Description, local_copy: Callable[[], Any]) -> None:
        self.__dict__.update(_spec=spec, _handle=handle, _description=description, _load_local=local_copy, _local=None)
        self.__dict__["_local_lock"] = threading.Lock()

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        # isinstance(remote, Translator) holds as it does for the local object (unittest.mock does the same).
        return self._description.cls

    def __getattr__(self, name: str) -> Any:
        description: Description | None = self.__dict__.get("_description")
        if description is None or name.startswith("__"):
            raise AttributeError(name)
        if name in description.attributes:
            return description.attributes[name]
        if name in description.methods:
            return functools.partial(self._call, name)
        if name in description.local_only:
            return getattr(self._local_copy(), name)
        raise AttributeError(f"{description.cls.__name__} has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"<{self._description.cls.__name__} {self._spec.id!r} served by Ray Serve>"

    def _call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:  # positional-only: a model's own `method=`
        # Model calls have no side effects: one whose replica died is sent again, to its replacement.
        attempt = 0
        while True:
            try:
                with remote_errors(self._spec.name):
                    return answer(self._handle.call.remote(method, args, kwargs))
            except ModelServerError:
                attempt += 1
                if attempt > RETRIES:
                    raise
                time.sleep(RETRY_PAUSE_S * attempt)

    def stream_generation(self, prompt: str, decoding: Any, chat: bool) -> Iterator[Any]:
        """`models.generation.generate` run by the replica: its Steps as they are made. Closing the
        iterator early (the browser tab closed) cancels the request, and the replica's stream leaves
        the batch at its next step."""
        with remote_errors(self._spec.name):
            response = self._handle.options(stream=True).generate.remote(prompt, decoding, chat)
        try:
            with remote_errors(self._spec.name):
                while (step := outside_event_loop(next, response, None)) is not None:
                    yield step
        except GeneratorExit:  # closed early; a request that failed (busy, say) has nothing left to cancel
            outside_event_loop(response.cancel)
            raise

    def server_stats(self) -> dict[str, Any]:
        """One replica's counters (batches formed, items in them, steps generated, streams running) and its
        Ray node: for tests and the bench."""
        with remote_errors(self._spec.name):
            return answer(self._handle.stats.remote())

    def _local_copy(self) -> Any:
        """The same model loaded in this process (once), for features that read its internals."""
        with self.__dict__["_local_lock"]:
            if self.__dict__["_local"] is None:
                log.info("model %s: a local copy for a feature that reads its internals", self._spec.id)
                self.__dict__["_local"] = self.__dict__["_load_local"]()
            return self.__dict__["_local"]


def is_loopback(address: str) -> bool:
    return address.startswith(LOOPBACK)


def ray_environment(address: str) -> dict[str, str]:
    """Environment for Ray processes and drivers of this project, read when Ray is imported. For a cluster
    on this machine every address stays 127.0.0.1 (Ray would otherwise replace 127.0.0.1 by the machine's
    outward address, which it finds by routing towards a public IP)."""
    # No usage statistics; and no Ray call that finds no cluster (a handle's thread after the cluster went
    # away) may quietly start a new local one in this process.
    env = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_AUTO_CONNECT": "0"}
    if is_loopback(address):
        # Named for Windows/macOS, where it is off: it makes Ray treat the cluster as this machine only.
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    return env


def connect_to_cluster(address: str) -> None:
    """Join the Ray cluster at `address` as a driver (once per process), quietly."""
    for key, value in ray_environment(address).items():
        os.environ.setdefault(key, value)
    import ray

    if not ray.is_initialized():
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING)


class RayBackend:
    """Models of served tasks that have a Serve application on the cluster at `address` run there."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._applications: frozenset[str] | None = None
        self._failure: tuple[float, str] | None = None  # when and why reaching the cluster last failed
        self._lock = threading.Lock()

    def applications(self) -> frozenset[str]:
        """The Serve applications on the cluster (one per served model), read once per process."""
        with self._lock:
            if self._applications is None:
                if self._failure and time.monotonic() - self._failure[0] < RECONNECT_AFTER_S:
                    raise ModelLoadError(self._failure[1])
                try:
                    connect_to_cluster(self.address)
                    from ray import serve

                    self._applications = frozenset(serve.status().applications)
                except Exception as exc:  # any failure to reach the cluster is one clear message
                    message = (
                        f"Could not reach the Ray cluster at {self.address} ({type(exc).__name__}: {exc}). "
                        f"Start it with `make serve-cluster`, or unset {BACKEND_ENV} to run the models here."
                    )
                    self._failure = (time.monotonic(), message)
                    raise ModelLoadError(message) from exc
                log.info("Ray cluster at %s serves: %s", self.address, ", ".join(sorted(self._applications)))
            return self._applications

    def connect(self, spec: "ModelSpec", local_copy: Callable[[], Any]) -> RemoteModel | None:
        """A `RemoteModel` for `spec`, or None when it runs in this process (not a served task, or no
        application for it on the cluster). `local_copy()` loads the model here, for the features that
        read its internals."""
        if spec.task not in SERVED_TASKS or spec.id not in self.applications():
            return None
        from ray import serve

        try:
            with remote_errors(spec.name):
                handle = serve.get_app_handle(spec.id)
                description = answer(handle.describe.remote())
        except ServerBusyError:
            raise
        except StudioError as exc:
            raise ModelLoadError(f"{spec.name} is deployed on the Ray cluster but does not answer: {exc}") from exc
        return RemoteModel(spec, handle, description, local_copy)


def backend_from_environment() -> RayBackend | None:
    """The backend `STUDIO_BACKEND` asks for: None for `local` (the default), a `RayBackend` for `ray`."""
    name = os.environ.get(BACKEND_ENV, "").strip().lower() or "local"
    if name == "local":
        return None
    if name != "ray":
        raise ModelLoadError(f"{BACKEND_ENV} must be 'local' or 'ray', not '{name}'.")
    address = os.environ.get(ADDRESS_ENV, "").strip()
    if not address:
        raise ModelLoadError(f"{BACKEND_ENV}=ray needs {ADDRESS_ENV}, the Ray cluster's address (host:port).")
    return RayBackend(address)
