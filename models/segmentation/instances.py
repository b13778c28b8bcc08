"""Instance segmentation: every object found, outlined and told apart from others of its kind.

    segmenter = as_instance_segmenter(get_registry().load("mask-rcnn-shapes"))
    found = segmenter.segment(image, score_threshold=0.5, nms_iou=0.5)
    found.masks, found.classes, found.scores, found.boxes    # one entry per instance, best first
    instance_png(found)                                      # the instance map as a palette PNG

The default is the project's own Mask R-CNN (models/segmentation/mask_rcnn.py), trained on synthetic shapes
(models/segmentation/instance_shapes.py) by `make train-segmentation_instances`. Its stages can be run one by one,
so that a page can show them and redo only the cheap end when a threshold moves:

    staged = segmenter.stages(image)    # letterboxed; backbone, RPN, proposals, box head (the expensive part)
    found, detections = staged.finish(score_threshold, nms_iou)     # threshold, per-class NMS, masks
    staged.config, staged.anchor_count, staged.frame.canvas         # what the pictures and captions need

User-added transformers instance/panoptic segmenters (Mask2Former, MaskFormer, ...) arrive as
`loaders.HFModel` and are wrapped by `as_instance_segmenter`; they give the final instances only.
"""

import io
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from models.core.errors import InputError, ModelLoadError
from models.core.loaders import HFModel
from models.core.specs import ModelSpec
from models.segmentation.box_ops import paste_masks
from models.segmentation.instance_shapes import masks_to_boxes
from models.segmentation.mask_rcnn import RPN_STRIDES, Detections, MaskRCNN, MaskRCNNConfig, Stages
from models.segmentation.segmenter import palette

MAX_OUTPUT_SIDE = 512  # masks are drawn at the image's size, scaled down to this when larger
MIN_SIDE = 16  # pixels on the shorter side, below which there is nothing to find
MASK_THRESHOLD = 0.5


@dataclass
class Instances:
    """Instances found in `image` (the input, at most MAX_OUTPUT_SIDE pixels on a side), best first."""

    image: Image.Image
    masks: np.ndarray  # (n, H, W) bool
    classes: np.ndarray  # (n,) int, indices into class_names
    scores: np.ndarray  # (n,) float
    boxes: np.ndarray  # (n, 4) float x0, y0, x1, y1 in image pixels
    class_names: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def colours(self) -> np.ndarray:
        """(n, 3) uint8: one colour per instance, neighbours in the list far apart in hue."""
        return palette(len(self) + 1)[1:]


@dataclass
class Frame:
    """How an image sits in the network's input: `canvas` is that input as a picture (the image scaled by
    `scale` into its top-left corner, the rest padded), `output` the image the results are drawn on."""

    canvas: Image.Image
    scale: float  # network pixels per original pixel
    content: tuple[int, int]  # (height, width) of the image inside the canvas
    output: Image.Image

    @property
    def output_scale(self) -> float:
        """Output pixels per network pixel."""
        return self.output.width / self.content[1]


def check_thresholds(score_threshold: float, nms_iou: float) -> None:
    if not 0.0 <= score_threshold < 1.0:
        raise InputError("The score threshold must be at least 0 and below 1.")
    if not 0.0 < nms_iou <= 1.0:
        raise InputError("The NMS IoU threshold must be above 0 and at most 1.")


def drawing_copy(image: Image.Image) -> Image.Image:
    """The RGB image the results are drawn on: at most MAX_OUTPUT_SIDE pixels on a side."""
    image = image.convert("RGB")
    if min(image.size) < MIN_SIDE:
        raise InputError(f"The image is {image.width}x{image.height} pixels: too small to find shapes in.")
    output_scale = min(1.0, MAX_OUTPUT_SIDE / max(image.size))
    if output_scale == 1:
        return image
    size = (max(1, round(image.width * output_scale)), max(1, round(image.height * output_scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def letterbox(image: Image.Image, side: int) -> Frame:
    """Scale `image` so its longer side is `side`, put it in the top-left corner of a side x side canvas
    filled with its mean colour (no hard edge for the network to find), and keep a copy for drawing on."""
    output = drawing_copy(image)
    image = image.convert("RGB")
    scale = side / max(image.size)
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    mean = tuple(int(v) for v in np.asarray(image).reshape(-1, 3).mean(0))
    canvas = Image.new("RGB", (side, side), mean)
    canvas.paste(image.resize((width, height), Image.Resampling.BILINEAR if scale < 1 else Image.Resampling.BICUBIC))
    return Frame(canvas=canvas, scale=scale, content=(height, width), output=output)


@dataclass
class MaskRCNNSegmenter:
    """The project's Mask R-CNN with its class names, on its device, in eval mode."""

    name: str
    net: MaskRCNN
    class_names: list[str]
    device: torch.device

    def preprocess(self, image: Image.Image) -> tuple[torch.Tensor, Frame]:
        """RGB image -> the network's input (1, 3, S, S) in [0, 1] (S: its config's image size), and where
        the image sits in it."""
        frame = letterbox(image, self.net.config.image_size)
        pixels = torch.from_numpy(np.array(frame.canvas)).to(self.device)  # (S, S, 3) uint8: the bytes travel
        return (pixels.float() / 255).permute(2, 0, 1)[None], frame

    def forward(self, x: torch.Tensor) -> Stages:
        """Backbone, RPN, proposals and box head: the expensive part, which a page can cache."""
        return self.net.propose(x)

    def postprocess(
        self, stages: Stages, frame: Frame, score_threshold: float = 0.5, nms_iou: float = 0.5
    ) -> tuple[Instances, Detections]:
        """Score threshold, per-class NMS and masks, pasted into `frame.output`: the instances, and the raw
        detections in network pixels (with the candidates NMS chose from)."""
        check_thresholds(score_threshold, nms_iou)
        detections = self.net.detect(stages, score_threshold, nms_iou)
        height, width = frame.content
        inside = (detections.boxes[:, 0] < width - 1) & (detections.boxes[:, 1] < height - 1)  # not in the padding
        started = time.perf_counter()
        boxes = detections.boxes[inside].cpu().clamp(min=0)
        boxes = torch.minimum(boxes, boxes.new_tensor([width, height, width, height])) * frame.output_scale
        probabilities = paste_masks(
            detections.masks[inside].cpu().float(), boxes, frame.output.height, frame.output.width
        )
        seconds = {**stages.seconds, **{k: stages.seconds.get(k, 0) + v for k, v in detections.seconds.items()}}
        seconds["paste"] = time.perf_counter() - started
        found = Instances(
            image=frame.output,
            masks=(probabilities >= MASK_THRESHOLD).numpy(),
            classes=detections.classes[inside].cpu().numpy(),
            scores=detections.scores[inside].cpu().numpy(),
            boxes=boxes.numpy(),
            class_names=self.class_names,
            seconds=seconds,
        )
        return found, detections

    def stages(self, image: Image.Image) -> "StagedImage":
        """`image` through the expensive part, ready to be finished with any thresholds."""
        x, frame = self.preprocess(image)
        return StagedImage(self, self.forward(x), frame)

    def segment(self, image: Image.Image, score_threshold: float = 0.5, nms_iou: float = 0.5) -> Instances:
        check_thresholds(score_threshold, nms_iou)
        return self.stages(image).finish(score_threshold, nms_iou)[0]


@dataclass
class StagedImage:
    """One image after Mask R-CNN's expensive part (backbone, RPN, proposals, box head): what the stage
    pictures draw, the facts their captions give, and `finish` for the cheap end (a page caches this)."""

    segmenter: MaskRCNNSegmenter
    stages: Stages
    frame: Frame

    @property
    def config(self) -> MaskRCNNConfig:
        return self.segmenter.net.config

    @property
    def strides(self) -> tuple[int, ...]:
        """The RPN's pyramid levels P3..P6, as strides in network pixels."""
        return RPN_STRIDES

    @property
    def anchor_count(self) -> int:
        return sum(len(a) for a in self.stages.anchors)

    def finish(self, score_threshold: float = 0.5, nms_iou: float = 0.5) -> tuple[Instances, Detections]:
        """Score threshold, per-class NMS and masks: the instances, and the raw detections in network pixels."""
        return self.segmenter.postprocess(self.stages, self.frame, score_threshold, nms_iou)


@dataclass
class HFInstanceSegmenter:
    """A transformers instance or panoptic segmenter (Mask2Former, MaskFormer, ...) with its image processor.
    These predict a set of masks directly, so there is no NMS: `nms_iou` is accepted and ignored."""

    name: str
    hf: HFModel

    @property
    def class_names(self) -> list[str]:
        id2label = self.hf.model.config.id2label or {}
        return [str(id2label[i]) for i in sorted(id2label)]

    def segment(self, image: Image.Image, score_threshold: float = 0.5, nms_iou: float = 0.5) -> Instances:
        check_thresholds(score_threshold, nms_iou)
        output = drawing_copy(image)
        processor = self.hf.preprocessor
        inputs = processor(images=output, return_tensors="pt")
        dtype = next(self.hf.model.parameters()).dtype
        inputs = {
            k: v.to(self.hf.device, dtype) if v.is_floating_point() else v.to(self.hf.device) for k, v in inputs.items()
        }
        started = time.perf_counter()
        with torch.inference_mode():
            outputs = self.hf.model(**inputs)
        seconds = {"model": time.perf_counter() - started}
        if not hasattr(processor, "post_process_instance_segmentation"):
            raise ModelLoadError(f"{self.name}'s image processor cannot turn its outputs into instances.")
        result = processor.post_process_instance_segmentation(
            outputs, threshold=score_threshold, target_sizes=[(output.height, output.width)]
        )[0]
        segments = sorted(result["segments_info"], key=lambda s: -s["score"])
        ids = result["segmentation"]
        ids = ids.cpu().numpy() if ids is not None else np.full((output.height, output.width), -1)
        masks = np.stack([ids == s["id"] for s in segments]) if segments else np.zeros((0, *ids.shape), bool)
        keep = masks.any(axis=(1, 2))
        masks = masks[keep]
        segments = [s for s, k in zip(segments, keep, strict=True) if k]
        return Instances(
            image=output,
            masks=masks,
            classes=np.array([s["label_id"] for s in segments], np.int64),
            scores=np.array([s["score"] for s in segments], np.float32),
            boxes=masks_to_boxes(masks),
            class_names=self.class_names,
            seconds=seconds,
        )


InstanceSegmenter = MaskRCNNSegmenter | HFInstanceSegmenter


def as_instance_segmenter(model: object, name: str = "the model") -> InstanceSegmenter:
    """The registry's model for task "instance-segmentation" as something with `segment(image, ...)`."""
    if isinstance(model, MaskRCNNSegmenter | HFInstanceSegmenter):
        return model
    if isinstance(model, HFModel):
        return model.wrapper("instances", lambda: HFInstanceSegmenter(name=name, hf=model))
    raise ModelLoadError(f"{name} is not an instance segmentation model ({type(model).__name__}).")


# --- Results as data ----------------------------------------------------------------------------------


def instance_map(found: Instances) -> np.ndarray:
    """(H, W) uint8: 0 background, i for the i-th instance (1-based); where masks overlap, the better score wins."""
    labels = np.zeros((found.image.height, found.image.width), np.uint8)
    for index in range(len(found) - 1, -1, -1):  # worst first, so the best is painted last
        labels[found.masks[index]] = index + 1
    return labels


def instance_png(found: Instances) -> bytes:
    """The instance map as a palette PNG: pixel value = instance number (0 = background), in its colour."""
    picture = Image.fromarray(instance_map(found), mode="P")
    picture.putpalette(palette(len(found) + 1).ravel().tolist())
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def class_counts(found: Instances) -> dict[str, int]:
    """Instances per class name, most frequent first."""
    return dict(Counter(found.class_names[c] for c in found.classes).most_common())


def instance_rows(found: Instances) -> list[dict[str, object]]:
    """One row per instance for a table: number, class, score, area in pixels and box."""
    return [
        {
            "instance": index + 1,
            "class": found.class_names[found.classes[index]],
            "score": round(float(found.scores[index]), 3),
            "area (px)": int(found.masks[index].sum()),
            "box (x0, y0, x1, y1)": ", ".join(f"{v:.0f}" for v in found.boxes[index]),
        }
        for index in range(len(found))
    ]


# --- Registry -----------------------------------------------------------------------------------------


def load_mask_rcnn(location: str, device: torch.device) -> MaskRCNNSegmenter:
    """A checkpoint written by training/segmentation_instances.py: fp16 weights, config and class names in
    its metadata."""
    with safe_open(location, framework="pt") as handle:
        metadata = handle.metadata() or {}
    if "config" not in metadata or "class_names" not in metadata:
        raise ModelLoadError(f"{location} is not a Mask R-CNN checkpoint of this project (no config in it).")
    net = MaskRCNN(MaskRCNNConfig.from_dict(json.loads(metadata["config"])))
    state = {name: tensor.float() for name, tensor in load_file(location).items()}
    net.load_state_dict(state)
    return MaskRCNNSegmenter(
        name="Mask R-CNN (shapes)",
        net=net.to(device).eval(),
        class_names=json.loads(metadata["class_names"]),
        device=device,
    )


CHECKPOINT = "assets/segmentation/mask_rcnn_shapes.safetensors"

MODELS: list[ModelSpec] = [
    ModelSpec(
        id="mask-rcnn-shapes",
        task="instance-segmentation",
        name="Mask R-CNN trained on synthetic shapes",
        licence="project's own (weights trained here on synthetic shapes)",
        card="assets/segmentation/mask_rcnn_shapes.md",
        loader=load_mask_rcnn,
        embedded=CHECKPOINT,
        summary="circles, squares, triangles and stars; trained from scratch by `make train-segmentation_instances`",
    ),
]
