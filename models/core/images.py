"""Reading images robustly, shared by the vision pages, and the bundled sample photos."""

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from models.core.errors import InputError

MAX_UPLOAD_PIXELS = 50_000_000  # above this PIL's decoder is not even started (decompression bombs)
MAX_SIDE = 2048  # larger images are downscaled: no page needs more, and it bounds memory


def read_image(data: bytes | Path | str, max_side: int = MAX_SIDE) -> Image.Image:
    """Decode an uploaded file into an 8-bit RGB image, or raise InputError saying why not.

    Handles EXIF orientation, CMYK, palette, 16-bit, alpha (composited on white), grayscale,
    animated files (first frame) and huge images (downscaled to `max_side`).
    """
    if isinstance(data, (str, Path)):
        data = Path(data).read_bytes()
    if not data:
        raise InputError("The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_UPLOAD_PIXELS:
                raise InputError(
                    f"The image is {width}x{height} pixels; images above {MAX_UPLOAD_PIXELS // 1_000_000} "
                    "megapixels are refused."
                )
            image.seek(0)  # first frame of animations
            image.draft("RGB", (max_side, max_side))  # JPEG: decode at reduced size when huge
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own limit stops a decompression bomb before its size can be read; its text talks of attacks.
        raise InputError(
            f"The image is too large to open safely: images above {MAX_UPLOAD_PIXELS // 1_000_000} megapixels "
            "are refused."
        ) from exc
    except UnidentifiedImageError as exc:
        raise InputError("This file is not an image that can be read (try PNG, JPEG, GIF, BMP or WebP).") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"The image file is damaged or truncated ({exc}).") from exc
    image = ImageOps.exif_transpose(image) or image
    image = to_rgb(image)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB from any PIL mode: 16/32-bit and float are rescaled, alpha goes onto white."""
    if image.mode in {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}:
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        image = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in {"RGBA", "LA", "PA"}:
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")


def _skimage(name: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        import skimage.data

        pixels = getattr(skimage.data, name)()
        if isinstance(pixels, tuple):  # stereo pairs: take the left view
            pixels = pixels[0]
        return to_rgb(Image.fromarray(pixels))

    return load


def _grace_hopper() -> Image.Image:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return read_image(handle.read())


# Photos bundled with installed packages (scikit-image, matplotlib): no download needed.
SAMPLES: dict[str, Callable[[], Image.Image]] = {
    "cat (chelsea)": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "astronaut": _skimage("astronaut"),
    "Grace Hopper": _grace_hopper,
    "rocket": _skimage("rocket"),
    "motorcycle": _skimage("stereo_motorcycle"),
}


def sample_image(name: str) -> Image.Image:
    if name not in SAMPLES:
        raise InputError(f"No sample image called '{name}'.")
    return SAMPLES[name]()


def small_jpeg(data: bytes, max_side: int = 448, max_bytes: int = 10_000_000) -> bytes:
    """A photo checked and shrunk for storing (a class's photos in the shared database): refused above
    `max_bytes` before it is decoded, read by `read_image` (a clear error for anything that is not a readable
    image), at most `max_side` pixels a side, re-encoded as JPEG. What is stored is never the upload itself."""
    if len(data) > max_bytes:
        raise InputError(f"The photo is {len(data) / 1e6:.1f} MB; send one of at most {max_bytes // 1_000_000} MB.")
    image = read_image(data, max_side=max_side)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
