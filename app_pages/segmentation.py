"""Segmentation: a label for every pixel. Person masks, a U-Net that learns in front of you, and
object masks from a classifier's class activations."""

import hashlib
import html

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

import ui
from models import segmentation as seg
from models.classification import ImageClassifier, as_image_classifier
from models.classification_viz import overlay_heatmap
from models.images import SAMPLES, sample_image
from models.segmentation_shapes import CLASS_NAMES, synthetic_sample
from models.unet import TrainConfig, UNet, UNetTrainer, architecture_dot

MODES = ["Person", "U-Net", "Object"]

ui.header(
    "Segmentation",
    "Classification names a whole image; segmentation labels every pixel. Cut out people, watch a U-Net "
    "learn shapes, and turn a classifier's attention into an object mask.",
)
ui.url_state("seg_mode", MODES[0])
mode = st.segmented_control("Mode", MODES, key="seg_mode", required=True) or MODES[0]


def swatch(colour: str) -> str:
    return (
        f'<span style="display:inline-block;width:0.9em;height:0.9em;background:{colour};'
        'border:1px solid #888;vertical-align:middle"></span>'
    )


def class_legend(names: list[str], palette: np.ndarray) -> None:
    """Which colour is which class, for pictures of masks."""
    entries = [
        f"{swatch('#{:02x}{:02x}{:02x}'.format(*colour))} {html.escape(name)}"
        for name, colour in zip(names, palette, strict=True)
    ]
    st.markdown("Legend: " + "&emsp;".join(entries), unsafe_allow_html=True)


def show_mask(result: seg.Segmentation, key: str, file_name: str) -> None:
    """Legend with colours, area share per class, and the mask as a PNG download."""
    rows = seg.area_shares(result)
    legend = " ".join(f"{swatch(colour)} **{html.escape(name)}** {share:.1%}&emsp;" for name, colour, share in rows)
    st.markdown(f"Legend and area: {legend}", unsafe_allow_html=True)
    st.download_button(
        "Download mask (PNG)",
        seg.mask_png(result),
        file_name=file_name,
        mime="image/png",
        key=f"{key}_download",
        icon=":material/download:",
        help="A palette PNG: each pixel's value is its class index, shown in the class colour.",
    )


def image_digest(image: Image.Image) -> str:
    return hashlib.sha1(image.tobytes() + str(image.size).encode()).hexdigest()


# --- Person mode -------------------------------------------------------------------------------


def person_mode() -> list[str]:
    spec = ui.model_select("segmentation", "Segmentation model", key="seg_model")
    if spec is None:
        return []
    left, right = st.columns([1, 1])
    with left:
        image = ui.image_input("seg", default_sample="astronaut")
    if image is None:
        st.info("Pick a sample, upload a photo or take a picture.")
        return [spec.id]
    with right:
        ui.url_state("seg_opacity", 0.6)
        opacity = st.slider("Mask opacity", 0.0, 1.0, step=0.05, key="seg_opacity")
        ui.url_state("seg_threshold", 0.5)
        threshold = st.slider("Threshold", 0.05, 0.95, step=0.05, key="seg_threshold")
    result = ui.infer(spec.id, seg.as_segmenter, lambda segmenter: segmenter.segment(image, threshold))
    if result is None:
        return [spec.id]

    st.subheader("The mask")
    mask_column, probability_column = st.columns(2)
    mask_column.image(seg.overlay(image, result, opacity), caption=f"{spec.name}: mask over the photo")
    if result.probability is not None:
        probability_column.image(
            result.probability, caption="The model's probability per pixel (white = certain)", clamp=True
        )
    else:
        probability_column.image(seg.colour_mask(result), caption="Class per pixel")
    show_mask(result, "person", "mask.png")

    st.subheader("Background effects")
    ui.url_state("seg_effect", "blur")
    effect = st.segmented_control("New background", ["blur", "colour", "image"], key="seg_effect", required=True)
    if effect == "colour":
        colour = st.color_picker("Colour", "#2e7d32", key="seg_colour")
        background = seg.solid_background(image, colour)
    elif effect == "image":
        names = list(SAMPLES)
        ui.url_state("seg_background", "rocket")
        other = st.selectbox("Background photo", names, key="seg_background")
        background = seg.fitted_background(image, sample_image(other))
    else:
        ui.url_state("seg_blur", 12)
        radius = st.slider("Blur radius", 2, 40, key="seg_blur")
        background = seg.blurred_background(image, radius)
    composite_column, cutout_column = st.columns(2)
    composite_column.image(
        seg.replace_background(image, result.alpha, background), caption="Person on a new background"
    )
    cut = seg.cutout(image, result.alpha)
    cutout_column.image(cut, caption="Cut-out with transparency")
    cutout_column.download_button(
        "Download cut-out (PNG)",
        seg.png_bytes(cut),
        file_name="cutout.png",
        mime="image/png",
        icon=":material/download:",
    )
    return [spec.id]


# --- U-Net mode --------------------------------------------------------------------------------


def zoom(picture: np.ndarray, factor: int = 4) -> np.ndarray:
    """Nearest-neighbour enlargement, so small synthetic images stay crisp on a projector."""
    return picture.repeat(factor, axis=0).repeat(factor, axis=1)


def masks_row(images: np.ndarray, truth: np.ndarray, predicted: np.ndarray | None) -> np.ndarray:
    """Validation images above their true masks and (when given) the predicted ones, as one picture."""
    colours = seg.palette(len(CLASS_NAMES)).astype(np.float32) / 255
    rows = [images.transpose(0, 2, 3, 1), colours[truth]] + ([] if predicted is None else [colours[predicted]])
    return zoom(np.concatenate([np.concatenate(list(row), axis=1) for row in rows], axis=0).clip(0, 1), 3)


def unet_mode() -> list[str]:
    config = TrainConfig()
    st.subheader("The network")
    st.graphviz_chart(architecture_dot(UNet(len(CLASS_NAMES), config.width, config.depth), config.size))
    st.caption(
        "The encoder halves the image three times while adding channels: it learns *what* is there. The "
        "decoder doubles it back, and the skip connections hand it the encoder's sharp early features: *where* "
        "exactly. The last 1×1 convolution scores the 4 classes for every pixel."
    )

    st.subheader("Train it")
    ui.url_state("seg_steps", config.steps)
    steps = st.slider("Training steps", 20, 1500, step=20, key="seg_steps")
    trainer: UNetTrainer | None = st.session_state.get("seg_trainer")
    if st.button("Train a fresh U-Net", type="primary", icon=":material/play_arrow:", key="seg_train"):
        trainer = UNetTrainer(TrainConfig(steps=steps))
        progress = st.progress(0.0, text="Starting…")
        loss_chart, masks_picture = st.empty(), st.empty()
        refresh = max(1, steps // 10)
        snapshots: list[tuple[int, np.ndarray]] = []  # (step, predicted validation masks), for the replay

        def on_step(step: int, loss: float) -> None:
            progress.progress(step / steps, text=f"Step {step}/{steps} · loss {loss:.3f} · {trainer.seconds:.0f} s")
            if step % max(1, steps // 50) == 0 or step == steps:
                loss_chart.line_chart(pd.DataFrame({"training loss": trainer.losses}), x_label="step", height=220)
            if step % refresh == 0 or step == steps:
                images, truth = trainer.validation
                snapshots.append((step, trainer.predict(images)))
                masks_picture.image(
                    masks_row(images, truth, snapshots[-1][1]),
                    caption=f"Validation images, true masks, predictions after {step} steps",
                )

        trainer.train(on_step)
        st.session_state["seg_trainer"] = trainer
        st.session_state["seg_snapshots"] = snapshots
        progress.empty()
    if trainer is None:
        images, truth = UNetTrainer(config).validation
        st.image(masks_row(images, truth, None), caption="Validation images and their true masks")
        return []

    scores = trainer.evaluate()
    mean_iou = float(np.nanmean(list(scores.values())))
    st.success(
        f"Trained {trainer.step_count} steps in {trainer.seconds:.0f} s: mean IoU {mean_iou:.3f} on 64 held-out images."
    )
    images, truth = trainer.validation
    left, right = st.columns([3, 2])
    left.line_chart(pd.DataFrame({"training loss": trainer.losses}), x_label="step", height=220)
    right.bar_chart(pd.DataFrame({"IoU": scores}), horizontal=True, height=220)
    snapshots = st.session_state.get("seg_snapshots") or [(trainer.step_count, trainer.predict(images))]
    st.markdown("**The validation masks as it learned** (replayed from the training run, no retraining)")

    def draw_snapshot(index: int) -> None:
        step, predicted = snapshots[index - 1]
        st.image(
            masks_row(images, truth, predicted),
            caption=f"Validation images, true masks, predictions after {step} steps",
        )

    ui.replay("seg_replay", len(snapshots), draw_snapshot, "Logged step", start_at_end=True, identity=id(trainer))
    class_legend(CLASS_NAMES, seg.palette(len(CLASS_NAMES)))

    st.subheader("Segment a new random image")
    if st.button("New random image", icon=":material/casino:", key="seg_new_image"):
        st.session_state["seg_sample_seed"] = int(np.random.default_rng().integers(1_000_000))
    seed = st.session_state.get("seg_sample_seed", 2026)
    picture, labels = synthetic_sample(np.random.default_rng(seed), config.size)
    predicted = trainer.predict(picture.transpose(2, 0, 1)[None])[0]
    result = seg.Segmentation(predicted, CLASS_NAMES, seg.palette(len(CLASS_NAMES)))
    columns = st.columns(3)
    columns[0].image(zoom(picture, 8), caption=f"Random image #{seed}")
    columns[1].image(zoom(result.palette[labels], 8), caption="True mask")
    columns[2].image(zoom(seg.colour_mask(result), 8), caption="U-Net's mask")
    show_mask(result, "unet", "unet_mask.png")
    return []


# --- Object mode --------------------------------------------------------------------------------


@st.cache_data(show_spinner="Computing Grad-CAM…", max_entries=16)
def cached_gradcam(
    model_id: str, digest: str, _image: Image.Image, _classifier: ImageClassifier
) -> tuple[list, np.ndarray]:
    top = _classifier.predict(_image, top_k=3)
    return top, _classifier.gradcam(_image, top[0][1])


@st.cache_data(show_spinner="Refining with GrabCut…", max_entries=16)
def cached_grabcut(digest: str, threshold: float, _image: Image.Image, _heatmap: np.ndarray) -> seg.GrabCutSteps:
    return seg.grabcut_refine(_image, _heatmap, threshold)


def object_mode() -> list[str]:
    spec = ui.model_select("image-classification", "Classifier", key="seg_classifier")
    if spec is None:
        return []
    image = ui.image_input("seg_object", default_sample="cat (chelsea)")
    if image is None:
        st.info("Pick a sample, upload a photo or take a picture.")
        return [spec.id]
    found = ui.infer(
        spec.id, as_image_classifier, lambda classifier: cached_gradcam(spec.id, image_digest(image), image, classifier)
    )
    if found is None:
        return [spec.id]
    top, heatmap = found
    label, _, probability = top[0]
    st.markdown(
        f"**Top class: {label}** ({probability:.0%}); then " + ", ".join(f"{name} ({p:.0%})" for name, _, p in top[1:])
    )
    ui.url_state("seg_cam_threshold", 0.5)
    threshold = st.slider("Heatmap threshold", 0.1, 0.9, step=0.05, key="seg_cam_threshold")
    steps = ui.run_or_report(lambda: cached_grabcut(image_digest(image), threshold, image, heatmap))
    columns = st.columns(3)
    columns[0].image(overlay_heatmap(image, heatmap, 0.5), caption=f"1 · Grad-CAM for '{label}'")
    if steps is None:
        return [spec.id]
    columns[1].image(seg.seed_picture(steps.seeds), caption="2 · Thresholded: GrabCut's starting labels")
    result = seg.Segmentation(steps.mask.astype(np.int64), ["background", label], seg.palette(2))
    columns[2].image(seg.overlay(image, result, 0.6), caption="3 · After GrabCut: the object mask")
    st.caption(
        "Seed colours: "
        + ", ".join(
            f"{name} ({'#{:02x}{:02x}{:02x}'.format(*colour)})"
            for name, colour in zip(seg.SEED_NAMES, seg.SEED_COLOURS, strict=True)
        )
    )
    show_mask(result, "object", "object_mask.png")
    return [spec.id]


with ui.friendly_errors():
    if mode == "Person":
        model_ids = person_mode()
    elif mode == "U-Net":
        model_ids = unet_mode()
    else:
        model_ids = object_mode()

ui.how_it_works(
    """
**Segmentation** predicts a class for every pixel instead of one for the image. The networks are
*fully convolutional*: an encoder shrinks the image into coarse, meaningful features, a decoder
grows them back to full resolution, and a last layer scores each class at each pixel.

- **Person**: MediaPipe's selfie segmenter (a MobileNetV3-style encoder-decoder, 0.25 MB) converted
  from TensorFlow Lite to PyTorch by this project, operator by operator. Its soft mask is the alpha
  channel of the cut-out, so hair and edges blend instead of looking cut with scissors.
- **U-Net**: the classic encoder-decoder with skip connections, trained from scratch right here on
  synthetic shapes with random colours, so it has to learn outlines, not colours. Quality is the
  *intersection over union* (IoU) of predicted and true pixels of each class.
- **Object**: no segmentation training at all. An ImageNet classifier's Grad-CAM says roughly where
  the top class is; thresholding gives seeds, and OpenCV's GrabCut fits colour models of object and
  background and cuts along image edges between them.
""",
    model_ids,
)
ui.sync_url()
