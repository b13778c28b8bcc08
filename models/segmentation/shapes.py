"""Synthetic segmentation data: circles, squares and triangles on textured, noisy backgrounds.

Colours are random for every shape and background, so a network can only tell the classes apart
by their outline. Shapes are one flat colour that stands out from the background's two colours.
Images are generated on the fly from a numpy random generator: the same seed gives the same images.
"""

import cv2
import numpy as np

CLASS_NAMES = ["background", "circle", "square", "triangle"]


def texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random stripe pattern mixed with smooth blobs, (size, size) in [0, 1]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle, frequency, phase = rng.uniform(0, np.pi), rng.uniform(2, 10), rng.uniform(0, 2 * np.pi)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * frequency * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
    blobs = cv2.resize(rng.random((4, 4), dtype=np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(0.5 * stripes + 0.5 * blobs, 0, 1)


def contrasting_colour(rng: np.random.Generator, others: list[np.ndarray], distance: float = 0.5) -> np.ndarray:
    """A random RGB colour at least `distance` (sum of channel differences) from each of `others`."""
    while True:
        colour = rng.random(3, dtype=np.float32)
        if all(np.abs(colour - other).sum() >= distance for other in others):
            return colour


def shape_outline(kind: int, centre: np.ndarray, radius: float) -> np.ndarray:
    """Polygon points (n, 2) of a circle (1), an upright square (2) or an upright triangle (3)."""
    corners, start = {1: (32, 0.0), 2: (4, np.pi / 4), 3: (3, -np.pi / 2)}[kind]
    angles = start + np.linspace(0, 2 * np.pi, corners, endpoint=False)
    return (centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).round().astype(np.int32)


def place_shapes(rng: np.random.Generator, count: int, size: int) -> list[tuple[np.ndarray, float]]:
    """Up to `count` (centre, radius) pairs inside the image whose circles do not overlap: each shape
    keeps its whole outline, which is what tells the classes apart."""
    placed: list[tuple[np.ndarray, float]] = []
    for _ in range(20 * count):
        radius = rng.uniform(0.16, 0.3) * size
        centre = rng.uniform(radius, size - radius, 2)
        if all(np.hypot(*(centre - other)) > radius + other_radius + 1 for other, other_radius in placed):
            placed.append((centre, radius))
            if len(placed) == count:
                break
    return placed


def synthetic_sample(rng: np.random.Generator, size: int = 64, max_shapes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """One image (size, size, 3) float32 in [0, 1] and its label map (size, size) int64, with 1 to
    `max_shapes` shapes of random classes."""
    first, second = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
    mix = texture(rng, size)[..., None]
    image = mix * first + (1 - mix) * second  # (size, size, 3)
    labels = np.zeros((size, size), np.int64)
    for centre, radius in place_shapes(rng, int(rng.integers(1, max_shapes + 1)), size):
        kind = int(rng.integers(1, len(CLASS_NAMES)))
        inside = np.zeros((size, size), np.uint8)
        cv2.fillPoly(inside, [shape_outline(kind, centre, radius)], 1)
        inside = inside.astype(bool)
        image[inside] = contrasting_colour(rng, [first, second])
        labels[inside] = kind
    image += rng.normal(0, rng.uniform(0.02, 0.06), image.shape).astype(np.float32)
    return np.clip(image, 0, 1).astype(np.float32), labels


def synthetic_batch(rng: np.random.Generator, count: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """`count` samples: images (count, 3, size, size) float32 and labels (count, size, size) int64."""
    samples = [synthetic_sample(rng, size) for _ in range(count)]
    images = np.stack([image.transpose(2, 0, 1) for image, _ in samples])
    return images, np.stack([labels for _, labels in samples])
