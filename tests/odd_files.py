"""A corpus of odd upload files (issue 9), generated deterministically with PIL, numpy and the stdlib.

python -m tests.odd_files OUTDIR
"""

import csv
import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

BOMB_SIDE = 20_000


def _gradient(width: int = 96, height: int = 64) -> np.ndarray:
    """An RGB picture with some structure (gradients and a square), the same every time."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) * 255 // (width + height - 2)], axis=-1)
    rgb[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = (250, 240, 30)
    return rgb.astype(np.uint8)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = BOMB_SIDE) -> bytes:
    """A valid 1-bit greyscale PNG of side x side black pixels, a few tens of kB. Written row block by
    row block through zlib, so it never holds the 400-megapixel image (or even its 50 MB of rows)."""
    row = b"\x00" + bytes((side + 7) // 8)  # filter type 0, then all-zero bits
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row * min(1000, side - start)) for start in range(0, side, 1000)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _sentences_csv() -> bytes:
    """UTF-8 with a byte-order mark and CRLF line ends, as Excel writes it; commas and quotes in the text."""
    rows = [
        ("id", "review", "stars"),
        (1, "A warm, funny film; I loved every minute.", 5),
        (2, 'The plot was dull and the "twist" was obvious.', 1),
        (3, "Not bad at all — the café scene is wonderful.", 4),
        (4, "I wanted to leave after twenty minutes.", 2),
    ]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _long_csv(rows: int = 100_000) -> bytes:
    words = ["great", "awful", "fine", "boring", "lovely", "terrible"]
    lines = ["id,text"] + [f"{i},this film was {words[i % len(words)]} number {i}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def write_odd_files(directory: Path) -> dict[str, Path]:
    """Write every odd file into `directory`; returns {kind: path}. The same bytes on every call."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(_gradient())
    grey16 = (np.arange(64 * 96, dtype=np.uint32).reshape(64, 96) * 10).astype(np.uint16)
    frames = [Image.fromarray(np.roll(_gradient(), shift * 12, axis=1)).convert("P") for shift in range(4)]
    whole_jpeg = _encoded(rgb, "JPEG", quality=90)
    contents = {
        "cmyk_jpeg": ("cmyk.jpg", _encoded(rgb.convert("CMYK"), "JPEG", quality=90)),
        "grey16_png": ("grey_16bit.png", _encoded(Image.fromarray(grey16), "PNG")),
        "palette_gif": ("palette.gif", _encoded(rgb.convert("P"), "GIF")),
        "animated_gif": (
            "animated.gif",
            _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
        ),
        "one_pixel_png": ("one_pixel.png", _encoded(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG")),
        "png_bomb": (f"bomb_{BOMB_SIDE}x{BOMB_SIDE}.png", png_bomb()),
        "truncated_jpeg": ("truncated.jpg", whole_jpeg[: len(whole_jpeg) // 2]),
        "text_as_jpeg": ("photo.jpg", b"This is not a photo, just a line of text saved as photo.jpg.\n"),
        "svg": (
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
            b'<circle cx="50" cy="50" r="40" fill="red"/></svg>\n',
        ),
        "empty": ("empty.csv", b""),
        "bom_crlf_csv": ("reviews_bom_crlf.csv", _sentences_csv()),
        "long_csv": ("rows_100000.csv", _long_csv()),
    }
    paths = {}
    for kind, (name, data) in contents.items():
        paths[kind] = directory / name
        paths[kind].write_bytes(data)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.odd_files OUTDIR")
    for kind, path in write_odd_files(Path(sys.argv[1])).items():
        print(f"{kind:15} {path.stat().st_size:>10,} B  {path}")
