"""Mask R-CNN (He et al., 2017) in plain PyTorch: small enough to train on a laptop CPU, short enough to read.

    net = MaskRCNN(MaskRCNNConfig())
    losses = net.losses(images, targets)       # training: the five losses, a dict of scalars
    stages = net.propose(images[:1])           # backbone, RPN, proposals, box head: everything up to NMS
    found = net.detect(stages, 0.5, 0.5)       # score threshold, per-class NMS, mask head

Boxes are (x0, y0, x1, y1) in image pixels, pixel i covering [i, i+1). The pieces, in the order an image
meets them:
- a small residual CNN and a feature pyramid (FPN): maps P2..P5 at strides 4..32, plus P6 (stride 64);
- anchors at two sizes and three aspect ratios per cell on P3..P6;
- the region proposal network (RPN): an objectness logit and box deltas per anchor, then NMS -> proposals;
- RoIAlign (bilinear sampling with `grid_sample`, as Detectron2's ROIAlign with aligned=True) from the
  pyramid level that suits each box's size;
- a box head (class + per-class box deltas) and a mask head (28x28 mask per class);
- at inference a score threshold, per-class NMS, and the masks pasted back into the image.
The box and region operations (IoU, box deltas, NMS, anchors, RoIAlign, pasting) are in `box_ops.py`.
"""

import math
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from models.segmentation.box_ops import (
    batched_nms,
    box_area,
    box_iou,
    cell_anchors,
    clip_boxes,
    decode_boxes,
    encode_boxes,
    label_anchors,
    level_anchors,
    roi_align,
    subsample,
)

# --- Configuration ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskRCNNConfig:
    classes: int = 5  # background + circle, square, triangle, star
    image_size: int = 256  # the square input it trains on; other images are letterboxed into it
    widths: tuple[int, ...] = (32, 64, 96, 128)  # backbone channels at strides 4, 8, 16, 32 (C2..C5)
    blocks: tuple[int, ...] = (1, 1, 2, 1)  # residual blocks per backbone stage
    fpn_channels: int = 64
    # RPN anchors on P3..P6 (strides 8..64): two sizes (sides of the square anchor, in pixels) per level,
    # each at every aspect ratio (height / width).
    anchor_sizes: tuple[tuple[float, ...], ...] = ((16, 24), (32, 48), (64, 96), (128, 192))
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    box_pool: int = 7  # RoIAlign output for the box head
    mask_pool: int = 14  # ... and for the mask head, which upsamples it to 28x28
    head_dim: int = 256
    mask_convs: int = 3
    # RoIs of `canonical_size` pixels pool from P`canonical_level`; each halving of the size goes a level down.
    canonical_size: float = 112.0
    canonical_level: int = 4
    # Training-time sampling: anchors for the RPN loss, proposals for the heads' losses.
    rpn_batch: int = 256
    rpn_positive_share: float = 0.5
    roi_batch: int = 64
    roi_positive_share: float = 0.25
    mask_rois: int = 16  # positive RoIs per image that train the mask head
    # Proposals kept before and after the RPN's NMS, per image (training, inference).
    pre_nms: tuple[int, int] = (400, 400)  # per level
    post_nms: tuple[int, int] = (200, 100)
    rpn_nms_iou: float = 0.7

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "MaskRCNNConfig":
        def tuples(value):  # JSON turns tuples into lists
            return tuple(tuples(v) for v in value) if isinstance(value, list) else value

        return cls(**{key: tuples(value) for key, value in values.items()})

    @property
    def anchors_per_cell(self) -> int:
        return len(self.anchor_sizes[0]) * len(self.aspect_ratios)


RPN_STRIDES = (8, 16, 32, 64)  # P3..P6
POOL_STRIDES = (4, 8, 16, 32)  # P2..P5
HEAD_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
MASK_SIZE = 28


def pool_pyramid(features: list[torch.Tensor], rois: torch.Tensor, output_size: int, config: MaskRCNNConfig):
    """RoIAlign each box from the pyramid level (P2..P5) that suits its size: (R, 5) -> (R, C, out, out)."""
    size = box_area(rois[:, 1:]).clamp(min=1e-6).sqrt()
    first = int(math.log2(POOL_STRIDES[0]))  # P2
    level = torch.floor(config.canonical_level + torch.log2(size / config.canonical_size))
    level = level.clamp(first, first + len(POOL_STRIDES) - 1).long() - first  # (R,) index into P2..P5
    pieces, order = [], []
    for index, stride in enumerate(POOL_STRIDES):
        chosen = (level == index).nonzero().squeeze(1)
        if len(chosen):
            pieces.append(roi_align(features[index], rois[chosen], output_size, 1 / stride))
            order.append(chosen)
    return torch.cat(pieces)[torch.cat(order).argsort()]


# --- The network -----------------------------------------------------------------------------------------


def conv_bn(c_in: int, c_out: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class Backbone(nn.Module):
    """A small residual CNN: a stride-4 stem, then stages that halve the size: C2..C5 at strides 4..32."""

    def __init__(self, widths: tuple[int, ...], blocks: tuple[int, ...]):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, widths[0] // 2, 2), conv_bn(widths[0] // 2, widths[0], 2))
        self.stages = nn.ModuleList()
        for index, (width, count) in enumerate(zip(widths, blocks, strict=True)):
            down = [] if index == 0 else [conv_bn(widths[index - 1], width, 2)]
            self.stages.append(nn.Sequential(*down, *(Residual(width) for _ in range(count))))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)  # (B, w0, H/4, W/4)
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)  # C2 (B, w0, H/4, W/4) ... C5 (B, w3, H/32, W/32)
        return maps


class FeaturePyramid(nn.Module):
    """FPN (Lin et al., 2017): each level adds the upsampled coarser level to its own 1x1-projected map, so
    fine maps also carry the coarse maps' meaning; a 3x3 conv smooths each sum. P6 is P5 subsampled."""

    def __init__(self, widths: tuple[int, ...], channels: int):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(width, channels, 1) for width in widths)
        self.output = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in widths)

    def forward(self, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        top = self.lateral[-1](maps[-1])  # (B, F, H/32, W/32)
        merged = [top]
        for lateral, c in zip(self.lateral[-2::-1], maps[-2::-1], strict=True):
            top = lateral(c) + F.interpolate(top, size=c.shape[-2:], mode="nearest")
            merged.insert(0, top)
        pyramid = [conv(p) for conv, p in zip(self.output, merged, strict=True)]  # P2..P5, (B, F, H/4, W/4)...
        return [*pyramid, F.max_pool2d(pyramid[-1], 1, stride=2)]  # + P6 (B, F, H/64, W/64)


class RPNHead(nn.Module):
    """Shared over levels: a 3x3 conv, then per anchor an objectness logit and 4 box deltas."""

    def __init__(self, channels: int, anchors: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.objectness = nn.Conv2d(channels, anchors, 1)
        self.deltas = nn.Conv2d(channels, 4 * anchors, 1)

    def forward(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.conv(p))  # (B, F, h, w)
        b = p.shape[0]
        logits = self.objectness(h).permute(0, 2, 3, 1).reshape(b, -1)  # (B, h * w * A)
        deltas = self.deltas(h).reshape(b, -1, 4, *h.shape[-2:]).permute(0, 3, 4, 1, 2).reshape(b, -1, 4)
        return logits, deltas  # (B, h * w * A), (B, h * w * A, 4), ordered like level_anchors


class BoxHead(nn.Module):
    """Two fully connected layers on the 7x7 RoI features; a class score and per-class box deltas."""

    def __init__(self, channels: int, pool: int, dim: int, classes: int):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * pool * pool, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim)
        )
        self.classify = nn.Linear(dim, classes)
        self.regress = nn.Linear(dim, 4 * (classes - 1))  # no box for the background class

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc(x))  # (R, dim)
        return self.classify(h), self.regress(h).reshape(len(x), -1, 4)  # (R, K), (R, K-1, 4)


class MaskHead(nn.Module):
    """3x3 convs on the 14x14 RoI features, a 2x transposed conv, and a 28x28 mask logit per class."""

    def __init__(self, channels: int, convs: int, classes: int):
        super().__init__()
        layers = []
        for _ in range(convs):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        self.convs = nn.Sequential(*layers)
        self.upsample = nn.ConvTranspose2d(channels, channels, 2, stride=2)
        self.predict = nn.Conv2d(channels, classes - 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.upsample(self.convs(x)))  # (R, F, 28, 28)
        return self.predict(h)  # (R, K-1, 28, 28) logits


@dataclass
class Target:
    """One training image's instances: boxes (G, 4), classes (G,) in 1..K-1, masks (G, H, W) bool."""

    boxes: torch.Tensor
    classes: torch.Tensor
    masks: torch.Tensor


@dataclass
class Stages:
    """One image up to the box head: what the page shows, and all the cheap post-processing needs."""

    features: list[torch.Tensor]  # P2..P6, (1, F, h, w) each
    anchors: list[torch.Tensor]  # per RPN level (h * w * A, 4)
    objectness: list[torch.Tensor]  # per RPN level (h * w * A,) logits
    candidates: torch.Tensor  # (N, 4) the top-scoring decoded anchors of each level, before the RPN's NMS
    candidate_scores: torch.Tensor  # (N,) objectness probability
    proposals: torch.Tensor  # (P, 4) what the RPN's NMS kept, best first
    proposal_scores: torch.Tensor  # (P,)
    class_probs: torch.Tensor  # (P, K) the box head's class probabilities per proposal
    class_boxes: torch.Tensor  # (P, K-1, 4) its refined box for each class
    image_size: tuple[int, int]  # (height, width) the boxes live in
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Detections:
    """Final detections in network pixels, best first, and the candidates NMS chose them from."""

    boxes: torch.Tensor  # (D, 4)
    classes: torch.Tensor  # (D,) in 1..K-1
    scores: torch.Tensor  # (D,)
    masks: torch.Tensor  # (D, 28, 28) probability, of the detected class
    candidate_boxes: torch.Tensor  # (N, 4) every class box above the score threshold
    candidate_classes: torch.Tensor  # (N,)
    candidate_scores: torch.Tensor  # (N,)
    seconds: dict[str, float] = field(default_factory=dict)


class MaskRCNN(nn.Module):
    def __init__(self, config: MaskRCNNConfig):
        super().__init__()
        self.config = config
        self.backbone = Backbone(config.widths, config.blocks)
        self.fpn = FeaturePyramid(config.widths, config.fpn_channels)
        self.rpn = RPNHead(config.fpn_channels, config.anchors_per_cell)
        self.box_head = BoxHead(config.fpn_channels, config.box_pool, config.head_dim, config.classes)
        self.mask_head = MaskHead(config.fpn_channels, config.mask_convs, config.classes)
        self.cells = [cell_anchors(sizes, config.aspect_ratios) for sizes in config.anchor_sizes]
        # Output layers start near zero, as in Detectron2: objectness and classes unsure, boxes = their anchors.
        for layer, std in [
            (self.rpn.objectness, 0.01),
            (self.rpn.deltas, 0.01),
            (self.box_head.classify, 0.01),
            (self.box_head.regress, 0.001),
        ]:
            nn.init.normal_(layer.weight, std=std)
            nn.init.zeros_(layer.bias)

    # -- shared by training and inference --

    def pyramid(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Images (B, 3, H, W) in [0, 1], H and W multiples of 64 -> P2..P6."""
        return self.fpn(self.backbone((images - 0.5) / 0.25))

    def anchors(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        rpn_maps = features[1:]  # P3..P6
        return [
            level_anchors(cell, stride, *p.shape[-2:]).to(p.device)
            for cell, stride, p in zip(self.cells, RPN_STRIDES, rpn_maps, strict=True)
        ]

    def rpn_outputs(self, features: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        outputs = [self.rpn(p) for p in features[1:]]
        return [logits for logits, _ in outputs], [deltas for _, deltas in outputs]

    def top_candidates(
        self, anchors: list[torch.Tensor], logits: list[torch.Tensor], deltas: list[torch.Tensor], k: int, size
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One image's `k` best anchors per level, decoded and clipped: boxes (N, 4), logits (N,), levels (N,)."""
        boxes, scores, levels = [], [], []
        for level, (a, s, d) in enumerate(zip(anchors, logits, deltas, strict=True)):
            top = s.topk(min(k, len(s))).indices
            boxes.append(clip_boxes(decode_boxes(a[top], d[top]), *size))
            scores.append(s[top])
            levels.append(torch.full_like(top, level))
        boxes, scores, levels = torch.cat(boxes), torch.cat(scores), torch.cat(levels)
        wide = (boxes[:, 2] - boxes[:, 0] > 1) & (boxes[:, 3] - boxes[:, 1] > 1)  # drop degenerate boxes
        return boxes[wide], scores[wide], levels[wide]

    def propose_boxes(self, boxes, scores, levels, limit: int) -> torch.Tensor:
        """The RPN's NMS within each level, then the best `limit` over all levels: kept indices."""
        return batched_nms(boxes, scores, levels, self.config.rpn_nms_iou, limit)  # best first over all levels

    # -- training --

    def losses(self, images: torch.Tensor, targets: list[Target]) -> dict[str, torch.Tensor]:
        """The five Mask R-CNN losses for a batch of images (B, 3, H, W) in [0, 1]."""
        config = self.config
        size = images.shape[-2:]
        features = self.pyramid(images)
        anchors = self.anchors(features)
        logits, deltas = self.rpn_outputs(features)
        rpn_class, rpn_box, rois, roi_targets = [], [], [], []
        for index, target in enumerate(targets):
            per_level = [lg[index] for lg in logits], [d[index] for d in deltas]
            all_anchors = torch.cat(anchors)
            labels, matched = label_anchors(all_anchors, target.boxes)
            labels = subsample(labels, config.rpn_batch, config.rpn_positive_share)
            sampled, positive = labels >= 0, labels == 1
            all_logits, all_deltas = torch.cat(per_level[0]), torch.cat(per_level[1])
            rpn_class.append(
                F.binary_cross_entropy_with_logits(all_logits[sampled], labels[sampled].float(), reduction="sum")
            )
            wanted = encode_boxes(all_anchors[positive], target.boxes[matched[positive]])
            rpn_box.append(F.l1_loss(all_deltas[positive], wanted, reduction="sum"))
            with torch.no_grad():  # proposals are inputs to the heads, not something to backpropagate through
                boxes, scores, levels = self.top_candidates(anchors, *per_level, config.pre_nms[0], size)
                proposals = boxes[self.propose_boxes(boxes, scores, levels, config.post_nms[0])]
            proposals = torch.cat([proposals, target.boxes])  # the true boxes are proposals too: sure positives
            chosen, classes, matched = sample_rois(proposals, target, config)
            rois.append(torch.cat([torch.full_like(chosen[:, :1], index), chosen], dim=1))
            true_boxes = target.boxes[matched] if len(target.boxes) else chosen.new_zeros(len(chosen), 4)
            roi_targets.append((classes, matched, true_boxes))
        sampled_anchors = config.rpn_batch * len(targets)
        rois = torch.cat(rois)  # (R, 5): image index, box
        classes, matched, true_boxes = (torch.cat(parts) for parts in zip(*roi_targets, strict=True))
        # classes (R,) 0 = background; matched (R,) index of the true box in its image; true_boxes (R, 4)
        class_logits, box_deltas = self.box_head(pool_pyramid(features, rois, config.box_pool, config))
        positive = (classes > 0).nonzero().squeeze(1)
        wanted = encode_boxes(rois[positive, 1:], true_boxes[positive], HEAD_WEIGHTS)
        predicted = box_deltas[positive, classes[positive] - 1]
        return {
            "rpn objectness": torch.stack(rpn_class).sum() / sampled_anchors,
            "rpn boxes": torch.stack(rpn_box).sum() / sampled_anchors,
            "classes": F.cross_entropy(class_logits, classes),
            "boxes": F.l1_loss(predicted, wanted, reduction="sum") / len(rois),
            "masks": self.mask_loss(features, rois, classes, matched, targets),
        }

    def mask_loss(self, features, rois, classes, matched, targets: list[Target]) -> torch.Tensor:
        """Per-pixel binary cross-entropy of the true class's 28x28 mask on (up to `mask_rois` per image)
        positive RoIs; the target is the matched true mask cropped to the RoI by the same RoIAlign."""
        chosen, masks = [], []
        for index, target in enumerate(targets):
            mine = ((rois[:, 0] == index) & (classes > 0)).nonzero().squeeze(1)[: self.config.mask_rois]
            if not len(mine):
                continue
            # Each true mask is its own one-channel "image": the RoI's batch index picks its instance.
            boxes = torch.cat([matched[mine, None].to(rois.dtype), rois[mine, 1:]], dim=1)
            crops = roi_align(target.masks[:, None].float(), boxes, MASK_SIZE, 1.0)  # (M, 1, 28, 28)
            chosen.append(mine)
            masks.append((crops[:, 0] >= 0.5).float())
        if not chosen:
            return features[0].sum() * 0
        chosen = torch.cat(chosen)
        logits = self.mask_head(pool_pyramid(features, rois[chosen], self.config.mask_pool, self.config))
        logits = logits[torch.arange(len(chosen)), classes[chosen] - 1]  # (M, 28, 28)
        return F.binary_cross_entropy_with_logits(logits, torch.cat(masks))

    # -- inference --

    @torch.inference_mode()
    def propose(self, image: torch.Tensor) -> Stages:
        """One image (1, 3, H, W) in [0, 1] through the backbone, the RPN and the box head."""
        config, seconds = self.config, {}
        size = tuple(image.shape[-2:])
        started = time.perf_counter()
        features = self.pyramid(image)
        seconds["backbone"] = lap(started)
        started = time.perf_counter()
        anchors = self.anchors(features)
        logits, deltas = self.rpn_outputs(features)
        logits, deltas = [lg[0] for lg in logits], [d[0] for d in deltas]
        boxes, scores, levels = self.top_candidates(anchors, logits, deltas, config.pre_nms[1], size)
        seconds["rpn"] = lap(started)
        started = time.perf_counter()
        kept = self.propose_boxes(boxes, scores, levels, config.post_nms[1])
        seconds["nms"] = lap(started)
        started = time.perf_counter()
        proposals = boxes[kept]
        rois = torch.cat([proposals.new_zeros(len(proposals), 1), proposals], dim=1)
        class_logits, box_deltas = self.box_head(pool_pyramid(features, rois, config.box_pool, config))
        refined = decode_boxes(
            proposals.repeat_interleave(config.classes - 1, 0), box_deltas.reshape(-1, 4), HEAD_WEIGHTS
        )
        seconds["heads"] = lap(started)
        order = scores.argsort(descending=True)
        return Stages(
            features=features,
            anchors=anchors,
            objectness=logits,
            candidates=boxes[order],
            candidate_scores=scores[order].sigmoid(),
            proposals=proposals,
            proposal_scores=scores[kept].sigmoid(),
            class_probs=class_logits.softmax(1),
            class_boxes=clip_boxes(refined, *size).reshape(len(proposals), -1, 4),
            image_size=size,
            seconds=seconds,
        )

    @torch.inference_mode()
    def detect(self, stages: Stages, score_threshold: float, nms_iou: float, limit: int = 100) -> Detections:
        """The cheap end: every (proposal, class) scoring above the threshold is a candidate; NMS per class
        keeps the best of overlapping candidates; the mask head draws a mask for each kept box."""
        started = time.perf_counter()
        scores = stages.class_probs[:, 1:]  # (P, K-1)
        proposal, column = (scores > score_threshold).nonzero().unbind(1)
        boxes, classes, scores = stages.class_boxes[proposal, column], column + 1, scores[proposal, column]
        wide = (boxes[:, 2] - boxes[:, 0] > 0.5) & (boxes[:, 3] - boxes[:, 1] > 0.5)
        boxes, classes, scores = boxes[wide], classes[wide], scores[wide]
        kept = batched_nms(boxes, scores, classes, nms_iou, limit)
        seconds = {"nms": lap(started)}
        started = time.perf_counter()
        masks = boxes.new_zeros(len(kept), MASK_SIZE, MASK_SIZE)
        if len(kept):
            rois = torch.cat([boxes.new_zeros(len(kept), 1), boxes[kept]], dim=1)
            logits = self.mask_head(pool_pyramid(stages.features, rois, self.config.mask_pool, self.config))
            masks = logits[torch.arange(len(kept)), classes[kept] - 1].sigmoid()
        seconds["heads"] = lap(started)
        return Detections(boxes[kept], classes[kept], scores[kept], masks, boxes, classes, scores, seconds)


def lap(started: float) -> float:
    return time.perf_counter() - started


# --- Training targets ------------------------------------------------------------------------------------


def sample_rois(proposals: torch.Tensor, target: Target, config: MaskRCNNConfig):
    """A random set of proposals for the heads: boxes (R, 4), classes (R,) (0 = background: IoU < 0.5 with
    every true box) and the index of each one's best-matching true box (R,)."""
    if len(target.boxes):
        best, matched = box_iou(proposals, target.boxes).max(1)
    else:
        best = matched = torch.zeros(len(proposals), dtype=torch.long, device=proposals.device)
    positive = (best >= 0.5).long()
    keep = subsample(positive, config.roi_batch, config.roi_positive_share) >= 0
    classes = target.classes[matched] * positive if len(target.boxes) else positive
    return proposals[keep], classes[keep], matched[keep]
