"""Pictures of Mask R-CNN's stages, for the page: the anchors at one place, the RPN's proposals, what NMS
keeps, the final detections and the instance masks. Each returns a PIL image; pictures in the network's
256x256 frame are drawn at ZOOM times that size, so that thin boxes stay sharp on a projector."""

import cv2
import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

from models.segmentation.instances import Instances
from models.segmentation.mask_rcnn import RPN_STRIDES, Detections, MaskRCNNConfig, Stages
from models.segmentation.segmenter import palette

ZOOM = 2
CANDIDATE_COLOUR = (200, 200, 200)


def font(size: int = 13) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def hex_colour(colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in colour))


def objectness_colour(score: float) -> tuple[int, int, int]:
    """Viridis: dark blue = unsure, yellow = sure."""
    return tuple(round(255 * c) for c in colormaps["viridis"](float(score))[:3])


VIRIDIS_STOPS = [hex_colour(objectness_colour(t)) for t in np.linspace(0, 1, 5)]  # for the page's colour legend


def enlarged(picture: Image.Image, zoom: int = ZOOM) -> Image.Image:
    return picture.convert("RGB").resize((picture.width * zoom, picture.height * zoom), Image.Resampling.BICUBIC)


def draw_boxes(
    picture: Image.Image,
    boxes: np.ndarray,
    colours: list[tuple[int, int, int]],
    zoom: float = 1,
    width: int = 2,
    labels: list[str] | None = None,
) -> Image.Image:
    """`boxes` (n, 4) in the picture's pixels / `zoom`, drawn in order (the last on top), labels above them."""
    out = picture.copy()
    draw = ImageDraw.Draw(out)
    text = font()
    for index, (box, colour) in enumerate(zip(np.asarray(boxes, np.float64) * zoom, colours, strict=True)):
        draw.rectangle(box.tolist(), outline=tuple(colour), width=width)
        if labels:
            x, y = box[0], max(0, box[1] - 16)
            *_, right, bottom = draw.textbbox((x + 3, y + 1), labels[index], font=text)
            draw.rectangle((x, y, right + 3, bottom + 1), fill=tuple(colour))
            draw.text((x + 3, y + 1), labels[index], fill=(0, 0, 0), font=text)
    return out


# --- 1. anchors ---------------------------------------------------------------------------------------


def anchor_cell(stages: Stages, level: int, x: float, y: float) -> tuple[int, int]:
    """(row, column) of the cell of RPN level `level` (0 = P3 ... 3 = P6) that holds point (x, y)."""
    height, width = stages.features[level + 1].shape[-2:]
    stride = RPN_STRIDES[level]
    return min(height - 1, max(0, int(y // stride))), min(width - 1, max(0, int(x // stride)))


def anchors_at(stages: Stages, config: MaskRCNNConfig, level: int, x: float, y: float):
    """The anchors of one cell: boxes (A, 4) and the RPN's objectness probability for each (A,)."""
    row, column = anchor_cell(stages, level, x, y)
    width = stages.features[level + 1].shape[-1]
    per_cell = config.anchors_per_cell
    first = (row * width + column) * per_cell
    window = slice(first, first + per_cell)
    return stages.anchors[level][window], stages.objectness[level][window].sigmoid()


def anchors_picture(canvas: Image.Image, stages: Stages, config: MaskRCNNConfig, level: int, x: float, y: float):
    """The cell centres of one pyramid level as dots and the anchors of the cell at (x, y), one colour per
    anchor; with a row per anchor: size, aspect ratio, objectness."""
    boxes, objectness = anchors_at(stages, config, level, x, y)
    stride = RPN_STRIDES[level]
    picture = enlarged(canvas)
    draw = ImageDraw.Draw(picture)
    height, width = stages.features[level + 1].shape[-2:]
    for row in range(height):
        for column in range(width):
            cx, cy = (column + 0.5) * stride * ZOOM, (row + 0.5) * stride * ZOOM
            draw.ellipse((cx - 1.5, cy - 1.5, cx + 1.5, cy + 1.5), fill=(255, 255, 255))
    colours = [tuple(c) for c in palette(len(boxes) + 1)[1:]]
    picture = draw_boxes(picture, boxes.numpy(), colours, zoom=ZOOM)
    shapes = [(size, ratio) for size in config.anchor_sizes[level] for ratio in config.aspect_ratios]
    rows = [
        {
            "colour": hex_colour(colour),
            "size (px)": size,
            "height / width": ratio,
            "box w×h (px)": f"{box[2] - box[0]:.0f}×{box[3] - box[1]:.0f}",
            "objectness": round(float(score), 3),
        }
        for colour, (size, ratio), box, score in zip(colours, shapes, boxes.tolist(), objectness.tolist(), strict=True)
    ]
    return picture, rows


# --- 2. and 3. proposals and NMS -----------------------------------------------------------------------


def proposals_picture(canvas: Image.Image, boxes, scores) -> Image.Image:
    """Proposals coloured by objectness (viridis: dark = unsure, yellow = sure), the surest drawn last."""
    order = np.argsort(np.asarray(scores))
    colours = [objectness_colour(s) for s in np.asarray(scores)[order]]
    return draw_boxes(enlarged(canvas), np.asarray(boxes)[order], colours, zoom=ZOOM, width=2)


def nms_picture(canvas: Image.Image, detections: Detections, class_names: list[str]) -> Image.Image:
    """Every candidate above the score threshold in thin grey, and the boxes NMS kept in their class's colour."""
    picture = draw_boxes(
        enlarged(canvas),
        detections.candidate_boxes.numpy(),
        [CANDIDATE_COLOUR] * len(detections.candidate_boxes),
        zoom=ZOOM,
        width=1,
    )
    colours = palette(len(class_names))
    kept = [tuple(colours[c]) for c in detections.classes.tolist()]
    return draw_boxes(picture, detections.boxes.numpy(), kept, zoom=ZOOM, width=3)


# --- 4. and 5. detections and masks ---------------------------------------------------------------------


def output_zoom(found: Instances) -> int:
    """Small results are drawn twice as large."""
    return ZOOM if max(found.image.size) <= MaskRCNNConfig.image_size else 1


def detections_picture(found: Instances) -> Image.Image:
    """Boxes in their class's colour, labelled with class and score."""
    zoom = output_zoom(found)
    colours = palette(len(found.class_names))
    labels = [f"{found.class_names[c]} {s:.2f}" for c, s in zip(found.classes, found.scores, strict=True)]
    order = list(range(len(found)))[::-1]  # best on top
    return draw_boxes(
        enlarged(found.image, zoom),
        found.boxes[order],
        [tuple(colours[found.classes[i]]) for i in order],
        zoom=zoom,
        labels=[labels[i] for i in order],
    )


def masks_picture(found: Instances, opacity: float = 0.55) -> Image.Image:
    """Each instance's mask in its own colour over the image, outlined, with its number."""
    zoom = output_zoom(found)
    pixels = np.asarray(enlarged(found.image, zoom), dtype=np.float32)
    draw_order = list(range(len(found)))[::-1]
    outlines = np.zeros(pixels.shape[:2], np.int32)
    for index in draw_order:
        mask = found.masks[index].repeat(zoom, 0).repeat(zoom, 1)
        pixels[mask] = pixels[mask] * (1 - opacity) + found.colours[index] * opacity
        edge = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
        outlines[edge] = index + 1
    for index in range(len(found)):
        pixels[outlines == index + 1] = found.colours[index]
    picture = Image.fromarray(pixels.round().clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for index in range(len(found)):
        rows, columns = np.nonzero(found.masks[index])
        if len(rows):
            x, y = columns.mean() * zoom, rows.mean() * zoom
            draw.text(
                (x, y),
                str(index + 1),
                fill=(255, 255, 255),
                font=font(14),
                anchor="mm",
                stroke_width=2,
                stroke_fill=(0, 0, 0),
            )
    return picture
