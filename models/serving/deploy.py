"""Ray Serve deployments of the studio's models: one Serve application per model, named by its id.

    registry = get_registry()
    deploy([registry.get("translation-dates"), registry.get("sentiment-minilm")])   # after ray.init

Each replica (`ModelServer`) gets the model's `ModelSpec` (its loader is pickled by reference, so the
replica imports only that technique's module), loads the model, wraps it as the model's page does
(`registry.wrap_for_task`) and serves its methods. Batching is Serve's own: where the local pipeline would
micro-batch (`models/core/batching.py`'s `MicroBatcher`: the transformer classifier, the subword translator, the
CNN on a GPU), the replica puts `ServeBatch` in its place, which hands each item to the `@serve.batch`
method `run_batch`. Generation keeps its continuous batching (`models.generation.StreamBatcher`) inside
the replica and streams each request's steps back. Per model: replicas and autoscaling, CPUs, a fraction of
a GPU where the cluster has GPUs, and queue bounds (`Scaling`).
"""

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ray import serve

from models.core.batching import MicroBatcher, answers_or_errors
from models.core.paths import REPO_ROOT
from models.core.registry import Registry, get_registry, wrap_for_task
from models.core.specs import ModelSpec
from models.serving.client import BACKEND_ENV, Description, describe

# The replicas' environment: the local backend inside them (they load the weights), the project on the
# import path, and the settings that say how models load and run, as this process has them.
PASSED_TO_REPLICAS = ("STUDIO_ONLINE", "STUDIO_CACHE_DIR", "STUDIO_TORCH_THREADS", "XDG_CACHE_HOME")


@dataclass(frozen=True)
class Scaling:
    """How one model is served. With `min_replicas < max_replicas` Serve's autoscaler adds replicas while
    more than `target_ongoing_requests` requests per replica are in flight, and removes them when idle."""

    min_replicas: int = 1  # 0: no replica while nobody asks; the first request waits for one to start
    max_replicas: int = 2
    initial_replicas: int | None = None  # None: min_replicas
    target_ongoing_requests: float = 8
    num_cpus: float = 0.5  # Ray's scheduling unit per replica (not a limit on the threads it uses)
    gpu_share: float = 0.1  # num_gpus per replica when the cluster has GPUs: several models share one
    max_ongoing_requests: int = 32  # in flight at one replica; batches form among these
    max_queued_requests: int = 64  # waiting in one client for a replica; beyond that: the "busy" message
    batch_size: int = 16
    batch_wait_s: float = 0.003  # how long a batch waits for more requests after the first

    def deployment_options(self, gpus: bool) -> dict[str, Any]:
        env = {BACKEND_ENV: "local", "PYTHONPATH": str(REPO_ROOT)}
        env.update({key: os.environ[key] for key in PASSED_TO_REPLICAS if key in os.environ})
        actor_options: dict[str, Any] = {"num_cpus": self.num_cpus, "runtime_env": {"env_vars": env}}
        if gpus:
            actor_options["num_gpus"] = self.gpu_share
        scaling: dict[str, Any] = {"num_replicas": self.min_replicas}
        if self.max_replicas > self.min_replicas:
            scaling = {
                "autoscaling_config": {
                    "min_replicas": self.min_replicas,
                    "initial_replicas": self.min_replicas if self.initial_replicas is None else self.initial_replicas,
                    "max_replicas": self.max_replicas,
                    "target_ongoing_requests": self.target_ongoing_requests,
                    "upscale_delay_s": 3,
                    "downscale_delay_s": 60,
                }
            }
        return {
            "ray_actor_options": actor_options,
            "max_ongoing_requests": self.max_ongoing_requests,
            "max_queued_requests": self.max_queued_requests,
            **scaling,
        }


DEFAULT_SCALING = Scaling()
# Models that differ from the default: the small language model is the heaviest per request (a stream of
# up to 512 forward passes), the character models the lightest.
SCALING: dict[str, Scaling] = {
    "smollm2-135m-instruct": Scaling(num_cpus=1, gpu_share=0.25, max_replicas=4, target_ongoing_requests=16),
    **{
        f"charlm-{corpus}-{cell}": Scaling(num_cpus=0.1, gpu_share=0.05, max_replicas=1)
        for corpus in ("hamlet", "names")
        for cell in ("rnn", "lstm", "gru")
    },
}


def scaling_for(model_id: str) -> Scaling:
    return SCALING.get(model_id, DEFAULT_SCALING)


class ServeBatch:
    """Takes the place of a pipeline's `MicroBatcher` in a replica: `batcher(item)` (called from a worker
    thread) waits for the deployment's `@serve.batch` method to answer that item within a batch."""

    enabled = True

    def __init__(self, server: "ModelServer", loop: asyncio.AbstractEventLoop) -> None:
        self.server, self.loop = server, loop

    def __call__(self, item: Any) -> Any:
        answer = asyncio.run_coroutine_threadsafe(self.server.run_batch(item), self.loop).result()
        if isinstance(answer, Exception):
            raise answer
        return answer


class ModelServer:
    """One replica of one model's deployment. Calls run in a pool of `concurrency` threads (one per request
    the replica accepts at once: a call waiting in `ServeBatch` holds its thread) and batches in a thread of
    their own, so that waiting calls can never take the thread their batch needs."""

    def __init__(self, spec: ModelSpec, batch_size: int, batch_wait_s: float, concurrency: int) -> None:
        from models.core.device import use_app_thread_policy

        use_app_thread_policy()
        self.model = wrap_for_task(spec.task, Registry.from_specs([spec]).load(spec.id), spec.name)
        self.description = describe(self.model)
        self.callers = ThreadPoolExecutor(concurrency, thread_name_prefix="call")
        self.batch_runner = ThreadPoolExecutor(1, thread_name_prefix="batch")
        batcher = getattr(self.model, "batcher", None)
        # The pipeline's own batch function, run by Serve's batching instead of ours (see ServeBatch).
        self.batch_function: Callable[[list[Any]], list[Any]] | None = None
        if isinstance(batcher, MicroBatcher) and batcher.enabled:
            self.batch_function = batcher.run_batch
        self.run_batch.set_max_batch_size(batch_size)
        self.run_batch.set_batch_wait_timeout_s(batch_wait_s)
        self.batches = self.items = self.steps = 0  # counters for tests and the bench
        self.streams: set[threading.Thread] = set()

    def _use_serve_batching(self) -> None:
        # Done at the first call, on the replica's event loop, which ServeBatch hands the items to.
        if self.batch_function is not None and not isinstance(self.model.batcher, ServeBatch):
            self.model.batcher = ServeBatch(self, asyncio.get_running_loop())

    async def describe(self) -> Description:
        return self.description

    async def call(self, method: str, args: tuple, kwargs: dict) -> Any:
        if method not in self.description.methods:
            raise AttributeError(f"{self.description.cls.__name__} has no method {method!r}")
        self._use_serve_batching()
        run = functools.partial(getattr(self.model, method), *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.callers, run)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.003)
    async def run_batch(self, items: list[Any]) -> list[Any]:
        self.batches += 1
        self.items += len(items)
        assert self.batch_function is not None  # only ServeBatch calls it
        run = functools.partial(answers_or_errors, self.batch_function, items)
        return await asyncio.get_running_loop().run_in_executor(self.batch_runner, run)

    async def generate(self, prompt: str, decoding: Any, chat: bool) -> AsyncIterator[Any]:
        """`models.generation.generate`'s Steps, streamed. A thread reads them (the model's StreamBatcher
        makes them, or the thread steps a model that has none); when the client cancels, the thread stops
        at the next step and closes the stream, which takes it out of the batch."""
        from models.generation import generate

        loop = asyncio.get_running_loop()
        steps: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                with contextlib.closing(generate(self.model, prompt, decoding, chat)) as stream:
                    for step in stream:
                        self.steps += 1
                        loop.call_soon_threadsafe(steps.put_nowait, step)
                        if stop.is_set():
                            break
                loop.call_soon_threadsafe(steps.put_nowait, None)
            except Exception as exc:  # InputError and friends reach the client as they are
                loop.call_soon_threadsafe(steps.put_nowait, exc)
            finally:
                self.streams.discard(threading.current_thread())

        thread = threading.Thread(target=produce, name="stream", daemon=True)
        self.streams.add(thread)
        thread.start()
        try:
            while (step := await steps.get()) is not None:
                if isinstance(step, Exception):
                    raise step
                yield step
        finally:
            stop.set()

    async def stats(self) -> dict[str, Any]:
        import ray

        return {
            "batches": self.batches,
            "items": self.items,
            "steps": self.steps,
            "streams_running": len(self.streams),
            "node": ray.get_runtime_context().get_node_id(),
        }


def cluster_has_gpus() -> bool:
    import ray

    return ray.cluster_resources().get("GPU", 0) > 0


def model_application(spec: ModelSpec, plan: Scaling, gpus: bool) -> serve.Application:
    """One model's Serve application: a deployment named "model" of `ModelServer`."""
    deployment = serve.deployment(ModelServer, name="model").options(**plan.deployment_options(gpus))
    return deployment.bind(spec, plan.batch_size, plan.batch_wait_s, plan.max_ongoing_requests)


def application(args: dict[str, str]) -> serve.Application:
    """Ray Serve's application builder, for config files (`serve deploy`, a KubeRay RayService):
    `import_path: models.serving.deploy:application`, `args: {model_id: translation-dates}`, and
    `gpu: "yes"`/`"no"` to say whether replicas take a share of a GPU (default: if the cluster has one
    now). The file's `deployments:` entry for "model" can override any of `Scaling`'s settings."""
    spec = get_registry().get(args["model_id"])  # the defaults and the user's models (studio.toml, STUDIO_MODELS)
    gpu = str(args.get("gpu", "auto")).lower()
    return model_application(spec, scaling_for(spec.id), cluster_has_gpus() if gpu == "auto" else gpu == "yes")


def deploy(specs: Iterable[ModelSpec], scaling: Callable[[str], Scaling] = scaling_for) -> list[str]:
    """Deploy each model as a Serve application named by its id, all at once, and wait until they run.
    Serve starts without its HTTP proxy: the app reaches the models through handles only."""
    serve.start(proxy_location="Disabled")
    gpus = cluster_has_gpus()
    targets = [
        serve.RunTarget(model_application(spec, scaling(spec.id), gpus), name=spec.id, route_prefix=None)
        for spec in specs
    ]
    serve.run_many(targets)
    return [target.name for target in targets]
