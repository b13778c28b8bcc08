"""The speech page in Chromium: a clip and odd audio files through the real uploader, and a recording from
Chromium's fake microphone (a file played as the capture device) through st.audio_input."""

import shutil

import pytest
import soundfile

from models.speech.catalog import CLIPS
from tests.conftest import CHROMIUM_FLAGS, screenshot, wait_for_app
from tests.odd_audio import speech, write_odd_audio
from tests.test_odd_uploads_browser import ERROR, expect_box, expect_text, no_exception, upload

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    return write_odd_audio(tmp_path_factory.mktemp("odd_audio"))


def choose(page, key: str, option: str) -> None:
    page.locator(f".st-key-{key}").get_by_role("radio", name=option).click()
    wait_for_app(page)


def test_upload_a_clip_then_odd_files(page, app_url, odd):
    page.goto(f"{app_url}/speech?speech_source=Upload")
    wait_for_app(page)
    upload(page, "speech_upload", CLIPS / "music_awb.flac")
    expect_text(page, "3.3 s at 16 kHz, mono")
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 4
    screenshot(page, "speech-upload")
    page.get_by_role("tab", name="Statistics: pocketsphinx").click()
    expect_text(page, "please turn the music down and open the window")
    for kind, words in [
        ("text_as_wav", "damaged or not audio"),
        ("truncated", "damaged or not audio"),
        ("telephone", "telephone quality"),
        ("stereo", "2 channels"),
        ("ten_minutes", "first 30 seconds"),
        ("silence", "nearly silent"),
    ]:
        upload(page, "speech_upload", odd[kind])
        if kind in ("text_as_wav", "truncated"):
            expect_box(page, ERROR, words)
        else:
            page.get_by_text(words).first.wait_for()
            wait_for_app(page)
            no_exception(page)
    upload(page, "speech_upload", odd["mp3"])
    expect_text(page, "3.3 s at 16 kHz, mono")


def test_record_from_the_fake_microphone(browser, app_url, tmp_path):
    """Chromium plays a WAV file as the microphone; the page reads the recording like an upload."""

    voice = tmp_path / "voice.wav"
    soundfile.write(voice, speech(), 16_000, subtype="PCM_16")
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={voice}",
    ]
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    # A second Chromium with the fake capture flags, from the session's Playwright (one per process).
    recorder = browser.browser_type.launch(executable_path=executable, args=flags)
    try:
        context = recorder.new_context(viewport={"width": 1400, "height": 900}, permissions=["microphone"])
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{app_url}/speech?speech_source=Microphone")
        wait_for_app(page)
        page.get_by_text("Record or upload some speech").wait_for()
        microphone = page.locator(".st-key-speech_microphone")
        microphone.get_by_role("button", name="Record").click()
        page.wait_for_timeout(3_500)
        microphone.get_by_role("button", name="Stop recording").click()
        page.get_by_text("at 16 kHz, mono").first.wait_for()
        wait_for_app(page)
        no_exception(page)
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 4
        screenshot(page, "speech-microphone")
    finally:
        recorder.close()


def test_microphone_refused(page, app_url):
    """A browser that refuses the microphone (no permission granted, no capture device): the recorder says it
    failed, the page says how to allow it, and the rest of the page still works."""
    page.goto(f"{app_url}/speech?speech_source=Microphone")
    wait_for_app(page)
    microphone = page.locator(".st-key-speech_microphone")
    microphone.get_by_role("button", name="Record").click()
    microphone.get_by_text("An error has occurred").wait_for()  # Streamlit's recorder, when getUserMedia fails
    page.get_by_text("If the browser was refused the microphone").wait_for()
    no_exception(page)
    choose(page, "speech_source", "Sample")
    page.get_by_text("at 16 kHz, mono").first.wait_for()
    wait_for_app(page)
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 4
    no_exception(page)
