"""Instance segmentation speed: the Mask R-CNN on 256x256 scenes, on one CPU thread (as the app runs it) and on
all threads, with the time of each stage: backbone (+ feature pyramid), RPN (head, anchors, decoding), NMS
(the RPN's and the per-class one), heads (box and mask heads), paste-back. `python -m bench segmentation_instances`."""

import statistics
import time

import torch
from PIL import Image

from models.core.registry import get_registry
from models.segmentation.instance_shapes import held_out_scene
from models.segmentation.instances import as_instance_segmenter
from models.segmentation.unet import torch_threads

SCENES = 20
ROUNDS = 3
STAGES = ["backbone", "rpn", "nms", "heads", "paste"]


def timings(segmenter, images: list[Image.Image]) -> tuple[dict[str, float], float, float]:
    """Median ms per stage and in total (the whole `segment` call) over ROUNDS passes over `images`, and the
    mean number of instances found."""
    for image in images[:3]:  # warm-up
        segmenter.segment(image)
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    totals, found = [], []
    for _ in range(ROUNDS):
        for image in images:
            started = time.perf_counter()
            result = segmenter.segment(image)
            totals.append(time.perf_counter() - started)
            found.append(len(result))
            for stage in STAGES:
                per_stage[stage].append(result.seconds.get(stage, 0.0))
    medians = {stage: 1000 * statistics.median(values) for stage, values in per_stage.items()}
    return medians, 1000 * statistics.median(totals), statistics.mean(found)


def run() -> dict[str, float | str]:
    segmenter = as_instance_segmenter(get_registry().load("mask-rcnn-shapes"))
    images = [Image.fromarray(held_out_scene(index).image) for index in range(SCENES)]
    figures: dict[str, float | str] = {"device": str(segmenter.device)}
    for threads in sorted({1, torch.get_num_threads()}):
        with torch_threads(threads):
            stages, total, found = timings(segmenter, images)
        label = f"{threads} thread{'s' if threads > 1 else ''}"
        for stage, ms in stages.items():
            figures[f"{stage}, {label}, ms (median)"] = ms
        figures[f"whole 256x256 scene, {label}, ms (median)"] = total
    figures["instances found per scene (mean)"] = float(found)
    figures["target: whole scene on 1 thread, ms"] = 150.0
    return figures
