"""A real browser opens every page of the running app: title, content, no error box, a screenshot."""

import pytest

import app
from tests.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser

PAGES = [("", "Deep-learning demo studio"), ("models_device", "Models & device")] + [
    (file.removesuffix(".py"), title)
    for entries in app.TECHNIQUES.values()
    for file, title, *_ in entries
    if (app.PAGES_DIR / file).exists()
]


@pytest.mark.parametrize(("path", "title"), PAGES, ids=[p or "home" for p, _ in PAGES])
def test_page_renders_in_chromium(page, app_url, path, title):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    heading = page.locator("h1").first
    assert title.split()[0] in heading.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert page.locator('[data-testid="stSidebarNav"]').get_by_text("Models & device").count() == 1
    screenshot(page, path or "home")


def test_navigation_moves_between_pages(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Models & device").click()
    wait_for_app(page)
    page.wait_for_url("**/models_device")
    assert "Models & device" in page.locator("h1").first.inner_text()
