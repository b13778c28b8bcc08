"""The transformer internals page in a real browser: each model opens on a view from its link, draws its figures
and no error; a screenshot each."""

from urllib.parse import urlencode

import pytest

from tests.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser

LINKS = {
    "smollm2": {"inside_model": "inside-smollm2", "inside_view": "Head and model view"},
    "minilm": {"inside_model": "inside-minilm", "inside_view": "Tokens to vectors"},
    "enes": {"inside_model": "inside-enes", "inside_view": "One head, worked out", "inside_block": "cross"},
}


@pytest.mark.parametrize("name", list(LINKS))
def test_each_model_opens_on_its_view(page, app_url, name):
    page.set_viewport_size({"width": 1400, "height": 2000})  # the view's figures, not only its inputs
    page.goto(f"{app_url}/transformer?{urlencode(LINKS[name])}")
    wait_for_app(page, timeout_ms=240_000)
    assert "Inside a transformer" in page.locator("h1").first.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert page.get_by_role("tab", name=LINKS[name]["inside_view"]).get_attribute("aria-selected") == "true"
    page.wait_for_selector('[data-testid="stPlotlyChart"]', timeout=60_000)
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2
    if name == "enes":
        assert page.get_by_text("Its translation").is_visible()
    screenshot(page, f"transformer-{name}")
