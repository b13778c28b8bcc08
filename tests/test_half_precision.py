"""Half precision, checked without a GPU. On CUDA the device policy loads models in bf16 (fp16 where a GPU
lacks bf16: models/core/device.py `half_dtype`); here `forced_half_dtype` loads every default model that
would get it in bf16 on the CPU, where dtype mismatches fail just as they would on a GPU, and compares it
with the fp32 model the CPU runs: the same choices (top-1, greedy text, labels, masks) except at near
ties, and plain CPU fp32 numpy arrays wherever results leave torch (numpy, OpenCV, PIL, plotly,
safetensors downloads). tools/gpu_check.py runs this file again with a GPU as the candidate device.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models import generation as gen
from models.core.device import forced_half_dtype
from models.core.images import sample_image
from models.core.loaders import load_hf
from models.segmentation.unet import TrainConfig, UNetTrainer
from models.sentiment import TRICKY_EXAMPLES
from tests.precision import (
    CANDIDATE_DEVICE,
    CANDIDATE_DTYPE,
    CPU,
    NEAR_TIE,
    RECITED,
    SPECS,
    Pairs,
    assert_fp32_array,
    assert_same_choices,
    assert_same_greedy_text,
    assert_same_translation,
    greedy_steps,
)

if CANDIDATE_DEVICE.type == "cuda" and not torch.cuda.is_available():
    pytest.skip("HALF_CHECK_DEVICE=cuda, but CUDA is not available", allow_module_level=True)

CHAR_LMS = [model_id for model_id, spec in SPECS.items() if spec.task == "char-lm"]
CLASSIFIERS = ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"]
PERSON_SEGMENTERS = ["selfie-segmentation", "selfie-segmentation-landscape"]
TRANSLATORS = ["translation-dates", "translation-enes"]
SENTIMENT = ["sentiment-bilstm", "sentiment-minilm"]
COMPARED = {
    *CHAR_LMS,
    *CLASSIFIERS,
    *PERSON_SEGMENTERS,
    *TRANSLATORS,
    *SENTIMENT,
    "smollm2-135m-instruct",
    "speech-whisper-tiny-en",
}
TRANSLATION_INPUTS = {
    "translation-dates": ["Thursday, 14 March 2041", "3/4/1999", "vendredi 24 déc. 1982"],
    "translation-enes": [
        "The light shines in the darkness, and the darkness has not overcome it.",
        "And God said, Let there be light.",
        "Love your enemies.",
    ],
}
# Default models that keep full precision on every device, and why.
FULL_PRECISION = {
    "glove-6b-50d": "word vectors in fp32, so the analogy scores stay exactly gensim's",
    "sentiment-vader": "a word list with rules, no tensors",
    "sentiment-tfidf": "numpy logistic regression",
    "translation-ibm1": "numpy word-alignment tables",
    "spacy-en-core-web-sm": "spaCy runs on the CPU",
    "mask-rcnn-shapes": "its loader keeps fp32 on every device; tests/test_gpu.py compares its CUDA run with the CPU",
    "speech-pocketsphinx": "pocketsphinx decodes on the CPU in its own C code, no tensors",
    "speech-silero-vad": "its loader keeps fp32 on every device: 309,000 parameters, nothing to save",
    **{
        model_id: "the transformer page's copy, fp32 on the CPU on every device so its numbers are exact"
        for model_id in ("inside-smollm2", "inside-minilm", "inside-enes")
    },
}


@pytest.fixture(scope="module")
def pairs():
    loaded = Pairs()
    yield loaded
    loaded.loaded.clear()


def test_every_default_model_is_compared_or_kept_in_full_precision():
    unaccounted = set(SPECS) - COMPARED - set(FULL_PRECISION)
    assert not unaccounted, (
        f"{sorted(unaccounted)}: compare each new default model's reduced-precision copy with its fp32 one in "
        "this file, or list it in FULL_PRECISION with the reason"
    )


def test_half_dtype_is_forced_only_inside_the_block():
    from models.core.device import half_dtype

    with forced_half_dtype(torch.bfloat16):
        assert half_dtype(CPU) == torch.bfloat16
    assert half_dtype(CPU) == torch.float32


# ------------------------------------------------------------------------------------------ vision


def assert_same_region(reference: np.ndarray, candidate: np.ndarray) -> None:
    """Grad-CAM maps in [0, 1]: each one's peak lies where the other is within 10% of its own peak
    (two nearly equal peaks may swap), and the maps correlate."""
    assert_fp32_array(candidate, reference.shape)
    assert reference[np.unravel_index(candidate.argmax(), candidate.shape)] >= 0.9
    assert candidate[np.unravel_index(reference.argmax(), reference.shape)] >= 0.9
    assert np.corrcoef(reference.ravel(), candidate.ravel())[0, 1] > 0.99


def assert_same_top1(expected: list[tuple[str, int, float]], got: list[tuple[str, int, float]]) -> None:
    """Top-5 lists of (label, class, probability): the same top class, with about the same probability."""
    probabilities = {index: p for _, index, p in expected}
    gap = expected[0][2] - probabilities.get(got[0][1], 0.0)
    assert_same_choices([expected[0][1]], [got[0][1]], lambda _: gap)
    assert got[0][2] == pytest.approx(expected[0][2], abs=0.03)


@pytest.mark.parametrize("model_id", CLASSIFIERS)
def test_efficientnet_same_top1_and_gradcam_region(pairs, model_id):
    reference, candidate = pairs(model_id)
    assert candidate.net._conv_stem.weight.dtype == CANDIDATE_DTYPE
    photos = ["cat (chelsea)", "coffee", "rocket"] if model_id == "efficientnet-lite0" else ["coffee"]
    for name in photos:
        image = sample_image(name)
        expected, got = reference.predict(image), candidate.predict(image)
        assert_same_top1(expected, got)
        assert_same_region(reference.gradcam(image, expected[0][1]), candidate.gradcam(image, expected[0][1]))


def test_efficientnet_pictures_leave_torch_as_fp32_arrays(pairs):
    from models.segmentation.segmenter import grabcut_refine

    _, candidate = pairs("efficientnet-lite0")
    image = sample_image("cat (chelsea)")
    heatmap = candidate.gradcam(image, candidate.predict(image)[0][1])
    assert_fp32_array(candidate.preprocess_steps(image)[-1][1], (3, 224, 224))
    assert_fp32_array(candidate.feature_maps(image, "block 3"))
    assert_fp32_array(candidate.first_layer_filters(), (32, 3, 3, 3))
    mask = grabcut_refine(image, heatmap).mask  # OpenCV
    assert mask.shape == (image.height, image.width) and 0 < mask.mean() < 1


def test_efficientnet_pictures_drawn(pairs):
    pytest.importorskip("matplotlib", reason="the GPU machine has no matplotlib: the arrays are checked above")
    from models.classification.plots import feature_grid, filter_grid, overlay_heatmap

    _, candidate = pairs("efficientnet-lite0")
    image = sample_image("coffee")
    overlay = overlay_heatmap(image, candidate.gradcam(image, candidate.predict(image)[0][1]), 0.5)  # PIL
    assert overlay.size == image.size and overlay.mode == "RGB"
    assert feature_grid(candidate.feature_maps(image, "head")).shape[-1] == 3
    assert filter_grid(candidate.first_layer_filters()).shape[-1] == 3


def test_few_shot_head_trains_and_downloads_as_cpu_fp32(pairs):
    from safetensors.torch import load as load_safetensors

    from models.classification.transfer import (
        EXAMPLE_CLASSES,
        collect_features,
        example_classes,
        head_from_bytes,
        head_to_bytes,
        train_head,
    )

    reference, candidate = pairs("efficientnet-lite0")
    examples = example_classes(images_per_class=3)
    features, targets = collect_features(candidate, examples)
    assert features.dtype == torch.float32 and features.device.type == CANDIDATE_DEVICE.type
    head, losses = train_head(features, targets, num_classes=len(examples), steps=60)
    assert losses[-1] < losses[0] / 10
    taught = candidate.with_head(head, list(examples), "taught")
    data = head_to_bytes(taught)
    tensors = load_safetensors(data)
    assert all(t.dtype == torch.float32 and t.device == CPU for t in tensors.values())
    # The download works on either copy of the backbone: made on the GPU, used on a laptop.
    for backbone in (candidate, reference):
        loaded = head_from_bytes(data, backbone, "loaded")
        for name, sample in EXAMPLE_CLASSES.items():
            assert loaded.predict(sample_image(sample))[0][0] == name


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / np.logical_or(a, b).sum())


@pytest.mark.parametrize("model_id", PERSON_SEGMENTERS)
def test_person_masks_agree(pairs, model_id):
    from models.segmentation.segmenter import cutout, mask_png, overlay, replace_background, solid_background

    reference, candidate = pairs(model_id)
    astronaut = sample_image("astronaut")
    for image in (astronaut, astronaut.crop((0, 0, 512, 300)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)):
        expected, got = reference.segment(image), candidate.segment(image)
        assert_fp32_array(got.probability, (image.height, image.width))
        assert iou(expected.labels == 1, got.labels == 1) >= 0.98
    assert overlay(image, got).size == image.size
    assert cutout(image, got.alpha).mode == "RGBA"
    assert replace_background(image, got.alpha, solid_background(image, "#00ff00")).size == image.size
    assert mask_png(got).startswith(b"\x89PNG")


def test_unet_training_steps_lower_the_loss():
    with forced_half_dtype(CANDIDATE_DTYPE):
        trainer = UNetTrainer(TrainConfig(steps=40), device=CANDIDATE_DEVICE)
    assert trainer.dtype == CANDIDATE_DTYPE and next(trainer.model.parameters()).dtype == torch.float32
    trainer.train()
    assert np.mean(trainer.losses[-5:]) < np.mean(trainer.losses[:5]) / 1.5, trainer.losses
    images, _ = trainer.validation
    predicted = trainer.predict(images)
    assert isinstance(predicted, np.ndarray) and predicted.shape == images[:, 0].shape


# ------------------------------------------------------------------------------------------ language


@pytest.mark.parametrize("model_id", CHAR_LMS)
def test_char_lm_same_greedy_text(pairs, model_id):
    reference, candidate = pairs(model_id)
    assert next(candidate.cells.parameters()).dtype == CANDIDATE_DTYPE
    for prompt in ["HAMLET", "To be, or not"] if "hamlet" in model_id else ["Ma", ""]:
        assert_same_greedy_text(reference, candidate, prompt, 60)
    sampled = list(gen.generate(candidate, "", gen.Decoding(max_new_tokens=30, seed=1)))
    assert 0 < len(sampled) <= 30 and all(0 <= s.prob <= 1 for s in sampled)
    assert gen.coloured_html(sampled).startswith("<div")


def test_smollm2_same_greedy_text(pairs):
    reference, candidate = (gen.as_language_model(m, "SmolLM2") for m in pairs("smollm2-135m-instruct"))
    assert candidate.model.dtype == CANDIDATE_DTYPE
    assert_same_greedy_text(reference, candidate, "The capital of France is", 8)
    assert greedy_steps(candidate, "Say hello.", 4, chat=True)


def test_user_causal_lm_same_greedy_text(tiny_llama_folder):
    """A transformers causal LM loaded as a user's (SmolLM2's path through `load_hf`)."""
    reference = gen.as_language_model(load_hf("causal-lm", str(tiny_llama_folder), CPU), "tiny")
    with forced_half_dtype(CANDIDATE_DTYPE):
        candidate = gen.as_language_model(load_hf("causal-lm", str(tiny_llama_folder), CANDIDATE_DEVICE), "tiny")
    assert candidate.model.dtype == CANDIDATE_DTYPE
    for sentence in RECITED:
        prompt = " ".join(sentence.split()[:3])
        assert_same_greedy_text(reference, candidate, prompt, 16)
        assert "".join(s.text for s in greedy_steps(candidate, prompt, 16)).strip() == sentence.split(maxsplit=3)[3]


@pytest.mark.parametrize("model_id", TRANSLATORS)
def test_translators_same_greedy_text_and_fp32_attention(pairs, model_id):
    reference, candidate = pairs(model_id)
    for text in TRANSLATION_INPUTS[model_id]:
        assert_same_translation(reference, reference.translate(text, "greedy"), candidate.translate(text, "greedy"))
    best = candidate.translate(TRANSLATION_INPUTS[model_id][0], method="beam", beam_width=4).best
    assert_fp32_array(best.attention)
    assert best.attention.shape[0] == len(best.tokens)
    assert np.allclose(best.attention.sum(axis=-1), 1.0, atol=0.02)


@pytest.mark.parametrize("model_id", TRANSLATORS)
def test_translation_figures_drawn(pairs, model_id):
    pytest.importorskip("plotly", reason="the GPU machine has no plotly: the arrays are checked above")
    from models.translation.plots import attention_heatmap, attention_matrix, beam_tree

    _, candidate = pairs(model_id)
    translation = candidate.translate(TRANSLATION_INPUTS[model_id][0], method="beam", beam_width=4)
    best = translation.best
    attention_heatmap(attention_matrix(best), translation.source.tokens, best.tokens).to_dict()
    beam_tree(translation.search, translation.token_labels, translation.search.path(translation.search.best)).to_dict()


def test_whisper_same_greedy_transcript_and_fp32_attention(pairs):
    pytest.importorskip("soundfile", reason="the sample clips are FLAC files, read with soundfile")
    from models.speech.catalog import read_clip

    reference, candidate = pairs("speech-whisper-tiny-en")
    assert next(candidate.model.parameters()).dtype == CANDIDATE_DTYPE
    for clip in ["music_awb"]:
        samples = read_clip(clip).samples
        expected, got = reference.transcribe(samples), candidate.transcribe(samples)
        chosen = [*expected.tokens, reference.eot]
        audio = reference.encode(reference.preprocess(samples))
        probabilities = reference.forced_log_probs(audio, [expected.tokens])[0, 1:].exp()  # step i -> next token

        def gap_at(step: int, probabilities=probabilities, chosen=chosen, got=got) -> float:
            theirs = [*got.tokens, reference.eot][step]
            return float(probabilities[step, chosen[step]] - probabilities[step, theirs])

        assert_same_choices(chosen, [*got.tokens, reference.eot], gap_at)
        assert_fp32_array(got.attention)
        assert got.attention.shape[:2] == (len(candidate.alignment_heads), len(got.tokens))
        assert [w.start for w in got.words] == sorted(w.start for w in got.words)


SENTENCES = [
    *(text for _, text, _ in TRICKY_EXAMPLES),
    "A masterpiece: moving, funny and beautifully acted.",
    "Dull, lifeless and far too long.",
    "I loved every minute of it.",
    "A waste of two hours.",
]


@pytest.mark.parametrize("model_id", SENTIMENT)
def test_sentiment_same_labels(pairs, model_id):
    reference, candidate = pairs(model_id)
    expected, got = reference.predict(SENTENCES), candidate.predict(SENTENCES)
    assert_fp32_array(got.probs, expected.probs.shape)
    near_ties = np.abs(expected.positive_prob() - 0.5) < NEAR_TIE / 2
    assert [label for label, tie in zip(expected.top(), near_ties, strict=True) if not tie] == [
        label for label, tie in zip(got.top(), near_ties, strict=True) if not tie
    ]
    assert np.abs(got.probs - expected.probs).max() < NEAR_TIE
    explanation = candidate.explain(SENTENCES[0])
    assert len(explanation.scores) == len(explanation.tokens) and all(np.isfinite(explanation.scores))


# ------------------------------------------------------------------- users' transformers models


def assert_close_probabilities(expected: np.ndarray, got: np.ndarray) -> None:
    assert_fp32_array(got, expected.shape)
    assert np.abs(got - expected).max() < NEAR_TIE / 2


def save_user_model(task: str, folder: Path) -> None:
    """A tiny random transformers model of `task` with its preprocessor, as a user would name one."""
    import transformers as tf

    torch.manual_seed(0)
    if task == "text-classification":
        words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "the", "not"]
        tf.BertTokenizer(vocab={word: i for i, word in enumerate(words)}).save_pretrained(folder)
        config = tf.BertConfig(
            vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
        )
        tf.BertForSequenceClassification(config).save_pretrained(folder)
    elif task == "image-classification":
        config = tf.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3)
        tf.ResNetForImageClassification(config).save_pretrained(folder)
        tf.ViTImageProcessorPil(size={"height": 64, "width": 64}).save_pretrained(folder)
    else:  # segmentation: two classes, so the mask has a probability map to compare
        config = tf.SegformerConfig(
            num_channels=3, num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
            num_attention_heads=[1, 2], decoder_hidden_size=16, num_labels=2,
        )  # fmt: skip
        tf.SegformerForSemanticSegmentation(config).save_pretrained(folder)
        tf.SegformerImageProcessorPil(size={"height": 64, "width": 64}).save_pretrained(folder)


@pytest.mark.parametrize("task", ["text-classification", "image-classification", "segmentation"])
def test_user_transformers_models_agree(task, tmp_path):
    from models.classification.classifier import as_image_classifier
    from models.segmentation.segmenter import as_segmenter
    from models.sentiment import as_classifier

    save_user_model(task, tmp_path)
    reference = load_hf(task, str(tmp_path), CPU)
    with forced_half_dtype(CANDIDATE_DTYPE):
        candidate = load_hf(task, str(tmp_path), CANDIDATE_DEVICE)
    assert candidate.model.dtype == CANDIDATE_DTYPE
    image = sample_image("coffee").resize((96, 64), Image.Resampling.BILINEAR)
    if task == "text-classification":
        texts = ["the good movie", "not bad", "the the the"]
        expected, got = as_classifier(reference).predict(texts), as_classifier(candidate).predict(texts)
        assert_close_probabilities(expected.probs, got.probs)
    elif task == "image-classification":
        expected = as_image_classifier(reference).logits(image).float().softmax(-1).numpy()
        classifier = as_image_classifier(candidate)
        got = classifier.logits(image).float().softmax(-1).cpu().numpy()
        assert_close_probabilities(expected, got)
        assert_fp32_array(classifier.gradcam(image, 0), (image.height, image.width))
        assert_fp32_array(classifier.feature_maps(image, classifier.layer_names()[-1]))
    else:
        expected, got = as_segmenter(reference).segment(image), as_segmenter(candidate).segment(image)
        assert_close_probabilities(expected.probability, got.probability)
