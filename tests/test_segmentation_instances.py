"""Instance segmentation: the Mask R-CNN's parts against hand computations and brute force, a few training
steps, the committed checkpoint's COCO AP, a user's transformers instance segmenter, and the page's
fourth mode under AppTest."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from streamlit.testing.v1 import AppTest

from models.core.errors import InputError, ModelLoadError
from models.core.paths import REPO_ROOT
from models.core.registry import Registry, get_registry, user_spec
from models.segmentation import instances as inst
from models.segmentation import instances_plots as viz
from models.segmentation.box_ops import (
    batched_nms,
    box_iou,
    cell_anchors,
    decode_boxes,
    encode_boxes,
    level_anchors,
    nms,
    paste_masks,
    roi_align,
)
from models.segmentation.instance_shapes import (
    CLASS_NAMES,
    heavy_overlap_scene,
    held_out_scene,
    masks_to_boxes,
    page_scene,
    training_scene,
)
from models.segmentation.instances_eval import coco_ap
from models.segmentation.mask_rcnn import HEAD_WEIGHTS, RPN_STRIDES, MaskRCNN, MaskRCNNConfig, Target
from tests.device_moves import DeviceMoves

PAGE = Path(__file__).parent.parent / "app_pages" / "segmentation.py"
MODE = "Instances (Mask R-CNN)"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small tensors: a second torch thread costs more in waiting than it gains, the more so on shared cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def segmenter() -> inst.MaskRCNNSegmenter:
    return inst.as_instance_segmenter(get_registry().load("mask-rcnn-shapes"))


# --- RoIAlign ----------------------------------------------------------------------------------------------


def test_roi_align_matches_a_hand_computed_bilinear_example():
    # A 3x3 map f[y, x] = y² + x, with cell centres at 0.5, 1.5, 2.5 in image pixels (scale 1).
    features = torch.tensor([[0.0, 1, 2], [1, 2, 3], [4, 5, 6]])[None, None]
    # Box (1, 1)-(2, 3): aligned, it starts half a cell earlier, at map coordinates (0.5, 0.5)-(1.5, 2.5).
    # One output bin sampled 2x2: x at 0.75 and 1.25, y at 1.0 and 2.0.
    # y = 1: f = 1 + x on row 1 -> 1.75 and 2.25. y = 2: f = 4 + x on row 2 -> 4.75 and 5.25. Mean: 3.5.
    rois = torch.tensor([[0.0, 1, 1, 2, 3]])
    assert roi_align(features, rois, 1, 1.0).item() == pytest.approx(3.5)
    # Box (0, 0)-(2, 2) in 2x2 bins: samples at -0.25, 0.25 (bin 0) and 0.75, 1.25 (bin 1) on each axis;
    # -0.25 is clamped to the border, 0. Between rows 0 and 1 the map rises by 1, between rows 1 and 2 by 3.
    # Bin (0, 0): row 0 gives x -> 0 and 0.25; row 0.25 gives 0.25 + x -> 0.25 and 0.5. Mean: 0.25.
    # Bin (1, 1): row 0.75 gives 0.75 + x, row 1.25 gives 1 + 0.75 + x; x = 0.75, 1.25. Mean: 1.25 + 1 = 2.25.
    pooled = roi_align(features, torch.tensor([[0.0, 0, 0, 2, 2]]), 2, 1.0)[0, 0]
    assert pooled[0, 0].item() == pytest.approx(0.25)
    assert pooled[1, 1].item() == pytest.approx(2.25)


def reference_roi_align(features: np.ndarray, box, output: int, scale: float, ratio: int = 2) -> np.ndarray:
    """Detectron2's ROIAlign(aligned=True) written out with loops, for (C, H, W) features and one box."""
    channels, height, width = features.shape
    x0, y0, x1, y1 = (v * scale - 0.5 for v in box)
    bin_w, bin_h = (x1 - x0) / output, (y1 - y0) / output
    out = np.zeros((channels, output, output))
    for py in range(output):
        for px in range(output):
            total = np.zeros(channels)
            for iy in range(ratio):
                for ix in range(ratio):
                    y = y0 + py * bin_h + (iy + 0.5) * bin_h / ratio
                    x = x0 + px * bin_w + (ix + 0.5) * bin_w / ratio
                    y, x = min(max(y, 0), height - 1), min(max(x, 0), width - 1)
                    top, left = int(np.floor(y)), int(np.floor(x))
                    bottom, right = min(top + 1, height - 1), min(left + 1, width - 1)
                    dy, dx = y - top, x - left
                    total += (
                        features[:, top, left] * (1 - dy) * (1 - dx)
                        + features[:, top, right] * (1 - dy) * dx
                        + features[:, bottom, left] * dy * (1 - dx)
                        + features[:, bottom, right] * dy * dx
                    )
            out[:, py, px] = total / ratio**2
    return out


def test_roi_align_matches_a_loop_reference_on_random_boxes():
    generator = torch.Generator().manual_seed(0)
    features = torch.rand(2, 3, 16, 12, generator=generator)
    boxes = torch.rand(6, 4, generator=generator) * torch.tensor([48.0, 64, 48, 64])
    boxes = torch.cat([boxes[:, :2].minimum(boxes[:, 2:]), boxes[:, :2].maximum(boxes[:, 2:]) + 1], 1)
    rois = torch.cat([torch.tensor([0.0, 1, 0, 1, 1, 0])[:, None], boxes], 1)
    pooled = roi_align(features, rois, 5, 0.25)
    for roi, got in zip(rois, pooled, strict=True):
        wanted = reference_roi_align(features[int(roi[0])].numpy(), roi[1:].tolist(), 5, 0.25)
        np.testing.assert_allclose(got.numpy(), wanted, atol=1e-5)


# --- boxes, NMS, anchors ---------------------------------------------------------------------------------------


def brute_force_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    def iou(a, b):
        inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    kept: list[int] = []
    for index in sorted(range(len(boxes)), key=lambda i: -scores[i]):
        if all(iou(boxes[index], boxes[other]) <= threshold for other in kept):
            kept.append(index)
    return kept


def random_boxes(count: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 100, (count, 2))
    return torch.tensor(np.concatenate([corners, corners + rng.uniform(5, 40, (count, 2))], 1), dtype=torch.float32)


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_matches_brute_force(threshold):
    for seed in range(5):
        boxes, scores = random_boxes(120, seed), torch.rand(120, generator=torch.Generator().manual_seed(seed))
        assert nms(boxes, scores, threshold).tolist() == brute_force_nms(boxes.numpy(), scores.numpy(), threshold)
    assert (
        nms(boxes, scores, threshold, limit=3).tolist() == brute_force_nms(boxes.numpy(), scores.numpy(), threshold)[:3]
    )
    assert nms(boxes[:0], scores[:0], threshold).tolist() == []


def test_batched_nms_never_suppresses_across_groups():
    boxes, scores = random_boxes(90, 7), torch.rand(90, generator=torch.Generator().manual_seed(7))
    groups = torch.arange(90) % 3
    kept = set(batched_nms(boxes, scores, groups, 0.5).tolist())
    for group in range(3):
        members = (groups == group).nonzero().squeeze(1)
        wanted = brute_force_nms(boxes[members].numpy(), scores[members].numpy(), 0.5)
        assert {int(members[i]) for i in wanted} == {i for i in kept if groups[i] == group}


def test_box_encoding_round_trips():
    references, boxes = random_boxes(50, 1), random_boxes(50, 2)
    for weights in [(1.0, 1.0, 1.0, 1.0), HEAD_WEIGHTS]:
        decoded = decode_boxes(references, encode_boxes(references, boxes, weights), weights)
        torch.testing.assert_close(decoded, boxes, atol=1e-3, rtol=1e-5)
    assert torch.allclose(encode_boxes(boxes, boxes), torch.zeros(50, 4), atol=1e-6)


def test_anchors_cover_the_image():
    config = MaskRCNNConfig()
    side = 256
    for sizes, stride in zip(config.anchor_sizes, RPN_STRIDES, strict=True):
        cell = cell_anchors(sizes, config.aspect_ratios)
        assert len(cell) == config.anchors_per_cell
        widths, heights = cell[:, 2] - cell[:, 0], cell[:, 3] - cell[:, 1]
        torch.testing.assert_close(heights / widths, torch.tensor(config.aspect_ratios * len(sizes)))
        anchors = level_anchors(cell, stride, side // stride, side // stride)
        centres = (anchors[:, :2] + anchors[:, 2:]) / 2
        assert centres.min() == stride / 2 and centres.max() == side - stride / 2
        assert len(torch.unique(centres, dim=0)) == (side // stride) ** 2  # one cell centre per map cell
        covered = np.zeros((side, side), bool)  # every pixel lies in some anchor of every level
        for x0, y0, x1, y1 in anchors.clamp(0, side).round().int().tolist():
            covered[y0:y1, x0:x1] = True
        assert covered.all()
    # Every true box of 50 held-out scenes has an anchor that overlaps it well: the RPN can find it.
    anchors = torch.cat(
        [
            level_anchors(cell_anchors(sizes, config.aspect_ratios), stride, side // stride, side // stride)
            for sizes, stride in zip(config.anchor_sizes, RPN_STRIDES, strict=True)
        ]
    )
    truth = torch.cat([torch.from_numpy(held_out_scene(i).boxes) for i in range(50)])
    best = box_iou(truth, anchors).max(1).values
    assert best.min() >= 0.4 and (best >= 0.5).float().mean() >= 0.9, (best.min(), (best >= 0.5).float().mean())


def test_pasted_masks_land_on_their_boxes():
    full = torch.ones(1, 28, 28)
    pasted = paste_masks(full, torch.tensor([[10.0, 20, 50, 40]]), 64, 80)[0] >= 0.5
    assert pasted[20:40, 10:50].all() and pasted.sum() == 40 * 20
    # A mask cut out with RoIAlign and pasted back gives the mask again.
    scene = held_out_scene(3)
    masks = torch.from_numpy(scene.masks).float()[:, None]  # (n, 1, H, W)
    boxes = torch.from_numpy(scene.boxes)
    crops = roi_align(masks, torch.cat([torch.arange(len(boxes))[:, None].float(), boxes], 1), 28, 1.0)[:, 0]
    back = paste_masks(crops, boxes, 256, 256) >= 0.5
    for again, truth in zip(back.numpy(), scene.masks, strict=True):
        assert (again & truth).sum() / (again | truth).sum() >= 0.9


# --- data ------------------------------------------------------------------------------------------------------


def test_scenes_are_reproducible_and_their_masks_are_the_visible_parts():
    scene, again = held_out_scene(11), held_out_scene(11)
    assert np.array_equal(scene.image, again.image) and np.array_equal(scene.masks, again.masks)
    assert not np.array_equal(scene.image, training_scene(0, 11).image)
    for index in range(30):
        scene = training_scene(5, index)
        assert scene.image.shape == (256, 256, 3) and scene.image.dtype == np.uint8
        assert 1 <= len(scene.classes) <= 8 and set(scene.classes.tolist()) <= {1, 2, 3, 4}
        assert scene.masks.sum((1, 2)).min() >= 150
        assert scene.masks.sum(0).max() <= 1  # visible parts never overlap: each pixel shows one shape at most
        np.testing.assert_array_equal(scene.boxes, masks_to_boxes(scene.masks))
    crowded = heavy_overlap_scene()
    assert len(crowded.classes) == 8


# --- training and the committed checkpoint ------------------------------------------------------------------


def test_a_few_training_steps_lower_the_loss():
    torch.manual_seed(0)
    net = MaskRCNN(MaskRCNNConfig(widths=(8, 16, 16, 16), blocks=(1, 1, 1, 1), fpn_channels=16, head_dim=32))
    scenes = [training_scene(0, i) for i in range(2)]
    images = torch.stack([torch.from_numpy(s.image).permute(2, 0, 1) for s in scenes]).float() / 255
    targets = [
        Target(torch.from_numpy(s.boxes), torch.from_numpy(s.classes), torch.from_numpy(s.masks)) for s in scenes
    ]
    optimiser = torch.optim.AdamW(net.parameters(), lr=3e-3)
    totals = []
    for _ in range(25):
        losses = net.losses(images, targets)
        assert set(losses) == {"rpn objectness", "rpn boxes", "classes", "boxes", "masks"}
        total = sum(losses.values())
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
        totals.append(total.item())
    assert np.mean(totals[-5:]) < 0.6 * np.mean(totals[:3]), totals


def test_committed_checkpoint_reaches_the_mask_ap_target(segmenter):
    scores = coco_ap(segmenter, [held_out_scene(i) for i in range(50)])
    assert scores["mask AP50"] >= 0.90, scores
    assert scores["mask AP"] >= 0.5, scores


def test_checkpoint_is_fp16_and_small():
    path = REPO_ROOT / inst.CHECKPOINT
    assert {tensor.dtype for tensor in load_file(path).values()} == {torch.float16}
    assert path.stat().st_size < 20_000_000


def test_stages_then_finish_equals_segment(segmenter):
    image = Image.fromarray(page_scene(5).image)
    staged = segmenter.stages(image)
    found, detections = staged.finish(0.5, 0.5)
    again = segmenter.segment(image, 0.5, 0.5)
    np.testing.assert_array_equal(found.masks, again.masks)
    assert len(detections.candidate_boxes) >= len(detections.boxes) == len(found)
    loose, _ = staged.finish(0.05, 0.9)  # a lower threshold, looser NMS: never fewer
    assert len(loose) >= len(found)
    assert set(staged.stages.seconds) == {"backbone", "rpn", "nms", "heads"} and "paste" in found.seconds
    # the facts the page's captions give come from the model itself
    assert staged.frame.canvas.size == (staged.config.image_size,) * 2
    assert staged.anchor_count == sum(len(a) for a in staged.stages.anchors) > 0
    assert len(staged.strides) == len(staged.config.anchor_sizes)


def test_non_square_images_keep_their_size_and_boxes(segmenter):
    scene = held_out_scene(0)
    wide = Image.fromarray(np.concatenate([scene.image, scene.image], axis=1))  # 512 x 256: two copies
    found = segmenter.segment(wide)
    assert found.image.size == (512, 256) and found.masks.shape[1:] == (256, 512)
    assert len(found) >= 2 and (found.boxes[:, 0] >= 256).any() and (found.boxes[:, 2] <= 256).any()
    big = segmenter.segment(wide.resize((2048, 1024)))
    assert big.image.size == (512, 256)  # results are drawn at most 512 pixels wide


def test_images_travel_to_the_device_as_bytes(segmenter):
    scene = Image.fromarray(held_out_scene(0).image)
    with DeviceMoves() as moves:
        x, frame = segmenter.preprocess(scene)
    assert moves.dtypes == [torch.uint8]
    expected = torch.from_numpy(np.asarray(frame.canvas, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    assert torch.equal(x, expected)


def test_odd_inputs_get_clear_messages(segmenter):
    with pytest.raises(InputError, match="too small"):
        segmenter.segment(Image.new("RGB", (8, 300)))
    with pytest.raises(InputError):
        segmenter.segment(Image.new("RGB", (64, 64)), score_threshold=1.5)
    with pytest.raises(InputError):
        segmenter.segment(Image.new("RGB", (64, 64)), nms_iou=0)
    with pytest.raises(ModelLoadError):
        inst.as_instance_segmenter(object())


def test_instance_outputs(segmenter):
    found = segmenter.segment(Image.fromarray(heavy_overlap_scene().image))
    assert len(found) >= 5
    rows = inst.instance_rows(found)
    assert [row["instance"] for row in rows] == list(range(1, len(found) + 1))
    assert sum(inst.class_counts(found).values()) == len(found)
    assert all(row["class"] in CLASS_NAMES[1:] for row in rows)
    png = Image.open(io.BytesIO(inst.instance_png(found)))
    assert png.mode == "P" and png.size == (256, 256)
    values = set(np.unique(np.asarray(png)).tolist())
    assert values <= set(range(len(found) + 1)) and len(values) >= len(found)  # background + each instance
    staged = segmenter.stages(found.image)
    stages, frame = staged.stages, staged.frame
    _, detections = staged.finish()
    for picture in [
        viz.anchors_picture(frame.canvas, stages, segmenter.net.config, 1, 100, 100)[0],
        viz.proposals_picture(frame.canvas, stages.proposals[:20].numpy(), stages.proposal_scores[:20].numpy()),
        viz.nms_picture(frame.canvas, detections, found.class_names),
        viz.detections_picture(found),
        viz.masks_picture(found),
    ]:
        assert picture.size == (512, 512)
    boxes, objectness = viz.anchors_at(stages, segmenter.net.config, 0, 100, 100)
    centre = ((boxes[:, :2] + boxes[:, 2:]) / 2).unique(dim=0)
    assert centre.tolist() == [[100.0, 100.0]] and len(objectness) == 6  # the P3 cell (12, 12): centre 100


# --- a user's transformers instance segmenter ------------------------------------------------------------------


def test_user_mask2former_from_a_local_folder(tmp_path):
    from transformers import (
        Mask2FormerConfig,
        Mask2FormerForUniversalSegmentation,
        Mask2FormerImageProcessor,
        SwinConfig,
    )

    backbone = SwinConfig(
        image_size=64, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=4,
        out_features=["stage1", "stage2", "stage3", "stage4"],
    )  # fmt: skip
    config = Mask2FormerConfig(
        backbone_config=backbone, hidden_dim=32, mask_feature_size=32, feature_size=32, num_queries=4,
        encoder_layers=1, decoder_layers=2, encoder_feedforward_dim=32, dim_feedforward=32, num_attention_heads=2,
        id2label={0: "cat", 1: "dog"}, label2id={"cat": 0, "dog": 1},
    )  # fmt: skip
    torch.manual_seed(0)
    Mask2FormerForUniversalSegmentation(config).save_pretrained(tmp_path)
    Mask2FormerImageProcessor(size={"shortest_edge": 64, "longest_edge": 64}).save_pretrained(tmp_path)
    spec = user_spec({"task": "instance-segmentation", "path": str(tmp_path), "name": "tiny Mask2Former"})
    registry = Registry.from_specs([spec])
    segmenter = inst.as_instance_segmenter(registry.load(spec.id), spec.name)
    assert isinstance(segmenter, inst.HFInstanceSegmenter) and segmenter.class_names == ["cat", "dog"]
    found = segmenter.segment(Image.new("RGB", (100, 60), "red"), score_threshold=0.0)
    assert found.image.size == (100, 60) and found.masks.shape == (len(found), 60, 100)
    assert len(found) >= 1 and set(found.classes.tolist()) <= {0, 1}
    assert (found.boxes[:, 2] > found.boxes[:, 0]).all()
    assert len(segmenter.segment(Image.new("RGB", (100, 60), "red"), score_threshold=0.99)) == 0


# --- the page ----------------------------------------------------------------------------------------------------


def instances_page(**query) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=300)
    at.query_params["seg_mode"] = MODE
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_page_steps_through_the_stages():
    at = instances_page(seg_scene_seed="5")
    assert not at.exception, [e.value for e in at.exception]
    summary = next(m.value for m in at.markdown if m.value.startswith("**Found"))
    assert "The scene holds" in summary
    assert at.select_slider(key="seg_stage").value == "5 · Masks"
    assert any("Download instance map" in b.proto.label for b in at.get("download_button"))
    assert at.dataframe[0].value["class"].isin(CLASS_NAMES[1:]).all()
    for stage in ["1 · Anchors", "2 · Proposals", "3 · NMS", "4 · Detections"]:
        at.select_slider(key="seg_stage").set_value(stage).run()
        assert not at.exception, (stage, [e.value for e in at.exception])
        assert at.subheader[-1].value == stage
    at.toggle(key="seg_all_stages").set_value(True).run()
    assert [s.value for s in at.subheader][-5:] == [
        "1 · Anchors",
        "2 · Proposals",
        "3 · NMS",
        "4 · Detections",
        "5 · Masks",
    ]


def test_page_thresholds_rerun_only_the_post_processing(monkeypatch):
    forward_passes = []
    propose = MaskRCNN.propose
    monkeypatch.setattr(MaskRCNN, "propose", lambda net, x: forward_passes.append(1) or propose(net, x))
    at = instances_page(seg_scene="Heavy overlap", seg_score="0.5", seg_stage="3 · NMS")
    before = len(forward_passes)
    kept = next(c.value for c in at.caption if c.value.startswith("The box head gave"))
    at.slider(key="seg_score").set_value(0.95).run()
    at.slider(key="seg_nms_iou").set_value(0.9).run()
    assert not at.exception
    assert next(c.value for c in at.caption if c.value.startswith("The box head gave")) != kept
    assert len(forward_passes) == before  # the sliders reused the cached backbone, RPN and box head


def test_page_upload_tells_what_the_model_knows():
    at = instances_page(seg_scene="Upload")
    assert not at.exception
    assert any("only flat circles, squares, triangles and stars" in c.value for c in at.caption)
    assert any("Upload an image" in i.value for i in at.info)
