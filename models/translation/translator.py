"""Translation with encoder-decoder models: text in, n-best translations out, with the beam search's
tree and each hypothesis' cross-attention, so a page can show how the output was chosen.

Three kinds of translator share one API (`Translator.translate`):
- `DateTranslator`: the project's character-level date model (human-readable -> ISO 8601);
- `SubwordTranslator`: the project's English -> Spanish transformer with its BPE tokenizer;
- `HFTranslator`: any transformers seq2seq model a user adds (MarianMT and friends), driven
  through its encoder and decoder by the same beam search, with attentions.

Pipeline: `preprocess` (text -> token ids, with notices about anything changed) -> the search
(models/translation/beam_search.py) over the model's step function -> `postprocess` (ids -> text and labels).
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from models.core.batching import MicroBatcher
from models.core.device import half_dtype, half_linear_weights
from models.core.errors import InputError, ModelLoadError
from models.core.loaders import HFModel
from models.core.specs import ModelSpec
from models.core.text import TextPolicy, prepare_text
from models.translation.beam_search import SearchResult, SearchSettings, StepFn, run_searches
from models.translation.dates import (
    BOS,
    EOS,
    MAX_SOURCE_CHARS,
    SOURCE_VOCAB,
    TARGET_VOCAB,
    UNK,
    DateModelConfig,
    DateSeq2Seq,
    normalise,
)
from models.translation.replay import prefix
from models.translation.transformer import Seq2SeqTransformer, TransformerConfig

MAX_INPUT_CHARS = 2000  # anything longer is refused before tokenising
MAX_BEAM_WIDTH = 10


@dataclass
class SourceTokens:
    """The input as the model sees it."""

    ids: list[int]
    tokens: list[str]  # one label per id, for the attention heatmap
    notices: list[str] = field(default_factory=list)  # what was changed and why (truncated, unknown characters)


@dataclass
class Candidate:
    """One hypothesis, ready to show."""

    text: str
    tokens: list[str]  # output token labels, the end token included if it finished
    log_prob: float
    score: float  # log_prob / length ** length_penalty
    finished: bool
    attention: np.ndarray | None  # (len(tokens), S) or (len(tokens), layers, heads, S)
    node: int  # its last node in the search tree


@dataclass
class Translation:
    source: SourceTokens
    candidates: list[Candidate]  # best first
    search: SearchResult
    token_labels: dict[int, str]  # label of every token id in the search tree
    prefix_texts: dict[int, str]  # the text of every prefix in the search tree, by node id (for the replay)
    notices: list[str]
    method: str

    @property
    def best(self) -> Candidate:
        return self.candidates[0]


class Translator:
    """What every translator provides; subclasses fill in the model-specific parts."""

    name: str = "translator"
    source_language: str = "input"
    target_language: str = "output"
    attention_kind: Literal["single", "layers-heads"] = "single"
    examples: tuple[str, ...] = ("",)  # the first is the page's default input
    max_output_len: int | None = None  # the longest output the model can write (None: no limit of its own)

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def preprocess(self, text: str) -> SourceTokens:
        raise NotImplementedError

    def start(self, source: SourceTokens) -> tuple[StepFn, Any, int, int]:
        """-> (step function, initial state, start token id, end token id)."""
        raise NotImplementedError

    def default_max_len(self, source: SourceTokens) -> int:
        raise NotImplementedError

    def search(self, source: SourceTokens, settings: SearchSettings) -> SearchResult:
        """Run the search for one source (subclasses may share a decoder batch between requests)."""
        step, state, start, end = self.start(source)
        return run_searches([settings.new_search(start, end)], step, state)[0]

    def token_label(self, token: int) -> str:
        raise NotImplementedError

    def detokenize(self, tokens: list[int]) -> str:
        raise NotImplementedError

    def translate(
        self,
        text: str,
        method: Literal["greedy", "beam"] = "beam",
        beam_width: int = 5,
        length_penalty: float = 1.0,
        max_len: int | None = None,
    ) -> Translation:
        """Translate `text`; beam search keeps `beam_width` hypotheses (greedy keeps one)."""
        source = self.preprocess(text)
        notices = list(source.notices)
        if beam_width > self.vocab_size:
            notices.append(f"The beam width {beam_width} is larger than the vocabulary; using {self.vocab_size}.")
            beam_width = self.vocab_size
        max_len = max_len or self.default_max_len(source)
        if self.max_output_len is not None and max_len > self.max_output_len:
            notices.append(f"At most {self.max_output_len} output tokens: the model has no positions beyond.")
            max_len = self.max_output_len
        result = self.search(source, SearchSettings(method, beam_width, max_len, length_penalty))
        candidates = [
            Candidate(
                text=self.detokenize(h.tokens[:-1] if h.finished else h.tokens),  # without the end token
                tokens=[self.token_label(t) for t in h.tokens],
                log_prob=h.log_prob,
                score=h.score,
                finished=h.finished,
                attention=None if h.attention is None else h.attention.numpy(),
                node=h.node,
            )
            for h in result.hypotheses
        ]
        if not candidates[0].finished:
            notices.append(f"The best translation reached the length limit ({max_len} tokens) before its end token.")
        labels = {node.token: self.token_label(node.token) for node in result.tree}
        nodes = {node.id: node for node in result.tree}
        prefixes = {node.id: self.detokenize(prefix(nodes, node.id)) for node in result.tree}
        return Translation(source, candidates, result, labels, prefixes, notices, method)


TEXT_POLICY = TextPolicy(MAX_INPUT_CHARS, "Type a sentence to translate.", refuse_longer=True)


def check_text(text: str) -> str:
    """The sentence under the page's policy: longer text is refused, not cut (a cut sentence would be
    translated as if it were whole)."""
    return prepare_text(text, TEXT_POLICY).text


def unknown_notice(chars: set[str]) -> list[str]:
    if not chars:
        return []
    shown = " ".join(sorted(repr(c)[1:-1] for c in chars))
    return [f"Characters this model has never seen were read as an unknown token: {shown}"]


class DateTranslator(Translator):
    name = "Dates -> ISO 8601"
    source_language, target_language = "date as people write it", "ISO 8601"
    examples = ("Thursday, 14 March 2041", "4. März 2041", "3/4/2041", "le 1er janvier 2100", "5 april 09")

    def __init__(self, model: DateSeq2Seq, device: torch.device) -> None:
        self.model, self.device = model.to(device, half_dtype(device)).eval(), device

    @property
    def vocab_size(self) -> int:
        return len(TARGET_VOCAB)

    def preprocess(self, text: str) -> SourceTokens:
        text = normalise(check_text(text))
        if not text:  # only accents or other combining marks, which normalise drops
            raise InputError("Type a date to translate: there are no letters, digits or punctuation in this text.")
        notices = []
        if len(text) > MAX_SOURCE_CHARS:
            notices.append(f"Only the first {MAX_SOURCE_CHARS} characters are read (the model's limit).")
            text = text[:MAX_SOURCE_CHARS]
        notices += unknown_notice({c for c in text if c not in SOURCE_VOCAB.chars})
        ids = SOURCE_VOCAB.encode(text)
        return SourceTokens(
            ids,
            [SOURCE_VOCAB.tokens[i] if i != SOURCE_VOCAB.id(UNK) else c for i, c in zip(ids, text, strict=True)],
            notices,
        )

    def start(self, source: SourceTokens) -> tuple[StepFn, Any, int, int]:
        state = self.model.encode(torch.tensor([source.ids], device=self.device))

        def step(prefixes: torch.Tensor, state: dict) -> tuple[torch.Tensor, torch.Tensor, dict]:
            logits, state = self.model.step(prefixes[:, -1].to(self.device), state)
            return logits.float().log_softmax(-1), state["attention"], state

        return step, state, TARGET_VOCAB.id(BOS), TARGET_VOCAB.id(EOS)

    def default_max_len(self, source: SourceTokens) -> int:
        return 12  # YYYY-MM-DD and the end token, with one to spare

    def token_label(self, token: int) -> str:
        return TARGET_VOCAB.tokens[token]

    def detokenize(self, tokens: list[int]) -> str:
        return TARGET_VOCAB.decode(tokens)


class SubwordTranslator(Translator):
    """The project's transformer with its BPE tokenizer (HF `tokenizers`)."""

    name = "English -> Spanish (Bible-trained transformer)"
    source_language, target_language = "English", "Spanish"
    attention_kind = "layers-heads"
    examples = (
        "Do not be afraid, for I am with you.",
        "The shepherd found the lost sheep.",
        "The old man sat at the gate of the city.",
        "The woman gave water to the camels.",
        "We will build a house for the Lord.",
        "I love my mother and my father.",
        "My house is your house.",
        "In the beginning God created the heavens and the earth.",
    )

    def __init__(
        self,
        model: Seq2SeqTransformer,
        tokenizer: Any,
        device: torch.device,
        source_tag: str | None = None,
        name: str | None = None,
        examples: tuple[str, ...] | None = None,
    ) -> None:
        """`source_tag`: a token put before every sentence (a model trained on several domains, each marked by
        its tag, translates in the style of the tag's domain); `name` and `examples` replace the Bible model's."""
        self.model, self.tokenizer, self.device = model.to(device, half_dtype(device)).eval(), tokenizer, device
        self.bos, self.eos, self.unk = (tokenizer.token_to_id(t) for t in ("<s>", "</s>", "<unk>"))
        if source_tag is not None and tokenizer.token_to_id(source_tag) is None:
            raise ModelLoadError(f"The tokenizer has no token {source_tag!r} to mark the sentence's domain.")
        self.source_tag = source_tag
        self.name, self.examples = name or self.name, examples or self.examples
        self.batcher = MicroBatcher(self._search_together, name=self.name, max_batch=16)

    @property
    def vocab_size(self) -> int:
        return self.model.config.vocab

    def preprocess(self, text: str) -> SourceTokens:
        text = check_text(text)
        if self.source_tag is not None:
            text = f"{self.source_tag} {text}"
        encoding = self.tokenizer.encode(text)
        ids, tokens, notices = encoding.ids, encoding.tokens, []
        unknown = {text[a:b] for i, (a, b) in zip(ids, encoding.offsets, strict=True) if i == self.unk}
        notices += unknown_notice(unknown)
        limit = self.model.config.max_len - 1
        if len(ids) > limit:
            notices.append(f"The input is {len(ids)} subwords long; only the first {limit} are translated.")
            ids, tokens = ids[:limit], tokens[:limit]
        return SourceTokens([*ids, self.eos], [*tokens, "</s>"], notices)

    def search(self, source: SourceTokens, settings: SearchSettings) -> SearchResult:
        return self.batcher((source, settings))  # instead of the base class' `start`: see _search_together

    def _search_together(self, requests: list[tuple[SourceTokens, SearchSettings]]) -> list[SearchResult]:
        """Requests from several sessions in one decoder batch: the sources padded to the longest,
        each search stepping its own hypotheses (`run_searches`)."""
        state = self._start_batch([source for source, _ in requests])
        searches = [settings.new_search(self.bos, self.eos, len(source.ids)) for source, settings in requests]
        return run_searches(searches, self._step, state)

    def _start_batch(self, sources: list[SourceTokens]) -> dict:
        longest = max(len(source.ids) for source in sources)
        pad = self.model.config.pad_id
        ids = [source.ids + [pad] * (longest - len(source.ids)) for source in sources]
        return self.model.start_decoding(torch.tensor(ids, device=self.device))  # padding is masked

    def _step(self, prefixes: torch.Tensor, state: dict) -> tuple[torch.Tensor, torch.Tensor, dict]:
        return self.model.decode_step(prefixes[:, -1].to(self.device), state)

    @property
    def max_output_len(self) -> int:
        return self.model.config.max_len  # learned positions: none past the last

    def default_max_len(self, source: SourceTokens) -> int:
        return min(int(len(source.ids) * 1.5) + 10, self.max_output_len)

    def token_label(self, token: int) -> str:
        return self.tokenizer.id_to_token(token) or "?"

    def detokenize(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens)


class HFTranslator(Translator):
    """A transformers encoder-decoder (MarianMT, T5, BART...) through our own search: the encoder runs
    once; each step runs the decoder on the newest tokens with its key/value cache and reads the
    cross-attentions of the last position."""

    attention_kind = "layers-heads"
    examples = ("The weather is lovely today.", "Where is the train station?")

    def __init__(self, loaded: HFModel, name: str = "transformers model") -> None:
        self.model, self.tokenizer, self.device = loaded.model, loaded.preprocessor, loaded.device
        self.name = name
        if hasattr(self.model, "set_attn_implementation"):
            self.model.set_attn_implementation("eager")  # the fused kernels return no attention weights
        config = self.model.config
        self.start_id = config.decoder_start_token_id
        self.end_id = self.model.generation_config.eos_token_id or config.eos_token_id
        if isinstance(self.end_id, list):
            self.end_id = self.end_id[0]
        if self.start_id is None or self.end_id is None:
            raise ModelLoadError(f"{name} does not say which tokens start and end its output.")
        # Like `generate` for Marian models: the padding token is never a real output.
        self.banned = config.pad_token_id if config.pad_token_id not in (None, self.end_id) else None

    @property
    def vocab_size(self) -> int:
        return self.model.config.vocab_size

    @property
    def max_source_tokens(self) -> int:
        limits = [getattr(self.model.config, "max_position_embeddings", None), self.tokenizer.model_max_length]
        return min(x for x in limits if isinstance(x, int) and x > 0) if any(limits) else 512

    @property
    def max_output_len(self) -> int | None:
        positions = getattr(self.model.config, "max_position_embeddings", None)
        return positions if isinstance(positions, int) and positions > 0 else None

    def preprocess(self, text: str) -> SourceTokens:
        ids = self.tokenizer(check_text(text))["input_ids"]
        notices = []
        unk = self.tokenizer.unk_token_id
        if unk is not None and unk in ids:
            notices.append("Part of the input is outside the tokenizer's vocabulary and was read as an unknown token.")
        if len(ids) > self.max_source_tokens:
            notices.append(f"The input is {len(ids)} tokens long; only the first {self.max_source_tokens} are read.")
            ids = [*ids[: self.max_source_tokens - 1], ids[-1]]
        return SourceTokens(ids, self.tokenizer.convert_ids_to_tokens(ids), notices)

    def start(self, source: SourceTokens) -> tuple[StepFn, Any, int, int]:
        from transformers.modeling_outputs import BaseModelOutput

        input_ids = torch.tensor([source.ids], device=self.device)
        mask = torch.ones_like(input_ids)
        encoded = self.model.get_encoder()(input_ids=input_ids, attention_mask=mask)
        state = {"memory": encoded.last_hidden_state, "mask": mask, "past": None}

        def step(prefixes: torch.Tensor, state: dict) -> tuple[torch.Tensor, torch.Tensor, dict]:
            past = state["past"]
            new = prefixes if past is None else prefixes[:, -1:]
            out = self.model(
                encoder_outputs=BaseModelOutput(last_hidden_state=state["memory"]),
                attention_mask=state["mask"],
                decoder_input_ids=new.to(self.device),
                past_key_values=past,
                use_cache=True,
                output_attentions=True,
                return_dict=True,
            )
            logits = out.logits[:, -1].float()
            if self.banned is not None:
                logits[:, self.banned] = -math.inf
            log_probs = logits.log_softmax(-1)
            cross = torch.stack([layer[:, :, -1] for layer in out.cross_attentions], dim=1)  # (B, L, H, S)
            return log_probs, cross, {**state, "past": out.past_key_values}

        return step, state, self.start_id, self.end_id

    def default_max_len(self, source: SourceTokens) -> int:
        return min(int(len(source.ids) * 1.5) + 10, 512)

    def token_label(self, token: int) -> str:
        return self.tokenizer.convert_ids_to_tokens(token)

    def detokenize(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True)


def as_translator(loaded: Any, name: str = "transformers model") -> Translator:
    """What the registry loaded -> a Translator (user models arrive as HFModel)."""
    if isinstance(loaded, Translator):
        return loaded
    if isinstance(loaded, HFModel):
        if not getattr(loaded.model.config, "is_encoder_decoder", False):
            raise ModelLoadError(f"{name} is not an encoder-decoder model, so it cannot translate here.")
        return HFTranslator(loaded, name)
    raise ModelLoadError(f"{name} is not a translation model.")


def read_config(path: str, config_type: type) -> Any:
    with safe_open(path, framework="pt") as handle:
        metadata = handle.metadata() or {}
    if "config" not in metadata:
        raise ModelLoadError(f"{path} has no model configuration in its metadata.")
    return config_type(**json.loads(metadata["config"]))


def load_dates(location: str, device: torch.device) -> DateTranslator:
    model = DateSeq2Seq(read_config(location, DateModelConfig))
    model.load_state_dict(load_file(location))
    return DateTranslator(model, device)


def load_enes(location: str, device: torch.device, **options: Any) -> SubwordTranslator:
    """A checkpoint of training/translation_enes.py, `<name>.safetensors`, with its `<name>_tokenizer.json`;
    `options` go to the SubwordTranslator (a source tag, a name, examples)."""
    from tokenizers import Tokenizer

    config = read_config(location, TransformerConfig)
    model = Seq2SeqTransformer(config)
    model.load_state_dict({k: v.float() for k, v in load_file(location).items()})
    weights = Path(location)
    tokenizer = Tokenizer.from_file(str(weights.with_name(f"{weights.stem}_tokenizer.json")))
    translator = SubwordTranslator(model, tokenizer, device, **options)
    half_linear_weights(translator.model)  # on the CPU: the checkpoint's fp16 values, half the bytes read per step
    return translator


MODELS = [
    ModelSpec(
        id="translation-enes",
        task="translation",
        name="English -> Spanish (small transformer, Bible verses)",
        licence="project's own (trained here on public-domain Bibles)",
        card="assets/translation/enes.md",
        loader=load_enes,
        embedded="assets/translation/enes.safetensors",
        summary="4+4-layer encoder-decoder transformer with an 8k BPE, trained by the project (test BLEU 32.7)",
    ),
    ModelSpec(
        id="translation-dates",
        task="translation",
        name="Dates -> ISO 8601 (BiGRU + attention)",
        licence="project's own (weights trained here on synthetic CLDR data, Unicode licence)",
        card="assets/translation/dates.md",
        loader=load_dates,
        embedded="assets/translation/dates.safetensors",
        summary="character-level encoder-decoder with attention, trained by the project",
    ),
]
WRAPPERS = {"translation": as_translator}
