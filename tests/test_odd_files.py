"""The odd upload corpus (tests/odd_files.py) through the readers the pages use: every file gives a usable
image or table, or the project's own StudioError with a message naming the problem, never another exception."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from models import sentiment as sm
from models.core.errors import StudioError
from models.core.images import read_image
from tests.odd_files import BOMB_SIDE, write_odd_files

# kind -> what read_image gives: a size for an RGB image, or words the error message must contain
IMAGE_RESULTS = {
    "cmyk_jpeg": (96, 64),
    "grey16_png": (96, 64),
    "palette_gif": (96, 64),
    "animated_gif": (96, 64),
    "one_pixel_png": (1, 1),
    "png_bomb": "too large",
    "truncated_jpeg": "truncated",
    "text_as_jpeg": "not an image",
    "svg": "not an image",
    "empty": "empty",
    "bom_crlf_csv": "not an image",
    "long_csv": "not an image",
}
# kind -> what read_table gives: (rows, text columns, notice words or None), or words of the error message
TABLE_RESULTS = {
    "bom_crlf_csv": (4, ["review"], None),
    "long_csv": (sm.MAX_ROWS, ["text"], "only the first 10,000"),
    "empty": "empty",
    "text_as_jpeg": "no rows",  # text inside a .jpg name: a CSV with a header line and nothing else
    "svg": "no rows",
    "cmyk_jpeg": "binary data",
    "grey16_png": "binary data",
    "palette_gif": "binary data",
    "animated_gif": "binary data",
    "one_pixel_png": "binary data",
    "png_bomb": "binary data",
    "truncated_jpeg": "binary data",
}


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    return write_odd_files(tmp_path_factory.mktemp("odd"))


def test_the_corpus_is_what_its_names_say(odd, tmp_path):
    assert set(odd) == set(IMAGE_RESULTS) == set(TABLE_RESULTS)
    again = write_odd_files(tmp_path)
    assert {kind: path.read_bytes() for kind, path in again.items()} == {
        kind: path.read_bytes() for kind, path in odd.items()
    }, "the corpus must be the same bytes every time"
    assert Image.open(odd["cmyk_jpeg"]).mode == "CMYK"
    assert Image.open(odd["grey16_png"]).mode == "I;16"
    assert Image.open(odd["palette_gif"]).mode == "P"
    assert Image.open(odd["animated_gif"]).n_frames == 4
    assert Image.open(odd["one_pixel_png"]).size == (1, 1)
    bomb = odd["png_bomb"].read_bytes()
    assert len(bomb) < 100_000
    assert struct.unpack(">II", bomb[16:24]) == (BOMB_SIDE, BOMB_SIDE)
    # a real bomb: its pixel data inflates to 20000 rows of 2501 bytes (streamed here, 1 MB at a time)
    inflater, data, inflated = zlib.decompressobj(), bomb[41:-16], 0  # the IDAT chunk's body
    while data and not inflater.eof:
        inflated += len(inflater.decompress(data, 1_000_000))
        data = inflater.unconsumed_tail
    inflated += len(inflater.flush())
    assert inflater.eof and inflated == BOMB_SIDE * (1 + BOMB_SIDE // 8)
    assert odd["empty"].stat().st_size == 0
    assert (
        odd["bom_crlf_csv"].read_bytes().startswith(b"\xef\xbb\xbfid,review")
        and b"\r\n" in odd["bom_crlf_csv"].read_bytes()
    )
    assert odd["long_csv"].read_bytes().count(b"\n") == 100_001


def read_or_refuse(read, path, expected):
    """`read(the file's bytes)`; when `expected` is a str, check instead that it raised the project's
    StudioError with those words, and return None."""
    if isinstance(expected, str):
        with pytest.raises(StudioError, match=expected):
            read(path.read_bytes())
        return None
    return read(path.read_bytes())


@pytest.mark.parametrize("kind", IMAGE_RESULTS)
def test_read_image(odd, kind):
    expected = IMAGE_RESULTS[kind]
    image = read_or_refuse(read_image, odd[kind], expected)
    if image is None:
        return
    assert image.mode == "RGB" and image.size == expected
    pixels = np.asarray(image, dtype=int)
    if kind == "one_pixel_png":
        assert pixels[0, 0].tolist() == [200, 30, 30]
    elif kind == "grey16_png":  # 16-bit values rescaled to the full 8-bit range, grey
        assert pixels.min() == 0 and pixels.max() == 255
        assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    else:  # the yellow square in the middle survives CMYK, the 216-colour web palette and the first frame
        assert np.abs(pixels[32, 48] - [250, 240, 30]).max() < 40
        assert np.abs(pixels[2, 2] - [0, 0, 0]).max() < 40  # and the dark corner stays dark


@pytest.mark.parametrize("kind", TABLE_RESULTS)
def test_read_table(odd, kind):
    expected = TABLE_RESULTS[kind]
    read = read_or_refuse(sm.read_table, odd[kind], expected)
    if read is None:
        return
    rows, text_columns, notice = expected
    table, got_notice = read
    assert len(table) == rows
    assert sm.text_columns(table) == text_columns
    assert (got_notice is None) if notice is None else (notice in got_notice)
    texts = sm.column_texts(table, text_columns[0])
    assert len(texts) == rows and all(texts)
    assert not any("\r" in text or "\ufeff" in text for text in texts)
    if kind == "bom_crlf_csv":
        assert list(table.columns) == ["id", "review", "stars"]  # no byte-order mark glued to "id"
        assert texts[1] == 'The plot was dull and the "twist" was obvious.'
        assert texts[2] == "Not bad at all — the café scene is wonderful."
    else:
        assert texts[0] == "this film was great number 0" and texts[-1].endswith(f"number {rows - 1}")
