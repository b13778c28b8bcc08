"""Image classification: a pretrained CNN names what it sees, Grad-CAM shows where it looked, the
layers show what it computes, and transfer learning teaches it new classes from a few photos."""

from functools import partial

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

import ui
import url_params as P
from models.classification.classifier import EfficientNetClassifier, as_image_classifier
from models.classification.plots import (
    channel_pictures,
    feature_grid,
    filter_grid,
    heatmap_stops,
    overlay_heatmap,
    tensor_picture,
)
from models.classification.transfer import (
    EXAMPLE_CLASSES,
    MAX_CLASSES,
    MIN_CLASSES,
    collect_features,
    example_classes,
    head_from_bytes,
    head_to_bytes,
    train_head,
)
from models.core import display
from models.core.errors import InputError
from models.core.images import read_image

NEW_MODEL = "cls_new_model"  # the session's classifier with a head trained on the user's classes
NEW_LOSSES = "cls_new_losses"
CAMERA_SHOTS = "cls_camera_shots"  # class slot -> photos taken with the camera
DEFAULT_BACKBONE = "efficientnet-lite0"


# The network's answers, cached by model id, image and question: a rerun that changes only a view (the heatmap's
# opacity, another tab's control) runs nothing again, and a class that opens the same sample photo shares them.
# `_model` (the shared copy, or the CPU copy after the GPU ran out of memory: the same answer) is not in the key.
@st.cache_data(max_entries=64, show_spinner=False)
def top_classes(model_id: str, image: Image.Image, _model) -> list[tuple[str, int, float]]:
    return _model.predict(image, top_k=5)


@st.cache_data(max_entries=64, show_spinner=False)
def gradcam(model_id: str, image: Image.Image, class_index: int, _model) -> np.ndarray:
    return _model.gradcam(image, class_index)


@st.cache_data(max_entries=64, show_spinner=False)
def feature_maps(model_id: str, image: Image.Image, layer: str, _model) -> np.ndarray:
    return _model.feature_maps(image, layer)


def show_predictions(predictions: list[tuple[str, int, float]]) -> None:
    for label, _, probability in predictions:
        st.progress(probability, text=f"**{label}** — {probability:.1%}")


def show_gradcam(image: Image.Image, heatmap: np.ndarray | None, opacity: float) -> None:
    if heatmap is not None:
        overlay, raw = st.columns(2)
        overlay.image(overlay_heatmap(image, heatmap, opacity), caption="Grad-CAM over the image")
        raw.image(heatmap, caption="the heatmap alone (white = strongest evidence)", clamp=True)
        ui.colour_legend("no evidence", "strongest evidence", heatmap_stops(), "Overlay colours:")


ui.header(
    "Image classification",
    "A convolutional network names what it sees, Grad-CAM shows where it looked, and its features learn your classes.",
)

spec, classifier = ui.choose_and_load_model(P.CLS_MODEL, "Model", as_image_classifier)
image = ui.image_input("cls_image", P.CLS_IMAGE)
if image is None:
    st.info("Pick a sample photo, upload an image or take a picture.")
    st.stop()

# --- what it sees -------------------------------------------------------------------------------
predictions = ui.infer(spec.id, as_image_classifier, partial(top_classes, spec.id, image))
if predictions is None:
    st.stop()
with ui.main_result():
    photo, result = st.columns([2, 3])
photo.image(image, caption=f"input, {image.width}x{image.height}")
with result:
    st.subheader("Top 5")
    show_predictions(predictions)

predict_tab, inside_tab, teach_tab = st.tabs(["Where it looked", "Inside the network", "Teach it new classes"])

with predict_tab:
    st.markdown("#### Preprocessing, step by step")
    steps = ui.run_or_report(lambda: classifier.preprocess_steps(image))
    if steps:
        for column, (caption, picture) in zip(st.columns(len(steps)), steps, strict=True):
            if isinstance(picture, Image.Image):
                column.image(picture, caption=caption, width="stretch")
            else:
                column.image(tensor_picture(picture), caption=caption + " (stretched to show)", width="stretch")
        st.caption("The three channels the network receives (blue = negative, red = positive):")
        for column, name, picture in zip(st.columns(3), "RGB", channel_pictures(steps[-1][1]), strict=True):
            column.image(picture, caption=f"{name} channel", width="stretch")

    st.markdown("#### Grad-CAM: where the evidence for a class is")
    choices = {index: f"{label} ({probability:.0%})" for label, index, probability in predictions}
    class_index = st.radio("Explain", list(choices), format_func=choices.get, horizontal=True, key="cls_explain")
    opacity = st.slider("Heatmap opacity", **ui.bound(P.CLS_OPACITY))
    heatmap = ui.infer(spec.id, as_image_classifier, partial(gradcam, spec.id, image, class_index))
    show_gradcam(image, heatmap, opacity)

with inside_tab:
    filters = classifier.first_layer_filters()
    if filters is not None:
        st.markdown(
            f"#### The first layer's {len(filters)} filters ({filters.shape[2]}x{filters.shape[3]} pixels each)"
        )
        st.image(filter_grid(filters), caption="grey = 0; colours show which colour and edge each filter picks up")
    layers = classifier.layer_names()
    if layers:
        st.markdown("#### Feature maps of a layer")
        layer = st.select_slider(
            "Layer (input side → output side)",
            **ui.bound(P.CLS_LAYER.given(choices=tuple(layers), default=layers[len(layers) // 3])),
        )
        maps = ui.infer(spec.id, as_image_classifier, partial(feature_maps, spec.id, image, layer))
        if maps is not None:
            st.image(
                feature_grid(maps),
                caption=f"{layer}: {maps.shape[0]} channels of {maps.shape[1]}x{maps.shape[2]}; "
                "the 32 most active, each scaled to its own range (yellow = high)",
                clamp=True,
            )

with teach_tab:
    st.markdown(
        "The network's last layer turns 1280 features into ImageNet's 1000 classes. Keep everything before it "
        "**frozen**, give a few photos of each of your classes, and train only a **new last layer**: seconds on a CPU."
    )
    backbone_id = spec.id if isinstance(classifier, EfficientNetClassifier) else DEFAULT_BACKBONE
    backbone = ui.require_model(backbone_id)
    if backbone_id != spec.id:
        st.caption(f"Transfer learning uses {backbone.name} as the frozen backbone.")

    use_examples = st.toggle(
        f"Use example classes ({', '.join(EXAMPLE_CLASSES)}: random crops of the sample photos)", key="cls_examples"
    )
    examples: dict[str, list[Image.Image]] = {}
    if use_examples:
        examples = example_classes()
        for column, (name, crops) in zip(st.columns(len(examples)), examples.items(), strict=True):
            column.image(crops, width=70, caption=[name] * len(crops))
    else:
        count = st.number_input("How many classes", MIN_CLASSES, MAX_CLASSES, 2, key="cls_class_count")
        shots: dict[int, list[Image.Image]] = st.session_state.setdefault(CAMERA_SHOTS, {})
        for slot, column in enumerate(st.columns(int(count))):
            with column:
                name = st.text_input("Class name", f"class {slot + 1}", key=f"cls_name_{slot}").strip()
                uploads = st.file_uploader("Photos", accept_multiple_files=True, key=f"cls_files_{slot}")
                images = []
                for upload in uploads or []:
                    try:
                        images.append(read_image(upload.getvalue()))
                    except InputError as exc:
                        st.warning(f"{upload.name}: {exc}")
                if st.toggle("Camera", key=f"cls_camera_on_{slot}"):
                    shot = st.camera_input("Take a photo", key=f"cls_camera_{slot}", label_visibility="collapsed")
                    if shot is not None and st.button("Add this photo", key=f"cls_add_{slot}"):
                        taken = ui.run_or_report(lambda shot=shot: read_image(shot.getvalue()))
                        if taken is not None:
                            shots.setdefault(slot, []).append(taken)
                images += shots.get(slot, [])
                st.caption(f"{len(images)} photo(s)")
                if images:
                    st.image(images, width=60)
                if name in examples:
                    st.warning("Two classes share this name.")
                examples[name] = images

    if st.button("Train the new head", type="primary", key="cls_train"):
        with ui.friendly_errors():
            with st.spinner("Running the frozen backbone over your photos…"):
                features, targets = collect_features(backbone, examples)
            progress = st.progress(0.0, text="Training the new head…")
            steps_total = 150

            def report(step: int, loss: float) -> None:
                if step % 10 == 9 or step == steps_total - 1:
                    progress.progress((step + 1) / steps_total, text=f"step {step + 1}/{steps_total}, loss {loss:.3f}")

            head, losses = train_head(features, targets, len(examples), steps=steps_total, on_step=report)
            st.session_state[NEW_MODEL] = backbone.with_head(head, list(examples), "your classes")
            st.session_state[NEW_LOSSES] = losses

    saved = st.file_uploader("…or load a head saved here before (.safetensors)", type=["safetensors"], key="cls_head")
    if saved is not None:
        loaded = ui.run_or_report(lambda: head_from_bytes(saved.getvalue(), backbone, f"{saved.name}"))
        if loaded is not None:
            st.session_state[NEW_MODEL], st.session_state[NEW_LOSSES] = loaded, []

    new_model: EfficientNetClassifier | None = st.session_state.get(NEW_MODEL)
    if new_model is not None:
        if new_model.backbone_id != backbone.backbone_id:
            st.warning(f"The new head was trained on {new_model.backbone_id}; it keeps using that backbone.")
        losses = st.session_state.get(NEW_LOSSES) or []
        if losses:
            st.markdown("#### Training loss")
            curve = pd.DataFrame({"step": range(1, len(losses) + 1), "cross-entropy": losses})
            chart = alt.Chart(curve).mark_line().encode(x="step:Q", y="cross-entropy:Q").properties(height=200)
            st.altair_chart(display.style_chart(chart), width="stretch")  # larger type in presenter mode
        st.markdown(f"#### Try it: {', '.join(new_model.labels)}")
        trial = ui.image_input("cls_try", P.CLS_TRY)
        if trial is not None:
            guess = ui.run_or_report(lambda: new_model.predict(trial, top_k=len(new_model.labels)))
            if guess is not None:
                left, right = st.columns([1, 1])
                with left:
                    show_predictions(guess)
                with right:
                    show_gradcam(trial, ui.run_or_report(lambda: new_model.gradcam(trial, guess[0][1])), 0.5)
        st.download_button(
            "Download the new head (safetensors)",
            head_to_bytes(new_model),
            file_name="classifier_head.safetensors",
            mime="application/octet-stream",
            key="cls_download",
        )

ui.how_it_works(
    """
**Classification.** The photo is resized and centre-cropped to the size the network was trained at, scaled to
[-1, 1], and pushed through ~16 blocks of convolutions. Early layers respond to edges and colours, later ones to
textures and parts; the last feature map (1280 channels on a coarse grid, 7x7 for a 224-pixel input) is averaged
and a linear layer turns it into 1000 class scores; softmax makes them probabilities.

**Grad-CAM** asks how much the score of one class would change with each feature channel (its gradient), weights
the last feature map's channels by that, and keeps the positive part: bright areas are where the evidence for that
class is. Here the network looks at the whole uncropped image for it, so the map covers every pixel.

**Transfer learning.** The features that tell 1000 ImageNet classes apart are useful for other classes too.
Keeping the backbone frozen and fitting only a new linear layer needs a handful of photos per class and a second
of training; each photo is also used mirrored.
""",
    [spec.id] if spec.id == backbone_id else [spec.id, backbone_id],
)
ui.sync_url()
