"""A real browser opens every page of the running app: title, content, no error box, a screenshot."""

import pytest

import app
import ui
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


def test_the_first_page_loads_the_chart_code_while_the_browser_idles(page, app_url):
    """The home page draws no chart, yet its browser loads Streamlit's chart, table and widget code (ui.py,
    prefetch_frontend), so the first technique page opened from it does not wait for those files."""
    page.goto(app_url)
    wait_for_app(page)
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0
    page.wait_for_function(
        """(chunks) => {
            const loaded = performance.getEntriesByType("resource").map((entry) => entry.name.split("/").pop());
            return chunks.every((chunk) => loaded.includes(chunk));
        }""",
        arg=list(ui.frontend_chunks()),
        timeout=30_000,
    )


def test_a_phone_joining_a_class_is_not_sent_the_chart_code(page, app_url):
    """Forty phones on a classroom's Wi-Fi would each fetch 5 MB they never use."""
    page.goto(f"{app_url}/join")
    wait_for_app(page)
    scripts = page.evaluate("() => [...document.querySelectorAll('script')].map((script) => script.textContent)")
    assert not any("PlotlyChart" in script for script in scripts)
    page.goto(app_url)
    wait_for_app(page)
    scripts = page.evaluate("() => [...document.querySelectorAll('script')].map((script) => script.textContent)")
    assert any("PlotlyChart" in script for script in scripts)  # the same check sees it where it is sent


def test_every_prefetched_chunk_is_in_the_installed_streamlit():
    """Their names carry a hash that changes with Streamlit's version: each must still be found, once."""
    names = ui.frontend_chunks()
    assert [name.split(".")[0] for name in names] == list(ui.PREFETCHED_CHUNKS)
