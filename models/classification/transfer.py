"""Transfer learning: teach a frozen EfficientNet-Lite new classes by training only a linear head
on its pooled features, and save/load that head as a small safetensors file.

    features, targets = collect_features(classifier, {"mug": [img, ...], "plant": [img, ...]})
    head, losses = train_head(features, targets, num_classes=2)
    new_classifier = classifier.with_head(head, ["mug", "plant"], "my classes")
"""

import json
import random
from collections.abc import Callable

import torch
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from models.classification.classifier import EfficientNetClassifier
from models.core.errors import InputError
from models.core.images import sample_image

MIN_CLASSES, MAX_CLASSES = 2, 5
MAX_HEAD_BYTES = 1_000_000  # a 5-class head is ~26 KB; anything far bigger is not one of ours


# Ready-made classes for a demo without uploads: bundled photos, seen through random crops and flips.
EXAMPLE_CLASSES = {"cat": "cat (chelsea)", "coffee": "coffee", "rocket": "rocket"}


def example_classes(images_per_class: int = 5, seed: int = 0) -> dict[str, list[Image.Image]]:
    """Random crops (40-90% of each side) of the bundled photos, mirrored at random, per example class."""
    rng = random.Random(seed)
    examples = {}
    for name, sample in EXAMPLE_CLASSES.items():
        photo = sample_image(sample)
        crops = []
        for _ in range(images_per_class):
            width, height = (round(side * rng.uniform(0.4, 0.9)) for side in photo.size)
            left, top = rng.randint(0, photo.width - width), rng.randint(0, photo.height - height)
            crop = photo.crop((left, top, left + width, top + height))
            crops.append(crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop)
        examples[name] = crops
    return examples


def collect_features(
    classifier: EfficientNetClassifier, examples: dict[str, list[Image.Image]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled backbone features (N, 1280) and class indices (N,) for named classes' example images
    (each image counted twice: as is and mirrored)."""
    names = [name.strip() for name in examples]
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise InputError(f"Give between {MIN_CLASSES} and {MAX_CLASSES} classes (there are {len(names)}).")
    if any(not name for name in names) or len(set(names)) != len(names):
        raise InputError("Every class needs a name, and no two classes may share one.")
    empty = [name for name, images in examples.items() if not images]
    if empty:
        raise InputError(f"Add at least one image of: {', '.join(empty)}.")
    features, targets = [], []
    for index, images in enumerate(examples.values()):
        embedded = classifier.embed(images)  # (2 * len(images), 1280)
        features.append(embedded)
        targets.append(torch.full((len(embedded),), index, dtype=torch.long))
    return torch.cat(features), torch.cat(targets).to(features[0].device)


def train_head(
    features: torch.Tensor,
    targets: torch.Tensor,
    num_classes: int,
    steps: int = 150,
    learning_rate: float = 1e-2,
    on_step: Callable[[int, float], None] | None = None,
    seed: int = 0,
) -> tuple[nn.Linear, list[float]]:
    """Fit a linear head (1280 -> num_classes) on frozen features with full-batch Adam.

    With a handful of images per class a linear layer is all the data can support; weight decay
    keeps it from leaning on a few feature channels. `on_step(step, loss)` reports progress.
    """
    generator = torch.Generator().manual_seed(seed)
    head = nn.Linear(features.shape[1], num_classes).to(features.device)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.01)
        head.bias.zero_()
    # Centring and scaling the features (by one number: per-channel scales would blow up channels that
    # barely vary in a tiny training set) makes one learning rate work; folded into the head below.
    mean, scale = features.mean(0), features.std() + 1e-6
    inputs = (features - mean) / scale
    optimiser = torch.optim.AdamW(head.parameters(), lr=learning_rate, weight_decay=1e-2)
    losses = []
    with torch.enable_grad():
        for step in range(steps):
            loss = nn.functional.cross_entropy(head(inputs), targets)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            if on_step is not None:
                on_step(step, losses[-1])
    with torch.no_grad():  # head((x - mean) / scale) == W' x + b' with W' = W / scale, b' = b - W' mean
        head.weight.div_(scale)
        head.bias.sub_(head.weight @ mean)
    return head.eval(), losses


def head_to_bytes(classifier: EfficientNetClassifier) -> bytes:
    """The classifier's head as safetensors bytes, with its class names and backbone in the metadata."""
    tensors = {
        "weight": classifier.head.weight.detach().cpu().contiguous(),
        "bias": classifier.head.bias.detach().cpu(),
    }
    metadata = {"labels": json.dumps(classifier.labels), "backbone": classifier.backbone_id}
    return save_safetensors(tensors, metadata=metadata)


def head_from_bytes(data: bytes, backbone: EfficientNetClassifier, name: str) -> EfficientNetClassifier:
    """A classifier from a head saved by `head_to_bytes` on `backbone`. Only safetensors is read: nothing
    in the file is executed."""
    if len(data) > MAX_HEAD_BYTES:
        raise InputError("This file is too large to be a classifier head saved by this page.")
    try:
        tensors = load_safetensors(data)
        # safetensors' header is an 8-byte little-endian length, then JSON holding the metadata.
        header_length = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8 : 8 + header_length]).get("__metadata__", {})
        labels = json.loads(metadata.get("labels", "[]"))
    except (SafetensorError, ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"This is not a classifier head saved by this page ({exc}).") from exc
    weight, bias = tensors.get("weight"), tensors.get("bias")
    features = backbone.head.in_features
    if (
        weight is None
        or bias is None
        or weight.ndim != 2
        or weight.shape[1] != features
        or bias.shape != (weight.shape[0],)
        or len(labels) != weight.shape[0]
        or not all(isinstance(label, str) for label in labels)
    ):
        raise InputError(f"The file does not hold a head for {features} features with one class name per row.")
    if metadata.get("backbone", backbone.backbone_id) != backbone.backbone_id:
        raise InputError(f"This head was trained on {metadata['backbone']}; pick that backbone to use it.")
    head = nn.Linear(features, weight.shape[0])
    with torch.no_grad():
        head.weight.copy_(weight.float())
        head.bias.copy_(bias.float())
    return backbone.with_head(head, labels, name)
