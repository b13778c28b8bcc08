"""Browser load test (issue 9): many people use one server at once.

    python -m bench load                              # N = 10, then 30; 3 actions each (also part of `make bench`)
    LOAD_USERS=3 LOAD_ACTIONS=2 python -m bench load  # a quick run to debug

Options (environment variables, so that the runner can call `run()` with no arguments):
    LOAD_USERS      comma-separated numbers of simultaneous users, one load phase each (default "10,30")
    LOAD_ACTIONS    main actions per user and page (default 3)
    LOAD_TIMEOUT_S  limit for one action, and for opening a page (default 120)
    LOAD_OPENING    how many users open their page at the same time (default 3)

One server, started the way `make run` starts it (`tools/serve.py`, STUDIO_WARMUP=1) through
`tests.conftest.streamlit_server`, on 127.0.0.1, its output in test-artifacts/bench-load-streamlit.log.
One headless Debian chromium, driven by Playwright's async API (one browser context per user, all
users' coroutines gathered on one event loop). Once the home page says every default model is ready:

1. a single user opens each technique page in turn and repeats its main action LOAD_ACTIONS times
   (the baseline);
2. for each N in LOAD_USERS: N users, spread over the six technique pages round-robin, open their
   page (LOAD_OPENING at a time: on a shared 2-core machine 30 Chromium tabs loading Streamlit's
   JavaScript at once starve everything for minutes); once every page is open, all N repeat their
   page's main action LOAD_ACTIONS times at the same time, with no pause between actions.

The main actions: sentiment, a new sentence in the text area; translation, a new English sentence for the
page's default English->Spanish model; generation,
a new prompt and "Generate" (30 characters from the default character model); classification and
segmentation (person mask), another sample photo; analogies, three new words. An action is timed
from the first keystroke or click to the moment a rerun has happened (or the result shows the new
input), the page's result is on screen and the script has stopped running. Every sentence is new,
so Streamlit's caches never answer in place of the models.

Figures: per phase and page, the action latencies' p50, p95 and max and the page opening's p50;
errors (an exception box or an error message on the page, or a timeout; the target is 0); the
server's peak RSS (VmRSS of the server and any child process sampled every 0.5 s, and the kernel's
VmHWM); the CPU seconds the server and the browser used during the phase, and Chromium's summed
RSS; the machine's least available memory; and, from the server log's
`studio.registry: loaded model <id> in ...` lines, how often each model was loaded (once each).
The server's own share: with STUDIO_LOG_SCRIPT_RUNS=1 (set here) app.py logs every script run's
duration, and each phase reports, per page, the p50 and p95 of the runs that finished (the time the
server spent running the page's script, without the browser's rendering and the websocket) and how
many runs a newer rerun interrupted.
A page's first failed action in a phase is saved as a screenshot in test-artifacts/load-failures/.
The server runs without Streamlit's file watcher, so that edits others make in the checkout during the
run do not reload modules under the users' feet.
The browser runs on the same machine as the server, so under load the two share its cores.
"""

import asyncio
import contextlib
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from tests.conftest import ARTIFACTS, CHROMIUM_FLAGS, streamlit_server  # imports pytest

LOG_NAME = "bench-load-streamlit.log"
LOAD_LINE = re.compile(r"studio\.registry: loaded model (\S+) in ")
SCRIPT_RUN_LINE = re.compile(r"studio\.pages: script run /(\S*) (done|interrupted) in ([\d.]+) ms")
READY_TIMEOUT_S = 300
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
# Counts the script runs the page has seen start: an action is over only after a rerun it caused.
COUNT_RERUNS = """
window.__benchReruns = 0;
new MutationObserver((records) => {
  for (const record of records) {
    if (record.target.getAttribute("data-test-script-state") === "running") window.__benchReruns += 1;
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-test-script-state"]});
"""

SENTENCES = [
    "The acting was wonderful, but the ending dragged on far too long.",
    "A dull, lifeless script that only the music manages to rescue.",
    "I laughed, I cried, and I would happily watch it again tomorrow.",
    "Not the disaster the critics promised, yet hardly a masterpiece.",
]
# English for the translation page's default model; the number makes every sentence new.
ENGLISH = [
    "We need {n} more chairs for the meeting.",
    "My sister bought {n} books at the market.",
    "The train leaves in {n} minutes.",
    "There are {n} students in my class.",
]
ANALOGIES = [
    ("france", "paris", "italy"),
    ("good", "better", "bad"),
    ("walk", "walked", "swim"),
    ("man", "king", "woman"),
]
# Sample photos in the order the image pages pick them (each page starts on a photo not in its cycle).
CLASSIFICATION_PHOTOS = ["coffee", "astronaut", "rocket", "motorcycle", "Grace Hopper"]
SEGMENTATION_PHOTOS = ["Grace Hopper", "coffee", "cat (chelsea)", "motorcycle", "rocket"]


@dataclass
class Options:
    users: list[int]
    actions: int
    timeout_s: float
    opening_at_once: int

    @classmethod
    def from_environment(cls) -> "Options":
        return cls(
            users=[int(n) for n in os.environ.get("LOAD_USERS", "10,30").split(",") if n.strip()],
            actions=int(os.environ.get("LOAD_ACTIONS", "3")),
            timeout_s=float(os.environ.get("LOAD_TIMEOUT_S", "120")),
            opening_at_once=int(os.environ.get("LOAD_OPENING", "3")),
        )


# ---------------------------------------------------------------------------------------------- the pages' actions
# Each action does what a user does for one new result. `serial` is unique per action in the whole run.


async def pick_sample_photo(page, name: str) -> None:
    await page.locator('[data-testid="stSelectbox"]', has_text="Sample photo").click()
    await page.locator('[role="option"]', has_text=name).first.click()


async def new_sentence(page, step: int, serial: int) -> None:
    area = page.get_by_label("Text to analyse")
    await area.fill(f"{SENTENCES[step % len(SENTENCES)]} Seen on night {serial}.")
    await area.press("Control+Enter")


async def new_english_sentence(page, step: int, serial: int) -> None:
    area = page.locator('[data-testid="stTextArea"] textarea').first
    await area.fill(ENGLISH[step % len(ENGLISH)].format(n=serial + 1))
    await area.press("Control+Enter")


def in_letters(number: int) -> str:
    """1 -> 'b', 26 -> 'ba': a number the character models can read (they never saw a digit)."""
    letters = ""
    while True:
        number, rest = divmod(number, 26)
        letters = chr(ord("a") + rest) + letters
        if number == 0:
            return letters


async def generate(page, step: int, serial: int) -> None:
    prompt = f"HAMLET\nNight {in_letters(serial)}: to be, or not"
    await page.locator('[data-testid="stTextArea"] textarea').first.fill(prompt)
    await page.locator('[data-testid="stBaseButton-primary"]', has_text="Generate").click()


async def new_photo_to_classify(page, step: int, serial: int) -> None:
    await pick_sample_photo(page, CLASSIFICATION_PHOTOS[step % len(CLASSIFICATION_PHOTOS)])


async def new_photo_to_segment(page, step: int, serial: int) -> None:
    await pick_sample_photo(page, SEGMENTATION_PHOTOS[step % len(SEGMENTATION_PHOTOS)])


async def new_analogy(page, step: int, serial: int) -> None:
    for label, word in zip(["a", "is to b", "as c is to ?"], ANALOGIES[step % len(ANALOGIES)], strict=True):
        box = page.get_by_label(label, exact=True)
        await box.fill(word)
    await box.press("Enter")


def analogy_heading(step: int) -> str:
    """The answer's heading once all three new words are in (each word's commit reruns the page)."""
    a, b, c = ANALOGIES[step % len(ANALOGIES)]
    return f'h3:has-text("{a} is to {b} as {c} is to")'


@dataclass(frozen=True)
class TechniquePage:
    """A technique page under test. An action is over when the page has seen a rerun start or the
    text of `changes` (CSS) differs from before the action (the rerun counter, kept in the DOM, misses
    a rerun so short that React renders its start and its end at once), then `result` (a Playwright
    selector) is shown and the script has stopped running."""

    path: str  # with the query string that sets it up
    act: Callable[..., Awaitable[None]]
    result: str | Callable[[int], str]  # or the selector for action number `step`
    changes: str


MAIN_TEXT = '[data-testid="stMain"] [data-testid="stMarkdownContainer"]'
PAGES: dict[str, TechniquePage] = {
    "analogies": TechniquePage("analogies", new_analogy, analogy_heading, "h3"),
    "generation": TechniquePage(
        "generation?length_char-lm=30", generate, '[data-testid="stHtml"]', '[data-testid="stHtml"]'
    ),
    # the fourth model's verdict; the words each model saw
    "sentiment": TechniquePage("sentiment", new_sentence, '[data-testid="stMetric"] >> nth=3', MAIN_TEXT),
    # English->Spanish, the page's default, with Apertium and IBM Model 1 beside it: the best translation
    "translation": TechniquePage("translation", new_english_sentence, '[data-testid="stMarkdownContainer"] h4', "h4"),
    # the fifth of the top 5
    "classification": TechniquePage(
        "classification", new_photo_to_classify, '[data-testid="stProgress"] >> nth=4', '[data-testid="stProgress"]'
    ),
    "segmentation": TechniquePage(
        "segmentation?seg_mode=Person", new_photo_to_segment, "text=mask over the photo", MAIN_TEXT
    ),
}
TEXT_OF = "(selector) => [...document.querySelectorAll(selector)].map((e) => e.innerText).join('|')"


# ---------------------------------------------------------------------------------------------- one user


@dataclass
class Outcomes:
    """What a phase's users saw: latencies per page, page openings, errors (page, what)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    openings: dict[str, list[float]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    acting_since: float | None = None  # when every page was open and the actions began
    screenshots: set[str] = field(default_factory=set)  # pages whose first failure was saved


class Serial:
    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


async def error_on_page(page) -> str | None:
    with contextlib.suppress(Exception):  # the page may be gone
        boxes = page.locator(ERRORS)
        if await boxes.count():
            return "error on the page: " + (await boxes.first.inner_text(timeout=5_000))[:200].replace("\n", " ")
    return None


async def keep_screenshot(page, outcomes: Outcomes, name: str, number: int) -> None:
    """The page as it was at a page's first failure, in test-artifacts/load-failures/."""
    if name in outcomes.screenshots:
        return
    outcomes.screenshots.add(name)
    path = ARTIFACTS / "load-failures" / f"{number:04d}-{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(Exception):
        await page.screenshot(path=str(path), full_page=True, timeout=30_000)


async def open_page(page, url: str, timeout_ms: float) -> None:
    await page.goto(url, timeout=timeout_ms)
    await page.wait_for_selector(IDLE, timeout=timeout_ms)
    await page.wait_for_function(
        '() => !document.querySelector(\'[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]\')',
        timeout=timeout_ms,
    )


async def timed_action(page, tested: TechniquePage, step: int, serial: int, timeout_s: float) -> float:
    """Seconds from the action's start until its rerun is over and its result is shown."""
    started = time.perf_counter()
    deadline = started + timeout_s

    def left_ms() -> float:
        return max(1.0, (deadline - time.perf_counter()) * 1000)

    reruns = await page.evaluate("window.__benchReruns")
    text = await page.evaluate(TEXT_OF, tested.changes)
    await tested.act(page, step, serial)
    await page.wait_for_function(
        f"([reruns, selector, text]) => window.__benchReruns > reruns || ({TEXT_OF})(selector) !== text",
        arg=[reruns, tested.changes, text],
        timeout=left_ms(),
    )
    result = tested.result(step) if callable(tested.result) else tested.result
    await page.wait_for_selector(result, timeout=left_ms())
    await page.wait_for_selector(IDLE, timeout=left_ms())
    return time.perf_counter() - started


@dataclass
class Crowd:
    """What the users of one phase share: slots for opening a page, and the start line of the actions."""

    opening: asyncio.Semaphore
    all_open: asyncio.Barrier


async def use_page(
    browser, base_url: str, name: str, options: Options, crowd: Crowd, serial: Serial, outcomes: Outcomes
):
    """One user in their own browser context: open the page, wait for the others, then the page's
    main action `options.actions` times."""
    tested = PAGES[name]
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = None
        async with crowd.opening:
            started = time.perf_counter()
            try:
                await context.add_init_script(COUNT_RERUNS)
                page = await context.new_page()
                page.set_default_timeout(options.timeout_s * 1000)
                await open_page(page, f"{base_url}/{tested.path}", options.timeout_s * 1000)
                outcomes.openings.setdefault(name, []).append(time.perf_counter() - started)
            except Exception as exc:  # a timeout or a closed page: this user can do nothing more
                outcomes.errors.append((name, f"opening: {type(exc).__name__}: {str(exc)[:200]}"))
                page = None
        await crowd.all_open.wait()
        outcomes.acting_since = outcomes.acting_since or time.perf_counter()
        if page is None:
            return
        for step in range(options.actions):
            number = serial.next()
            try:
                seconds = await timed_action(page, tested, step, number, options.timeout_s)
            except Exception as exc:
                first_line = str(exc).splitlines()[0] if str(exc) else ""
                problem = f"{type(exc).__name__}: {first_line[:160]}; {await error_on_page(page) or 'no error box'}"
                outcomes.errors.append((name, f"action {step + 1}: {problem}"))
                await keep_screenshot(page, outcomes, name, number)
                continue
            problem = await error_on_page(page)
            if problem:
                outcomes.errors.append((name, f"action {step + 1}: {problem}"))
                await keep_screenshot(page, outcomes, name, number)
            else:
                outcomes.latencies.setdefault(name, []).append(seconds)
    finally:
        await context.close()


# ---------------------------------------------------------------------------------------------- memory and CPU


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class ResourceSampler:
    """Every 0.5 s: the server's RSS (with any children), Chromium's summed RSS, the machine's available
    memory, and the CPU seconds the server and Chromium have used since `reset()`."""

    def __init__(self, server: psutil.Process) -> None:
        self.server = server
        self.reset()

    def reset(self) -> None:
        self.peak_rss_mb = self.browser_peak_rss_mb = 0.0
        self.least_available_mb = float("inf")
        self.cpu_at_reset: dict[int, float] = {}
        self.cpu_now: dict[int, float] = {}
        self.sample()
        self.cpu_at_reset = dict(self.cpu_now)

    @staticmethod
    def browser_processes() -> list[psutil.Process]:
        found = []
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "chrom" in child.name():
                    found.append(child)
        return found

    def sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            servers = [self.server, *self.server.children(recursive=True)]
            self.peak_rss_mb = max(self.peak_rss_mb, sum(p.memory_info().rss for p in servers) / 2**20)
            self.cpu_now[self.server.pid] = cpu_seconds(self.server)
        browser_rss = 0
        for process in self.browser_processes():
            with contextlib.suppress(psutil.Error):
                browser_rss += process.memory_info().rss
                self.cpu_now[process.pid] = cpu_seconds(process)
        self.browser_peak_rss_mb = max(self.browser_peak_rss_mb, browser_rss / 2**20)
        self.least_available_mb = min(self.least_available_mb, psutil.virtual_memory().available / 2**20)

    def cpu_used(self, server: bool) -> float:
        """CPU seconds since `reset()`: the server's, or Chromium's (its processes' last samples)."""
        return sum(
            seconds - self.cpu_at_reset.get(pid, 0.0)
            for pid, seconds in self.cpu_now.items()
            if (pid == self.server.pid) == server
        )

    async def watch(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.5)


def server_process(url: str) -> psutil.Process:
    """The server this process started: the child whose command line names its port."""
    port = url.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if port in child.cmdline():
                return child
    raise RuntimeError(f"no child process serves {url}")


def high_water_mark_mb(process: psutil.Process) -> float:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024


# ---------------------------------------------------------------------------------------------- the run


async def wait_until_models_ready(browser, url: str) -> str:
    """Reload the home page until it says 'Models ready: N of N' (the warm-up has finished)."""
    context = await browser.new_context()
    page = await context.new_page()
    shown = "not shown"
    deadline = time.perf_counter() + READY_TIMEOUT_S
    try:
        while time.perf_counter() < deadline:
            await open_page(page, url, READY_TIMEOUT_S * 1000)
            found = re.search(r"Models ready: (\d+) of (\d+)", await page.inner_text("body"))
            shown = f"{found[1]} of {found[2]}" if found else "not shown"
            if found and found[1] == found[2]:
                return shown
            await asyncio.sleep(1)
        raise TimeoutError(f"the models were not ready after {READY_TIMEOUT_S} s ({shown})")
    finally:
        await context.close()


async def single_user(browser, url: str, options: Options, serial: Serial) -> Outcomes:
    outcomes = Outcomes()
    for name in PAGES:
        alone = Crowd(asyncio.Semaphore(1), asyncio.Barrier(1))
        await use_page(browser, url, name, options, alone, serial, outcomes)
    return outcomes


async def many_users(browser, url: str, users: int, options: Options, serial: Serial) -> Outcomes:
    outcomes = Outcomes()
    names = list(PAGES)
    crowd = Crowd(asyncio.Semaphore(options.opening_at_once), asyncio.Barrier(users))
    await asyncio.gather(
        *(use_page(browser, url, names[user % len(names)], options, crowd, serial, outcomes) for user in range(users))
    )
    return outcomes


def script_runs(log: Path, since_byte: int) -> dict[str, dict[str, list[float]]]:
    """The server's script runs logged after `since_byte`: page -> {"done": [ms...], "interrupted": [...]}."""
    with log.open("rb") as file:
        file.seek(since_byte)
        text = file.read().decode(errors="replace")
    runs: dict[str, dict[str, list[float]]] = {}
    for page, outcome, milliseconds in SCRIPT_RUN_LINE.findall(text):
        runs.setdefault(page, {"done": [], "interrupted": []})[outcome].append(float(milliseconds))
    return runs


def summarise(
    phase: str, outcomes: Outcomes, started: float, resources: ResourceSampler, runs: dict[str, dict[str, list[float]]]
) -> dict[str, object]:
    figures: dict[str, object] = {}
    for name in PAGES:
        page_path = PAGES[name].path.split("?")[0]
        server_ms = runs.get(page_path, {"done": [], "interrupted": []})
        if server_ms["done"]:
            figures[f"{phase}: {name} script run p50 (ms)"] = float(np.percentile(server_ms["done"], 50))
            figures[f"{phase}: {name} script run p95 (ms)"] = float(np.percentile(server_ms["done"], 95))
        figures[f"{phase}: {name} script runs done"] = len(server_ms["done"])
        figures[f"{phase}: {name} script runs interrupted"] = len(server_ms["interrupted"])
        times = outcomes.latencies.get(name, [])
        if times:
            figures[f"{phase}: {name} action p50 (s)"] = float(np.percentile(times, 50))
            figures[f"{phase}: {name} action p95 (s)"] = float(np.percentile(times, 95))
            figures[f"{phase}: {name} action max (s)"] = max(times)
        figures[f"{phase}: {name} actions done"] = len(times)
        openings = outcomes.openings.get(name, [])
        if openings:
            figures[f"{phase}: {name} page opening p50 (s)"] = float(np.percentile(openings, 50))
        figures[f"{phase}: {name} errors"] = sum(page == name for page, _ in outcomes.errors)
    figures[f"{phase}: errors"] = len(outcomes.errors)
    figures[f"{phase}: error messages"] = [f"{page}: {what}" for page, what in outcomes.errors]
    figures[f"{phase}: wall time (s)"] = time.perf_counter() - started
    figures[f"{phase}: wall time of the actions, once every page was open (s)"] = time.perf_counter() - (
        outcomes.acting_since or started
    )
    figures[f"{phase}: server peak RSS, sampled (MB)"] = resources.peak_rss_mb
    figures[f"{phase}: browser peak RSS, summed over its processes (MB)"] = resources.browser_peak_rss_mb
    figures[f"{phase}: least memory available on the machine (MB)"] = resources.least_available_mb
    figures[f"{phase}: server CPU (s)"] = resources.cpu_used(server=True)
    figures[f"{phase}: browser CPU (s)"] = resources.cpu_used(server=False)
    figures[f"{phase}: load average (1 min) after"] = os.getloadavg()[0]
    return figures


def print_phase(figures: dict[str, object], phase: str) -> None:
    """The phase's lines of the table, printed as soon as the phase is over."""

    def cell(key: str) -> str:
        value = figures.get(key)
        return f"{value:6.2f}" if isinstance(value, float) else "     -"

    print(
        f"\n  {phase}  ({figures[f'{phase}: wall time (s)']:.0f} s, of which acting "
        f"{figures[f'{phase}: wall time of the actions, once every page was open (s)']:.0f} s; load average after: "
        f"{figures[f'{phase}: load average (1 min) after']:.2f})"
    )
    for name in PAGES:
        prefix = f"{phase}: {name}"
        print(
            f"    {name:<15}{cell(f'{prefix} action p50 (s)')} {cell(f'{prefix} action p95 (s)')} "
            f"{cell(f'{prefix} action max (s)')}   open {cell(f'{prefix} page opening p50 (s)')}   "
            f"{figures[f'{prefix} actions done']:>3} done  {figures[f'{prefix} errors']:>2} errors   "
            f"server {cell(f'{prefix} script run p50 (ms)')} {cell(f'{prefix} script run p95 (ms)')} ms "
            f"({figures[f'{prefix} script runs done']} runs, "
            f"{figures[f'{prefix} script runs interrupted']} interrupted)"
        )
    for message in figures[f"{phase}: error messages"]:
        print(f"    ! {message}")
    print(
        f"    server peak RSS {figures[f'{phase}: server peak RSS, sampled (MB)']:,.0f} MB, least memory "
        f"available {figures[f'{phase}: least memory available on the machine (MB)']:,.0f} MB, Chromium "
        f"{figures[f'{phase}: browser peak RSS, summed over its processes (MB)']:,.0f} MB; CPU used: server "
        f"{figures[f'{phase}: server CPU (s)']:.0f} s, browser {figures[f'{phase}: browser CPU (s)']:.0f} s",
        flush=True,
    )


async def measure(url: str, log: Path, options: Options) -> dict[str, object]:
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise RuntimeError("chromium is not on PATH: `make test` installs Debian's chromium package.")
    server = server_process(url)
    resources = ResourceSampler(server)
    watcher = asyncio.create_task(resources.watch())
    serial = Serial()
    figures: dict[str, object] = {
        "users per phase": options.users,
        "actions per user": options.actions,
        "pages opened at once": options.opening_at_once,
    }
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
            print(
                "\nAction latency (s) per page: p50 / p95 / max, opening the page p50, actions done, errors; "
                "the server's script runs (ms) p50 / p95"
            )
            started = time.perf_counter()
            figures["models ready"] = await wait_until_models_ready(browser, url)
            figures["warm-up, from the browser's launch (s)"] = time.perf_counter() - started
            runs = [("1 user", lambda: single_user(browser, url, options, serial))]
            runs += [(f"{n} users", lambda n=n: many_users(browser, url, n, options, serial)) for n in options.users]
            for phase, users in runs:
                resources.reset()
                log_size = log.stat().st_size
                started = time.perf_counter()
                outcomes = await users()
                figures |= summarise(phase, outcomes, started, resources, script_runs(log, log_size))
                print_phase(figures, phase)
            await browser.close()
    finally:
        watcher.cancel()
    figures["server peak RSS, VmHWM (MB)"] = high_water_mark_mb(server)
    return figures


def count_model_loads(log: Path) -> dict[str, object]:
    loads = Counter(LOAD_LINE.findall(log.read_text(errors="replace")))
    repeated = [f"{model_id} ({count} times)" for model_id, count in loads.items() if count > 1]
    print(
        f"\nModel loads in the server log: {sum(loads.values())} of {len(loads)} models; "
        f"loaded more than once: {', '.join(repeated) or 'none'}"
    )
    return {
        "model loads per id": dict(loads),
        "models loaded": len(loads),
        "models loaded more than once": repeated or "none",
    }


def run() -> dict[str, object]:
    options = Options.from_environment()
    os.environ["STUDIO_LOG_SCRIPT_RUNS"] = "1"  # the server inherits it
    with streamlit_server(LOG_NAME, like_make_run=True) as url:  # no file watcher (see tests/conftest.py)
        figures = asyncio.run(measure(url, ARTIFACTS / LOG_NAME, options))
    return figures | count_model_loads(ARTIFACTS / LOG_NAME)
