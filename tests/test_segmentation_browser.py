"""The segmentation page in a real Chromium: the person mask appears, no exception, a screenshot."""

import pytest

from tests.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_segmentation_page_shows_the_person_mask(page, app_url):
    page.goto(f"{app_url}/segmentation")
    wait_for_app(page)
    assert "Segmentation" in page.locator("h1").first.inner_text()
    page.get_by_text("mask over the photo").first.wait_for()
    assert page.get_by_text("Legend and area").count() == 1
    assert page.locator('[data-testid="stImage"] img').count() >= 4  # overlay, probability, composite, cut-out
    assert page.get_by_role("button", name="Download mask (PNG)").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    screenshot(page, "segmentation")
