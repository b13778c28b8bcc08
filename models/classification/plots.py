"""Pictures for the classification page, as arrays and PIL images (no Streamlit here)."""

import math

import numpy as np
from matplotlib import colormaps
from PIL import Image

from models.core import display


def overlay_heatmap(image: Image.Image, heatmap: np.ndarray, opacity: float = 0.5) -> Image.Image:
    """`heatmap` (H, W) in [0, 1] coloured with the display's heatmap colormap (inferno, which reads without
    hue; 'jet' in the classic palette) and blended over `image` with `opacity`."""
    colormap = colormaps[display.current().heatmap_colormap]
    colours = (colormap(heatmap)[..., :3] * 255).astype(np.uint8)  # (H, W, 3)
    return Image.blend(image.convert("RGB"), Image.fromarray(colours), float(np.clip(opacity, 0, 1)))


def heatmap_stops(count: int = 5) -> list[str]:
    """Colours of the display's heatmap colormap from 0 to 1, for a legend."""
    colormap = colormaps[display.current().heatmap_colormap]
    return [
        "#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in colormap(i / (count - 1))[:3])) for i in range(count)
    ]


def tensor_picture(tensor: np.ndarray) -> np.ndarray:
    """A normalised (3, H, W) tensor as a viewable RGB image (H, W, 3) in [0, 1], stretched to its range."""
    low, high = float(tensor.min()), float(tensor.max())
    return ((tensor - low) / (high - low if high > low else 1.0)).transpose(1, 2, 0)


def channel_pictures(tensor: np.ndarray) -> list[np.ndarray]:
    """Each channel of a (C, H, W) tensor in a blue-white-red diverging map centred on 0: (H, W, 3) each."""
    limit = float(np.abs(tensor).max()) or 1.0
    return [colormaps["RdBu_r"](channel / limit / 2 + 0.5)[..., :3] for channel in tensor]


def tile(tiles: np.ndarray, columns: int | None = None, gap: int = 1) -> np.ndarray:
    """Tiles (N, h, w) or (N, h, w, 3) -> one grid image with `gap` white pixels between tiles."""
    count, height, width = tiles.shape[:3]
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.ones((rows * (height + gap) - gap, columns * (width + gap) - gap, *tiles.shape[3:]), tiles.dtype)
    for index, picture in enumerate(tiles):
        row, column = divmod(index, columns)
        grid[
            row * (height + gap) : row * (height + gap) + height,
            column * (width + gap) : column * (width + gap) + width,
        ] = picture
    return grid


def filter_grid(weights: np.ndarray, zoom: int = 16) -> np.ndarray:
    """First-layer kernels (out, 3, k, k) as an RGB grid in [0, 1]: each kernel stretched to its own range,
    so mid-grey is zero and colours show which colour and edge direction it responds to."""
    kernels = weights.transpose(0, 2, 3, 1)  # (out, k, k, 3)
    limits = np.abs(kernels).max(axis=(1, 2, 3), keepdims=True)
    kernels = kernels / np.where(limits > 0, limits, 1) / 2 + 0.5
    kernels = kernels.repeat(zoom, axis=1).repeat(zoom, axis=2)  # nearest-neighbour zoom: 3x3 is too small to see
    return tile(kernels, gap=2)


def feature_grid(maps: np.ndarray, count: int = 32, min_side: int = 48) -> np.ndarray:
    """The `count` most active channels of a (C, h, w) feature map as an RGB grid: each channel scaled to its
    own range, coloured with 'viridis', and enlarged (nearest neighbour) to at least `min_side` pixels."""
    strongest = np.argsort(-maps.mean(axis=(1, 2)))[:count]
    chosen = maps[np.sort(strongest)]
    low = chosen.min(axis=(1, 2), keepdims=True)
    spread = chosen.max(axis=(1, 2), keepdims=True) - low
    scaled = (chosen - low) / np.where(spread > 0, spread, 1)
    zoom = max(1, -(-min_side // min(chosen.shape[1:])))
    scaled = scaled.repeat(zoom, axis=1).repeat(zoom, axis=2)
    return tile(colormaps["viridis"](scaled)[..., :3], gap=2)
