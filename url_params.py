"""Every query parameter the app reads, declared once: its default and its range and step, or its choices.
`ui.bound` seeds a widget from the URL with `Param.parse` and hands the same range or choices to the widget,
so a link can only ever give a widget a value it accepts. tests/test_url_params.py walks `PAGES` with
hostile values, so a parameter declared here is covered by the moment it exists.

A link is untrusted input: only the first of a repeated parameter counts; numbers out of range are
clamped to it; NaN, infinities, words where a number belongs, unknown choices and unknown model ids
give the default. Every such correction comes back as a short notice (without echoing the value).

No Streamlit and no model code here: values that only the running page knows (a model's own limit,
its example sentence, the layers of the chosen network) are passed to `ui.bound` by the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from classroom_store import LIFETIMES_MINUTES, TITLES
from models.core.display import PALETTES
from models.core.images import SAMPLES
from models.core.text import without_surrogates

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Param:
    """One query parameter, named like the widget it seeds. `when`: the other parameters' values under
    which the page reads it (another mode, tab or option); the tests set those to reach it."""

    key: str
    default: Any = None
    when: dict[str, str] = field(default_factory=dict)

    def parse(self, raw: list[str]) -> tuple[Any, str | None]:
        """The value a link gives (the query string's values for this key), and a notice when the link's
        value was not usable as it was."""
        if not raw:
            return self.valid(self.default), None
        return self.parse_one(raw[0])

    def parse_one(self, raw: str) -> tuple[Any, str | None]:
        raise NotImplementedError

    def valid(self, value: Any) -> Any:
        """`value` if the widget accepts it, else the nearest value it does (for a value the session already
        holds, when what the page offers has changed: another model, another mode)."""
        return value

    def widget_args(self) -> dict[str, Any]:
        """What the widget needs beyond its label: the key and the same range or choices the URL is checked against."""
        return {"key": self.key}

    def given(self, **runtime: Any) -> Param:
        """This parameter with what only the running page knows filled in (its default, upper limit, choices)."""
        return replace(self, **runtime)

    def fallback(self, why: str) -> tuple[Any, str]:
        value = self.valid(self.default)  # within what the page offers now (a model's own limit)
        return value, f"`{self.key}` {why}, so {self.shown(value)} instead"

    def shown(self, value: Any) -> str:
        return "the default" if isinstance(value, str) and len(value) > 40 else f"{value!r}"


@dataclass(frozen=True)
class Flag(Param):
    default: bool = False

    def parse_one(self, raw: str) -> tuple[Any, str | None]:
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True, None
        if word in FALSE_WORDS:
            return False, None
        return self.fallback("was not on or off")

    def valid(self, value: Any) -> Any:
        return value if isinstance(value, bool) else self.default


@dataclass(frozen=True)
class Number(Param):
    """A slider or number box: `low`..`high` in steps of `step` from `low`; whole numbers when the default is an int."""

    default: float = 0
    low: float = 0
    high: float | None = None  # None: the page passes it (`given(high=...)`)
    step: float | None = None

    @property
    def whole(self) -> bool:
        return isinstance(self.default, int)

    def parse_one(self, raw: str) -> tuple[Any, str | None]:
        try:
            number = float(raw.strip())
        except ValueError:
            return self.fallback("was not a number")
        if not math.isfinite(number):
            return self.fallback("was not a finite number")
        value = self.valid(number)
        if value == number:
            return value, None
        if not self.low <= number <= (self.low if self.high is None else self.high):
            return value, f"`{self.key}` was outside {self.low}–{self.high}, so {value!r}"
        return value, f"`{self.key}` fell between the steps of {self.step or 1}, so {value!r}"

    def valid(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            value = self.default
        high = self.low if self.high is None else self.high
        value = min(max(value, self.low), high)
        step = self.step or (1 if self.whole else None)
        if step:  # on the widget's grid of steps from `low`, never past `high`
            value = min(self.low + round((value - self.low) / step) * step, high)
        return round(value) if self.whole else round(float(value), 10)

    def widget_args(self) -> dict[str, Any]:
        args = {"key": self.key, "min_value": self.low, "max_value": self.high}
        return args if self.step is None else {**args, "step": self.step}


@dataclass(frozen=True)
class Choice(Param):
    """One of `choices` (strings or numbers; the URL holds their text)."""

    choices: tuple = ()

    def parse_one(self, raw: str) -> tuple[Any, str | None]:
        for choice in self.choices:
            if str(choice) == raw:
                return choice, None
        return self.fallback("was not one of the choices")

    def valid(self, value: Any) -> Any:
        return value if value in self.choices else self.default

    def widget_args(self) -> dict[str, Any]:
        return {"key": self.key, "options": list(self.choices)}


@dataclass(frozen=True)
class Model(Choice):
    """A model id of the registry's `task`; the page passes the ids (`given(choices=..., default=...)`)."""

    task: str = ""

    def fallback(self, why: str) -> tuple[Any, str]:
        return self.default, f"`{self.key}` named no {self.task} model here, so {self.default!r} instead"


@dataclass(frozen=True)
class Choices(Param):
    """Several of `choices` (a multiselect): every value of the repeated parameter that is one of them."""

    default: tuple = ()
    choices: tuple = ()

    def parse(self, raw: list[str]) -> tuple[Any, str | None]:
        if not raw:
            return list(self.default), None
        known = [choice for choice in self.choices if str(choice) in raw]
        if len(known) < len(set(raw)):
            return known, f"`{self.key}` held values that are not among the choices, which were left out"
        return known, None

    def valid(self, value: Any) -> Any:
        return [item for item in value if item in self.choices] if isinstance(value, list) else list(self.default)

    def widget_args(self) -> dict[str, Any]:
        return {"key": self.key, "options": list(self.choices)}


@dataclass(frozen=True)
class Text(Param):
    """Free text; lone surrogates (no browser can send them, a hand-made link can) become U+FFFD."""

    default: str = ""
    max_chars: int | None = None

    def parse_one(self, raw: str) -> tuple[Any, str | None]:
        text = without_surrogates(raw)
        if self.max_chars is not None and len(text) > self.max_chars:
            return text[: self.max_chars], f"`{self.key}` was cut to its first {self.max_chars:,} characters"
        return text, None

    def valid(self, value: Any) -> Any:
        return value if isinstance(value, str) else self.default

    def widget_args(self) -> dict[str, Any]:
        return {"key": self.key} if self.max_chars is None else {"key": self.key, "max_chars": self.max_chars}


def sample(key: str, default: str, **when: str) -> Choice:
    """The sample photo of `ui.image_input`."""
    return Choice(f"{key}_sample", default, when, choices=tuple(SAMPLES))


# ---- every page --------------------------------------------------------------------------------------
PRESENT = Flag("present", False)  # presenter mode (?present=1)
PALETTE = Choice("palette", "safe", choices=tuple(PALETTES))
CHROME = (PRESENT, PALETTE)

# ---- the pages ---------------------------------------------------------------------------------------
ANALOGIES_MODEL = Model("analogies_model", task="word-vectors")
ANALOGY_A = Text("analogy_a", "man")
ANALOGY_B = Text("analogy_b", "king")
ANALOGY_C = Text("analogy_c", "woman")
ANALOGY_METHOD = Choice("analogy_method", "3CosAdd", choices=("3CosAdd", "3CosMul"))
VOCAB_LIMITS = (10_000, 30_000, 100_000, 300_000, 400_000)
ANALOGY_VOCAB = Choice("analogy_vocab", 400_000, choices=VOCAB_LIMITS)

CLS_MODEL = Model("cls_model", task="image-classification")
CLS_IMAGE = sample("cls_image", "cat (chelsea)")
CLS_OPACITY = Number("cls_opacity", 0.5, low=0.0, high=1.0, step=0.05)
CLS_LAYER = Choice("cls_layer")  # the network's layers: the page passes them
CLS_TRY = sample("cls_try", "cat (chelsea)")  # shown once the user has trained a head

FAMILIES = {"Characters (RNN · LSTM · GRU)": "char-lm", "Transformer": "causal-lm"}
FAMILY = Choice("family", next(iter(FAMILIES)), choices=tuple(FAMILIES))
TRANSFORMER = {"family": "Transformer"}
GENERATION_MODEL = {
    "char-lm": Model("model_char-lm", task="char-lm"),
    "causal-lm": Model("model_causal-lm", when=TRANSFORMER, task="causal-lm"),
}
CHAT_MODE = Choice("mode", "Completion", TRANSFORMER, choices=("Completion", "Chat"))
PROMPT = {
    "char-lm": Text("prompt_char-lm", "HAMLET\nTo be, or not"),
    "causal-lm": Text("prompt_causal-lm", "The best way to learn a new language is", TRANSFORMER),
}
STRATEGY = Choice("strategy", "sample", choices=("greedy", "sample"))
TEMPERATURE = Number("temperature", 0.8, low=0.1, high=2.0, step=0.05)
TOP_K = Number("top_k", 0, low=0, high=1000)
TOP_P = Number("top_p", 1.0, low=0.05, high=1.0, step=0.05)
LENGTH = {  # up to the model's own limit: the page passes it
    "char-lm": Number("length_char-lm", 300, low=1),
    "causal-lm": Number("length_causal-lm", 60, TRANSFORMER, low=1),
}
SEED = Number("seed", 0, low=0, high=2**31 - 1)

SENTIMENT_TEXT = Text("sentiment_text", "Not bad at all: the cast is great, even if the plot is a bit of a mess.")
SENTIMENT_BATCH_MODEL = Model("sentiment_batch_model", task="text-classification")
SENTIMENT_BATCH_SOURCE = Choice("sentiment_batch_source", "Paste lines", choices=("Paste lines", "Upload a CSV"))

TEXT_BASICS_PIPELINE = Model("text_basics_pipeline", task="spacy-pipeline")  # offered when there are several
TEXT_BASICS_TEXT = Text("text_basics_text")  # the page's example text: the page passes it
TEXT_BASICS_TABS = ("Tokens", "Stems and lemmas", "Part of speech", "Entities", "Parse", "Sentences")
# Streamlit itself binds the tab to the URL (st.tabs(bind="query-params")); declared for the tests, and
# listed in BOUND_BY_STREAMLIT so that a short link's stored tab goes back into the URL.
TEXT_BASICS_TAB = Choice("text_basics_tab", TEXT_BASICS_TABS[0], choices=TEXT_BASICS_TABS)
TOKENS_TAB, TAGS_TAB, PARSE_TAB = ({"text_basics_tab": tab} for tab in ("Tokens", "Part of speech", "Parse"))
TOKENIZERS = Choices("text_basics_tokenizers", when=TOKENS_TAB)  # the page passes the tokenizers' names
SHOW_IDS = Flag("text_basics_ids", False, TOKENS_TAB)
BPE_SOURCES = ("Hamlet", "Paste text", "Upload a .txt")
BPE_SOURCE = Choice("text_basics_bpe_source", BPE_SOURCES[0], TOKENS_TAB, choices=BPE_SOURCES)
BPE_VOCAB = Number("text_basics_bpe_vocab", 500, TOKENS_TAB, low=260, high=5_000, step=20)
FINE_TAGS = Flag("text_basics_fine_tags", False, TAGS_TAB)
DISAGREEMENTS = Flag("text_basics_disagreements", False, TAGS_TAB)
PARSE_FLAGS = (
    Flag("text_basics_compact", True, PARSE_TAB),
    Flag("text_basics_collapse_punct", True, PARSE_TAB),
    Flag("text_basics_merge_phrases", False, PARSE_TAB),
)

TR_MODEL = Model("tr_model", task="translation")
TR_TEXT = Text("tr_text_{model}")  # one sentence per model (`translation_text`); its example by default
TR_METHOD = Choice("tr_method", "beam", choices=("greedy", "beam"))
TR_WIDTH = Number("tr_width", 5, low=1)  # up to the search's limit: the page passes it
TR_ALPHA = Number("tr_alpha", 1.0, low=0.0, high=2.0, step=0.1)
TR_MAX_LEN = Number("tr_max_len", 0, low=0, high=300, step=5)
TR_REFERENCE = Text("tr_reference", "")


def translation_text(model_id: str) -> Text:
    """The sentence box of one translation model (a user's model id may hold ':' or '/')."""
    return TR_TEXT.given(key=TR_TEXT.key.format(model=model_id.replace(":", "_").replace("/", "_")))


SEG_MODES = ("Person", "U-Net", "Object", "Instances (Mask R-CNN)")
SEG_MODE = Choice("seg_mode", SEG_MODES[0], choices=SEG_MODES)
UNET, OBJECT, INSTANCES = ({"seg_mode": mode} for mode in SEG_MODES[1:])
SEG_MODEL = Model("seg_model", task="segmentation")
SEG_IMAGE = sample("seg", "astronaut")
SEG_OPACITY = Number("seg_opacity", 0.6, low=0.0, high=1.0, step=0.05)
SEG_THRESHOLD = Number("seg_threshold", 0.5, low=0.05, high=0.95, step=0.05)
SEG_EFFECT = Choice("seg_effect", "blur", choices=("blur", "colour", "image"))
SEG_BACKGROUND = Choice("seg_background", "rocket", {"seg_effect": "image"}, choices=tuple(SAMPLES))
SEG_BLUR = Number("seg_blur", 12, low=2, high=40)
SEG_STEPS = Number("seg_steps", 0, UNET, low=20, high=1500, step=20)  # the trainer's default: the page passes it
SEG_CLASSIFIER = Model("seg_classifier", when=OBJECT, task="image-classification")
SEG_OBJECT_IMAGE = sample("seg_object", "cat (chelsea)", **OBJECT)
SEG_CAM_THRESHOLD = Number("seg_cam_threshold", 0.5, OBJECT, low=0.1, high=0.9, step=0.05)
SEG_INSTANCE_MODEL = Model("seg_instance_model", when=INSTANCES, task="instance-segmentation")
SEG_SCENES = ("Random scene", "Heavy overlap", "Upload")
SEG_SCENE = Choice("seg_scene", SEG_SCENES[0], INSTANCES, choices=SEG_SCENES)
SEG_SCENE_SEED = Number("seg_scene_seed", 1, INSTANCES, low=0, high=1_000_000_000)
SEG_SCORE = Number("seg_score", 0.5, INSTANCES, low=0.05, high=0.95, step=0.05)
SEG_NMS_IOU = Number("seg_nms_iou", 0.5, INSTANCES, low=0.1, high=0.95, step=0.05)
SEG_ALL_STAGES = Flag("seg_all_stages", False, INSTANCES)
SEG_STAGES = ("1 · Anchors", "2 · Proposals", "3 · NMS", "4 · Detections", "5 · Masks")
SEG_STAGE = Choice("seg_stage", SEG_STAGES[-1], INSTANCES, choices=SEG_STAGES)
EVERY_STAGE = {**INSTANCES, "seg_all_stages": "1"}
# Around the best detection of the picture: the page passes the defaults (and the pyramid's levels).
SEG_ANCHOR_LEVEL = Choice("seg_anchor_level", when=EVERY_STAGE)
SEG_ANCHOR_X = Number("seg_anchor_x", 0, EVERY_STAGE, low=0, high=255)
SEG_ANCHOR_Y = Number("seg_anchor_y", 0, EVERY_STAGE, low=0, high=255)
SEG_PROPOSALS = Number("seg_proposals", 20, EVERY_STAGE, low=5, high=100, step=5)
SEG_PROPOSALS_NMS = Flag("seg_proposals_nms", True, EVERY_STAGE)

CLASS_MINUTES = Choice("class_minutes", 90, choices=LIFETIMES_MINUTES)  # how long a class session lasts
CLASS_ACTIVITIES = tuple(TITLES.values())
CLASS_ACTIVITY = Choice("class_activity", CLASS_ACTIVITIES[0], choices=CLASS_ACTIVITIES)
NEXT_WORD = {"class_activity": CLASS_ACTIVITIES[0]}
CLASS_PROMPT = Text("class_prompt", "The cat sat on the", NEXT_WORD, max_chars=200)  # the class guesses what follows
NEW_CLASSES = {"class_activity": CLASS_ACTIVITIES[3]}
CLASS_NAMES = Text("class_names", "pen, cup", NEW_CLASSES, max_chars=120)  # the new classes, comma-separated
CLASS_TRY = sample("class_try", "coffee", **NEW_CLASSES)  # a photo to test the class's classifier on
JOIN_ROOM = Text("room", "", max_chars=40)  # the class a phone joins (/join?room=...): the QR code carries it

INSIDE_MODEL = Model("inside_model", task="transformer-internals")
INSIDE_TEXT = Text("inside_text")  # the chosen model's first example: the page passes it
INSIDE_VIEWS = (
    "Tokens to vectors",
    "One head, worked out",
    "Head and model view",
    "What the heads do",
    "Logit lens",
    "Switch parts off",
    "Contextual vs static",
    "Which tokens mattered",
)
# Streamlit itself binds the tab to the URL (st.tabs(bind="query-params")); declared for the tests.
INSIDE_VIEW = Choice("inside_view", INSIDE_VIEWS[0], choices=INSIDE_VIEWS)
ONE_HEAD, ABLATION_VIEW = ({"inside_view": view} for view in (INSIDE_VIEWS[1], INSIDE_VIEWS[5]))
INSIDE_BLOCK = Choice("inside_block", when=ONE_HEAD)  # the model's attention blocks: the page passes them
INSIDE_LAYER = Number("inside_layer", 0, ONE_HEAD, low=0)  # up to the model's layers: the page passes them
INSIDE_HEAD = Number("inside_head", 0, ONE_HEAD, low=0)
INSIDE_QUERY = Number("inside_query", 0, ONE_HEAD, low=0)  # the query token: the page passes the last
INSIDE_PARTS = ("head", "attention", "mlp")
INSIDE_PART = Choice("inside_part", "head", ABLATION_VIEW, choices=INSIDE_PARTS)
CONTEXT_VIEW = {"inside_view": INSIDE_VIEWS[6]}
INSIDE_WORD = Text("inside_word", when=CONTEXT_VIEW)  # the page passes the example word and sentences
INSIDE_SENTENCES = Text("inside_sentences", when=CONTEXT_VIEW)

SPEECH_SOURCES = ("Sample", "Microphone", "Upload")
SPEECH_SOURCE = Choice("speech_source", SPEECH_SOURCES[0], choices=SPEECH_SOURCES)
SPEECH_SAMPLE = Choice("speech_sample", when={"speech_source": "Sample"})  # the clips: the page passes them
SPEECH_VIEWS = (
    "What the models hear",
    "Statistics: pocketsphinx",
    "A transformer: Whisper",
    "Side by side",
    "Trigger word",
    "Then translate",
)
# A tab Streamlit binds to the URL itself, like TEXT_BASICS_TAB.
SPEECH_VIEW = Choice("speech_view", SPEECH_VIEWS[0], choices=SPEECH_VIEWS)
HEAR, SPHINX_VIEW, WHISPER_VIEW, COMPARE_VIEW, TRIGGER_VIEW = ({"speech_view": v} for v in SPEECH_VIEWS[:5])
SPEECH_VAD_MARGIN = Number("speech_vad_margin", 12.0, HEAR, low=3.0, high=30.0, step=1.0)
SPEECH_LM_WEIGHT = Number("speech_lm_weight", 6.5, SPHINX_VIEW, low=3.0, high=20.0, step=0.5)
SPEECH_METHOD = Choice("speech_method", "greedy", WHISPER_VIEW, choices=("greedy", "beam"))
SPEECH_WIDTH = Number("speech_width", 5, WHISPER_VIEW, low=1, high=8)
SPEECH_REFERENCE = Text("speech_reference", "", COMPARE_VIEW, max_chars=2_000)
SPEECH_KEYWORD = Text("speech_keyword", "computer", TRIGGER_VIEW, max_chars=40)
SPEECH_KWS_EXPONENT = Number("speech_kws_exponent", -20, TRIGGER_VIEW, low=-50, high=-1)
SPEECH_TRIGGER = Number("speech_trigger", 0.5, TRIGGER_VIEW, low=0.05, high=0.95, step=0.05)
BOUND_BY_STREAMLIT = (TEXT_BASICS_TAB, SPEECH_VIEW)

# What each page reads (besides CHROME), for the tests.
PAGES: dict[str, tuple[Param, ...]] = {
    "home.py": (),
    "models_device.py": (),
    "analogies.py": (ANALOGIES_MODEL, ANALOGY_A, ANALOGY_B, ANALOGY_C, ANALOGY_METHOD, ANALOGY_VOCAB),
    "classification.py": (CLS_MODEL, CLS_IMAGE, CLS_OPACITY, CLS_LAYER, CLS_TRY),
    "generation.py": (
        FAMILY,
        *GENERATION_MODEL.values(),
        CHAT_MODE,
        *PROMPT.values(),
        STRATEGY,
        TEMPERATURE,
        TOP_K,
        TOP_P,
        *LENGTH.values(),
        SEED,
    ),
    "sentiment.py": (SENTIMENT_TEXT, SENTIMENT_BATCH_MODEL, SENTIMENT_BATCH_SOURCE),
    "text_basics.py": (
        TEXT_BASICS_PIPELINE,
        TEXT_BASICS_TEXT,
        TEXT_BASICS_TAB,
        TOKENIZERS,
        SHOW_IDS,
        BPE_SOURCE,
        BPE_VOCAB,
        FINE_TAGS,
        DISAGREEMENTS,
        *PARSE_FLAGS,
    ),
    "translation.py": (TR_MODEL, TR_TEXT, TR_METHOD, TR_WIDTH, TR_ALPHA, TR_MAX_LEN, TR_REFERENCE),
    "speech.py": (
        SPEECH_SOURCE,
        SPEECH_SAMPLE,
        SPEECH_VIEW,
        SPEECH_VAD_MARGIN,
        SPEECH_LM_WEIGHT,
        SPEECH_METHOD,
        SPEECH_WIDTH,
        SPEECH_REFERENCE,
        SPEECH_KEYWORD,
        SPEECH_KWS_EXPONENT,
        SPEECH_TRIGGER,
    ),
    "transformer.py": (
        INSIDE_MODEL,
        INSIDE_TEXT,
        INSIDE_VIEW,
        INSIDE_BLOCK,
        INSIDE_LAYER,
        INSIDE_HEAD,
        INSIDE_QUERY,
        INSIDE_PART,
        INSIDE_WORD,
        INSIDE_SENTENCES,
    ),
    "segmentation.py": (
        SEG_MODE,
        SEG_MODEL,
        SEG_IMAGE,
        SEG_OPACITY,
        SEG_THRESHOLD,
        SEG_EFFECT,
        SEG_BACKGROUND,
        SEG_BLUR,
        SEG_STEPS,
        SEG_CLASSIFIER,
        SEG_OBJECT_IMAGE,
        SEG_CAM_THRESHOLD,
        SEG_INSTANCE_MODEL,
        SEG_SCENE,
        SEG_SCENE_SEED,
        SEG_SCORE,
        SEG_NMS_IOU,
        SEG_ALL_STAGES,
        SEG_STAGE,
        SEG_ANCHOR_LEVEL,
        SEG_ANCHOR_X,
        SEG_ANCHOR_Y,
        SEG_PROPOSALS,
        SEG_PROPOSALS_NMS,
    ),
    "classroom.py": (CLASS_MINUTES, CLASS_ACTIVITY, CLASS_PROMPT, CLASS_NAMES, CLASS_TRY),
    "join.py": (JOIN_ROOM,),
}
