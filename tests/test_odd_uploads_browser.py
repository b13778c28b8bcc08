"""Odd upload files (tests/odd_files.py) through the real file uploaders in Chromium: each bad file gets a
clear error or warning box, never a raw exception, and the page keeps working after it."""

import pytest

from tests.conftest import screenshot, wait_for_app
from tests.odd_files import write_odd_files

pytestmark = pytest.mark.browser

ERROR = "stAlertContentError"
WARNING = "stAlertContentWarning"


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    return write_odd_files(tmp_path_factory.mktemp("odd_uploads"))


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def upload(page, uploader_key: str, file) -> None:
    """Give the uploader `file` (a path or Playwright's name/mimeType/buffer payload) and wait until it lists the
    file as uploaded: two uploads in quick succession could otherwise race, and a result or message the previous
    file left on the page (the same error twice) would pass for the new one's."""
    uploader = page.locator(f".st-key-{uploader_key}")
    uploader.locator('input[type="file"]').set_input_files(file)
    name = file["name"] if isinstance(file, dict) else file.name
    uploader.locator('[data-testid="stFileChipName"]', has_text=name).first.wait_for()
    uploader.locator('[data-testid="stFileChipIconSpinner"]').wait_for(state="detached")


def expect_box(page, testid: str, words: str) -> None:
    """Wait for an alert of kind `testid` containing `words`, then for the script run to end."""
    page.locator(f'[data-testid="{testid}"]', has_text=words).first.wait_for()
    wait_for_app(page)
    no_exception(page)


def expect_text(page, words: str) -> None:
    """Wait for `words` (a result only a working page shows), then check that no error box is left."""
    page.get_by_text(words).first.wait_for()
    wait_for_app(page)
    no_exception(page)
    assert page.locator(f'[data-testid="{ERROR}"]').count() == 0


def upload_expecting(page, uploader_key: str, file, message: str | None, result: str) -> None:
    """Upload `file`: with a `message`, expect that error box and no `result`; with None, expect the page to
    work and show `result` (a text only a working page shows)."""
    upload(page, uploader_key, file)
    if message:
        expect_box(page, ERROR, message)
        assert page.get_by_text(result).count() == 0
    else:
        expect_text(page, result)


def choose_upload(page, prefix: str) -> None:
    page.locator(f".st-key-{prefix}_source").get_by_role("radio", name="Upload").click()
    page.locator(f".st-key-{prefix}_upload").wait_for()
    wait_for_app(page)


def test_classification_page_survives_odd_images(page, app_url, odd):
    page.goto(f"{app_url}/classification")
    wait_for_app(page)
    choose_upload(page, "cls_image")
    steps = [
        ("truncated_jpeg", "damaged or truncated"),
        ("text_as_jpeg", "not an image that can be read"),
        ("png_bomb", "too large to open safely"),
        ("cmyk_jpeg", None),  # works: the 96x64 picture is classified
        ("empty", "The file is empty"),
        ("animated_gif", None),  # works: its first frame is classified
        ("svg", "not an image that can be read"),
    ]
    for kind, message in steps:
        upload_expecting(page, "cls_image_upload", odd[kind], message, "Top 5")
        if not message:
            expect_text(page, "input, 96x64")
            assert page.get_by_text("Top 5").count() == 1
            assert page.locator('[data-testid="stProgress"]').count() >= 5
    # back to a sample photo: predictions as usual
    page.locator(".st-key-cls_image_source").get_by_role("radio", name="Sample").click()
    expect_text(page, "input, 451x300")
    assert page.get_by_text("Top 5").count() == 1
    screenshot(page, "odd_uploads_classification")


def test_segmentation_page_survives_odd_images(page, app_url, odd):
    page.goto(f"{app_url}/segmentation")
    wait_for_app(page)
    choose_upload(page, "seg")
    steps = [
        ("png_bomb", "too large to open safely"),
        ("cmyk_jpeg", None),
        ("truncated_jpeg", "damaged or truncated"),
        ("animated_gif", None),
        ("text_as_jpeg", "not an image that can be read"),
    ]
    for kind, message in steps:
        upload_expecting(page, "seg_upload", odd[kind], message, "mask over the photo")
        if not message:
            assert page.get_by_text("Legend and area").count() == 1
    screenshot(page, "odd_uploads_segmentation")


def test_sentiment_batch_survives_odd_csv_files(page, app_url, odd):
    page.goto(f"{app_url}/sentiment")
    wait_for_app(page)
    page.get_by_role("tab", name="Batch").click()
    page.locator(".st-key-sentiment_batch_source").get_by_text("Upload a CSV").click()
    page.locator(".st-key-sentiment_batch_csv").wait_for()
    wait_for_app(page)
    upload(page, "sentiment_batch_csv", odd["empty"])
    expect_box(page, ERROR, "The uploaded file is empty")
    # a picture renamed .csv gets past the uploader's type filter; the reader refuses it
    renamed = {"name": "truncated.csv", "mimeType": "text/csv", "buffer": odd["truncated_jpeg"].read_bytes()}
    upload(page, "sentiment_batch_csv", renamed)
    expect_box(page, ERROR, "does not look like a CSV")
    upload(page, "sentiment_batch_csv", odd["long_csv"])
    expect_box(page, WARNING, "only the first 10,000 are analysed")
    upload(page, "sentiment_batch_csv", odd["bom_crlf_csv"])
    page.locator(f'[data-testid="{WARNING}"]', has_text="only the first").wait_for(state="detached")
    wait_for_app(page)
    no_exception(page)
    assert page.locator(f'[data-testid="{ERROR}"]').count() == 0
    # "id" and "stars" hold numbers: analysing them would show an error, so 4 texts means the review column
    page.locator(".st-key-sentiment_batch_run").get_by_role("button").click()
    expect_text(page, "4 texts analysed by")
    screenshot(page, "odd_uploads_sentiment")
