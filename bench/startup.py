"""Memory and cold start (issue 9).

Memory: a fresh Python process loads every default model with a local or embedded source, one after
another through the registry, and reports its RSS (psutil) after each load, and its peak RSS (the
kernel's high-water mark, which psutil does not expose), against the 3 GB target on CPU.

Cold start: `tools/serve.py` (what `make run` starts) with STUDIO_WARMUP=1 on a free port, timed from
the launch to /_stcore/health answering, to the home page rendered in Debian's chromium (launched beforehand;
the first-page figure, target < 3 s: the home page does not wait for torch or the warm-up), then each
technique page opened one after another during the warm-up (translation first, then the navigation's order),
each timed to its first useful render (its main result, `ui.main_result`; target < 3 s) and to drawn whole,
and to the home page's "Models ready: N of M" reading N == M (reloaded until then, at most 300 s). The
warm-up thread starts with the server.

STARTUP_OPEN says how each technique page is opened:
- `click` (the default): as a presenter does, by clicking its link in the home page's sidebar, in the same tab
  (the app is already in the browser; the page's script runs over the open connection);
- `tab`: in a new browser context each (a visitor arriving with a link: the app's files are fetched and
  started again each time, while the server imports torch and loads models)."""

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from models.core.errors import ModelLoadError
from models.core.registry import get_registry, resolve_source

REPO = Path(__file__).resolve().parent.parent
TARGET_MB = 3 * 1024
READY_TIMEOUT_S = 300
# Opened right after the first page: translation first (the slowest before), then the navigation's order.
PAGES_DURING_WARM_UP = ("translation", "text_basics", "analogies", "generation", "sentiment", "classification")


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def load_all() -> dict[str, float | str]:
    """In this process: RSS after each default model's load (the registry's order, as the warm-up)."""
    registry = get_registry()
    figures: dict[str, float | str] = {"RSS before loading, after imports (MB)": rss_mb()}
    for spec in registry.list():
        try:
            if resolve_source(spec).kind == "hub":
                continue
            registry.load(spec.id)
            figures[f"RSS after loading {spec.id} (MB)"] = rss_mb()
        except ModelLoadError as exc:
            figures[f"RSS after loading {spec.id} (MB)"] = f"failed: {exc}"
    figures["RSS with every default model loaded (MB)"] = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; updated lazily
    figures["peak RSS (MB)"] = max(peak, figures["RSS with every default model loaded (MB)"])
    figures["peak RSS under the 3 GB target"] = "yes" if figures["peak RSS (MB)"] < TARGET_MB else "no"
    return figures


def memory() -> dict[str, float | str]:
    """`load_all` in a fresh process, so this one's imports and models do not count (nor pytest's)."""
    code = "import json; from bench.startup import load_all; print(json.dumps(load_all()))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def cold_start() -> dict[str, float | str]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import ARTIFACTS, CHROMIUM_FLAGS, free_port, wait_for_app, wait_for_health  # imports pytest
    from tools.serve_cluster import app_command

    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = app_command(port)  # what `make run` starts
    env = {**os.environ, "STUDIO_WARMUP": "1", "PYTHONUNBUFFERED": "1"}
    figures: dict[str, float | str] = {}
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    with (
        sync_playwright() as playwright,
        (ARTIFACTS / "bench-startup-streamlit.log").open("w") as log,
    ):
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_health(url, process, timeout=120)
            figures["cold start: to /_stcore/health (s)"] = time.perf_counter() - start
            page.goto(url)
            wait_for_app(page)
            figures["cold start: to first page rendered (s)"] = time.perf_counter() - start
            figures["first page under the 3 s target"] = (
                "yes" if figures["cold start: to first page rendered (s)"] < 3 else "no"
            )
            # Then the technique pages, one after another as a presenter clicks through them during the
            # warm-up: each shows the libraries' progress while they load, then its result.
            how = os.environ.get("STARTUP_OPEN", "click")
            figures["technique pages opened by"] = {"click": "a click in the sidebar", "tab": "a new browser"}[how]
            for path in PAGES_DURING_WARM_UP:
                opened = time.perf_counter()
                if how == "click":
                    click_through(page, path)
                    to_result, to_drawn = times_to_result_and_drawn(page, opened)
                else:
                    technique = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                    technique.goto(f"{url}/{path}")
                    to_result, to_drawn = times_to_result_and_drawn(technique, opened)
                    technique.context.close()
                when = f"{path} page, opened {opened - start:.1f} s after the launch"
                figures[f"{when}, to its result (s)"] = to_result
                figures[f"{when}, to drawn whole (s)"] = to_drawn
            if how == "click":
                page.goto(url)  # back home, where the models' progress is read
                wait_for_app(page)
            for measure in ("to its result", "to drawn whole"):
                slowest = max(value for key, value in figures.items() if key.endswith(f"{measure} (s)"))
                figures[f"slowest page opened during the warm-up, {measure} (s)"] = slowest
                figures[f"every page opened during the warm-up under the 3 s target, {measure}"] = (
                    "yes" if slowest < 3 else "no"
                )
            shown, loaded_at = "not shown", None  # the home page's last "N of M"
            while loaded_at is None and time.perf_counter() - start < READY_TIMEOUT_S:
                found = re.search(r"Models ready: (\d+) of (\d+)", page.inner_text("body"))
                shown = f"{found[1]} of {found[2]}" if found else "not shown"
                if found and found[1] == found[2]:
                    loaded_at = time.perf_counter() - start
                else:
                    time.sleep(1)
                    page.reload()
                    wait_for_app(page)
            figures["cold start: to every default model loaded (s)"] = loaded_at or f"timed out at {shown}"
            figures["models ready"] = shown
            figures["server RSS after warm-up (MB)"] = psutil.Process(process.pid).memory_info().rss / 2**20
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            browser.close()
    return figures


def click_through(page, path: str) -> None:
    """Click the sidebar's link to `path` and wait until that page's run has begun: the address has changed
    and the title is no longer the previous page's."""
    before = page.inner_text("h1")
    page.click(f'[data-testid="stSidebarNav"] a[href$="/{path}"]')
    page.wait_for_function(
        """([path, before]) => {
            const title = document.querySelector("h1");
            return location.pathname.endsWith("/" + path) && title && title.innerText !== before;
        }""",
        arg=[path, before],
        timeout=300_000,
    )


def times_to_result_and_drawn(page, opened: float) -> tuple[float, float]:
    """Seconds from `opened` until the page's main result shows (`ui.main_result`, the first useful render;
    a page without one: until it is drawn whole), and until it is drawn whole (its script has ended and no
    skeleton is left)."""
    from tests.conftest import wait_for_app

    page.wait_for_function(
        """() => {
            const result = document.querySelector(".st-key-main_result");
            const ended = document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]');
            return (result && result.innerText.trim() !== "") || ended;
        }""",
        polling=50,  # milliseconds; the default, every animation frame, would add work to the drawing it times
        timeout=300_000,
    )
    to_result = time.perf_counter() - opened
    wait_for_app(page, timeout_ms=300_000)
    to_drawn = time.perf_counter() - opened
    shown = page.locator(".st-key-main_result").count() > 0
    return (to_result if shown else to_drawn), to_drawn


def run() -> dict[str, float | str]:
    return memory() | cold_start()
