"""In Chromium: the Share control's QR code decodes (OpenCV) to the page's address with its state, as the
browser reached the server; presenter mode makes the rendered type bigger and survives moving to another
page; every page fits a 390x844 phone screen without horizontal scrolling (a screenshot of each)."""

from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np
import pytest

from tests.conftest import screenshot, wait_for_app
from tests.test_browser import PAGES

pytestmark = pytest.mark.browser

FONT_SIZE = """() => parseFloat(getComputedStyle(
    document.querySelector('[data-testid="stMain"] [data-testid="stCaptionContainer"] p')).fontSize)"""
# How far the page scrolls sideways: the document, and Streamlit's own scrolling containers.
OVERFLOW = """() => Math.max(...[document.documentElement, ...document.querySelectorAll(
    '[data-testid="stAppViewContainer"], [data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
    .map(element => element.scrollWidth - element.clientWidth))"""
CONTENT_HEIGHT = """() => document.querySelector('[data-testid="stMain"]').scrollHeight"""


def open_share(page) -> tuple[str, str]:
    """Open the Share popover: (the link shown as text, what its QR code decodes to)."""
    page.get_by_role("button", name="Share").click()
    popover = page.locator('[data-testid="stPopoverBody"]')
    link = popover.locator('[data-testid="stCode"] code').inner_text().strip()
    qr = popover.locator('[data-testid="stImage"] img').first
    qr.wait_for()
    picture = cv2.imdecode(np.frombuffer(qr.screenshot(), np.uint8), cv2.IMREAD_GRAYSCALE)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(picture)
    return link, decoded


def test_the_qr_code_decodes_to_the_page_address_with_its_state(page, app_url):
    port = urlsplit(app_url).port
    # Reached as "localhost": the link must carry the host the browser used, not the server's bind address.
    page.goto(f"http://localhost:{port}/translation?tr_width=3&tr_method=beam")
    wait_for_app(page, timeout_ms=300_000)  # may be the server's first page: it waits for the libraries
    link, decoded = open_share(page)
    screenshot(page, "share")
    assert decoded == link
    shared = urlsplit(decoded)
    assert (shared.scheme, shared.netloc, shared.path) == ("http", f"localhost:{port}", "/translation")
    state = parse_qs(shared.query, keep_blank_values=True)
    assert state["tr_width"] == ["3"] and state["tr_method"] == ["beam"]
    assert state == parse_qs(urlsplit(page.url).query, keep_blank_values=True)  # the same state as the tab's


def test_presenter_mode_enlarges_the_type_and_survives_navigation(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    normal = page.evaluate(FONT_SIZE)
    page.goto(f"{app_url}/?present=1")
    wait_for_app(page)
    presented = page.evaluate(FONT_SIZE)
    assert presented >= 1.3 * normal
    screenshot(page, "presenter")
    page.get_by_text("Open Translation").click()  # the sidebar is collapsed in presenter mode
    page.wait_for_url("**/translation**")
    wait_for_app(page)
    assert "present=1" in page.url
    assert page.evaluate(FONT_SIZE) >= 1.3 * normal


@pytest.mark.parametrize(("path", "title"), PAGES, ids=[p or "home" for p, _ in PAGES])
def test_every_page_fits_a_phone(browser, app_url, path, title):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(90_000)
    try:
        phone.goto(f"{app_url}/{path}")
        wait_for_app(phone)
        assert title.split()[0] in phone.locator("h1").first.inner_text()
        assert phone.get_by_role("button", name="Share").is_visible()
        assert phone.evaluate(OVERFLOW) <= 0, "the page scrolls sideways on a phone"
        # The whole page in one picture: a taller window of the same width (Streamlit scrolls inside stMain).
        phone.set_viewport_size({"width": 390, "height": min(phone.evaluate(CONTENT_HEIGHT), 8000)})
        phone.wait_for_timeout(500)
        screenshot(phone, f"phone-{path or 'home'}")
    finally:
        context.close()
