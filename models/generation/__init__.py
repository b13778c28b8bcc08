"""Text generation one token at a time, with every choice visible.

Two kinds of language model share one generation loop:
- character-level RNN / LSTM / GRU models that the project trains (`char_rnn.py`), and
- transformer causal LMs: SmolLM2-135M-Instruct by default, or any transformers causal LM a user adds
  (`transformer_lm.py`).

Inside: `language_model.py` (the interface both kinds offer), `decoding.py` (greedy and sampling, the
`Step` each token yields, why the rule picked it), `streams.py` (the loop, `generate`, with every
session's stream in one shared batch), `plots.py` (probability-coloured text), `catalog.py` (the
registry's entries and `as_language_model`).

API: `load_char_lm` / `load_smollm2` (registry loaders) -> `as_language_model(loaded)` -> `generate(lm,
prompt, Decoding)`, which yields one `Step` per new token: its text, probability and the top alternatives.
The names below are the package's public face.
"""

from models.generation.catalog import MODELS, WRAPPERS, as_language_model
from models.generation.char_rnn import (
    CELL_NAMES,
    CELLS,
    CORPORA,
    MAX_NEW_CHARS,
    CharLanguageModel,
    CharLM,
    CharLMConfig,
    CharVocab,
    load_char_lm,
)
from models.generation.decoding import Decoding, Step, sampling_distribution, why_chosen
from models.generation.language_model import LanguageModel, normalise_text, visible
from models.generation.plots import coloured_html
from models.generation.streams import MAX_PROMPT_CHARS, Stream, StreamBatch, generate
from models.generation.transformer_lm import (
    MAX_NEW_TOKENS,
    SMOLLM2_CACHE,
    SMOLLM2_GGUF,
    TransformerLanguageModel,
    load_smollm2,
)

__all__ = [
    "CELLS",
    "CELL_NAMES",
    "CORPORA",
    "MAX_NEW_CHARS",
    "MAX_NEW_TOKENS",
    "MAX_PROMPT_CHARS",
    "MODELS",
    "SMOLLM2_CACHE",
    "SMOLLM2_GGUF",
    "WRAPPERS",
    "CharLM",
    "CharLMConfig",
    "CharLanguageModel",
    "CharVocab",
    "Decoding",
    "LanguageModel",
    "Step",
    "Stream",
    "StreamBatch",
    "TransformerLanguageModel",
    "as_language_model",
    "coloured_html",
    "generate",
    "load_char_lm",
    "load_smollm2",
    "normalise_text",
    "sampling_distribution",
    "visible",
    "why_chosen",
]
