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


def test_instances_mode_shows_each_shape_with_its_mask(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 1900})  # Streamlit scrolls inside the page: show the masks too
    page.goto(f"{app_url}/segmentation?seg_mode=Instances+%28Mask+R-CNN%29&seg_scene=Heavy+overlap")
    wait_for_app(page)
    page.get_by_text("instances, each in its own colour").first.wait_for()
    assert page.get_by_text("The scene holds").count() == 1
    assert page.locator('[data-testid="stDataFrame"]').count() >= 1  # the per-instance table
    assert page.get_by_role("button", name="Download instance map (PNG)").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    screenshot(page, "segmentation_instances")
