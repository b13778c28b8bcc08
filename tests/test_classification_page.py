"""The image classification page under AppTest (widgets drive real results) and in a real browser."""

import pytest
from streamlit.testing.v1 import AppTest

from models.core.images import sample_image
from models.core.registry import get_registry
from tests.conftest import REPO, screenshot, wait_for_app

PAGE = str(REPO / "app_pages" / "classification.py")


def progress_texts(at: AppTest) -> list[str]:
    return [bar.proto.text for bar in at.get("progress")]


def test_page_classifies_explains_and_learns_new_classes():
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    top = get_registry().load("efficientnet-lite0").predict(sample_image("cat (chelsea)"), top_k=5)
    assert progress_texts(at)[:5] == [f"**{label}** — {p:.1%}" for label, _, p in top]
    assert len(at.get("image")) >= 8  # photo, three preprocessing steps, channels, Grad-CAM, filters, features

    at.selectbox(key="cls_image_sample").set_value("coffee").run()
    assert "espresso" in progress_texts(at)[0]
    at.radio(key="cls_explain").set_value(968).run()  # "cup", second on coffee
    at.slider(key="cls_opacity").set_value(0.9).run()
    at.select_slider(key="cls_layer").set_value("block 10").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["cls_opacity"] == "0.9" and at.query_params["cls_layer"] == "block 10"

    at.toggle(key="cls_examples").set_value(True).run()
    at.button(key="cls_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    new_model = at.session_state["cls_new_model"]
    assert new_model.labels == ["cat", "coffee", "rocket"]
    assert any(text.startswith("step 150/150") for text in progress_texts(at))
    assert len(at.get("vega_lite_chart")) == 1  # the training loss, an Altair chart presenter mode scales
    assert progress_texts(at)[-3].startswith("**cat**")  # the trial image defaults to chelsea


def test_training_without_photos_shows_a_message():
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.button(key="cls_train").click().run()
    assert not at.exception
    assert any("at least one image" in e.value for e in at.error)
    assert "cls_new_model" not in at.session_state


@pytest.mark.browser
def test_page_in_chromium(page, app_url):
    page.goto(f"{app_url}/classification")
    wait_for_app(page)
    top_label = get_registry().load("efficientnet-lite0").predict(sample_image("cat (chelsea)"), top_k=1)[0][0]
    page.get_by_text(top_label, exact=False).first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.get_by_role("tab", name="Inside the network").click()
    page.get_by_text("The first layer's 32 filters").wait_for()
    screenshot(page, "classification")
