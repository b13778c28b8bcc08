"""Segmentation: a label for every pixel.

    segmenter = as_segmenter(get_registry().load("selfie-segmentation"))
    result = segmenter.segment(image)          # a Segmentation: label map, class names, colours
    overlay(image, result, opacity=0.5)        # the mask over the photo
    cutout(image, result.alpha)                # RGBA cut-out with a soft edge

Person masks come from MediaPipe's selfie segmentation models, converted from TFLite to torch by
models/segmentation/tflite_to_torch.py (training/segmentation_convert_selfie.py writes the safetensors in
assets/segmentation/). User-added transformers semantic segmenters arrive as `loaders.HFModel`
and are wrapped by `as_segmenter`. `grabcut_refine` turns a classifier's Grad-CAM heatmap into an
object mask. The U-Net trained live on the page is in models/segmentation/unet.py.
"""

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from models.core import display
from models.core.device import half_dtype
from models.core.errors import InputError, ModelLoadError
from models.core.loaders import HFModel
from models.core.specs import ModelSpec
from models.segmentation.tflite_to_torch import GraphModule, load_graph

PERSON_CLASSES = ["background", "person"]
BACKGROUND = (0, 0, 0)


@dataclass
class Segmentation:
    """A label map (H, W) of class indices, the class names, a colour (K, 3) uint8 per class and,
    for two-class masks, the soft foreground probability (H, W) in [0, 1]."""

    labels: np.ndarray
    class_names: list[str]
    palette: np.ndarray
    probability: np.ndarray | None = field(default=None, repr=False)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), like PIL."""
        return self.labels.shape[1], self.labels.shape[0]

    @property
    def alpha(self) -> np.ndarray:
        """Foreground opacity (H, W) in [0, 1]: the soft probability when there is one, else label != 0."""
        return self.probability if self.probability is not None else (self.labels != 0).astype(np.float32)


def palette(count: int) -> np.ndarray:
    """`count` distinct colours (K, 3) uint8: black for class 0 (background), then the display's class
    colours (Okabe-Ito's colour-blind-safe set by default; see `display.class_colours`)."""
    return np.array(display.class_colours(count, BACKGROUND), dtype=np.uint8)


def binary_segmentation(probability: np.ndarray, class_names: list[str], threshold: float = 0.5) -> Segmentation:
    """A two-class Segmentation from a foreground probability map."""
    if not 0.0 < threshold < 1.0:
        raise InputError("The mask threshold must be between 0 and 1.")
    labels = (probability >= threshold).astype(np.int64)
    return Segmentation(labels, class_names, palette(len(class_names)), probability.astype(np.float32))


@dataclass
class PersonSegmenter:
    """MediaPipe's selfie segmentation as a torch GraphModule: (1, 3, h, w) RGB in [0, 1] -> (1, 1, h, w)
    person probability, at the model's fixed input size (256x256, or 144x256 for the landscape model)."""

    name: str
    net: GraphModule
    device: torch.device

    @property
    def input_size(self) -> tuple[int, int]:
        return self.net.input_size

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """RGB -> (1, 3, h, w) float in [0, 1]. Resampled like MediaPipe's ImageToTensor: OpenCV's bilinear
        warp with source = destination * scale (no half-pixel shift), which the reference masks need."""
        height, width = self.input_size
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        scale = np.float32([[pixels.shape[1] / width, 0, 0], [0, pixels.shape[0] / height, 0]])
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        resized = cv2.warpAffine(pixels, scale, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        tensor = torch.from_numpy(resized).permute(2, 0, 1)[None]  # (1, 3, h, w)
        return tensor.to(self.device, next(self.net.parameters()).dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.net(x)  # (1, 1, h, w) probability

    def postprocess(self, probability: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        """Model-size probability -> (height, width) float32 at the image's `size` (width, height)."""
        full = F.interpolate(probability.float(), size=(size[1], size[0]), mode="bilinear", align_corners=False)
        return full[0, 0].clamp(0, 1).cpu().numpy()

    def person_probability(self, image: Image.Image) -> np.ndarray:
        """Probability (H, W) that each pixel of `image` belongs to a person."""
        return self.postprocess(self.forward(self.preprocess(image)), image.size)

    def segment(self, image: Image.Image, threshold: float = 0.5) -> Segmentation:
        return binary_segmentation(self.person_probability(image), PERSON_CLASSES, threshold)


@dataclass
class HFSegmenter:
    """A transformers semantic segmenter (SegFormer, DeepLabV3, ...) with its image processor."""

    name: str
    hf: HFModel

    @property
    def class_names(self) -> list[str]:
        config = self.hf.model.config
        id2label = config.id2label or {}
        return [str(id2label.get(i, f"class {i}")) for i in range(config.num_labels)]

    def preprocess(self, image: Image.Image) -> dict[str, torch.Tensor]:
        inputs = self.hf.preprocessor(images=image.convert("RGB"), return_tensors="pt")
        dtype = next(self.hf.model.parameters()).dtype
        return {
            k: v.to(self.hf.device, dtype) if v.is_floating_point() else v.to(self.hf.device) for k, v in inputs.items()
        }

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            return self.hf.model(**inputs).logits  # (1, classes, h, w), often at a fraction of the input size

    def postprocess(self, logits: torch.Tensor, size: tuple[int, int]) -> Segmentation:
        logits = F.interpolate(logits.float(), size=(size[1], size[0]), mode="bilinear", align_corners=False)
        probabilities = logits.softmax(1)[0]  # (classes, H, W)
        labels = probabilities.argmax(0).cpu().numpy()
        names = self.class_names
        two_class = len(names) == 2
        foreground = probabilities[1].cpu().numpy() if two_class else None
        return Segmentation(labels, names, palette(len(names)), foreground)

    def segment(self, image: Image.Image, threshold: float = 0.5) -> Segmentation:
        """`threshold` only matters for two-class models; with more classes each pixel takes its argmax."""
        result = self.postprocess(self.forward(self.preprocess(image)), image.size)
        if result.probability is not None:
            return binary_segmentation(result.probability, result.class_names, threshold)
        return result


Segmenter = PersonSegmenter | HFSegmenter


def as_segmenter(model: object, name: str = "the model") -> Segmenter:
    """The registry's model for task "segmentation" as something with `segment(image, threshold)`."""
    if isinstance(model, PersonSegmenter | HFSegmenter):
        return model
    if isinstance(model, HFModel):
        return HFSegmenter(name=name, hf=model)
    raise ModelLoadError(f"{name} is not a segmentation model ({type(model).__name__}).")


# --- Pictures of a mask -------------------------------------------------------------------------


def colour_mask(result: Segmentation) -> np.ndarray:
    """The label map painted with the palette: (H, W, 3) uint8."""
    return result.palette[result.labels]


def overlay(image: Image.Image, result: Segmentation, opacity: float = 0.5) -> Image.Image:
    """The class colours blended over `image` with `opacity`; background pixels stay as they are."""
    if image.size != result.size:
        raise InputError("The mask and the image have different sizes.")
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    weight = float(np.clip(opacity, 0, 1)) * (result.labels != 0)[..., None]
    blended = pixels * (1 - weight) + colour_mask(result).astype(np.float32) * weight
    return Image.fromarray(blended.round().astype(np.uint8))


def area_shares(result: Segmentation) -> list[tuple[str, str, float]]:
    """(class name, colour as #rrggbb, share of the image's pixels) for every class present, largest first."""
    counts = np.bincount(result.labels.ravel(), minlength=len(result.class_names))
    total = counts.sum()
    rows = [
        (name, "#{:02x}{:02x}{:02x}".format(*result.palette[index]), float(counts[index] / total))
        for index, name in enumerate(result.class_names)
        if counts[index]
    ]
    return sorted(rows, key=lambda row: -row[2])


def mask_png(result: Segmentation) -> bytes:
    """The mask as a palette PNG: each pixel's value is its class index, shown in the class colour."""
    picture = Image.fromarray(result.labels.astype(np.uint8), mode="P")
    picture.putpalette(result.palette.ravel().tolist())
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def cutout(image: Image.Image, alpha: np.ndarray) -> Image.Image:
    """`image` as RGBA with `alpha` (H, W) in [0, 1] as its transparency: the person, cut out."""
    if alpha.shape != (image.height, image.width):
        raise InputError("The mask and the image have different sizes.")
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.fromarray((np.clip(alpha, 0, 1) * 255).round().astype(np.uint8)))
    return rgba


def blurred_background(image: Image.Image, radius: float = 12) -> Image.Image:
    return image.convert("RGB").filter(ImageFilter.GaussianBlur(radius))


def solid_background(image: Image.Image, colour: str | tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", image.size, colour)


def fitted_background(image: Image.Image, background: Image.Image) -> Image.Image:
    """`background` scaled to cover `image`'s size and centre-cropped to it."""
    scale = max(image.width / background.width, image.height / background.height)
    size = (max(image.width, round(background.width * scale)), max(image.height, round(background.height * scale)))
    resized = background.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    left, top = (resized.width - image.width) // 2, (resized.height - image.height) // 2
    return resized.crop((left, top, left + image.width, top + image.height))


def replace_background(image: Image.Image, alpha: np.ndarray, background: Image.Image) -> Image.Image:
    """The person (`alpha`) from `image` composited over `background` of the same size."""
    if background.size != image.size:
        raise InputError("The new background must have the photo's size.")
    return Image.composite(image.convert("RGB"), background.convert("RGB"), cutout(image, alpha).getchannel("A"))


# --- Object masks from class activations ---------------------------------------------------------

GRABCUT_MAX_SIDE = 256  # GrabCut's cost grows with pixels; the mask is scaled back up afterwards


@dataclass
class GrabCutSteps:
    """What GrabCut started from and what it made of it, both at the image's size (H, W).

    `seeds` holds OpenCV's labels: 0 sure background, 1 sure foreground, 2 probable background,
    3 probable foreground. `mask` is the refined object mask (bool)."""

    seeds: np.ndarray
    mask: np.ndarray


SEED_NAMES = ["sure background", "sure object", "maybe background", "maybe object"]
SEED_COLOURS = np.array([[40, 40, 40], [230, 60, 60], [120, 120, 160], [250, 170, 80]], dtype=np.uint8)


def grabcut_seeds(heatmap: np.ndarray, threshold: float) -> np.ndarray:
    """GrabCut's starting labels from a heatmap in [0, 1]: above `threshold` maybe object, and sure
    object halfway between it and the peak; below it maybe background, and sure background under a
    quarter of it."""
    seeds = np.full(heatmap.shape, cv2.GC_PR_BGD, np.uint8)
    seeds[heatmap < threshold / 4] = cv2.GC_BGD
    seeds[heatmap >= threshold] = cv2.GC_PR_FGD
    seeds[heatmap >= (1 + threshold) / 2] = cv2.GC_FGD
    return seeds


def grabcut_refine(
    image: Image.Image, heatmap: np.ndarray, threshold: float = 0.5, iterations: int = 3
) -> GrabCutSteps:
    """Refine the thresholded heatmap (H, W) into an object mask with OpenCV's GrabCut, which fits
    colour models of object and background and cuts along image edges."""
    if heatmap.shape != (image.height, image.width):
        raise InputError("The heatmap and the image have different sizes.")
    if not 0.0 < threshold < 1.0:
        raise InputError("The threshold must be between 0 and 1.")
    seeds = grabcut_seeds(heatmap, threshold)
    foreground = np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if not foreground.any():
        raise InputError("No part of the heatmap reaches the threshold: lower it.")
    if foreground.all():
        raise InputError("The whole heatmap is above the threshold, so there is no background: raise it.")
    scale = min(1.0, GRABCUT_MAX_SIDE / max(image.size))
    small_size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    pixels = cv2.resize(np.asarray(image.convert("RGB")), small_size, interpolation=cv2.INTER_AREA)
    labels = cv2.resize(seeds, small_size, interpolation=cv2.INTER_NEAREST)
    if not np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).any():
        labels[np.unravel_index(np.argmax(cv2.resize(heatmap, small_size)), labels.shape)] = cv2.GC_FGD
    background_model, foreground_model = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(
        cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR),
        labels,
        None,
        background_model,
        foreground_model,
        iterations,
        cv2.GC_INIT_WITH_MASK,
    )
    small_mask = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    mask = cv2.resize(small_mask, image.size, interpolation=cv2.INTER_NEAREST).astype(bool)
    mask |= seeds == cv2.GC_FGD  # sure object stays object at full resolution too
    return GrabCutSteps(seeds=seeds, mask=mask)


def seed_picture(seeds: np.ndarray) -> np.ndarray:
    """GrabCut's seed labels in colour (H, W, 3) uint8."""
    return SEED_COLOURS[seeds]


# --- Registry -----------------------------------------------------------------------------------


def person_loader(name: str):
    """A registry loader for a converted selfie model (safetensors written by save_graph)."""

    def load(location: str, device: torch.device) -> PersonSegmenter:
        net = load_graph(location).to(device, half_dtype(device))
        return PersonSegmenter(name=name, net=net, device=device)

    return load


_CARD = "assets/segmentation/selfie_segmentation.md"

MODELS: list[ModelSpec] = [
    ModelSpec(
        id="selfie-segmentation",
        task="segmentation",
        name="MediaPipe selfie segmentation (256×256)",
        licence="Apache-2.0",
        card=_CARD,
        loader=person_loader("MediaPipe selfie segmentation"),
        embedded="assets/segmentation/selfie_segmentation.safetensors",
        summary="person vs background; 0.25 MB, converted from TFLite to PyTorch",
    ),
    ModelSpec(
        id="selfie-segmentation-landscape",
        task="segmentation",
        name="MediaPipe selfie segmentation, landscape (144×256)",
        licence="Apache-2.0",
        card=_CARD,
        loader=person_loader("MediaPipe selfie segmentation (landscape)"),
        embedded="assets/segmentation/selfie_segmentation_landscape.safetensors",
        summary="person vs background, for wide frames; 0.25 MB, converted from TFLite to PyTorch",
    ),
]
WRAPPERS = {"segmentation": as_segmenter}
