"""Box and region operations of a two-stage detector, in plain PyTorch (the parts torchvision keeps in
`ops`): IoU, box deltas, NMS, anchors, RoIAlign, pasting masks back, and labelling anchors for training.

Boxes are (x0, y0, x1, y1) in image pixels, pixel i covering [i, i+1).
"""

import math

import torch
import torch.nn.functional as F

RPN_WEIGHTS = (1.0, 1.0, 1.0, 1.0)  # box-delta scaling (Detectron2's defaults)
DELTA_CLAMP = math.log(1000 / 16)  # no box grows more than ~60x in one decoding step

# --- Boxes --------------------------------------------------------------------------------------------


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """(N, 4) -> (N,)"""
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of every pair: (N, 4), (M, 4) -> (N, M)."""
    width = (torch.minimum(a[:, None, 2], b[None, :, 2]) - torch.maximum(a[:, None, 0], b[None, :, 0])).clamp_(min=0)
    height = (torch.minimum(a[:, None, 3], b[None, :, 3]) - torch.maximum(a[:, None, 1], b[None, :, 1])).clamp_(min=0)
    inter = width.mul_(height)  # (N, M)
    return inter / (box_area(a)[:, None] + box_area(b)[None, :] - inter).clamp_(min=1e-6)


def encode_boxes(references: torch.Tensor, boxes: torch.Tensor, weights=RPN_WEIGHTS) -> torch.Tensor:
    """The deltas (dx, dy, dw, dh) that turn each reference box (anchor or proposal) into its box: centre
    shifts in units of the reference's size, log size ratios. (N, 4), (N, 4) -> (N, 4)"""
    wr, hr = references[:, 2] - references[:, 0], references[:, 3] - references[:, 1]
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    dx = (boxes[:, 0] + boxes[:, 2] - references[:, 0] - references[:, 2]) / 2 / wr
    dy = (boxes[:, 1] + boxes[:, 3] - references[:, 1] - references[:, 3]) / 2 / hr
    deltas = torch.stack([dx, dy, torch.log(w / wr), torch.log(h / hr)], dim=1)
    return deltas * deltas.new_tensor(weights)


def decode_boxes(references: torch.Tensor, deltas: torch.Tensor, weights=RPN_WEIGHTS) -> torch.Tensor:
    """The inverse of `encode_boxes`: (N, 4) references, (N, 4) deltas -> (N, 4) boxes."""
    dx, dy, dw, dh = (deltas / deltas.new_tensor(weights)).unbind(1)
    wr, hr = references[:, 2] - references[:, 0], references[:, 3] - references[:, 1]
    cx, cy = (references[:, 0] + references[:, 2]) / 2 + dx * wr, (references[:, 1] + references[:, 3]) / 2 + dy * hr
    w, h = wr * dw.clamp(max=DELTA_CLAMP).exp(), hr * dh.clamp(max=DELTA_CLAMP).exp()
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1)


def clip_boxes(boxes: torch.Tensor, height: float, width: float) -> torch.Tensor:
    limits = boxes.new_tensor([width, height, width, height])
    return torch.minimum(boxes.clamp(min=0), limits)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, limit: int | None = None) -> torch.Tensor:
    """Greedy non-maximum suppression: take the best-scoring box, drop every box that overlaps it by more than
    `iou_threshold`, repeat with the rest. Returns the kept indices, best first (at most `limit`)."""
    order = scores.argsort(descending=True)
    overlapping = box_iou(boxes[order], boxes[order]) > iou_threshold  # (N, N), once; the diagonal is True
    remaining = torch.arange(len(order), device=boxes.device)
    kept = []
    while len(remaining) and (limit is None or len(kept) < limit):
        best = remaining[0]
        kept.append(best)
        remaining = remaining[~overlapping[best, remaining]]  # drops `best` itself too
    return order[torch.stack(kept)] if kept else order[:0]


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, iou_threshold: float, limit: int | None = None
) -> torch.Tensor:
    """NMS within each group (class, pyramid level) only: boxes of different groups never suppress each other.
    Returns the kept indices of all groups, best first (at most `limit`)."""
    kept = [
        members[nms(boxes[members], scores[members], iou_threshold, limit)]
        for members in ((groups == group).nonzero().squeeze(1) for group in groups.unique())
    ]
    if not kept:
        return groups.new_zeros(0)
    kept = torch.cat(kept)
    return kept[scores[kept].argsort(descending=True)][:limit]


# --- Anchors --------------------------------------------------------------------------------------------


def cell_anchors(sizes: tuple[float, ...], ratios: tuple[float, ...]) -> torch.Tensor:
    """(A, 4) anchors centred on (0, 0): every size at every aspect ratio (height / width), same area."""
    shapes = [(size / math.sqrt(ratio), size * math.sqrt(ratio)) for size in sizes for ratio in ratios]
    return torch.tensor([[-w / 2, -h / 2, w / 2, h / 2] for w, h in shapes])


def level_anchors(cell: torch.Tensor, stride: int, height: int, width: int) -> torch.Tensor:
    """The cell anchors repeated at every cell centre of a (height, width) map: (height * width * A, 4),
    ordered row, column, anchor, as the RPN's outputs are flattened."""
    ys, xs = (torch.arange(height) + 0.5) * stride, (torch.arange(width) + 0.5) * stride
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")
    centres = torch.stack([cx, cy, cx, cy], dim=-1).reshape(-1, 1, 4)  # (h * w, 1, 4)
    return (centres + cell[None]).reshape(-1, 4)


# --- RoIAlign and pasting masks back --------------------------------------------------------------------


def roi_align(
    features: torch.Tensor, rois: torch.Tensor, output_size: int, spatial_scale: float, sampling_ratio: int = 2
) -> torch.Tensor:
    """Features of every box: features (B, C, H, W), rois (R, 5) = batch index, x0, y0, x1, y1 in image pixels
    -> (R, C, output_size, output_size).

    As Detectron2's ROIAlign(aligned=True): the box is scaled to the map and shifted half a cell, so that
    cell centres sit at integer coordinates; each of the output_size² bins is sampled at sampling_ratio²
    evenly spaced points by bilinear interpolation (`grid_sample`), and the samples are averaged. Points
    beyond the map's outer cell centres take the border value (boxes are clipped to the image)."""
    height, width = features.shape[-2:]
    points = output_size * sampling_ratio  # sample points along each side of the box
    x0, y0, x1, y1 = (rois[:, 1:] * spatial_scale - 0.5).unbind(1)
    steps = (torch.arange(points, device=rois.device, dtype=rois.dtype) + 0.5) / points  # (points,)
    xs = x0[:, None] + (x1 - x0)[:, None] * steps  # (R, points) in map cells
    ys = y0[:, None] + (y1 - y0)[:, None] * steps
    # grid_sample's (-1, 1) spans the outer edges of the map's cells (align_corners=False).
    gx, gy = (xs + 0.5) / width * 2 - 1, (ys + 0.5) / height * 2 - 1
    grid = torch.stack([gx[:, None, :].expand(-1, points, -1), gy[:, :, None].expand(-1, -1, points)], dim=-1)
    pieces, order = [], []
    image_of_roi = rois[:, 0].long()
    for image in image_of_roi.unique().tolist():
        index = (image_of_roi == image).nonzero().squeeze(1)
        sampled = F.grid_sample(  # (1, C, r * points, points)
            features[image : image + 1],
            grid[index].reshape(1, -1, points, 2),
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        )
        pieces.append(sampled.reshape(features.shape[1], len(index), points, points).transpose(0, 1))
        order.append(index)
    samples = torch.cat(pieces)[torch.cat(order).argsort()]  # (R, C, points, points), in the order of `rois`
    return F.avg_pool2d(samples, sampling_ratio)  # (R, C, output_size, output_size)


def paste_masks(masks: torch.Tensor, boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Masks (D, M, M) in [0, 1], each stretched over its box (D, 4) of a (height, width) image, resampled
    bilinearly at the image's pixel centres -> (D, height, width) probabilities, 0 outside the boxes."""
    out = masks.new_zeros(len(masks), height, width)
    for index, (mask, box) in enumerate(zip(masks, boxes, strict=True)):
        x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
        x1, y1 = min(width, math.ceil(box[2])), min(height, math.ceil(box[3]))
        if x1 <= x0 or y1 <= y0:
            continue
        xs = (torch.arange(x0, x1, dtype=masks.dtype) + 0.5 - box[0]) / (box[2] - box[0]).clamp(min=1e-3) * 2 - 1
        ys = (torch.arange(y0, y1, dtype=masks.dtype) + 0.5 - box[1]) / (box[3] - box[1]).clamp(min=1e-3) * 2 - 1
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]  # (1, y1-y0, x1-x0, 2)
        out[index, y0:y1, x0:x1] = F.grid_sample(mask[None, None], grid, align_corners=False)[0, 0]
    return out


# --- Training targets ------------------------------------------------------------------------------------


def label_anchors(anchors: torch.Tensor, boxes: torch.Tensor, high: float = 0.7, low: float = 0.3):
    """Each anchor's label: 1 object (IoU >= `high` with a true box, or the best anchor of some true box),
    0 background (IoU < `low` with every box), -1 ignored; and the index of its best-matching box."""
    labels = torch.full((len(anchors),), -1, dtype=torch.long, device=anchors.device)
    if not len(boxes):
        labels[:] = 0
        return labels, labels.clamp(min=0)
    iou = box_iou(boxes, anchors)  # (G, N)
    best, matched = iou.max(0)
    labels[best < low] = 0
    labels[best >= high] = 1
    highest = iou.max(1, keepdim=True).values  # (G, 1): every true box gets its best anchors, however poor
    labels[((iou == highest) & (highest > 0)).any(0)] = 1
    return labels, matched


def subsample(labels: torch.Tensor, batch: int, positive_share: float) -> torch.Tensor:
    """Keep a random `batch` of the labelled items, at most `positive_share` of them positive; others -> -1."""
    positive, negative = (labels == 1).nonzero().squeeze(1), (labels == 0).nonzero().squeeze(1)
    positives = min(len(positive), int(batch * positive_share))
    negatives = min(len(negative), batch - positives)
    keep = torch.cat(
        [
            positive[torch.randperm(len(positive), device=labels.device)[:positives]],
            negative[torch.randperm(len(negative), device=labels.device)[:negatives]],
        ]
    )
    out = torch.full_like(labels, -1)
    out[keep] = labels[keep]
    return out
