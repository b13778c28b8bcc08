"""Hostile links (issue 27): every query parameter a page reads, as declared in url_params.py, against the
hostile set. Every (parameter, value) pair goes through the parser, which must give a value the widget
accepts. AppTest then opens each page with one hostile value in all its parameters at once, once per kind
of value a widget can end up with (the default, either end of its range, between two steps, on for every
switch, odd text of every sort), and each mode, tab or option that reads more parameters the same way with
the numeric edges and odd text. A page must run without an exception and show its result or its own message."""

import math
from urllib.parse import quote, unquote

import pytest

import url_params as P
from models.core.registry import get_registry
from tests.test_hostile_input import ODD_TEXTS
from tests.test_pages import NAV_PAGES

TEN_KB = ("Tuesday 14 March 2051 😀 مرحبا e\u0301 <b>x</b> " * 300)[:10_000]
HOSTILE = [
    *ODD_TEXTS,  # empty, blanks, NUL and escapes, right-to-left, emoji, combining marks, a lone surrogate...
    TEN_KB,
    "-1",
    "1e20",
    "1e309",
    "NaN",
    "-inf",
    "2.5",
    "true",
    "no-such-model",
    "../../etc/passwd",
    "<b>bold</b><img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
]
# In one text: right-to-left, Arabic, emoji, combining marks, NUL, a lone surrogate, a path, markup, script.
ODD_MIX = "".join(ODD_TEXTS[3:]) + " ../../etc/passwd <img src=x onerror=alert(1)><script>alert(1)</script>"
# What reaches a widget differently after parsing: clamped high and low, snapped to a step, odd text.
EDGES = ["1e20", "-1", "2.5", ODD_MIX]
# And the default (nothing: not a number, no such choice or model), every switch on, and a lot of text.
PAGE_VALUES = [*EDGES, "true", "", TEN_KB]


def as_received(value: str) -> str:
    """The value as the server decodes it from a link: a lone surrogate cannot travel in UTF-8, a browser
    sends its bytes and the server reads U+FFFD (AppTest's own query string cannot hold one)."""
    return unquote(quote(value, errors="surrogatepass"), errors="replace")


def page_params(file: str) -> list[P.Param]:
    return [*P.CHROME, *P.PAGES[file]]


def key_of(param: P.Param) -> str:
    """The parameter's key; a translation model's sentence is named after the model, here the default one."""
    if param is P.TR_TEXT:
        return P.translation_text(get_registry().list(P.TR_MODEL.task)[0].id).key
    return param.key


def groups(file: str) -> list[dict[str, str]]:
    """The settings under which the page reads different parameters: none, then each mode, tab or option."""
    found = [{}]
    for param in page_params(file):
        if param.when not in found:
            found.append(param.when)
    return found


def hostile_query(file: str, when: dict[str, str], value: str) -> dict[str, str]:
    """Every parameter the page reads under `when` set to `value`, and `when`'s own."""
    reached = [p for p in page_params(file) if p.when.items() <= when.items() and p.key not in when]
    return {**{key_of(p): as_received(value) for p in reached}, **when}


def with_runtime(param: P.Param) -> P.Param:
    """What the page passes at run time, made up: the choices and default of a model or layer, a model's limit."""
    if isinstance(param, P.Choice | P.Choices) and not param.choices:
        return param.given(choices=("first", "second"), default="first" if isinstance(param, P.Choice) else ())
    if isinstance(param, P.Number) and param.high is None:
        return param.given(high=param.low + 100)
    return param


def read_exactly(param: P.Param, value: str, parsed: object) -> bool:
    """Whether `parsed` is what the link said (else the page must say what it used instead)."""
    if isinstance(param, P.Number):
        try:
            return float(value) == parsed
        except ValueError:
            return False
    return value == str(parsed)


def every_param() -> list[P.Param]:
    return list({id(p): p for file in P.PAGES for p in page_params(file)}.values())


def test_every_page_in_the_navigation_declares_its_parameters():
    assert set(NAV_PAGES) == set(P.PAGES)


@pytest.mark.parametrize("param", every_param(), ids=lambda p: p.key)
def test_every_hostile_value_parses_to_a_value_the_widget_accepts(param):
    param = with_runtime(param)
    for value in HOSTILE:
        parsed, notice = param.parse([value])
        assert param.valid(parsed) == parsed, (value, parsed)
        if isinstance(parsed, float):
            assert math.isfinite(parsed)
        if isinstance(param, P.Text):
            assert "\ud800" not in parsed  # no widget can send a lone surrogate to the browser
        elif isinstance(param, P.Number | P.Choice):
            assert (notice is None) == read_exactly(param, value, parsed), (value, parsed, notice)
        if notice and len(value) > 4:
            assert value not in notice  # without echoing the link
    first, _ = param.parse([str(param.default), *HOSTILE])
    assert first == param.parse([str(param.default)])[0]  # a repeated parameter: the first counts


def test_numbers_are_clamped_snapped_and_defaulted():
    assert P.TEMPERATURE.parse(["99999999999999999999"]) == (2.0, "`temperature` was outside 0.1–2.0, so 2.0")
    assert P.TOP_P.parse(["nan"])[0] == 1.0
    assert P.SEG_STEPS.given(default=300).parse(["-1"])[0] == 20
    assert P.SEG_STEPS.given(default=300).parse(["333"])[0] == 340  # the slider's steps of 20 from 20
    assert P.TOP_K.parse(["2.5"])[0] in (2, 3) and isinstance(P.TOP_K.parse(["2.5"])[0], int)
    assert P.TR_WIDTH.given(high=10).parse(["1e309"])[0] == 5
    assert P.SEG_PROPOSALS_NMS.parse(["maybe"]) == (True, "`seg_proposals_nms` was not on or off, so True instead")


@pytest.mark.parametrize("file", list(P.PAGES))
def test_every_page_survives_hostile_values_in_every_parameter(file):
    for value in PAGE_VALUES:
        opened(file, hostile_query(file, {}, value))


@pytest.mark.parametrize(
    ("file", "when"),
    [(file, when) for file in P.PAGES for when in groups(file)[1:]],
    ids=lambda item: item if isinstance(item, str) else "&".join(f"{k}={v}" for k, v in item.items()),
)
def test_every_mode_and_tab_survives_out_of_range_and_odd_values(file, when):
    for value in EDGES:
        opened(file, hostile_query(file, when, value))


def opened(file: str, query: dict[str, str]):
    """The page opened by a link with `query`: no exception, and its result or its own message."""
    from tests.test_presenter_share import open_page  # here: that module imports this one's helpers

    at = open_page(file, **query)
    context = (file, {k: v[:30] for k, v in query.items()})
    assert not at.exception, (context, [e.value for e in at.exception])
    assert at.title, context
    if file not in ("home.py", "models_device.py"):
        ran_to_the_end = any(e.label == "How it works" for e in at.expander)
        assert ran_to_the_end or at.error or at.info, context
    return at
