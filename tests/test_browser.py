"""A real browser opens every page of the running app: title, content, no error box, a screenshot."""

import pytest

import app
from tests.conftest import screenshot, streamlit_server, wait_for_app

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


def test_a_direct_link_to_a_page_gets_the_app_navigation(page):
    """The first request a fresh server sees is a technique page's URL (a bookmarked demo): the page
    must still run inside app.py's navigation, not Streamlit's automatic list of the pages folder."""
    first_file, first_title, *_ = next(entry for entries in app.TECHNIQUES.values() for entry in entries)
    with streamlit_server("streamlit-direct-link.log") as url:
        page.goto(f"{url}/{first_file.removesuffix('.py')}")
        wait_for_app(page)
        navigation = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Models & device" in navigation and "models device" not in navigation
        assert first_title in navigation
