"""Segmentation: a label for every pixel. Person masks, a U-Net that learns in front of you, object masks
from a classifier's class activations, and instance masks from a Mask R-CNN shown stage by stage."""

import hashlib
import html

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

import ui
import url_params as P
from models.classification.classifier import ImageClassifier, as_image_classifier
from models.classification.plots import overlay_heatmap
from models.core.images import read_image, sample_image
from models.segmentation import instances as inst
from models.segmentation import instances_plots as inst_viz
from models.segmentation import segmenter as seg
from models.segmentation.instance_shapes import CLASS_NAMES as SHAPE_CLASSES
from models.segmentation.instance_shapes import Scene, heavy_overlap_scene, page_scene
from models.segmentation.shapes import CLASS_NAMES, synthetic_sample
from models.segmentation.unet import TrainConfig, UNet, UNetTrainer, architecture_dot

ui.header(
    "Segmentation",
    "Classification names a whole image; segmentation labels every pixel. Cut out people, watch a U-Net "
    "learn shapes, turn a classifier's attention into an object mask, and tell every single object apart "
    "with a Mask R-CNN.",
)
mode = st.segmented_control("Mode", **ui.bound(P.SEG_MODE), required=True) or P.SEG_MODE.default


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


# Cached by model, image and threshold: moving the opacity slider redraws without running the model again.
@st.cache_data(max_entries=32, show_spinner=False)
def cached_mask(model_id: str, digest: str, threshold: float, _image: Image.Image, _segmenter) -> seg.Segmentation:
    return _segmenter.segment(_image, threshold)


def person_mode() -> list[str]:
    spec = ui.choose_model(P.SEG_MODEL, "Segmentation model")
    if spec is None:
        return []
    left, right = st.columns([1, 1])
    with left:
        image = ui.image_input("seg", P.SEG_IMAGE)
    if image is None:
        st.info("Pick a sample, upload a photo or take a picture.")
        return [spec.id]
    with right:
        opacity = st.slider("Mask opacity", **ui.bound(P.SEG_OPACITY))
        threshold = st.slider("Threshold", **ui.bound(P.SEG_THRESHOLD))
    digest = image_digest(image)
    result = ui.infer(
        spec.id, seg.as_segmenter, lambda segmenter: cached_mask(spec.id, digest, threshold, image, segmenter)
    )
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
    effect = st.segmented_control("New background", **ui.bound(P.SEG_EFFECT), required=True)
    if effect == "colour":
        colour = st.color_picker("Colour", "#2e7d32", key="seg_colour")
        background = seg.solid_background(image, colour)
    elif effect == "image":
        other = st.selectbox("Background photo", **ui.bound(P.SEG_BACKGROUND))
        background = seg.fitted_background(image, sample_image(other))
    else:
        radius = st.slider("Blur radius", **ui.bound(P.SEG_BLUR))
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
    steps = st.slider("Training steps", **ui.bound(P.SEG_STEPS.given(default=config.steps)))
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
    spec = ui.choose_model(P.SEG_CLASSIFIER, "Classifier")
    if spec is None:
        return []
    image = ui.image_input("seg_object", P.SEG_OBJECT_IMAGE)
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
    threshold = st.slider("Heatmap threshold", **ui.bound(P.SEG_CAM_THRESHOLD))
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


# --- Instances mode (Mask R-CNN) ------------------------------------------------------------------

STAGES = P.SEG_STAGES
UPLOAD_NOTE = (
    "The default model knows only flat circles, squares, triangles and stars: on a photo it finds shapes or "
    "nothing. For real photos, add a transformers instance-segmentation model (e.g. Mask2Former) in "
    '`studio.toml` with `task = "instance-segmentation"` and pick it above.'
)


@st.cache_resource(show_spinner="Running the backbone, the RPN and the box head…", max_entries=32)
def cached_stages(model_id: str, digest: str, _image: Image.Image, _segmenter) -> inst.StagedImage:
    """The expensive part of Mask R-CNN, once per image: the sliders only redo the post-processing."""
    return _segmenter.stages(_image)


@st.cache_data(show_spinner="Finding instances…", max_entries=32)
def cached_instances(model_id: str, digest: str, score: float, iou: float, _image: Image.Image, _segmenter):
    return _segmenter.segment(_image, score, iou)


def new_scene_seed() -> None:
    st.session_state["seg_scene_seed"] = int(np.random.default_rng().integers(1, 100_000))


def instance_scene() -> tuple[Image.Image | None, Scene | None]:
    """The picture to segment and, for generated scenes, the truth behind it."""
    source = st.segmented_control("Scene", **ui.bound(P.SEG_SCENE), required=True) or P.SEG_SCENE.default
    if source == "Upload":
        st.caption(UPLOAD_NOTE)
        upload = st.file_uploader("Upload an image", key="seg_scene_upload")
        return (ui.run_or_report(lambda: read_image(upload.getvalue())) if upload else None), None
    if source == "Heavy overlap":
        scene = heavy_overlap_scene()
    else:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        left.number_input("Scene seed", **ui.bound(P.SEG_SCENE_SEED))
        right.button("New random scene", icon=":material/casino:", key="seg_scene_new", on_click=new_scene_seed)
        scene = page_scene(st.session_state["seg_scene_seed"])
    return Image.fromarray(scene.image), scene


def count_text(names: list[str]) -> str:
    counts = {name: names.count(name) for name in dict.fromkeys(names)}
    return ", ".join(f"{count} {name}{'s' if count > 1 else ''}" for name, count in counts.items()) or "nothing"


def anchors_stage(staged: inst.StagedImage, detections) -> None:
    config, strides, side = staged.config, staged.strides, staged.config.image_size
    levels = list(range(len(strides)))
    middle = [side * 7 / 16, side * 7 / 16, side * 9 / 16, side * 9 / 16]  # a box in the middle, when none was found
    best = detections.boxes[0].tolist() if len(detections.boxes) else middle
    best_size = ((best[2] - best[0]) * (best[3] - best[1])) ** 0.5
    nearest = min(levels, key=lambda level: abs(np.log(best_size / config.anchor_sizes[level][0])))
    picture_column, table_column = st.columns([3, 2])
    with table_column:
        level = st.selectbox(
            "Pyramid level",
            **ui.bound(P.SEG_ANCHOR_LEVEL.given(choices=tuple(levels), default=nearest)),
            format_func=lambda i: f"P{i + 3}: stride {strides[i]}, anchors {config.anchor_sizes[i]} px",
        )
        x_param = P.SEG_ANCHOR_X.given(default=round((best[0] + best[2]) / 2), high=side - 1)
        y_param = P.SEG_ANCHOR_Y.given(default=round((best[1] + best[3]) / 2), high=side - 1)
        x = st.slider("Location x", **ui.bound(x_param))
        y = st.slider("Location y", **ui.bound(y_param))
        picture, rows = inst_viz.anchors_picture(staged.frame.canvas, staged.stages, config, level, x, y)
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    picture_column.image(
        picture,
        caption=f"Anchors of the P{level + 3} cell at ({x}, {y}); the dots are every cell centre of this level",
    )
    st.caption(
        f"Every cell of P3–P6 holds {config.anchors_per_cell} anchors: {len(config.anchor_sizes[level])} sizes × "
        f"{len(config.aspect_ratios)} aspect ratios, {staged.anchor_count:,} in all. The RPN scores each one "
        "(objectness) and predicts how to shift and stretch it onto an object."
    )


def proposals_stage(stages, canvas: Image.Image) -> tuple[int, int]:
    left, right = st.columns(2)
    count = left.slider("Proposals drawn", **ui.bound(P.SEG_PROPOSALS))
    after = right.toggle("After the RPN's NMS", **ui.bound(P.SEG_PROPOSALS_NMS))
    boxes, scores = (
        (stages.proposals, stages.proposal_scores) if after else (stages.candidates, stages.candidate_scores)
    )
    st.image(
        inst_viz.proposals_picture(canvas, boxes[:count].numpy(), scores[:count].numpy()),
        caption=f"The RPN's top {min(count, len(boxes))} proposals "
        + ("after" if after else "before")
        + " its NMS, coloured by objectness",
    )
    ui.colour_legend("unsure", "sure", inst_viz.VIRIDIS_STOPS, "objectness")
    return len(stages.candidates), len(stages.proposals)


def show_instances(found: inst.Instances) -> None:
    """Stage 5: each instance's mask in its colour, the legend, counts per class, the table, the download."""
    st.image(inst_viz.masks_picture(found), caption=f"{len(found)} instances, each in its own colour")
    st.caption(
        "The mask head paints a 28×28 mask of the detected class inside each box; stretched back over the box "
        "and cut at 0.5 it becomes the instance's mask. Masks may overlap; in the map the better score wins."
    )
    legend = "&emsp;".join(
        f"{swatch(inst_viz.hex_colour(colour))} **{index + 1}** {html.escape(found.class_names[kind])} {score:.2f}"
        for index, (colour, kind, score) in enumerate(zip(found.colours, found.classes, found.scores, strict=True))
    )
    st.markdown(f"Legend: {legend or 'no instance above the threshold'}", unsafe_allow_html=True)
    if not len(found):
        st.info("No instance scores above the threshold: lower the score threshold.")
        return
    counts = inst.class_counts(found)
    for column, (name, count) in zip(st.columns(len(counts)), counts.items(), strict=True):
        column.metric(name, count)
    st.dataframe(pd.DataFrame(inst.instance_rows(found)), hide_index=True)
    st.download_button(
        "Download instance map (PNG)",
        inst.instance_png(found),
        file_name="instances.png",
        mime="image/png",
        key="seg_instances_download",
        icon=":material/download:",
        help="A palette PNG: each pixel's value is its instance number (0 = background), in the instance's colour.",
    )


def instances_mode() -> list[str]:
    spec = ui.choose_model(P.SEG_INSTANCE_MODEL, "Instance segmentation model")
    if spec is None:
        return []
    image, scene = instance_scene()
    if image is None:
        st.info("Upload an image, or pick a random scene.")
        return [spec.id]
    with ui.secondary_controls("Thresholds"):
        left, right = st.columns(2)
        score = left.slider("Score threshold", **ui.bound(P.SEG_SCORE), help="Detections scoring less are dropped.")
        iou = right.slider(
            "NMS IoU threshold",
            **ui.bound(P.SEG_NMS_IOU),
            help="Of two same-class boxes overlapping more than this, NMS keeps only the better one.",
        )
    digest = image_digest(image)

    def run(segmenter):
        if isinstance(segmenter, inst.MaskRCNNSegmenter):
            staged = cached_stages(spec.id, digest, image, segmenter)
            return (staged, *staged.finish(score, iou))
        return None, cached_instances(spec.id, digest, score, iou, image, segmenter), None

    result = ui.infer(spec.id, inst.as_instance_segmenter, run)
    if result is None:
        return [spec.id]
    staged, found, detections = result
    found_names = [found.class_names[c] for c in found.classes]
    summary = f"**Found {len(found)} instance{'s' if len(found) != 1 else ''}**: {count_text(found_names)}."
    if scene is not None:
        truth = count_text([SHAPE_CLASSES[c] for c in scene.classes])
        summary += f" The scene holds {len(scene.classes)}: {truth}."
    st.markdown(summary)
    st.caption("Time: " + " · ".join(f"{name} {1000 * value:.0f} ms" for name, value in found.seconds.items()))
    if staged is None:
        st.info(f"{spec.name} predicts a set of masks directly: no anchors, proposals or NMS to show.")
        st.image(inst_viz.detections_picture(found), caption="Detections: class and score")
        show_instances(found)
        return [spec.id]
    with ui.main_result():
        every = st.toggle("Show all stages at once", **ui.bound(P.SEG_ALL_STAGES))
        shown = STAGES if every else [st.select_slider("Stage", **ui.bound(P.SEG_STAGE))]
        for stage in shown:
            st.subheader(stage)
            if stage == STAGES[0]:
                anchors_stage(staged, detections)
            elif stage == STAGES[1]:
                scored, kept = proposals_stage(staged.stages, staged.frame.canvas)
                config = staged.config
                st.caption(
                    f"Each level's {config.pre_nms[1]} best-scoring anchors, shifted by their deltas: "
                    f"{scored} boxes; the RPN's NMS (IoU {config.rpn_nms_iou}) keeps at most "
                    f"{config.post_nms[1]}, here {kept}. Those go to the box head."
                )
            elif stage == STAGES[2]:
                st.image(
                    inst_viz.nms_picture(staged.frame.canvas, detections, found.class_names),
                    caption="Grey: the candidates; in their class's colour: what NMS keeps",
                )
                st.caption(
                    f"The box head gave {len(detections.candidate_boxes)} (proposal, class) pairs a score of at "
                    f"least {score:.2f}: the candidates. NMS within each class, at IoU {iou:.2f}, kept "
                    f"{len(detections.boxes)} of them. Move the two sliders: only this post-processing reruns."
                )
            elif stage == STAGES[3]:
                st.image(inst_viz.detections_picture(found), caption="Final detections: class, score and box")
                class_legend(found.class_names[1:], seg.palette(len(found.class_names))[1:])
                st.caption(
                    "For each proposal the box head gives a probability per class and a refined box per class; "
                    "these are the refined boxes that passed the threshold and NMS, with their class probability."
                )
            else:
                show_instances(found)
    return [spec.id]


with ui.friendly_errors():
    if mode == "Person":
        model_ids = person_mode()
    elif mode == "U-Net":
        model_ids = unet_mode()
    elif mode == "Object":
        model_ids = object_mode()
    else:
        model_ids = instances_mode()

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
- **Instances (Mask R-CNN)**: a class per pixel cannot tell two touching circles apart; instance segmentation
  finds each object on its own. Mask R-CNN first *proposes* regions: at every cell of a feature pyramid a
  small network (the region proposal network, RPN) scores a few *anchor* boxes of set sizes and shapes for
  "is there an object?" and nudges them to fit. Non-maximum suppression (NMS) keeps the best of overlapping
  boxes. RoIAlign samples each proposal's features on a fixed grid; a box head names its class and refines
  its box, and a mask head paints a 28×28 mask of the object, stretched back over the box. The default model
  was trained by this project on generated shapes (card below). Its quality is COCO's average precision
  (AP): how well its ranked detections match the true instances, at mask overlaps (IoU) from 0.5 to 0.95.
""",
    model_ids,
)
ui.sync_url()
