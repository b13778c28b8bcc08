"""Presenter mode and the Share control on every page (AppTest): ?present=1 turns presenter mode on and
stays in the URL, and the Share popover holds this page's address with the page's inputs in the query
string and a QR code of exactly that address."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import app
import ui
import url_params as P
from tests.test_pages import NAV_PAGES


def open_page(file: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(app.PAGES_DIR.parent / "app.py"), default_timeout=300)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(str(Path("app_pages") / file))
    return at.run()


def share_popover(at: AppTest) -> list:
    """The elements inside the Share popover."""

    def walk(node, inside: bool) -> list:
        found = []
        for child in getattr(node, "children", {}).values():
            opens = getattr(child, "type", None) == "popover" and child.proto.popover.label == "Share"
            found += ([child] if inside else []) + walk(child, inside or opens)
        return found

    return walk(at.main, False)


def shared_url(at: AppTest) -> str:
    urls = [element.value for element in share_popover(at) if getattr(element, "type", None) == "code"]
    assert len(urls) == 1, urls
    return urls[0]


def share_images(at: AppTest) -> int:
    return sum(getattr(element, "type", None) == "image" for element in share_popover(at))


def presenter_styles(at: AppTest) -> bool:
    """Whether the presenter's style sheet (bigger type, high contrast) is on the page."""
    return any("font-size: 140%" in block.value for block in at.sidebar.markdown)


def decode_qr(png: bytes) -> str:
    picture = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(picture)
    return text


@pytest.mark.parametrize("file", NAV_PAGES)
def test_present_1_turns_presenter_mode_on_and_share_carries_the_page_state(file):
    at = open_page(file, present="1")
    assert not at.exception, [e.value for e in at.exception]
    assert at.toggle(key="present").value is True
    assert at.query_params["present"] == "1"  # kept for the next page and a reload
    assert presenter_styles(at)
    url = urlsplit(shared_url(at))
    assert url.path == "/" + ("" if file == "home.py" else file.removesuffix(".py"))
    query = parse_qs(url.query, keep_blank_values=True)
    assert "present" not in query and "palette" not in query  # the presenter's settings, not the view
    # every input the page keeps in the URL is in the shared link, with its current value
    kept = {key: value for key, value in at.query_params.items() if key not in ("present", "palette")}
    assert query == {key: [value] if isinstance(value, str) else value for key, value in kept.items()}
    assert share_images(at) == 1  # the QR code
    if file not in ("home.py", "models_device.py"):
        assert query, f"{file}: no input state in the shared link"


def test_the_qr_code_decodes_to_the_text_it_was_made_of():
    url = "http://192.168.1.20:8501/translation?tr_method=beam&tr_text_translation-dates=Thursday%2C+14+March+2041"
    assert decode_qr(ui.qr_png(url)) == url


def test_without_present_the_page_is_not_in_presenter_mode_and_the_share_control_is_there():
    at = open_page("home.py")
    assert at.toggle(key="present").value is False
    assert "present" not in at.query_params
    assert not presenter_styles(at)
    assert shared_url(at) == "http://127.0.0.1:8501/"
    assert share_images(at) == 1  # the QR code


def in_page_order(node) -> list:
    """Every element under `node`, in the order the page shows them."""
    found = []
    for child in getattr(node, "children", {}).values():
        found += [child, *in_page_order(child)]
    return found


def test_translation_in_presenter_mode_puts_the_translation_first_and_folds_the_fine_settings():
    at = open_page("translation.py", present="1")
    assert not at.exception
    order = in_page_order(at.main)
    kinds = [getattr(element, "type", None) for element in order]
    result = next(i for i, e in enumerate(order) if kinds[i] == "markdown" and e.value.startswith("#### "))
    assert result < kinds.index("text_area"), "the translation is not above the sentence to translate"
    folded = next(e for e in at.expander if e.label.startswith("Length penalty"))
    assert [slider.key for slider in folded.slider] == ["tr_alpha"]
    normal = open_page("translation.py")
    order = in_page_order(normal.main)
    kinds = [getattr(element, "type", None) for element in order]
    result = next(i for i, e in enumerate(order) if kinds[i] == "markdown" and e.value.startswith("#### "))
    assert result > kinds.index("text_area") and not [e for e in normal.expander if e.label.startswith("Length")]


def text_inputs(file: str) -> list[str]:
    """The keys of the page's text boxes kept in the URL (url_params), where a visitor can paste a long text
    (not a box that takes a short code)."""
    import url_params as P
    from tests.test_url_params import key_of

    return [
        key_of(p)
        for p in P.PAGES[file]
        if isinstance(p, P.Text) and not p.when and (p.max_chars or ui.LONGEST_LINK + 1) > ui.LONGEST_LINK
    ]


@pytest.mark.parametrize("file", [file for file in NAV_PAGES if text_inputs(file)])
def test_a_1_mb_text_shares_as_a_short_link_that_restores_it(file):
    """1 MB pasted into each of the page's text boxes makes a link too long for a QR code (and for Streamlit,
    which ignores a query string over 512 kB): the Share control and the URL carry a short link to the stored
    state (share_store) instead, and opening it restores every input."""
    from share_store import VIEW
    from tests.test_hostile_input import HUGE

    tab = {P.TEXT_BASICS_TAB.key: "Parse"} if file == "text_basics.py" else {}  # a tab Streamlit binds itself
    at = open_page(file, **tab)
    for key in text_inputs(file):
        box = next(w for w in [*at.text_area, *at.text_input] if w.key == key)
        box.input(HUGE[: box.proto.max_chars or None])  # as a browser pastes it: up to the box's limit
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    link = shared_url(at)
    assert len(link) <= ui.LONGEST_LINK and share_images(at) == 1
    assert decode_qr(ui.qr_png(link)) == link  # the QR code drawn is of this link
    view = parse_qs(urlsplit(link).query)[VIEW][0]
    assert at.query_params[VIEW] == view and not set(at.query_params) & set(text_inputs(file))
    kept = {key: at.session_state[key] for key in at.session_state[ui._URL_KEYS]}
    assert any(len(str(kept[key])) > ui.LONGEST_LINK for key in text_inputs(file))  # the long text (cut by the page)

    restored = open_page(file, **{VIEW: view})
    assert not restored.exception, [e.value for e in restored.exception]
    assert {key: restored.session_state[key] for key in kept} == kept
    assert {key: restored.query_params[key] for key in tab} == tab
