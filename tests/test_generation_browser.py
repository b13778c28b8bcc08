"""The generation page in a real browser, with the real SmolLM2 (its one full load in the tests)."""

import pytest

from tests.conftest import screenshot, wait_for_app


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
