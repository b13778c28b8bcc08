"""Synthetic instance data for the Mask R-CNN: 1 to 8 circles, squares, triangles and stars on textured,
noisy backgrounds, 256x256, with random size, colour and rotation, overlapping one another.

Shapes are painted one after another, so later shapes hide parts of earlier ones: each instance's mask is
its *visible* part. A shape is only added when every shape under it keeps at least 45% of its own area and
150 pixels in view (a sliver nobody could name is not an instance). Colours are random, so the classes
differ only by outline; a shape's colour stands out from the background and from the shapes it touches.

    scene = synthetic_scene(np.random.default_rng(7))
    scene.image   # (256, 256, 3) uint8
    scene.masks   # (n, 256, 256) bool, bottom shape first
    scene.classes # (n,) class indices into CLASS_NAMES (1..4)
    scene.boxes   # (n, 4) float32 x0, y0, x1, y1 of each visible part (pixel edges)

Every image comes from its own seed: `held_out_scene(i)` is the i-th of the fixed held-out set,
`validation_scene(i)` the i-th of the set that picks the best checkpoint during training, `crowded_scene(i)`
the i-th of a harder held-out set of 8 shapes crowded together, and `training_scene(step, i)` is never any
of them.
"""

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from models.segmentation.mask_rcnn import MaskRCNNConfig
from models.segmentation.shapes import contrasting_colour, texture

CLASS_NAMES = ["background", "circle", "square", "triangle", "star"]
IMAGE_SIZE = MaskRCNNConfig.image_size  # scenes are made at the network's input size
MAX_INSTANCES = 8
RADIUS_RANGE = (14.0, 60.0)  # circumradius in pixels, drawn log-uniformly
MIN_VISIBLE_SHARE = 0.45  # of a shape's own area, once others cover it
MIN_VISIBLE_PIXELS = 150
STAR_INNER = 0.45  # inner radius of a star's points, as a share of the outer
SUBPIXEL_BITS = 4  # cv2.fillPoly's fixed-point precision: corners land between pixels

HELD_OUT_SEED, VALIDATION_SEED, TRAINING_SEED, PAGE_SEED, CROWDED_SEED = 500_500, 100_100, 7_000, 2_026, 800_800
HELD_OUT_SIZE = 500
CROWDED_SPREAD = 0.5  # crowded scenes: 8 shapes with centres in the middle half of the image's free range
HEAVY_OVERLAP = (26, 0.6)  # the page's ready-made example: seed and spread of 8 crowded shapes


@dataclass
class Scene:
    image: np.ndarray  # (H, W, 3) uint8
    masks: np.ndarray  # (n, H, W) bool, visible part of each instance
    classes: np.ndarray  # (n,) int64 in 1..len(CLASS_NAMES)-1

    @property
    def boxes(self) -> np.ndarray:
        """(n, 4) float32 boxes x0, y0, x1, y1 around each visible part, on pixel edges."""
        return masks_to_boxes(self.masks)


def masks_to_boxes(masks: np.ndarray) -> np.ndarray:
    """(n, H, W) bool -> (n, 4) float32 tight boxes x0, y0, x1, y1 (x1 = last column + 1); zeros for empty masks."""
    boxes = np.zeros((len(masks), 4), np.float32)
    for index, mask in enumerate(masks):
        rows, columns = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        if len(rows):
            boxes[index] = columns[0], rows[0], columns[-1] + 1, rows[-1] + 1
    return boxes


def outline(kind: int, centre: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """Polygon (n, 2) float of a circle (1), square (2), triangle (3) or five-pointed star (4)."""
    if kind == 1:
        turns = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        radii = np.full(96, radius)
    elif kind == 4:
        turns = angle + np.linspace(0, 2 * np.pi, 10, endpoint=False)
        radii = np.where(np.arange(10) % 2 == 0, radius, radius * STAR_INNER)
    else:
        corners = {2: 4, 3: 3}[kind]
        turns = angle + np.linspace(0, 2 * np.pi, corners, endpoint=False)
        radii = np.full(corners, radius)
    return centre + radii[:, None] * np.stack([np.cos(turns), np.sin(turns)], axis=1)


def fill(polygon: np.ndarray, size: int, antialiased: bool = False) -> np.ndarray:
    """The polygon's coverage (size, size) uint8: 0/1, or 0..255 with anti-aliased edges. Coordinates are
    pixel-centre based (pixel i covers i-0.5..i+0.5), as cv2 draws."""
    canvas = np.zeros((size, size), np.uint8)
    points = np.round((polygon - 0.5) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    line = cv2.LINE_AA if antialiased else cv2.LINE_8
    cv2.fillPoly(canvas, [points], 255 if antialiased else 1, lineType=line, shift=SUBPIXEL_BITS)
    return canvas


def background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """A textured background (size, size, 3) float32 in [0, 1] and the two colours it mixes."""
    first, second = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
    mix = texture(rng, size)[..., None]
    return mix * first + (1 - mix) * second, [first, second]


def synthetic_scene(
    rng: np.random.Generator, count: int | None = None, spread: float = 1.0, size: int = IMAGE_SIZE
) -> Scene:
    """One scene with `count` shapes (random 1..8 when None). `spread` < 1 crowds the centres into the
    middle of the image, which makes the shapes overlap heavily."""
    count = int(rng.integers(1, MAX_INSTANCES + 1)) if count is None else count
    image, background_colours = background(rng, size)
    full: list[np.ndarray] = []  # each accepted shape's whole area (bool), before later shapes cover it
    visible: list[np.ndarray] = []
    classes: list[int] = []
    colours: list[np.ndarray] = []
    for _ in range(30 * count):
        if len(classes) == count:
            break
        kind = int(rng.integers(1, len(CLASS_NAMES)))
        radius = float(np.exp(rng.uniform(*np.log(RADIUS_RANGE))))
        low, high = radius, size - radius
        middle, half = size / 2, max(0.0, (high - low) / 2 * spread)
        centre = rng.uniform(max(low, middle - half), min(high, middle + half), 2)
        polygon = outline(kind, centre, radius, float(rng.uniform(0, 2 * np.pi)))
        area = fill(polygon, size).astype(bool)
        if area.sum() < MIN_VISIBLE_PIXELS:
            continue
        if any(
            (seen & ~area).sum() < max(MIN_VISIBLE_PIXELS, MIN_VISIBLE_SHARE * whole.sum())
            for seen, whole in zip(visible, full, strict=True)
        ):
            continue
        touching = [colour for colour, whole in zip(colours, full, strict=True) if (whole & dilate(area)).any()]
        colour = contrasting_colour(rng, background_colours + touching, distance=0.6)
        paint(image, fill(polygon, size, antialiased=True), colour, rng)
        visible = [seen & ~area for seen in visible] + [area]
        full.append(area)
        classes.append(kind)
        colours.append(colour)
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(rng.uniform(0.02, 0.08))
    pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    masks = np.stack(visible) if visible else np.zeros((0, size, size), bool)
    return Scene(pixels, masks, np.array(classes, np.int64))


def dilate(mask: np.ndarray, pixels: int = 2) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)).astype(bool)


def paint(image: np.ndarray, coverage: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> None:
    """Blend a shape of `colour` into `image` in place, with its anti-aliased `coverage` (0..255) as alpha
    and a gentle random shading across it, as if lit from one side. Works on the shape's box only."""
    rows, columns = np.flatnonzero(coverage.any(1)), np.flatnonzero(coverage.any(0))
    if not len(rows):
        return
    window = np.s_[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    yy, xx = unit_grid(image.shape[0])
    direction = rng.normal(size=2)
    shade = 0.25 * (direction[0] * (xx[window] - 0.5) + direction[1] * (yy[window] - 0.5)) / np.linalg.norm(direction)
    alpha = (coverage[window].astype(np.float32) / 255)[..., None]
    patch = image[window]
    patch *= 1 - alpha
    patch += alpha * np.clip(colour + shade[..., None], 0, 1)


@functools.cache
def unit_grid(size: int) -> np.ndarray:
    """Pixel rows and columns scaled to [0, 1): (2, size, size) float32."""
    return np.mgrid[0:size, 0:size].astype(np.float32) / size


def held_out_scene(index: int) -> Scene:
    """The `index`-th image of the fixed held-out set (0 <= index < 500) that the card's AP is measured on."""
    return synthetic_scene(np.random.default_rng([HELD_OUT_SEED, index]))


def validation_scene(index: int) -> Scene:
    """The `index`-th image of the validation set that picks the best checkpoint while training."""
    return synthetic_scene(np.random.default_rng([VALIDATION_SEED, index]))


def training_scene(step: int, index: int) -> Scene:
    """Image `index` of training batch `step`: a fresh scene for every step."""
    return synthetic_scene(np.random.default_rng([TRAINING_SEED, step, index]))


def page_scene(seed: int) -> Scene:
    """The page's "new random scene" for a seed from its URL."""
    return synthetic_scene(np.random.default_rng([PAGE_SEED, seed]))


def crowded_scene(index: int) -> Scene:
    """The `index`-th of a held-out set of crowded scenes (8 shapes, heavy overlap), harder than the usual ones."""
    return synthetic_scene(np.random.default_rng([CROWDED_SEED, index]), count=MAX_INSTANCES, spread=CROWDED_SPREAD)


def heavy_overlap_scene() -> Scene:
    """The page's ready-made example: eight shapes crowded together, several partly hidden."""
    seed, spread = HEAVY_OVERLAP
    return synthetic_scene(np.random.default_rng([PAGE_SEED, seed]), count=MAX_INSTANCES, spread=spread)
