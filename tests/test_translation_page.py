"""The translation page under AppTest, and in a real browser."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from models.translation.baselines import apertium_mode
from tests.conftest import screenshot, wait_for_app

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "translation.py")


def page_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    return at


def test_default_translates_english_to_spanish_with_beam_search(app: AppTest) -> None:
    # "Do not be afraid, for I am with you." (a sentence no training verse contains)
    best = next(m.value for m in app.markdown if m.value.startswith("#### "))
    assert "contigo" in best and "tem" in best
    table = app.dataframe[0].value
    assert len(table) == 5
    assert list(table["score (log P / len^α)"]) == sorted(table["score (log P / len^α)"], reverse=True)
    assert len(app.get("plotly_chart")) == 3  # the beam tree, the attention heatmap and IBM Model 1's alignment


def test_date_model_with_greedy_and_reference_bleu(app: AppTest) -> None:
    app.selectbox(key="tr_model").set_value("translation-dates").run()
    assert "#### 2041-03-14" in page_text(app)  # its first example, "Thursday, 14 March 2041"
    assert len(app.get("plotly_chart")) == 2  # no word alignment for dates
    app.text_area[0].set_value("4 de marzo de 2051").run()
    assert "#### 2051-03-04" in page_text(app)
    app.segmented_control(key="tr_method").set_value("greedy").run()
    assert len(app.dataframe[0].value) == 1
    app.text_input(key="tr_reference").set_value("2051-03-04").run()
    assert app.dataframe[0].value["BLEU"].iloc[0] == pytest.approx(100.0)


def test_english_to_spanish_with_layer_and_head(app: AppTest) -> None:
    app.selectbox(key="tr_model").set_value("translation-enes").run()
    assert not app.exception
    app.text_area[0].set_value("And God said, Let there be light.").run()
    assert not app.exception
    best = next(m.value for m in app.markdown if m.value.startswith("#### "))
    assert len(best) > 8
    layer, head = app.selectbox[2], app.selectbox[3]
    assert layer.label == "Layer" and head.label == "Head"
    layer.set_value(1)
    head.set_value(0).run()
    assert not app.exception


def english_to_spanish(app: AppTest, text: str) -> AppTest:
    app.selectbox(key="tr_model").set_value("translation-enes").run()
    app.text_area[0].set_value(text).run()
    assert not app.exception
    return app


@pytest.mark.skipif(apertium_mode() is None, reason="Debian's apertium-eng-spa is not installed (make debian-test)")
def test_rules_statistics_and_neural_side_by_side(app: AppTest) -> None:
    english_to_spanish(app, "The house is green.")
    assert "Rules, statistics, neural networks" in [h.value for h in app.subheader]
    assert any("casa" in m.value for m in app.markdown)  # Apertium's translation
    # Beam tree, neural attention and IBM Model 1's alignment.
    assert len(app.get("plotly_chart")) == 3
    comparison = next(table.value for table in app.dataframe if "method" in table.value.columns)
    methods = list(comparison["method"])
    assert methods[0].startswith("rule-based") and any("beam 5" in m for m in methods)


def test_without_apertium_the_panel_says_how_to_add_it(app: AppTest, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `apertium` on this PATH
    english_to_spanish(app, "The house is green.")
    assert any("apt-get install apertium-eng-spa" in i.value for i in app.info)
    assert len(app.get("plotly_chart")) == 3  # the rest of the comparison still works


def test_limits_are_messages(app: AppTest) -> None:
    app.selectbox(key="tr_model").set_value("translation-dates").run()
    app.text_area[0].set_value("   ").run()
    assert not app.exception
    assert any("Type a sentence" in e.value for e in app.error)
    app.text_area[0].set_value("14 March 2051 ☃").run()
    assert any("never seen" in i.value for i in app.info)
    assert "#### 2051-03-14" in page_text(app)


@pytest.mark.browser
def test_translation_in_a_browser(app_url: str, page) -> None:
    # The page opens on English -> Spanish: its translation, the heatmaps, Apertium and the comparison.
    page.goto(f"{app_url}/translation")
    wait_for_app(page)
    assert "contigo" in page.locator('[data-testid="stMarkdownContainer"] h4').first.inner_text()
    assert page.locator(".js-plotly-plot").count() >= 3  # beam tree, attention, IBM Model 1
    assert page.get_by_text("Rule-based (Apertium)").is_visible()
    assert page.get_by_text("Rules, statistics, neural networks").is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "translation")
    # The date model, typed into.
    page.goto(f"{app_url}/translation?tr_model=translation-dates")
    wait_for_app(page)
    box = page.get_by_label("date as people write it → ISO 8601")
    box.fill("Freitag, 1. Januar 2100")
    box.press("Control+Enter")
    page.wait_for_timeout(500)
    wait_for_app(page)
    assert page.get_by_text("2100-01-01").first.is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".js-plotly-plot").count() >= 2


def test_a_rerun_that_changes_only_a_view_does_not_search_again(app: AppTest, monkeypatch) -> None:
    """The reference (a BLEU score) and the attention's layer change what is drawn, not the translation."""
    from models.core.registry import get_registry
    from models.translation.translator import as_translator

    translator = as_translator(get_registry().load("translation-enes"), "en->es")
    searches = []
    search = translator.translate
    monkeypatch.setattr(translator, "translate", lambda *args, **kwargs: searches.append(1) or search(*args, **kwargs))
    app.text_area[0].set_value("The children are playing in the old garden by the river.").run()
    assert not app.exception and len(searches) == 2  # beam search, and greedy to compare
    app.text_input(key="tr_reference").set_value("Los niños juegan en el jardín viejo junto al río.").run()
    assert not app.exception and len(searches) == 2
    assert "BLEU" in " ".join(app.dataframe[0].value.columns)
    app.text_area[0].set_value("The children are playing in the new garden by the river.").run()
    assert len(searches) == 4
