"""Scale-out benchmark (issue 18): one run, two topologies, the same simulated users.

    python -m bench scale                                  # 1 user, then 10; 3 actions each
    SCALE_USERS=10 SCALE_ACTIONS=2 SCALE_SECONDS=8 python -m bench scale

1. `local`: one server as `make run` starts it (every model in its process).
2. `ray`: the topology of `make serve-cluster` on this machine (tools/serve_cluster.py): nginx -> two
   Streamlit replicas (STUDIO_BACKEND=ray) -> Ray Serve, one replica per model here (a 2-core machine
   has no cores for a second one).

For each: a single user, then SCALE_USERS users at once, each in their own Chromium context, repeat
their page's main action SCALE_ACTIONS times (bench/load.py's users, pages and actions): p50/p95 per
page and errors. Then, with the Ray topology still up, per served model, from this process:
- the Ray hop: the page's call made 20 times on a copy of the model in this process and on its deployment,
  alternately; the medians and their difference, the per-request overhead of going through Serve (the
  clean figure is the lexicon models', whose call costs 0.1 ms);
- one replica's throughput: 8 callers at once for SCALE_SECONDS seconds against the deployment (one
  replica): requests/s, and generated tokens/s for the language models.
- capacity: users one replica serves if each user asks once every 20 s and the replica is kept 70 %
  busy (throughput x 20 x 0.7), and the replicas (one CPU core each: a replica runs each forward
  pass on one thread) a class of 300 needs for that model. Extrapolated from the measured throughput.
"""

import asyncio
import math
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.load import PAGES, Options, Outcomes, Serial, many_users, single_user, wait_until_models_ready
from tests.conftest import ARTIFACTS, CHROMIUM_FLAGS, free_port, streamlit_server
from tools.serve_cluster import topology

USERS = int(os.environ.get("SCALE_USERS", "10"))
ACTIONS = int(os.environ.get("SCALE_ACTIONS", "3"))
SECONDS = float(os.environ.get("SCALE_SECONDS", "8"))
CALLERS = 8  # concurrent callers in the throughput measurement
HOP_CALLS = 20
CLASS_SIZE = 300
SECONDS_BETWEEN_ACTIONS = 20  # one user's pace: type, read the result, try the next thing
BUSY_TARGET = 0.7
SENTENCE = "Not bad at all: the cast is great, even if the plot is a bit of a mess."
DATE = "Thursday, 14 March 2041"


def model_actions() -> dict[str, tuple[Callable[[Any], Any], Callable[[Any], int]]]:
    """Per served model: each page's main call on the pipeline object, and how many tokens an answer
    generated (0 for a one-shot call)."""
    from models import generation as gen
    from models.core.images import sample_image

    cat, astronaut = sample_image("cat (chelsea)"), sample_image("astronaut")

    def generate(prompt: str, tokens: int) -> Callable[[Any], list]:
        return lambda lm: list(gen.generate(lm, prompt, gen.Decoding("sample", max_new_tokens=tokens, seed=1)))

    one_shot = lambda answer: 0  # noqa: E731
    return {
        "translation-dates": (lambda m: m.translate(DATE, "beam", beam_width=5), one_shot),
        "translation-enes": (lambda m: m.translate(m.examples[0], "beam", beam_width=5), one_shot),
        **{
            f"sentiment-{name}": (lambda m: (m.predict([SENTENCE]), m.explain(SENTENCE)), one_shot)
            for name in ("vader", "tfidf", "bilstm", "minilm")
        },
        "efficientnet-lite0": (lambda m: m.predict(cat, top_k=5), one_shot),
        "selfie-segmentation": (lambda m: m.segment(astronaut, 0.5), one_shot),
        "charlm-hamlet-lstm": (generate("HAMLET\nTo be, or not", 100), len),
        "smollm2-135m-instruct": (generate("The best way to learn a new language is", 30), len),
    }


# ---------------------------------------------------------------------------------------------- users


async def users_on(urls_to_warm: list[str], url: str) -> dict[str, Outcomes]:
    from playwright.async_api import async_playwright

    options = Options(users=[USERS], actions=ACTIONS, timeout_s=180, opening_at_once=3)
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            for warm in urls_to_warm:  # every app replica has loaded (or connected to) its models
                await wait_until_models_ready(browser, warm)
            serial = Serial()
            phases = {"1 user": await single_user(browser, url, options, serial)}
            phases[f"{USERS} users"] = await many_users(browser, url, USERS, options, serial)
        finally:
            await browser.close()
    return phases


def user_figures(backend: str, phases: dict[str, Outcomes]) -> dict[str, object]:
    figures: dict[str, object] = {}
    for phase, outcomes in phases.items():
        for name in PAGES:
            times = outcomes.latencies.get(name, [])
            if times:
                figures[f"{backend}, {phase}: {name} p50 (s)"] = float(np.percentile(times, 50))
                figures[f"{backend}, {phase}: {name} p95 (s)"] = float(np.percentile(times, 95))
        figures[f"{backend}, {phase}: errors"] = len(outcomes.errors)
        for page, problem in outcomes.errors[:5]:
            print(f"  {backend}, {phase}, {page}: {problem}")
    return figures


# ---------------------------------------------------------------------------------------------- models


def timed(action: Callable[[Any], Any], model: Any) -> float:
    started = time.perf_counter()
    action(model)
    return time.perf_counter() - started


def throughput(model: Any, action: Callable[[Any], Any], tokens_of: Callable[[Any], int]) -> tuple[float, float]:
    """Requests/s and tokens/s of CALLERS callers at once for SECONDS seconds."""
    done, tokens, lock = [0], [0], threading.Lock()
    deadline = time.perf_counter() + SECONDS

    def caller() -> None:
        while time.perf_counter() < deadline:
            answer = action(model)
            with lock:
                done[0] += 1
                tokens[0] += tokens_of(answer)

    started = time.perf_counter()
    threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return done[0] / elapsed, tokens[0] / elapsed


def model_figures(address: str) -> dict[str, object]:
    from models.core.device import use_app_thread_policy
    from models.core.registry import get_registry, wrap_for_task
    from models.serving.client import RayBackend, connect_to_cluster

    use_app_thread_policy()  # one thread per forward pass here too, as in the app and in the replicas
    connect_to_cluster(address)
    backend, registry = RayBackend(address), get_registry()  # this process' own registry: the local copies
    figures: dict[str, object] = {}
    print("\nPer model: median latency here / through Serve (ms), the hop, one replica's throughput")
    for model_id, (action, tokens_of) in model_actions().items():
        if model_id not in registry.specs or model_id not in backend.applications():
            continue
        spec = registry.get(model_id)
        local = wrap_for_task(spec.task, registry.load(model_id), spec.name)
        remote = backend.connect(spec, lambda local=local: local)
        for model in (local, remote):  # the first call of each warms it up
            action(model)
        # Alternated, so that a change in the machine's load during the measurement touches both alike.
        pairs = [(timed(action, local), timed(action, remote)) for _ in range(HOP_CALLS)]
        here, there = (statistics.median(column) for column in zip(*pairs, strict=True))
        per_second, tokens_per_second = throughput(remote, action, tokens_of)
        users = per_second * SECONDS_BETWEEN_ACTIONS * BUSY_TARGET
        figures |= {
            f"{model_id}: median here (ms)": 1000 * here,
            f"{model_id}: median through Serve (ms)": 1000 * there,
            f"{model_id}: Ray hop (ms)": 1000 * (there - here),
            f"{model_id}: one replica, requests/s": per_second,
            f"{model_id}: users per replica (extrapolated)": users,
            f"{model_id}: replicas for {CLASS_SIZE} users (extrapolated)": math.ceil(CLASS_SIZE / users),
        }
        if tokens_per_second:
            figures[f"{model_id}: one replica, tokens/s"] = tokens_per_second
        print(
            f"  {model_id:<24} {1000 * here:8.1f} / {1000 * there:8.1f}   hop {1000 * (there - here):6.1f} ms   "
            f"{per_second:6.2f} req/s   ~{users:5.0f} users/replica"
        )
    return figures


def run() -> dict[str, object]:
    figures: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB",
        "load average at the start (1, 5, 15 min)": [round(x, 2) for x in os.getloadavg()],
        "users": USERS,
        "actions per user": ACTIONS,
    }
    print("\n== local: one server, every model in its process ==", flush=True)
    with streamlit_server("bench-scale-local.log", like_make_run=True) as url:
        figures |= user_figures("local", asyncio.run(users_on([url], url)))
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=ARTIFACTS))
    print(f"\n== ray: nginx -> 2 app replicas -> Ray Serve (logs in {workdir}) ==", flush=True)
    with topology(workdir, free_port(), 2, one_replica_each=True) as running:
        replicas = [f"http://127.0.0.1:{port}" for port in running.app_ports]
        figures |= user_figures("ray", asyncio.run(users_on(replicas, running.url)))
        figures |= model_figures(running.ray_address)
    figures["load average at the end (1, 5, 15 min)"] = [round(x, 2) for x in os.getloadavg()]
    return figures
