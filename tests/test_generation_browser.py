"""The generation page in a real browser, with the real SmolLM2 (its one full load in the tests)."""

import re
import time

import pytest

from tests.conftest import ARTIFACTS, screenshot, wait_for_app

STOPPED = "generation stopped after"


@pytest.mark.browser
@pytest.mark.slow
def test_generation_page_with_smollm2(app_url, page):
    # The page's inputs live in the URL: open it with the transformer, a short prompt and length.
    query = "family=Transformer&strategy=greedy&length_causal-lm=12&prompt_causal-lm=The+capital+of+France+is"
    page.goto(f"{app_url}/generation?{query}")
    wait_for_app(page, timeout_ms=240_000)  # the first SmolLM2 load converts its GGUF file
    assert page.get_by_text("Chat wraps your message").is_visible()  # SmolLM2 loaded: it has a chat template
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector("text=What else could it have written?", timeout=120_000)
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    output = page.locator('[data-testid="stHtml"]').first.inner_text()
    assert len(output.strip()) > 3
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 1
    screenshot(page, "generation")


@pytest.mark.browser
@pytest.mark.slow
def test_closing_the_tab_mid_generation_stops_the_work(app_url, browser):
    """A student closes the tab while SmolLM2 writes 512 tokens: the server stops generating for them."""
    log = ARTIFACTS / "streamlit.log"  # the shared server's output (tests/conftest.py: app_url)
    stopped_before = log.read_text().count(STOPPED)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    query = "family=Transformer&strategy=greedy&length_causal-lm=512&prompt_causal-lm=Tell+me+a+long+story"
    tab.goto(f"{app_url}/generation?{query}")
    wait_for_app(tab, timeout_ms=240_000)
    tab.get_by_role("button", name="Generate").click()
    tab.wait_for_function(  # words are streaming into the output box
        "() => [...document.querySelectorAll('.st-key-streaming_text p')].some(p => p.innerText.length > 10)",
        timeout=120_000,
    )
    context.close()
    deadline = time.monotonic() + 60
    while log.read_text().count(STOPPED) == stopped_before and time.monotonic() < deadline:
        time.sleep(0.5)
    lines = [line for line in log.read_text().splitlines() if STOPPED in line][stopped_before:]
    assert lines, "the server kept generating after the tab closed"
    assert int(re.search(r"after (\d+) tokens", lines[0]).group(1)) < 512
