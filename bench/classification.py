"""Image classification speed: EfficientNet-Lite0 latency at batch 1, Grad-CAM latency, batch-32
throughput, and transfer learning's head training on 5 images x 3 classes (targets on 2 CPU cores:
< 40 ms, < 120 ms, < 10 s). On a machine with CUDA the same figures are taken on the GPU as well.

On a shared machine wall times only say how busy it was, so the CPU figures come twice: wall time at
torch's thread count, and the CPU time of the same work on one thread (no thread waits for another, so
other processes do not inflate it): the wall time on one idle core, about twice that on two."""

import statistics
import time
from collections.abc import Callable

import torch

from models.classification.classifier import EfficientNetClassifier
from models.classification.transfer import collect_features, example_classes, train_head
from models.core.images import sample_image
from models.core.registry import get_registry
from models.core.specs import embedded_path

MODEL_ID = "efficientnet-lite0"


def median_ms(action: Callable[[], object], device: torch.device, repeats: int, warmup: int = 3) -> float:
    """Median time of `action` in ms after `warmup` untimed runs: wall time, or on one CPU thread, CPU time."""
    clock = time.process_time if device.type == "cpu" and torch.get_num_threads() == 1 else time.perf_counter
    times = []
    for index in range(warmup + repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = clock()
        action()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if index >= warmup:
            times.append((clock() - start) * 1000)
    return statistics.median(times)


def measure(classifier: EfficientNetClassifier, prefix: str) -> dict[str, float]:
    device = classifier.device
    image = sample_image("cat (chelsea)")
    x = classifier.preprocess(image)  # (1, 3, 224, 224)
    batch = x.repeat(32, 1, 1, 1)  # (32, 3, 224, 224)

    def forward(inputs: torch.Tensor) -> Callable[[], object]:
        def classify() -> object:
            with torch.inference_mode():
                return classifier.head(classifier.pooled(inputs))

        return classify

    examples = example_classes(images_per_class=5)

    def teach() -> None:
        features, targets = collect_features(classifier, examples)
        train_head(features, targets, num_classes=len(examples))

    figures = {
        f"{prefix} Lite0 forward, batch 1 (ms)": median_ms(forward(x), device, repeats=30),
        f"{prefix} Lite0 predict incl. preprocessing (ms)": median_ms(lambda: classifier.predict(image), device, 30),
        f"{prefix} Grad-CAM incl. preprocessing (ms)": median_ms(lambda: classifier.gradcam(image, 285), device, 20),
        f"{prefix} head training, 5 images x 3 classes (s)": median_ms(teach, device, repeats=3, warmup=1) / 1000,
    }
    figures[f"{prefix} batch-32 throughput (images/s)"] = 32_000 / median_ms(forward(batch), device, 5, warmup=1)
    return figures


def run() -> dict[str, float | str]:
    classifier = get_registry().load(MODEL_ID)
    threads = torch.get_num_threads()
    figures: dict[str, float | str] = {"torch threads": str(threads)}
    if classifier.device.type == "cuda":
        figures |= measure(classifier, "CUDA")
        spec = get_registry().get(MODEL_ID)
        classifier = spec.loader(str(embedded_path(spec.embedded)), torch.device("cpu"))
    figures |= measure(classifier, f"CPU {threads} threads, wall:")
    torch.set_num_threads(1)
    try:
        figures |= measure(classifier, "CPU 1 thread, CPU time:")
    finally:
        torch.set_num_threads(threads)
    return figures
