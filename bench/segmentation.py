"""Segmentation speed: the converted selfie models' latency, U-Net training speed (and the default
run's time and quality), and GrabCut refinement time. `python -m bench segmentation`."""

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from models.core.registry import get_registry
from models.segmentation.segmenter import as_segmenter, grabcut_refine
from models.segmentation.unet import TrainConfig, UNetTrainer, torch_threads


def median_ms(action: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def selfie_figures(model_id: str) -> dict[str, float | str]:
    from models.core.images import sample_image

    photo = sample_image("astronaut")
    segmenter = as_segmenter(get_registry().load(model_id))
    height, width = segmenter.input_size
    x = segmenter.preprocess(photo.resize((width, height)))
    device = segmenter.device.type
    figures: dict[str, float | str] = {}
    for threads in (1, torch.get_num_threads()):
        with torch_threads(threads):
            forward = median_ms(lambda: segmenter.forward(x), 50)
            whole = median_ms(lambda: segmenter.segment(photo), 20)
        figures[f"{model_id} forward {height}x{width} ({device}, {threads} thread(s)), ms"] = forward
        figures[f"{model_id} whole mask of a 512x512 photo ({device}, {threads} thread(s)), ms"] = whole
    return figures


def unet_figures() -> dict[str, float | str]:
    figures: dict[str, float | str] = {}
    config = TrainConfig()
    for threads in (1, 2):
        trainer = UNetTrainer(TrainConfig(steps=40, threads=threads))
        trainer.train()
        steps_per_second = trainer.step_count / trainer.seconds
        figures[f"U-Net training steps/s, {threads} thread(s), batch {config.batch_size} at {config.size}px"] = (
            steps_per_second
        )
    trainer = UNetTrainer(config)
    started = time.perf_counter()
    trainer.train()
    figures[f"U-Net default training ({config.steps} steps, {config.threads} thread), s"] = (
        time.perf_counter() - started
    )
    scores = trainer.evaluate()
    figures["U-Net default training, mean IoU on 64 held-out images"] = float(np.nanmean(list(scores.values())))
    return figures


def grabcut_figures() -> dict[str, float | str]:
    from models.classification.classifier import as_image_classifier
    from models.core.images import sample_image

    classifier = as_image_classifier(get_registry().load("efficientnet-lite0"))
    image = sample_image("cat (chelsea)")
    heatmap = classifier.gradcam(image, classifier.predict(image, top_k=1)[0][1])
    return {
        f"Grad-CAM of the {image.width}x{image.height} cat, ms": median_ms(
            lambda: classifier.gradcam(image, 282), 5, 1
        ),
        f"GrabCut refinement of the {image.width}x{image.height} cat, ms": median_ms(
            lambda: grabcut_refine(image, heatmap, 0.4), 5, 1
        ),
    }


def run() -> dict[str, float | str]:
    return {
        "torch threads": str(torch.get_num_threads()),
        **selfie_figures("selfie-segmentation"),
        **selfie_figures("selfie-segmentation-landscape"),
        **grabcut_figures(),
        **unet_figures(),
    }
