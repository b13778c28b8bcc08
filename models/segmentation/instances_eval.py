"""COCO-style average precision of an instance segmenter on synthetic scenes, measured by the field's own
evaluator (PyPI `pycocotools`): mask AP and box AP, averaged over IoU thresholds 0.5:0.95, at 0.5 and 0.75,
by object size, and per class.

    scores = coco_ap(segmenter, [held_out_scene(i) for i in range(500)])
    scores["mask AP"], scores["mask AP50"], scores["box AP"], ...
"""

import contextlib
import io
from collections.abc import Callable, Iterable

import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from models.segmentation.instance_shapes import CLASS_NAMES, Scene
from models.segmentation.instances import Instances

EVAL_SCORE_THRESHOLD = 0.05  # COCO practice: keep low-scoring detections, AP rewards ranking them last
SUMMARY = ["AP", "AP50", "AP75", "AP small", "AP medium", "AP large"]  # COCOeval.stats[0:6]


def encode(mask: np.ndarray) -> dict:
    """A boolean mask (H, W) as COCO run-length encoding."""
    return coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))


def xywh(box) -> list[float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return [x0, y0, x1 - x0, y1 - y0]


def quietly(action: Callable[[], object]) -> object:
    """pycocotools prints its progress and tables; keep the caller's output clean."""
    with contextlib.redirect_stdout(io.StringIO()):
        return action()


def ground_truth(scenes: list[Scene]) -> COCO:
    annotations = []
    for image_id, scene in enumerate(scenes):
        for mask, kind, box in zip(scene.masks, scene.classes, scene.boxes, strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(kind),
                    "segmentation": encode(mask),
                    "area": float(mask.sum()),
                    "bbox": xywh(box),
                    "iscrowd": 0,
                }
            )
    coco = COCO()
    coco.dataset = {
        "images": [{"id": i, "height": s.image.shape[0], "width": s.image.shape[1]} for i, s in enumerate(scenes)],
        "annotations": annotations,
        "categories": [{"id": k, "name": name} for k, name in enumerate(CLASS_NAMES) if k],
    }
    quietly(coco.createIndex)
    return coco


def average_precision(truth: COCO, results: list[dict], kind: str) -> dict[str, float]:
    """COCOeval's summary for `kind` ("segm" or "bbox") and the AP of each class."""
    prefix = "mask" if kind == "segm" else "box"
    if not results:  # COCOeval cannot load an empty result list; nothing found scores 0
        return {f"{prefix} {name}": 0.0 for name in SUMMARY}
    evaluation = COCOeval(truth, quietly(lambda: truth.loadRes(results)), kind)
    quietly(evaluation.evaluate)
    quietly(evaluation.accumulate)
    quietly(evaluation.summarize)
    scores = {f"{prefix} {name}": float(value) for name, value in zip(SUMMARY, evaluation.stats, strict=False)}
    precision = evaluation.eval["precision"][:, :, :, 0, -1]  # (IoU thresholds, recall, class), all areas, 100 dets
    for index, category in enumerate(evaluation.params.catIds):
        valid = precision[:, :, index][precision[:, :, index] > -1]
        scores[f"{prefix} AP {CLASS_NAMES[category]}"] = float(valid.mean()) if valid.size else 0.0
    return scores


def coco_ap(segmenter, scenes: Iterable[Scene], on_image: Callable[[int], None] | None = None) -> dict[str, float]:
    """Mask and box AP of `segmenter` (anything with `segment(image, score_threshold, nms_iou)`) on `scenes`."""
    scenes = list(scenes)
    masks, boxes = [], []
    for image_id, scene in enumerate(scenes):
        found: Instances = segmenter.segment(Image.fromarray(scene.image), score_threshold=EVAL_SCORE_THRESHOLD)
        for mask, kind, box, score in zip(found.masks, found.classes, found.boxes, found.scores, strict=True):
            common = {"image_id": image_id, "category_id": int(kind), "score": float(score)}
            masks.append({**common, "segmentation": encode(mask)})
            boxes.append({**common, "bbox": xywh(box)})
        if on_image:
            on_image(image_id + 1)
    truth = ground_truth(scenes)
    return {
        **average_precision(truth, masks, "segm"),
        **average_precision(truth, boxes, "bbox"),
        "images": len(scenes),
        "instances": sum(len(s.classes) for s in scenes),
    }
