"""Image classification: EfficientNet-Lite loads strictly and classifies the bundled photos correctly,
Grad-CAM points at the object, transfer learning learns new classes, odd image files are handled,
and user-added transformers classifiers work through the same API."""

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from models.classification.classifier import (
    PIXEL_MEAN,
    PIXEL_STD,
    EfficientNetClassifier,
    HFImageClassifier,
    UnsupportedError,
    as_image_classifier,
    imagenet_labels,
    read_state_dict,
)
from models.classification.efficientnet import CONFIGS, EfficientNetLite
from models.classification.plots import feature_grid, filter_grid, overlay_heatmap
from models.classification.transfer import (
    collect_features,
    example_classes,
    head_from_bytes,
    head_to_bytes,
    train_head,
)
from models.core.errors import InputError, ModelLoadError, StudioError
from models.core.images import MAX_SIDE, read_image, sample_image
from models.core.registry import Registry, get_registry, user_spec
from models.core.specs import embedded_path
from tests.device_moves import DeviceMoves

VARIANTS = ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"]
CAT_CLASSES = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
CUP_CLASSES = {967, 968, 504}  # espresso, cup, coffee mug


@pytest.fixture(scope="module")
def lite0() -> EfficientNetClassifier:
    torch.manual_seed(0)
    return get_registry().load("efficientnet-lite0")


@pytest.fixture(scope="module")
def chelsea() -> Image.Image:
    return sample_image("cat (chelsea)")


# --- the pretrained models ------------------------------------------------------------------


@pytest.mark.parametrize("model_id", VARIANTS)
def test_state_dict_loads_strictly_and_classifies_the_samples(model_id, chelsea):
    spec = get_registry().get(model_id)
    state = read_state_dict(embedded_path(spec.embedded))
    net = EfficientNetLite(CONFIGS[model_id.removeprefix("efficientnet-")])
    result = net.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys

    classifier = get_registry().load(model_id)
    assert isinstance(classifier, EfficientNetClassifier) and len(classifier.labels) == 1000
    top = classifier.predict(chelsea, top_k=5)
    assert top[0][1] in CAT_CLASSES, top
    assert [p for *_, p in top] == sorted((p for *_, p in top), reverse=True)
    assert all(classifier.labels[index] == label for label, index, _ in top)
    assert {index for _, index, _ in classifier.predict(sample_image("coffee"), top_k=3)} & CUP_CLASSES


def test_strict_load_rejects_a_state_dict_of_another_variant(tmp_path):
    spec = get_registry().get("efficientnet-lite2")
    wrong = get_registry().get("efficientnet-lite0")
    with pytest.raises(ModelLoadError, match="not an EfficientNet-Lite2 state dict"):
        spec.loader(str(embedded_path(wrong.embedded)), torch.device("cpu"))


def test_class_names_are_readable_and_in_imagenet_order():
    labels = imagenet_labels()
    assert len(labels) == 1000
    assert labels[0] == "tench" and labels[281] == "tabby" and labels[967] == "espresso"


def test_normalisation_matches_the_statistics_the_weights_were_trained_with(lite0):
    """The stem's BatchNorm stored the variance of its input during training: the right pixel scaling
    reproduces it on natural photos; ImageNet's per-channel mean/std does not."""
    photos = [lite0.resize_and_crop(sample_image(name))[1] for name in ("cat (chelsea)", "coffee", "astronaut")]
    pixels = torch.from_numpy(np.stack([np.asarray(p, dtype=np.float32) for p in photos])).permute(0, 3, 1, 2)
    bn = lite0.net._bn0
    used = bn.running_var > 1e-3

    def variance_mismatch(x: torch.Tensor) -> float:
        with torch.inference_mode():
            variance = lite0.net._conv_stem(x).var(dim=(0, 2, 3))
        return float((variance[used] / bn.running_var[used]).log().median().abs())

    ours = variance_mismatch((pixels - PIXEL_MEAN) / PIXEL_STD)
    imagenet_mean = torch.tensor([0.485, 0.456, 0.406])[None, :, None, None] * 255
    imagenet_std = torch.tensor([0.229, 0.224, 0.225])[None, :, None, None] * 255
    assert ours < 0.5 < variance_mismatch((pixels - imagenet_mean) / imagenet_std)
    assert ours < variance_mismatch(pixels / 255)


def test_preprocessing_steps_resize_crop_and_normalise(lite0, chelsea):
    (_, resized), (_, cropped), (_, tensor) = lite0.preprocess_steps(chelsea)
    assert min(resized.size) == 256 and cropped.size == (224, 224)
    assert tensor.shape == (3, 224, 224) and tensor.min() >= -1.0 and tensor.max() <= 1.0


def test_images_travel_to_the_device_as_bytes_and_are_normalised_there(lite0, chelsea):
    with DeviceMoves() as moves:
        x = lite0.preprocess(chelsea)
    assert moves.dtypes == [torch.uint8]  # one upload, a quarter of float32's size
    pixels = np.asarray(lite0.resize_and_crop(chelsea)[1], dtype=np.float32)
    expected = torch.from_numpy((pixels - 127.0) / 128.0).permute(2, 0, 1)[None]
    assert torch.equal(x.float(), expected.to(x.dtype).float())


# --- Grad-CAM and the network's insides ---------------------------------------------------------


def test_gradcam_has_the_image_shape_and_peaks_on_the_cat(lite0, chelsea):
    cat_class = lite0.predict(chelsea, top_k=1)[0][1]
    heatmap = lite0.gradcam(chelsea, cat_class)
    assert heatmap.shape == (chelsea.height, chelsea.width) and heatmap.dtype == np.float32
    assert heatmap.min() >= 0 and heatmap.max() == pytest.approx(1.0)
    row, column = np.unravel_index(heatmap.argmax(), heatmap.shape)
    # chelsea (451x300) is a cat's face filling the middle; the left and right edges are background
    assert 90 <= column <= 400 and row >= 40, (row, column)
    assert heatmap[:, 120:380].mean() > 2 * heatmap[:, :40].mean()


def test_gradcam_differs_between_classes_and_follows_odd_aspects(lite0):
    tall = sample_image("coffee").rotate(90, expand=True)  # 400 wide, 600 high
    espresso, other = lite0.gradcam(tall, 967), lite0.gradcam(tall, 0)
    assert espresso.shape == other.shape == (600, 400)
    assert not np.allclose(espresso, other)
    with pytest.raises(StudioError):
        lite0.gradcam(tall, 1000)


def test_layers_filters_and_pictures(lite0, chelsea):
    names = lite0.layer_names()
    assert names[0] == "stem" and names[-1] == "head" and len(names) == 18
    assert lite0.feature_maps(chelsea, "stem").shape == (32, 112, 112)
    assert lite0.feature_maps(chelsea, "head").shape == (1280, 7, 7)
    with pytest.raises(UnsupportedError):
        lite0.feature_maps(chelsea, "block 99")
    filters = lite0.first_layer_filters()
    assert filters.shape == (32, 3, 3, 3)
    grid = filter_grid(filters)
    assert grid.ndim == 3 and grid.shape[2] == 3 and grid.min() >= 0 and grid.max() <= 1
    assert feature_grid(lite0.feature_maps(chelsea, "block 3")).shape[2] == 3
    heatmap = np.zeros((chelsea.height, chelsea.width), np.float32)
    assert overlay_heatmap(chelsea, heatmap, 0.0).tobytes() == chelsea.tobytes()


# --- transfer learning ----------------------------------------------------------------------------


def coloured_images(colour: tuple[int, int, int], count: int, seed: int) -> list[Image.Image]:
    """Noisy 96x96 images of one colour, each with a lighter square somewhere: only the colour tells
    the classes apart (with a few training images, any other difference would be learned too)."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        pixels = np.array(colour, np.float32) + rng.normal(0, 35, (96, 96, 3))
        top, left = rng.integers(0, 64, size=2)
        pixels[top : top + 32, left : left + 32] += 60
        images.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))
    return images


def test_new_head_separates_red_from_blue_on_held_out_images(lite0):
    reds, blues = (200, 40, 40), (40, 60, 200)
    features, targets = collect_features(
        lite0, {"red": coloured_images(reds, 4, seed=1), "blue": coloured_images(blues, 4, seed=2)}
    )
    assert features.shape == (16, 1280) and targets.tolist() == [0] * 8 + [1] * 8
    head, losses = train_head(features, targets, num_classes=2)
    assert losses[-1] < 0.1 * losses[0]
    new = lite0.with_head(head, ["red", "blue"], "red vs blue")
    held_out = [(image, "red") for image in coloured_images(reds, 10, seed=3)]
    held_out += [(image, "blue") for image in coloured_images(blues, 10, seed=4)]
    assert all(new.predict(image, top_k=1)[0][0] == truth for image, truth in held_out)
    assert new.gradcam(held_out[0][0], 0).shape == (held_out[0][0].height, held_out[0][0].width)
    assert lite0.labels[0] == "tench"  # the shared ImageNet classifier kept its own head


def test_head_round_trips_through_safetensors_and_bad_files_are_refused(lite0, chelsea):
    features, targets = collect_features(lite0, example_classes(images_per_class=2))
    head, _ = train_head(features, targets, num_classes=3, steps=30)
    new = lite0.with_head(head, ["cat", "coffee", "rocket"], "examples")
    data = head_to_bytes(new)
    assert len(data) < 20_000
    loaded = head_from_bytes(data, lite0, "loaded")
    assert loaded.labels == new.labels
    before, after = new.predict(chelsea, 3), loaded.predict(chelsea, 3)
    assert [i for _, i, _ in after] == [i for _, i, _ in before]
    assert [p for *_, p in after] == pytest.approx([p for *_, p in before], abs=1e-6)
    for bad in (b"", b"not safetensors at all", data[: len(data) // 2]):
        with pytest.raises(InputError):
            head_from_bytes(bad, lite0, "bad")
    lite1 = get_registry().load("efficientnet-lite1")
    with pytest.raises(InputError, match="efficientnet-lite0"):
        head_from_bytes(data, lite1, "other backbone")


def test_class_lists_are_checked_before_training(lite0):
    one = coloured_images((200, 0, 0), 1, seed=0)
    with pytest.raises(InputError, match="between 2 and 5"):
        collect_features(lite0, {"red": one})
    with pytest.raises(InputError, match="at least one image"):
        collect_features(lite0, {"red": one, "blue": []})
    with pytest.raises(InputError, match="needs a name"):
        collect_features(lite0, {"red": one, " ": one})


# --- odd image files ------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A small PNG file whose header (with a correct CRC) announces width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def exif_rotated_jpeg() -> bytes:
    image = Image.new("RGB", (60, 40), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    return encode(image, "JPEG", exif=exif)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def palette_png() -> bytes:
    image = Image.new("P", (16, 16), 1)
    image.putpalette([0, 0, 0, 255, 255, 0] + [0] * 762)
    return encode(image, "PNG")


def sixteen_bit_png() -> bytes:
    return encode(Image.fromarray(np.arange(2048, dtype=np.uint16).reshape(32, 64) * 30), "PNG")


ODD_IMAGES = {
    "EXIF-rotated JPEG": (exif_rotated_jpeg, (40, 60)),
    "CMYK JPEG": (lambda: encode(Image.new("CMYK", (30, 20), (0, 255, 255, 0)), "JPEG"), (30, 20)),
    "palette PNG": (palette_png, (16, 16)),
    "16-bit PNG": (sixteen_bit_png, (64, 32)),
    "RGBA PNG": (lambda: encode(Image.new("RGBA", (10, 12), (255, 0, 0, 0)), "PNG"), (10, 12)),
    "grayscale PNG": (lambda: encode(Image.new("L", (25, 25), 90), "PNG"), (25, 25)),
    "animated GIF": (animated_gif, (20, 20)),
    "1x1 PNG": (lambda: encode(Image.new("RGB", (1, 1), (9, 9, 9)), "PNG"), (1, 1)),
    "huge PNG": (lambda: encode(Image.new("RGB", (4096, 3072), (0, 0, 255)), "PNG", compress_level=1), (2048, 1536)),
}  # fmt: skip


@pytest.mark.parametrize("kind", ODD_IMAGES)
def test_odd_images_load_as_rgb_and_can_be_classified(kind, lite0):
    make, size = ODD_IMAGES[kind]
    image = read_image(make())
    assert image.mode == "RGB" and image.size == size and max(image.size) <= MAX_SIDE
    assert len(lite0.predict(image)) == 5
    assert lite0.gradcam(image, 0).shape == (image.height, image.width)


def test_odd_images_keep_their_content():
    assert read_image(animated_gif()).getpixel((5, 5))[0] > 200  # the first (red) frame
    assert read_image(ODD_IMAGES["RGBA PNG"][0]()).getpixel((0, 0)) == (255, 255, 255)  # transparent -> white
    assert read_image(palette_png()).getpixel((0, 0)) == (255, 255, 0)
    sixteen = np.asarray(read_image(sixteen_bit_png()))
    assert sixteen.min() == 0 and sixteen.max() == 255
    red, green, blue = read_image(ODD_IMAGES["CMYK JPEG"][0]()).getpixel((10, 10))
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("decompression bomb", png_claiming_size(20_000, 20_000), "too large to open safely"),
        ("64 megapixels", png_claiming_size(8000, 8000), "megapixels are refused"),
        ("truncated JPEG", None, "damaged or truncated"),
        ("not an image", b"%PDF-1.4 this is a document", "not an image"),
        ("empty file", b"", "empty"),
    ],
)
def test_unreadable_files_fail_with_a_clear_message(kind, data, message):
    if data is None:
        photo = encode(sample_image("coffee"), "JPEG")
        data = photo[: len(photo) // 2]
    with pytest.raises(InputError, match=message):
        read_image(data)


# --- user-added transformers classifiers ----------------------------------------------------------


def save_tiny_hf_classifier(folder, kind: str) -> None:
    from transformers import (
        ResNetConfig,
        ResNetForImageClassification,
        ViTConfig,
        ViTForImageClassification,
        ViTImageProcessorPil,
    )

    labels = {0: "circle", 1: "square", 2: "triangle"}
    torch.manual_seed(0)
    if kind == "resnet":
        config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3, id2label=labels)
        model = ResNetForImageClassification(config)
    else:
        config = ViTConfig(
            image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=32, num_labels=3, id2label=labels,
        )  # fmt: skip
        model = ViTForImageClassification(config)
    model.save_pretrained(folder)
    ViTImageProcessorPil(size={"height": 32, "width": 32}).save_pretrained(folder)


@pytest.mark.parametrize("kind", ["resnet", "vit"])
def test_user_transformers_classifier_through_the_registry(kind, tmp_path, chelsea):
    save_tiny_hf_classifier(tmp_path, kind)
    spec = user_spec({"task": "image-classification", "path": str(tmp_path), "id": "tiny"})
    model = Registry.from_specs([spec], device=torch.device("cpu")).load("tiny")
    classifier = as_image_classifier(model, spec.name)
    assert isinstance(classifier, HFImageClassifier)
    assert classifier.labels == ["circle", "square", "triangle"]
    top = classifier.predict(chelsea, top_k=5)
    assert len(top) == 3 and sum(p for *_, p in top) == pytest.approx(1.0, abs=1e-4)
    assert classifier.preprocess_steps(chelsea)[0][1].shape == (3, 32, 32)
    if kind == "resnet":
        heatmap = classifier.gradcam(chelsea, top[0][1])
        assert heatmap.shape == (chelsea.height, chelsea.width) and 0 <= heatmap.min() <= heatmap.max() <= 1
        layer = classifier.layer_names()[-1]
        assert classifier.feature_maps(chelsea, layer).ndim == 3
        assert classifier.first_layer_filters().shape[1] == 3
    else:
        with pytest.raises(UnsupportedError, match="deep convolutional feature map"):
            classifier.gradcam(chelsea, 0)


def test_anything_else_is_not_an_image_classifier():
    with pytest.raises(ModelLoadError):
        as_image_classifier(object(), "a word-vector file")
