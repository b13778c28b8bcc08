"""Segmentation: the TFLite converter against MediaPipe's own masks, the live U-Net trainer, GrabCut
from Grad-CAM, mask pictures, user-added transformers segmenters, and the page under AppTest."""

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from streamlit.testing.v1 import AppTest

from models.core.errors import InputError, ModelLoadError
from models.core.paths import ASSETS, extra_file
from models.core.registry import Registry, get_registry, user_spec
from models.segmentation import segmenter as seg
from models.segmentation.shapes import CLASS_NAMES, synthetic_batch
from models.segmentation.tflite_to_torch import convert, load_graph, read_tflite, resize_bilinear, same_padding
from models.segmentation.unet import TrainConfig, UNet, UNetTrainer, architecture_dot, layer_shapes

FIXTURES = Path(__file__).parent / "fixtures" / "segmentation"
PAGE = Path(__file__).parent.parent / "app_pages" / "segmentation.py"
PHOTOS = sorted((FIXTURES / "inputs").glob("*.jpg"))
SELFIE_MODELS = {"selfie-segmentation": "general", "selfie-segmentation-landscape": "landscape"}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / np.logical_or(a, b).sum())


@pytest.fixture(scope="module")
def segmenters():
    registry = get_registry()
    return {model_id: seg.as_segmenter(registry.load(model_id)) for model_id in SELFIE_MODELS}


# --- converter parity with the MediaPipe runtime --------------------------------------------------


@pytest.mark.parametrize("model_id", SELFIE_MODELS)
def test_converted_model_reproduces_mediapipe_reference_masks(segmenters, model_id):
    assert len(PHOTOS) == 5
    for photo in PHOTOS:
        image = Image.open(photo).convert("RGB")
        reference = np.asarray(Image.open(FIXTURES / "masks" / f"{photo.stem}_{SELFIE_MODELS[model_id]}.png"))
        result = segmenters[model_id].segment(image, threshold=0.5)
        assert result.labels.shape == reference.shape == (image.height, image.width)
        score = iou(result.labels == 1, reference >= 128)
        assert score >= 0.98, f"{photo.name}: IoU {score:.4f} with MediaPipe's mask"


@pytest.mark.parametrize("name", ["selfie_segmentation", "selfie_segmentation_landscape"])
def test_fresh_conversion_matches_the_committed_checkpoint(name):
    fresh = convert(extra_file(f"{name}.tflite"))
    committed = load_graph(ASSETS / "segmentation" / f"{name}.safetensors")
    height, width = fresh.input_size
    assert committed.input_size == (height, width)
    x = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = fresh(x)
        assert out.shape == (2, 1, height, width)
        assert torch.allclose(out, committed(x), atol=1e-5)
        assert out.min() >= 0 and out.max() <= 1  # the graph ends in a sigmoid


def test_converter_refuses_files_that_are_not_tflite(tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"definitely not a flatbuffer")
    with pytest.raises(ModelLoadError):
        read_tflite(junk)
    with pytest.raises(ModelLoadError):
        load_graph(junk)


def test_tf_same_padding_puts_the_odd_pixel_after():
    assert same_padding(256, 3, 2) == (0, 1)  # TF pads only bottom/right for even inputs at stride 2
    assert same_padding(255, 3, 2) == (1, 1)
    assert same_padding(32, 5, 1) == (2, 2)
    assert same_padding(16, 1, 1) == (0, 0)


def test_resize_conventions_match_torch_where_torch_has_them():
    x = torch.rand(1, 2, 7, 5, generator=torch.Generator().manual_seed(1))
    for size in [(14, 10), (3, 4), (16, 16)]:
        half_pixel = F.interpolate(x, size, mode="bilinear", align_corners=False)
        corners = F.interpolate(x, size, mode="bilinear", align_corners=True)
        assert torch.allclose(resize_bilinear(x, size, half_pixel_centers=True), half_pixel, atol=1e-5)
        assert torch.allclose(resize_bilinear(x, size, align_corners=True), corners, atol=1e-5)
    # TF's default convention samples destination * scale: at 2x, even outputs copy inputs exactly.
    legacy = resize_bilinear(x, (14, 10))
    assert torch.allclose(legacy[:, :, ::2, ::2], x)
    assert torch.allclose(legacy[:, :, 1, 0], (x[:, :, 0, 0] + x[:, :, 1, 0]) / 2)


# --- U-Net ------------------------------------------------------------------------------------------


def test_synthetic_batches_are_reproducible_and_labelled():
    images, labels = synthetic_batch(np.random.default_rng(3), 4, size=40)
    again, _ = synthetic_batch(np.random.default_rng(3), 4, size=40)
    assert images.shape == (4, 3, 40, 40) and labels.shape == (4, 40, 40)
    assert np.array_equal(images, again)
    assert images.min() >= 0 and images.max() <= 1
    assert set(np.unique(labels)) <= set(range(len(CLASS_NAMES))) and (labels > 0).any() and (labels == 0).any()


def test_unet_keeps_the_image_size_and_reports_its_shapes():
    model = UNet(classes=4, width=4, depth=3)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 4, 32, 32)
    shapes = dict(layer_shapes(model, 32))
    assert shapes["down0"] == (4, 32, 32) and shapes["bottleneck"] == (32, 4, 4) and shapes["classify"] == (4, 32, 32)
    dot = architecture_dot(model, 32)
    assert dot.startswith("digraph") and "32×4×4" in dot and dot.count("skip") == 3


def test_unet_trainer_learns_the_shapes():
    config = TrainConfig()  # the page's default: 300 steps of 16 images at 32x32
    steps = []
    trainer = UNetTrainer(config)
    trainer.train(on_step=lambda step, loss: steps.append((step, loss)))
    assert [s for s, _ in steps] == list(range(1, config.steps + 1))
    assert np.mean([loss for _, loss in steps[-20:]]) < np.mean([loss for _, loss in steps[:20]]) / 4
    scores = trainer.evaluate()
    assert float(np.mean(list(scores.values()))) >= 0.90, scores


# --- GrabCut from class activations ----------------------------------------------------------------


def disc_photo(size=(160, 120), centre=(90, 55), radius=30) -> tuple[Image.Image, np.ndarray]:
    rng = np.random.default_rng(0)
    pixels = (rng.random((size[1], size[0], 3)) * 60 + 40).astype(np.uint8)  # dark noisy background
    disc = np.zeros((size[1], size[0]), np.uint8)
    cv2.circle(disc, centre, radius, 1, -1)
    pixels[disc == 1] = (230, 200, 40)
    return Image.fromarray(pixels), disc.astype(bool)


def blob_heatmap(size, centre, spread) -> np.ndarray:
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    heat = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * spread**2))
    return (heat / heat.max()).astype(np.float32)


def test_grabcut_turns_a_rough_heatmap_into_the_object():
    image, disc = disc_photo()
    heatmap = blob_heatmap(image.size, centre=(80, 60), spread=22)  # off-centre and too round: like Grad-CAM
    steps = seg.grabcut_refine(image, heatmap, threshold=0.5)
    assert steps.mask.shape == steps.seeds.shape == (image.height, image.width)
    peak = np.unravel_index(heatmap.argmax(), heatmap.shape)
    assert steps.mask[peak]
    assert iou(steps.mask, disc) > iou(heatmap >= 0.5, disc)  # GrabCut improves on the thresholded heatmap
    assert iou(steps.mask, disc) > 0.85


def test_grabcut_on_a_real_grad_cam_covers_its_peak():
    from models.classification.classifier import as_image_classifier
    from models.core.images import sample_image

    classifier = as_image_classifier(get_registry().load("efficientnet-lite0"))
    image = sample_image("cat (chelsea)")
    label, class_index, _ = classifier.predict(image, top_k=1)[0]
    assert "cat" in label
    heatmap = classifier.gradcam(image, class_index)
    steps = seg.grabcut_refine(image, heatmap, threshold=0.4)
    assert steps.mask.shape == (image.height, image.width)
    assert steps.mask[np.unravel_index(heatmap.argmax(), heatmap.shape)]
    assert 0.05 < steps.mask.mean() < 0.95


@pytest.mark.parametrize(("threshold", "message"), [(0.999, "lower it"), (0.0, "between 0 and 1")])
def test_grabcut_explains_unusable_thresholds(threshold, message):
    image, _ = disc_photo()
    with pytest.raises(InputError, match=message):
        seg.grabcut_refine(image, blob_heatmap(image.size, (80, 60), 22) * 0.9, threshold)


# --- mask pictures -------------------------------------------------------------------------------------


@pytest.fixture
def person_result(segmenters):
    image = Image.open(FIXTURES / "inputs" / "hopper.jpg").convert("RGB")  # not square: catches swapped axes
    return image, segmenters["selfie-segmentation"].segment(image)


def test_overlays_and_cutouts_keep_the_image_size(person_result):
    image, result = person_result
    assert result.size == image.size
    shown = seg.overlay(image, result, opacity=1.0)
    assert shown.size == image.size
    person = result.labels == 1
    assert np.array_equal(np.asarray(shown)[person][0], result.palette[1])
    assert np.array_equal(np.asarray(shown)[~person], np.asarray(image)[~person])  # background untouched
    cut = seg.cutout(image, result.alpha)
    assert cut.mode == "RGBA" and cut.size == image.size
    assert np.array_equal(np.asarray(cut)[..., 3] >= 128, result.probability >= 0.5)
    for background in [
        seg.blurred_background(image),
        seg.solid_background(image, "#00ff00"),
        seg.fitted_background(image, Image.new("RGB", (50, 400), "blue")),
    ]:
        assert background.size == image.size
        assert seg.replace_background(image, result.alpha, background).size == image.size


def test_mask_png_keeps_class_indices_and_colours(person_result):
    _, result = person_result
    decoded = Image.open(io.BytesIO(seg.mask_png(result)))
    assert decoded.mode == "P" and decoded.size == result.size
    assert np.array_equal(np.asarray(decoded), result.labels)
    assert decoded.getpalette()[3:6] == result.palette[1].tolist()
    shares = seg.area_shares(result)
    assert {name for name, _, _ in shares} == {"background", "person"}
    assert sum(share for *_, share in shares) == pytest.approx(1.0)
    assert dict((n, s) for n, _, s in shares)["person"] == pytest.approx(float((result.labels == 1).mean()))


def test_palette_colours_are_distinct():
    colours = seg.palette(20)
    assert tuple(colours[0]) == seg.BACKGROUND
    assert len({tuple(c) for c in colours}) == 20


def test_mismatched_sizes_are_refused(person_result):
    image, result = person_result
    with pytest.raises(InputError):
        seg.cutout(image.resize((10, 10)), result.alpha)
    with pytest.raises(InputError):
        seg.overlay(image.resize((10, 10)), result)


# --- user-added transformers segmenters --------------------------------------------------------------


def test_user_transformers_segmenter_through_the_registry(tmp_path):
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessorPil

    labels = {0: "sky", 1: "road", 2: "car"}
    torch.manual_seed(0)
    config = SegformerConfig(
        num_channels=3, num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
        patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 1], mlp_ratios=[2, 2],
        decoder_hidden_size=16, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()},
    )  # fmt: skip
    SegformerForSemanticSegmentation(config).save_pretrained(tmp_path)
    SegformerImageProcessorPil(size={"height": 64, "width": 64}).save_pretrained(tmp_path)
    spec = user_spec({"task": "segmentation", "path": str(tmp_path), "id": "tiny-segformer"})
    model = Registry.from_specs([spec], device=torch.device("cpu")).load("tiny-segformer")
    segmenter = seg.as_segmenter(model, spec.name)
    assert isinstance(segmenter, seg.HFSegmenter)
    image = Image.open(PHOTOS[0]).convert("RGB").resize((90, 70))
    result = segmenter.segment(image)
    assert result.class_names == ["sky", "road", "car"]
    assert result.labels.shape == (70, 90) and set(np.unique(result.labels)) <= {0, 1, 2}
    assert len(result.palette) == 3 and seg.overlay(image, result).size == image.size


def test_as_segmenter_refuses_other_models():
    with pytest.raises(ModelLoadError):
        seg.as_segmenter(object())


# --- the page under AppTest ------------------------------------------------------------------------------


def test_page_person_mode_shows_the_mask_and_its_legend():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    legend = next(m.value for m in at.markdown if m.value.startswith("Legend"))
    assert "**person**" in legend and "**background**" in legend
    at.slider(key="seg_threshold").set_value(0.9).run()
    strict_legend = next(m.value for m in at.markdown if m.value.startswith("Legend"))
    assert strict_legend != legend  # a stricter threshold changes the area shares
    at.segmented_control(key="seg_effect").set_value("image").run()
    assert not at.exception


def test_page_object_mode_names_the_top_class():
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.query_params["seg_mode"] = "Object"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Top class" in m.value and "cat" in m.value for m in at.markdown)
    assert any(m.value.startswith("Legend") and "cat" in m.value for m in at.markdown)


def test_page_unet_mode_trains_and_reports_iou():
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.query_params["seg_mode"] = "U-Net"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.slider(key="seg_steps").set_value(20).run()
    at.button(key="seg_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Trained 20 steps" in at.success[0].value and "mean IoU" in at.success[0].value
    assert any(m.value.startswith("Legend") for m in at.markdown)
