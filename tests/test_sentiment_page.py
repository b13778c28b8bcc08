"""The sentiment page under AppTest and in a real browser."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from models.sentiment import MODELS, TRICKY_EXAMPLES
from tests.conftest import screenshot, wait_for_app

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "sentiment.py")
NAMES = [spec.name for spec in MODELS]


@pytest.fixture
def app() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=180).run()


def test_every_model_gives_a_verdict_and_an_explanation(app):
    assert not app.exception
    assert [m.label for m in app.metric] == NAMES
    assert {m.value for m in app.metric} <= {"positive", "negative"}
    shaded = [md.value for md in app.markdown if "rgba(" in md.value]
    assert len(shaded) == len(NAMES)
    assert "##" not in "".join(shaded[:3])  # word-level models; the last row is MiniLM's word pieces


def test_typing_a_sentence_changes_the_verdicts(app):
    app.text_area(key="sentiment_text").set_value("A dreadful, boring, painful waste of time.").run()
    assert not app.exception
    assert [m.value for m in app.metric] == ["negative"] * len(NAMES)
    app.text_area(key="sentiment_text").set_value("A wonderful, joyous, beautifully acted film.").run()
    assert [m.value for m in app.metric] == ["positive"] * len(NAMES)


def test_empty_and_foreign_text_give_messages(app):
    app.text_area(key="sentiment_text").set_value("   ").run()
    assert not app.exception
    assert any("empty" in e.value for e in app.error)
    assert not app.metric
    app.text_area(key="sentiment_text").set_value("Esta película es muy aburrida y larga").run()
    assert any("English" in i.value for i in app.info)
    assert len(app.metric) == len(NAMES)


def test_batch_of_pasted_lines(app):
    app.selectbox(key="sentiment_batch_model").set_value("sentiment-minilm").run()
    app.text_area(key="sentiment_batch_lines").set_value("Loved it.\n\nHated every minute.\nA masterpiece.").run()
    app.button(key="sentiment_batch_run").click().run()
    assert not app.exception
    result = app.dataframe[0].value
    assert list(result["text"]) == ["Loved it.", "Hated every minute.", "A masterpiece."]
    assert list(result["label"]) == ["positive", "negative", "positive"]


def test_comparison_lists_card_accuracy_and_tricky_answers(app):
    tricky = app.dataframe[-1].value
    assert list(tricky["sentence"]) == [text for _, text, _ in TRICKY_EXAMPLES]
    for name in NAMES:
        assert tricky[name].str.contains("positive|negative").all()


@pytest.mark.browser
def test_browser_analyses_a_sentence(page, app_url):
    page.goto(f"{app_url}/sentiment")
    wait_for_app(page)
    box = page.get_by_label("Text to analyse")
    box.fill("The acting is superb and the story is gripping.")
    box.press("Control+Enter")
    page.wait_for_function("() => location.search.includes('superb')")  # the rerun wrote the new text to the URL
    wait_for_app(page)
    metrics = page.locator('[data-testid="stMetric"]')
    assert metrics.count() == len(NAMES)
    text = metrics.all_inner_texts()
    for name in NAMES:
        assert any(name in t for t in text), name
    assert all("positive" in t for t in text)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "sentiment")
