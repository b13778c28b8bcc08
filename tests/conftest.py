"""Shared fixtures: a real `streamlit run` server and a headless Debian Chromium driven by Playwright."""

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.serve_cluster import app_command

# Visitors see no traceback (.streamlit/config.toml); the tests do: in AppTest (this process) and in the
# servers they start (Streamlit reads STREAMLIT_<SECTION>_<OPTION> on the command line's behalf). The GPU
# machine runs the model tests without Streamlit.
os.environ["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] = "full"
with contextlib.suppress(ModuleNotFoundError):
    from streamlit import config

    config.set_option("client.showErrorDetails", "full")

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_sockets(root_pid: int) -> list[tuple[str, str, int]]:
    """(process name, address, port) of every listening TCP socket of `root_pid` and its descendants."""
    import psutil

    root = psutil.Process(root_pid)
    found = []
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            name = process.name()
            found += [
                (name, c.laddr.ip, c.laddr.port)
                for c in process.net_connections("inet")
                if c.status == psutil.CONN_LISTEN
            ]
    return found


def on_loopback(address: str) -> bool:
    """127.0.0.0/8 and ::1, also written as an IPv4-mapped IPv6 address (::ffff:127.0.0.1)."""
    import ipaddress

    ip = ipaddress.ip_address(address)
    return (ip.ipv4_mapped or ip).is_loopback if ip.version == 6 else ip.is_loopback


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {timeout} s")


@contextlib.contextmanager
def streamlit_server(log_name: str = "streamlit.log", like_make_run: bool = False) -> Iterator[str]:
    """`streamlit run app.py` on a free port of 127.0.0.1, its output in test-artifacts/<log_name>;
    yields its base URL. With `like_make_run`: what `make run` starts instead, `tools/serve.py` with
    STUDIO_WARMUP=1 (the default models load from the server's start)."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    env = {**os.environ, "STUDIO_WARMUP": "1" if like_make_run else "0", "PYTHONUNBUFFERED": "1"}
    command = app_command(port, ("tools/serve.py",) if like_make_run else ("-m", "streamlit", "run", "app.py"))
    with (ARTIFACTS / log_name).open("w") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_health(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:  # sessions still running (a load test): stop it hard
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Base URL of one app server shared by the whole test session."""
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator["object"]:
    """Debian's chromium (from PATH; `make test` installs it) under Playwright. Never downloads a browser."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("chromium is not on PATH: `make test` installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator["object"]:
    """A fresh browser tab (own context, 1400x900) per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(90_000)
    yield tab
    context.close()


def wait_for_app(page, timeout_ms: int = 120_000) -> None:
    """Wait until the script has finished running and Streamlit's skeletons are gone."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_function(
        '() => !document.querySelector(\'[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]\')',
        timeout=timeout_ms,
    )


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module")
def tiny_llama_folder(tmp_path_factory) -> Path:
    """A tiny Llama trained to recite a few sentences (tests/precision.py), saved as a user's model."""
    from tests.precision import train_tiny_llama

    folder = tmp_path_factory.mktemp("recited-llama")
    train_tiny_llama(folder)
    return folder
