"""The transformer internals page under AppTest: each model, each view, the limits."""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import url_params as P
from models.core.device import use_app_thread_policy

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "transformer.py")


@pytest.fixture(scope="module", autouse=True)
def app_threads():
    """One thread per forward pass, as the app runs them (two fight over a busy machine's cores)."""
    before = torch.get_num_threads()
    use_app_thread_policy()
    yield
    torch.set_num_threads(before)


def open_view(view: str, model: str = "inside-smollm2", text: str | None = None, **state) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.session_state["inside_model"] = model
    app.session_state["inside_view"] = view
    if text is not None:
        app.session_state["inside_text"] = text
    for key, value in state.items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_tokens_to_vectors_for_each_model():
    for model, charts in (("inside-smollm2", 2), ("inside-minilm", 3), ("inside-enes", 3)):  # + the sinusoids
        app = open_view(P.INSIDE_VIEWS[0], model)
        assert len(app.get("plotly_chart")) == charts
        tokens = app.dataframe[0].value
        assert tokens.shape[1] > 3  # a column per token
    assert "Its translation" in markdown(app)


@pytest.mark.parametrize("model", ["inside-smollm2", "inside-minilm", "inside-enes"])
def test_every_view_runs_for_every_model(model):
    for view in P.INSIDE_VIEWS:
        app = open_view(view, model)  # no exception, no error: the view's result, or its own notice
        assert app.get("plotly_chart") or app.info or app.get("button"), view


def test_one_head_worked_out_matches_the_model():
    app = open_view(P.INSIDE_VIEWS[1], inside_layer=3, inside_head=2)
    table = app.dataframe[0].value
    assert (table["softmax"] - table["the model's weight"]).abs().max() < 1e-3
    assert (table["mask"] == "allowed").all()  # the last token sees every earlier one
    app.slider(key="inside_query").set_value(0).run()
    table = app.dataframe[0].value
    assert list(table["mask"]).count("allowed") == 1 and table["softmax"].iloc[0] == pytest.approx(1)


def test_the_translator_shows_encoder_decoder_and_cross_attention():
    app = open_view(P.INSIDE_VIEWS[2], "inside-enes")
    attention = app.get("button_group")[0] if app.get("button_group") else None
    assert attention is not None
    for block in ("encoder", "decoder", "cross"):
        app.segmented_control(key="inside_block").set_value(block).run()
        assert not app.exception
        assert len(app.get("plotly_chart")) >= 4  # head view, layer row, enlarged head, replay, model view


def test_what_the_heads_do_finds_an_induction_head_in_smollm2():
    app = open_view(P.INSIDE_VIEWS[3])
    text = markdown(app)
    assert "**induction** · best: L" in text and "**previous-token** · best: L" in text
    assert len(app.get("plotly_chart")) == 4


def test_logit_lens_and_ablation_on_smollm2_and_a_message_elsewhere():
    lens = open_view(P.INSIDE_VIEWS[4])
    assert "next token after the whole text: **`·mat`**" in markdown(lens)
    ablation = open_view(P.INSIDE_VIEWS[5], text="One, two, three,", inside_part="mlp", inside_layer=0)
    assert float(ablation.metric[0].value.split()[0]) > 1
    ablation.button(key="inside_sweep_button").click().run()
    assert not ablation.exception
    ranked = ablation.dataframe[-1].value
    assert len(ranked) == 10 and list(ranked["KL (nats)"]) == sorted(ranked["KL (nats)"], reverse=True)
    for view in P.INSIDE_VIEWS[4:6]:
        assert "choose SmolLM2" in open_view(view, "inside-minilm").info[0].value


def test_contextual_vectors_and_attributions_on_minilm():
    context = open_view(P.INSIDE_VIEWS[6], "inside-minilm")
    assert "GloVe: one vector for “bank”" in markdown(context)
    assert len(context.get("plotly_chart")) == 2
    context.text_input(key="inside_word").set_value("river").run()
    assert "Sentence 2 does not use the word “river”" in context.error[0].value
    attribution = open_view(P.INSIDE_VIEWS[7], "inside-minilm", text="Not bad at all: the cast is great.")
    attribution.button(key="inside_attribute").click().run()
    assert "Explaining the logit of “positive”" in markdown(attribution)
    assert "Completeness" in attribution.caption[-1].value or any(
        "Completeness" in c.value for c in attribution.caption
    )
    assert "choose MiniLM" in open_view(P.INSIDE_VIEWS[6]).info[0].value


@pytest.mark.parametrize(
    "text",
    ["", "word " * 200_000, "🙂🙃 emoji 👩‍👩‍👧", "שלום עולם مرحبا", "a" * 5000],
    ids=["empty", "1MB", "emoji", "rtl", "long-word"],
)
def test_hostile_text_gives_a_message_never_a_traceback(text):
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.session_state["inside_text"] = text
    app.run()
    assert not app.exception
    if not text:
        assert "empty" in app.error[0].value
    elif len(text) > 300:
        assert any("long" in info.value for info in app.info)
