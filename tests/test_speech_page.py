"""The speech page under AppTest: every view on a sample clip, the microphone without a recording, and the
link to the translation page."""

from pathlib import Path
from urllib.parse import parse_qs, urlparse

from streamlit.testing.v1 import AppTest

import url_params as P
from models.speech.catalog import clip_entry

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "speech.py")
SAMPLE = "music_awb"


def open_view(view: str, **state) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.session_state[P.SPEECH_VIEW.key] = view
    app.session_state[P.SPEECH_SAMPLE.key] = SAMPLE
    for key, value in state.items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def html_blocks(app: AppTest) -> list[str]:
    return [element.proto.body for element in app.get("html")]


def test_what_the_models_hear():
    app = open_view("What the models hear")
    assert len(app.get("plotly_chart")) == 4  # waveform with speech regions, spectrogram, log-mel, MFCCs
    assert len(app.get("audio")) == 2  # the whole clip and the chosen speech region
    region = app.selectbox(key="speech_region")
    assert "speech region 1" in region.options[0]


def test_pocketsphinx_view():
    app = open_view("Statistics: pocketsphinx", speech_lm_weight=13.0)
    assert f"#### {clip_entry(SAMPLE)['text']}" in markdown(app)
    words = app.dataframe[0].value
    assert list(words["word"]) == clip_entry(SAMPLE)["text"].split()
    assert clip_entry(SAMPLE)["text"] in list(app.dataframe[1].value["sentence"])
    assert [m.label for m in app.metric] == ["Weight 6.5", "Weight 13"]


def test_whisper_view_greedy_and_beam():
    app = open_view("A transformer: Whisper", speech_method="beam", speech_width=3)
    tokens = next(block for block in html_blocks(app) if "window" in block and "title=" in block)
    assert "music" in tokens and "%" in tokens  # each token with its probability
    assert len(app.get("plotly_chart")) == 3  # words on the waveform, cross-attention, the beam tree
    assert app.dataframe[0].value["transcript"].iloc[0] == "Please turn the music down and open the window."
    assert len(app.dataframe[0].value) == 3


def test_side_by_side_scores_both_recognizers():
    app = open_view("Side by side")
    assert [m.label for m in app.metric] == ["pocketsphinx: word error rate", "Whisper (beam 5): word error rate"]
    assert [m.value for m in app.metric] == ["0%", "0%"]
    assert len(app.dataframe[0].value) == 8  # the table of test clips
    app.text_input(key=P.SPEECH_REFERENCE.key).set_value("Please turn the radio down and open the door").run()
    assert [m.value for m in app.metric] == ["22%", "22%"]  # 2 substitutions in 9 words
    assert any("radio" in block and "music" in block for block in html_blocks(app))


def test_trigger_word():
    app = open_view("Trigger word", speech_keyword="music")
    labels = {m.label: m.value for m in app.metric}
    assert labels["pocketsphinx"].startswith("detected") and labels["Whisper"] == "detected"
    app.text_input(key=P.SPEECH_KEYWORD.key).set_value("kitchen").run()
    labels = {m.label: m.value for m in app.metric}
    assert labels["pocketsphinx"] == "not detected" and labels["Whisper"] == "not detected"


def test_then_translate_links_the_transcript_to_the_translation_page():
    app = open_view("Then translate")
    (link,) = app.get("link_button")
    url = urlparse(link.proto.url)
    assert url.path == "translation"
    query = parse_qs(url.query)
    assert query[P.TR_MODEL.key] == ["translation-enes"]
    assert query[P.translation_text("translation-enes").key] == ["Please turn the music down and open the window."]


def test_microphone_without_a_recording_asks_for_one():
    app = open_view("What the models hear", speech_source="Microphone")
    assert any("Record or upload" in info.value for info in app.info)
    assert not app.get("plotly_chart")
