"""A class together under load (issue 26): many phones join one class and send a guess while the presenter's panel
refreshes.

    python -m bench classroom                             # 40 phones, each a Chromium context
    CLASS_PHONES=10 python -m bench classroom             # a quick run
    CLASS_PHONES_AS=protocol python -m bench classroom    # 40 phones without a browser: the server's share
    CLASS_ON=cluster python -m bench classroom            # against make serve-cluster's topology

One server as `make run` starts it (`tools/serve.py`, STUDIO_WARMUP=1; SQLite in the cache directory), on
127.0.0.1, its output in test-artifacts/bench-classroom-streamlit.log. One headless Debian chromium under
Playwright's async API: the presenter's window (1400x900) starts a class on /classroom and reads the join address
its QR code carries; then every phone (a 390x844 touch context) opens that address, joins with a name and sends a
guess for the next word, CLASS_OPENING phones opening the page at the same time (on two shared cores, forty tabs
loading Streamlit's JavaScript at once starve everything). Meanwhile the presenter's panel, which re-reads the
database every second without a reload, is watched for "Guesses: k." and "k in:".

Figures: the time from the first phone's start to the last guess sent (target: 40 phones within 30 s); each
phone's join (page opened to "You are in as") and send (click to "Sent:") p50/p95/max; the panel's lag behind
the phones (each guess's "Sent:" to the panel counting it; target under 2 s) p50/p95/max; errors (an exception
or error box on a phone or the presenter's page, or a timeout; target 0); the server's CPU seconds.
The browser runs on the same machine as the server, so the two share its cores: forty Chromium tabs drawing
Streamlit's pages take most of two cores. With CLASS_PHONES_AS=protocol the phones are Streamlit sessions without
a browser (bench/streamlit_session.py: the same page runs, form values and 2-second watch fragment, nothing drawn),
all opening at once; the presenter is still a Chromium window. With CLASS_ON=cluster the app runs as
`make serve-cluster` runs it (tools/serve_cluster.py: nginx in front of two app replicas sharing PostgreSQL, the
presenter's language model on Ray Serve); the server CPU then counts all of those processes.
"""

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from bench.load import cpu_seconds
from bench.streamlit_session import StreamlitSession
from tests.conftest import ARTIFACTS, CHROMIUM_FLAGS, free_port, streamlit_server  # imports pytest
from tools.serve_cluster import topology

LOG_NAME = "bench-classroom-streamlit.log"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
GUESSES = ["mat", "floor", "sofa", "rug", "bed", "chair", "table", "roof"]
TIMEOUT_MS = 180_000
LANGUAGE_MODEL = "smollm2-135m-instruct"  # the presenter's Next word panel; the only model the cluster serves here
NOT_SERVERS = ("chrom", "node")  # the browser and Playwright's driver: every other child process serves the app


async def wait_for_app(page) -> None:
    await page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)


async def start_class(page, url: str) -> str:
    """The presenter starts a class; the join address its QR code carries."""
    await page.goto(f"{url}/classroom")
    await wait_for_app(page)
    await page.get_by_role("button", name="Start a class").click()
    code = page.locator('[data-testid="stCode"] code', has_text="/join?room=").first
    await code.wait_for(timeout=TIMEOUT_MS)
    await page.get_by_text("0 in:").wait_for(timeout=TIMEOUT_MS)
    await page.locator('[data-testid="stVegaLiteChart"]').wait_for(timeout=TIMEOUT_MS)  # SmolLM2's words: loaded
    return (await code.inner_text()).strip()


async def phone(browser, join_url: str, number: int, opening: asyncio.Semaphore, record: dict) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        async with opening:
            opened = time.perf_counter()
            await page.goto(join_url)
            await wait_for_app(page)
        await page.get_by_label("Display name (leave it empty to stay anonymous)").fill(f"Phone {number}")
        await page.get_by_role("button", name="Join").click()
        await page.get_by_text("You are in as").wait_for()
        record["join"] = time.perf_counter() - opened
        await page.get_by_label("Your guess for the next word").fill(GUESSES[number % len(GUESSES)])
        clicked = time.perf_counter()
        await page.get_by_role("button", name="Send").click()
        await page.get_by_text("Sent:").wait_for()
        record["sent_at"] = time.perf_counter()
        record["send"] = record["sent_at"] - clicked
        if await page.locator(ERRORS).count():
            record["error"] = (await page.locator(ERRORS).first.inner_text())[:200]
    except Exception as exc:  # a timeout or a closed page: counted, the others go on
        record["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        await context.close()


async def phone_without_browser(url: str, code: str, number: int, record: dict) -> None:
    """The same phone as Streamlit's protocol alone (bench/streamlit_session.py): the server's work, no drawing."""
    try:
        async with StreamlitSession(url, "join", f"room={code}") as session:
            opened = time.perf_counter()
            await session.run()
            await session.run({"Display name (leave it empty to stay anonymous)": f"Phone {number}"}, press="Join")
            if not any("You are in as" in text for text in session.texts()):
                raise RuntimeError(f"not joined: {session.errors() or session.texts()[-3:]}")
            record["join"] = time.perf_counter() - opened
            clicked = time.perf_counter()
            await session.run({"Your guess for the next word": GUESSES[number % len(GUESSES)]}, press="Send")
            if not any(text.startswith("Sent:") for text in session.texts()):
                raise RuntimeError(f"not sent: {session.errors() or session.texts()[-3:]}")
            record["sent_at"] = time.perf_counter()
            record["send"] = record["sent_at"] - clicked
            if session.errors():
                record["error"] = session.errors()[0][:200]
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


async def watch_panel(page, phones: int, seen: dict[int, float], stop: asyncio.Event) -> None:
    """When the presenter's panel first showed each count of guesses (it refreshes itself every second)."""
    while not stop.is_set():
        text = await page.locator('[data-testid="stMain"]').inner_text()
        found = re.search(r"Guesses: (\d+)\.", text)
        if found:
            now = time.perf_counter()
            for count in range(1, int(found[1]) + 1):
                seen.setdefault(count, now)
            if int(found[1]) >= phones:
                return
        await asyncio.sleep(0.2)


def spread(values: list[float]) -> tuple[float, float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95)), float(max(values))


def servers_cpu_seconds() -> float:
    """CPU seconds of every process this benchmark started, but the browser's: the app's server, or the cluster's
    app replicas, Ray's processes, PostgreSQL and nginx."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if not any(name in child.name().lower() for name in NOT_SERVERS):
                total += cpu_seconds(child)
    return total


async def drive(url: str, phones: int, opening_at_once: int, browsers: bool) -> dict[str, object]:
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        presenter = await (await browser.new_context(viewport={"width": 1400, "height": 900})).new_page()
        join_url = await start_class(presenter, url)
        records = [{} for _ in range(phones)]
        seen: dict[int, float] = {}
        stop = asyncio.Event()
        opening = asyncio.Semaphore(opening_at_once)
        server_cpu = servers_cpu_seconds()
        started = time.perf_counter()
        watcher = asyncio.create_task(watch_panel(presenter, phones, seen, stop))
        if browsers:
            await asyncio.gather(*(phone(browser, join_url, i, opening, records[i]) for i in range(phones)))
        else:
            code = join_url.rsplit("room=", 1)[1]
            await asyncio.gather(*(phone_without_browser(url, code, i, records[i]) for i in range(phones)))
        all_sent = time.perf_counter()
        try:
            await asyncio.wait_for(watcher, timeout=30)
        except TimeoutError:
            stop.set()
        presenter_errors = await presenter.locator(ERRORS).count()
        await browser.close()
    sent = sorted(r["sent_at"] for r in records if "sent_at" in r)
    lags = [seen[k + 1] - at for k, at in enumerate(sent) if k + 1 in seen]
    errors = [r["error"] for r in records if "error" in r]
    figures: dict[str, object] = {
        "phones": phones,
        "phones are": "Chromium contexts" if browsers else "protocol sessions (no browser)",
        "phones opening the page at once": opening_at_once if browsers else phones,
        "guesses sent": len(sent),
        "first phone's start to the last guess sent (s)": all_sent - started,
        "guesses the panel showed": max(seen, default=0),
    }
    timings = {
        "join": [r["join"] for r in records if "join" in r],
        "send": [r["send"] for r in records if "send" in r],
        "panel lag": lags,
    }
    for name, values in timings.items():
        if values:
            p50, p95, most = spread(values)
            figures |= {f"{name} p50 (s)": p50, f"{name} p95 (s)": p95, f"{name} max (s)": most}
    figures["errors"] = len(errors) + presenter_errors
    figures["error messages"] = sorted(set(errors))[:5]
    figures["server CPU (s)"] = servers_cpu_seconds() - server_cpu
    return figures


def run() -> dict[str, object]:
    phones = int(os.environ.get("CLASS_PHONES", "40"))
    opening_at_once = int(os.environ.get("CLASS_OPENING", "4"))
    browsers = os.environ.get("CLASS_PHONES_AS", "browsers") == "browsers"
    load_before = os.getloadavg()[0]
    if os.environ.get("CLASS_ON", "make-run") == "cluster":
        workdir = Path(tempfile.mkdtemp(prefix="bench-classroom-", dir=ARTIFACTS))
        print(f"make serve-cluster's topology, SmolLM2 alone on Ray Serve (logs in {workdir})", flush=True)
        with topology(workdir, free_port(), 2, model_ids=[LANGUAGE_MODEL], one_replica_each=True) as running:
            figures = asyncio.run(drive(running.url, phones, opening_at_once, browsers))
        figures = {"against": "make serve-cluster: nginx, 2 app replicas, PostgreSQL, Ray Serve", **figures}
    else:
        with streamlit_server(LOG_NAME, like_make_run=True) as url:
            figures = asyncio.run(drive(url, phones, opening_at_once, browsers))
        figures = {"against": "make run: one server, SQLite", **figures}
    return {"load average (1 min) before": load_before, **figures}
