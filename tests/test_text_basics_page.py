"""The text-basics page under AppTest (every tab, the limits) and in a real browser (the parse drawn as an
image, screenshots)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from models.text_basics import pipeline as tb
from models.text_basics import tokens as tt
from tests.conftest import screenshot, wait_for_app

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "text_basics.py")


def html_blocks(app: AppTest) -> list[str]:
    return [element.proto.body for element in app.get("html")]


def open_tab(tab: str, text: str | None = None) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.session_state["text_basics_tab"] = tab
    if text is not None:
        app.session_state["text_basics_text"] = text
    return app.run()


def test_tokens_tab_compares_every_tokenizer():
    app = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not app.exception, [e.value for e in app.exception]
    counts = app.dataframe[0].value.set_index("tokenizer")
    assert list(counts.index) == tt.TOKENIZER_NAMES
    assert counts.loc["spaCy", "round trip"].startswith("✓") and counts.loc["Characters", "tokens"] == len(
        tb.DEFAULT_TEXT
    )
    headings = [m.value for m in app.markdown if m.value.startswith("**")]
    assert all(any(h.startswith(f"**{name}**") for h in headings) for name in tt.TOKENIZER_NAMES)
    chips = html_blocks(app)
    assert sum('class="tb-chip"' in block for block in chips) == len(tt.TOKENIZER_NAMES) + 1  # + the trained BPE
    merges = app.dataframe[1].value
    assert list(merges.columns) == ["rank", "left", "right", "new token"] and len(merges) == 40
    app.toggle(key="text_basics_ids").set_value(True).run()
    assert 'class="tb-below"' in html_blocks(app)[0]
    app.slider(key="text_basics_bpe_vocab").set_value(300).run()
    assert not app.exception and "Learned **44 merges**" in " ".join(m.value for m in app.markdown)


def test_every_other_tab_runs_on_the_stems_example():
    text = tb.EXAMPLES["News"] + " " + tb.EXAMPLES["Stems and lemmas"]
    stems = open_tab("Stems and lemmas", text)
    assert not stems.exception
    table = stems.dataframe[0].value.set_index("word")
    assert table.loc["geese", "lemma"] == "goose" and bool(table.loc["geese", "stem ≠ lemma"])

    pos = open_tab("Part of speech", text)
    assert not pos.exception, [e.value for e in pos.exception]
    assert "PROPN" in html_blocks(pos)[0]
    scores = pos.dataframe[0].value.set_index("tagger")
    assert len(scores) == 5 and scores.loc["spaCy (neural)", "agreement with spaCy (held out)"] == 1.0
    assert all(0.5 < scores.iloc[i, 1] < 1.0 for i in range(4))
    assert any("silver labels, not gold" in m.value and "97.3%" in m.value for m in pos.markdown)
    assert list(pos.dataframe[1].value["word"][:3]) == ["Apple", "is", "looking"]

    entities = open_tab("Entities", text)
    assert not entities.exception
    rendered = html_blocks(entities)
    assert "ORG" in rendered[0] and "Paris" in rendered[1]  # statistical, then rules
    assert "agree" in set(entities.dataframe[0].value["verdict"])

    parse = open_tab("Parse", text)
    assert not parse.exception
    images = [b for b in html_blocks(parse) if "data:image/svg+xml;base64," in b]
    assert len(images) == 3 and "<svg" not in "".join(images)
    assert "Apple" in list(parse.dataframe[0].value["noun chunk"])

    sentences = open_tab("Sentences", text)
    assert not sentences.exception
    assert [m.label for m in sentences.metric] == ["Regex", "Punkt (untrained)", "spaCy"]
    assert sentences.metric[1].value != sentences.metric[2].value  # Punkt splits after "Mr." and "U.K."


def test_telling_examples_button_and_ready_examples():
    app = open_tab("Stems and lemmas")
    app.button(key="text_basics_telling").click().run()
    assert app.text_area(key="text_basics_text").value == tb.EXAMPLES["Stems and lemmas"]
    app.selectbox(key="text_basics_example").set_value("Code").run()
    assert app.text_area(key="text_basics_text").value == tb.EXAMPLES["Code"] and not app.exception


def test_hand_edited_links_and_no_tokenizer_chosen():
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.query_params["text_basics_tokenizers"] = ["spaCy", "No such tokenizer"]
    app.query_params["text_basics_bpe_vocab"] = "99999"
    app.query_params["text_basics_bpe_source"] = "Nowhere"
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.dataframe[0].value["tokenizer"].tolist() == ["spaCy"]
    assert app.slider(key="text_basics_bpe_vocab").value == 5_000
    app.multiselect(key="text_basics_tokenizers").set_value([]).run()
    assert not app.exception and any("at least one" in i.value for i in app.info)


def test_empty_text_gives_a_message_not_tabs():
    app = open_tab("Tokens", "   ")
    assert not app.exception
    assert any("empty" in e.value for e in app.error) and not app.dataframe


@pytest.mark.parametrize("tab", ["Tokens", "Parse"])
def test_a_long_text_is_cut_with_a_notice(tab):
    # Streamlit ignores a query string over 512 KiB, so a link carries at most that much.
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.query_params["text_basics_text"] = "The cat sat on the mat. " * 20_000  # 480 kB
    app.session_state["text_basics_tab"] = tab
    app.run()
    assert not app.exception
    assert len(app.text_area(key="text_basics_text").value) <= tb.MAX_CHARS
    assert any(f"{tb.MAX_CHARS:,}" in i.value for i in app.info)
    app.text_area(key="text_basics_text").input("Paste. " * 150_000).run()  # 1 MB pasted into the box
    assert not app.exception
    assert len(app.text_area(key="text_basics_text").value) <= tb.MAX_CHARS
    assert any("1,050,000 characters" in i.value for i in app.info)


ODD_TEXT = " ".join(tb.EXAMPLES[name] for name in ("Right to left", "Code", "Social media")) + " " + "x" * 3_000


@pytest.mark.parametrize("tab", ["Tokens", "Stems and lemmas", "Entities", "Parse", "Sentences"])
def test_scripts_code_emoji_and_one_very_long_word_run_on_every_tab(tab):
    app = open_tab(tab, ODD_TEXT)
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


@pytest.mark.browser
def test_browser_draws_tokens_and_the_parse(page, app_url):
    page.goto(f"{app_url}/text_basics")
    wait_for_app(page, timeout_ms=300_000)  # a fresh server: spaCy, both tokenizers, NLTK and a BPE on Hamlet
    chips = page.locator(".tb-chip")
    assert chips.count() > 200
    assert page.locator('[data-testid="stException"]').count() == 0
    page.set_viewport_size({"width": 1400, "height": 2400})  # Streamlit scrolls inside the page: show the chips
    screenshot(page, "text_basics")
    page.get_by_role("tab", name="Parse").click()
    page.wait_for_function("() => location.search.includes('text_basics_tab=Parse')")
    trees = page.locator('img[src^="data:image/svg+xml;base64,"]')
    trees.nth(2).wait_for(timeout=120_000)  # the tab's rerun may start after the click returns
    wait_for_app(page)
    assert trees.count() == 3
    # The SVG decoded and laid out: a tree of a dozen words is far wider than tall.
    width, height = trees.first.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert width > 2 * height > 100
    screenshot(page, "text_basics_parse")
