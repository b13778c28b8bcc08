"""Whisper tiny.en as a recognizer: audio -> log-mel -> encoder -> a search over the decoder's tokens ->
text, each token's probability, and word timestamps from the cross-attention of the alignment heads.

    recognizer = get_registry().load("speech-whisper-tiny-en")
    transcript = recognizer.transcribe(audio.samples, method="beam", beam_width=5)
    transcript.text, transcript.words[0].start, transcript.token_probs

The search is models/translation/beam_search.py's, the one the translation page replays: Whisper is one
more step function. The prompt is <|startoftranscript|><|notimestamps|> (tiny.en knows English only, so
no language or task tokens); tokens Whisper must never write (the suppress list of its config, the task
tokens) get probability 0, and the first token may not be a blank or the end.

Word timestamps follow Whisper's own recipe: some heads of the decoder's cross-attention (the "alignment
heads", listed with the model) follow the audio monotonically. Their weights for the text tokens are
standardised per frame, smoothed along time with a median filter and averaged; dynamic time warping then
finds the cheapest monotonic path through tokens x frames, and a word starts where the path enters its
first token.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import median_filter
from tokenizers import Tokenizer

from models.core.device import half_dtype
from models.core.errors import InputError, ModelLoadError
from models.core.paths import cache_dir
from models.speech.audio import SAMPLE_RATE
from models.speech.ctranslate2_to_torch import convert, load_whisper, save_whisper
from models.speech.features import CHUNK_SAMPLES, HOP, log_mel
from models.speech.whisper import Whisper
from models.translation.beam_search import SearchResult, SearchSettings, run_searches

SOT, EOT, NO_TIMESTAMPS, NO_SPEECH = "<|startoftranscript|>", "<|endoftext|>", "<|notimestamps|>", "<|nocaptions|>"
FRAMES_PER_SECOND = SAMPLE_RATE / HOP / 2  # encoder frames: 50 a second (the second convolution halves 100)
MAX_NEW_TOKENS = 224  # Whisper's own limit: half the decoder's 448 positions
MEDIAN_WIDTH = 7  # encoder frames (140 ms) of smoothing along time, as Whisper's timing code does
MAX_BEAM_WIDTH = 8


@dataclass
class Word:
    text: str
    start: float  # seconds
    end: float
    probability: float  # the least likely of its tokens
    first_token: int  # index of its first token in the transcript's tokens


@dataclass
class WhisperTranscript:
    """One decoding: the best hypothesis' text tokens (end token left out) with their probabilities, its words
    with times, the alignment heads' attention over the clip (heads, tokens, frames) and the search itself
    (tree and n-best list) for the page's search views."""

    text: str
    tokens: list[int]
    token_texts: list[str]
    token_probs: list[float]
    log_prob: float  # of the whole hypothesis, end token included
    words: list[Word]
    attention: np.ndarray
    no_speech_prob: float  # P(<|nocaptions|>) right after <|startoftranscript|>: Whisper's "nobody speaks"
    search: SearchResult
    candidates: list[tuple[str, float, float]] = field(default_factory=list)  # (text, log P, score), best first
    prefix_texts: dict[int, str] = field(default_factory=dict)  # search tree node -> the text so far
    token_labels: dict[int, str] = field(default_factory=dict)  # every token in the search tree -> its text


@dataclass
class KeywordCurve:
    """Whisper's probability that the keyword comes next, at the start of each word of the transcript (and
    after its last word): `times` in seconds, `probabilities` in [0, 1]."""

    keyword: str
    times: list[float]
    probabilities: list[float]


class WhisperRecognizer:
    """A Whisper module with its tokenizer and decoding rules (from the model folder's config.json)."""

    def __init__(self, model: Whisper, tokenizer: Tokenizer, config: dict, device: torch.device, name: str = "Whisper"):
        self.model, self.tokenizer, self.device, self.name = (
            model.to(device, half_dtype(device)).eval(),
            tokenizer,
            device,
            name,
        )
        ids = {token: tokenizer.token_to_id(token) for token in (SOT, EOT, NO_TIMESTAMPS, NO_SPEECH)}
        if None in ids.values():
            raise ModelLoadError(f"{name}'s tokenizer lacks Whisper's special tokens.")
        self.sot, self.eot, self.no_timestamps, self.no_speech = ids[SOT], ids[EOT], ids[NO_TIMESTAMPS], ids[NO_SPEECH]
        self.alignment_heads = [tuple(pair) for pair in config["alignment_heads"]]  # (decoder layer, head)
        # Never written: the config's list (symbols, speaker marks) and the task tokens, as Whisper's own
        # decoder and CTranslate2 have it; the first token may not be a blank or the end either.
        tasks = ("<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", NO_SPEECH)
        never = [*config.get("suppress_ids", []), self.sot, *(tokenizer.token_to_id(t) for t in tasks)]
        self.suppress = torch.zeros(model.dims.n_vocab, dtype=torch.bool)
        self.suppress[[t for t in never if t is not None and 0 <= t < model.dims.n_vocab]] = True
        self.suppress_first = self.suppress.clone()
        self.suppress_first[config.get("suppress_ids_begin", [self.eot])] = True

    # preprocess -> forward -> postprocess

    def preprocess(self, samples: np.ndarray) -> torch.Tensor:
        """(n,) 16 kHz samples, at most 30 s -> (1, 80, 3000) log-mel on the model's device and dtype."""
        if len(samples) > CHUNK_SAMPLES:
            raise InputError("Whisper reads at most 30 seconds at a time; cut the audio first.")
        mel = log_mel(torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)))
        return mel[None].to(self.device, next(self.model.parameters()).dtype)

    @torch.inference_mode()
    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        return self.model.encoder(mel)  # (1, 1500, C)

    def step(self, prefixes: torch.Tensor, state: dict) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """The search's step: prefixes (B, t) from <|startoftranscript|> -> next-token log-probabilities (B, V),
        the alignment heads' attention for it (B, heads, 1500) and the extended cache."""
        first = state["self"] is None
        if first:  # the whole prompt: <|startoftranscript|> (the search's start token), <|notimestamps|>
            tokens = torch.cat([prefixes, torch.full_like(prefixes, self.no_timestamps)], dim=1)
        else:
            tokens = prefixes[:, -1:]
        audio = [(k.expand(len(prefixes), -1, -1, -1), v.expand(len(prefixes), -1, -1, -1)) for k, v in state["audio"]]
        logits, cache, cross = self.model.decoder(tokens, audio, state["self"])
        logits = logits[:, -1].float()
        logits[:, (self.suppress_first if first else self.suppress).to(logits.device)] = float("-inf")
        attention = torch.stack([cross[layer][:, head, -1] for layer, head in self.alignment_heads], dim=1)
        return logits.log_softmax(-1), attention, {"audio": state["audio"], "self": cache}

    @torch.inference_mode()
    def search(
        self,
        audio_features: torch.Tensor,
        settings: SearchSettings,
        frames: int,
        on_step: Callable[[str], None] | None = None,
    ) -> SearchResult:
        """One search over the decoder for one clip's encoder output (1, 1500, C); `frames`: the encoder
        frames the clip covers (the attention rows keep only those). `on_step(text)` is told, before each
        step, the text of the likeliest live hypothesis (the search keeps them best first)."""
        state = {"audio": self.model.decoder.audio_cache(audio_features), "self": None}
        search = settings.new_search(self.sot, self.eot, source_length=frames)
        step = self.step
        if on_step is not None:

            def step(prefixes: torch.Tensor, state: dict) -> tuple[torch.Tensor, torch.Tensor, dict]:
                on_step(self.detokenize(prefixes[0, 1:].tolist()))  # one host read a step, only when watched
                return self.step(prefixes, state)

        return run_searches([search], step, state, reorder=_reorder)[0]

    @torch.inference_mode()
    def no_speech_probability(self, audio_features: torch.Tensor) -> float:
        tokens = torch.tensor([[self.sot]], device=self.device)
        logits, _, _ = self.model.decoder(tokens, self.model.decoder.audio_cache(audio_features))
        return float(logits[0, -1].float().softmax(-1)[self.no_speech])

    def transcribe(
        self,
        samples: np.ndarray,
        method: str = "greedy",
        beam_width: int = 5,
        length_penalty: float = 1.0,
        on_step: Callable[[str], None] | None = None,
    ) -> WhisperTranscript:
        """The transcript of at most 30 s; `on_step` follows the search as it writes (see `search`)."""
        if not 1 <= beam_width <= MAX_BEAM_WIDTH:
            raise InputError(f"The beam width must be between 1 and {MAX_BEAM_WIDTH}.")
        audio_features = self.encode(self.preprocess(samples))
        frames = max(1, min(audio_features.size(1), round(len(samples) / SAMPLE_RATE * FRAMES_PER_SECOND)))
        settings = SearchSettings(method, beam_width, MAX_NEW_TOKENS, length_penalty)
        result = self.search(audio_features, settings, frames, on_step)
        return self.postprocess(result, self.no_speech_probability(audio_features))

    def postprocess(self, result: SearchResult, no_speech_prob: float) -> WhisperTranscript:
        best = result.best
        count = len(best.tokens) - (1 if best.finished else 0)  # the end token is not text
        tokens = best.tokens[:count]
        attention = (
            best.attention[:count].permute(1, 0, 2).numpy() if count else np.zeros((len(self.alignment_heads), 0, 1))
        )
        texts = [self.token_text(t) for t in tokens]
        candidates = [(self.detokenize(h.tokens), h.log_prob, h.score) for h in result.hypotheses]
        return WhisperTranscript(
            text=self.detokenize(tokens),
            tokens=tokens,
            token_texts=texts,
            token_probs=[float(np.exp(p)) for p in best.token_log_probs[:count]],
            log_prob=best.log_prob,
            words=word_timestamps(texts, [float(np.exp(p)) for p in best.token_log_probs[:count]], attention),
            attention=attention,
            no_speech_prob=no_speech_prob,
            search=result,
            candidates=candidates,
            prefix_texts=self.prefix_texts(result),
            token_labels={node.token: self.token_text(node.token).strip() or "·" for node in result.tree},
        )

    @torch.inference_mode()
    def forced_log_probs(self, audio_features: torch.Tensor, sequences: list[list[int]]) -> torch.Tensor:
        """Teacher forcing: for each token sequence (after the prompt), the log-probabilities of the next token
        after every prefix (B, 2 + longest, V), before any suppression. Shorter sequences are padded at the
        end, which the causal mask keeps from touching what comes before."""
        longest = max(len(tokens) for tokens in sequences)
        rows = [[self.sot, self.no_timestamps, *tokens] + [self.eot] * (longest - len(tokens)) for tokens in sequences]
        tokens = torch.tensor(rows, device=self.device)  # (B, 2 + longest)
        audio = [
            (k.expand(len(rows), -1, -1, -1), v.expand(len(rows), -1, -1, -1))
            for k, v in self.model.decoder.audio_cache(audio_features)
        ]
        logits, _, _ = self.model.decoder(tokens, audio)
        return logits.float().log_softmax(-1)

    def keyword_curve(self, samples: np.ndarray, transcript: WhisperTranscript, keyword: str) -> KeywordCurve:
        """P(the next words are `keyword` | the audio, the transcript so far) before each word of the transcript:
        a trigger-word detector read off the recognizer itself, spelled in lower case or capitalised."""
        keyword = " ".join(keyword.split())
        if not keyword:
            raise InputError("Type a keyword to look for.")
        spellings = {f" {keyword.lower()}", f" {keyword[0].upper()}{keyword[1:].lower()}"}
        spelled = [self.tokenizer.encode(s, add_special_tokens=False).ids for s in sorted(spellings)]
        cuts = [w.first_token for w in transcript.words] + [len(transcript.tokens)]
        times = [w.start for w in transcript.words] + [len(samples) / SAMPLE_RATE]
        sequences = [transcript.tokens[:cut] + tokens for cut in cuts for tokens in spelled]
        if 2 + max(len(s) for s in sequences) > self.model.dims.n_text_ctx:
            raise InputError("The keyword is too long for Whisper's decoder.")
        log_probs = self.forced_log_probs(self.encode(self.preprocess(samples)), sequences)
        probabilities = []
        for i, cut in enumerate(cuts):
            total = 0.0
            for j, tokens in enumerate(spelled):
                row = log_probs[i * len(spelled) + j]
                positions = (
                    torch.arange(len(tokens), device=row.device) + 1 + cut
                )  # the row predicting each keyword token
                total += float(row[positions, torch.tensor(tokens, device=row.device)].sum().exp())
            probabilities.append(min(total, 1.0))
        return KeywordCurve(keyword, times, probabilities)

    def token_text(self, token: int) -> str:
        return self.tokenizer.decode([token], skip_special_tokens=False)

    def detokenize(self, tokens: list[int]) -> str:
        return self.tokenizer.decode([t for t in tokens if t < self.eot]).strip()

    def prefix_texts(self, result: SearchResult) -> dict[int, str]:
        nodes = {node.id: node for node in result.tree}
        texts: dict[int, str] = {}
        for node in result.tree:  # parents come before their children
            parent = texts.get(node.parent, "")
            texts[node.id] = parent if node.token >= self.eot else (parent + self.token_text(node.token))
        return {i: text.strip() for i, text in texts.items() if i in nodes}


def _reorder(state: dict, index: torch.Tensor) -> dict:
    """Keep the hypotheses `index`: their rows of the self-attention cache (the audio's is shared by all)."""
    cache = [(k.index_select(0, index.to(k.device)), v.index_select(0, index.to(v.device))) for k, v in state["self"]]
    return {"audio": state["audio"], "self": cache}


def dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cheapest monotonic path from (0, 0) to the last cell of `cost` (tokens, frames), moving one token,
    one frame or both at a time: (token index, frame index) of each step."""
    rows, cols = cost.shape
    total = np.full((rows + 1, cols + 1), np.inf)
    total[0, 0] = 0.0
    came_from = np.zeros((rows + 1, cols + 1), dtype=np.int8)  # 0: diagonal, 1: from above, 2: from the left
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            options = (total[i - 1, j - 1], total[i - 1, j], total[i, j - 1])
            came_from[i, j] = int(np.argmin(options))
            total[i, j] = cost[i - 1, j - 1] + options[came_from[i, j]]
    i, j, path = rows, cols, []
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        move = came_from[i, j]
        i, j = (i - 1, j - 1) if move == 0 else (i - 1, j) if move == 1 else (i, j - 1)
    token_index, frame_index = np.array(path[::-1]).T
    return token_index, frame_index


def word_groups(token_texts: list[str]) -> list[list[int]]:
    """Token indices of each word: a word starts at a token beginning with a space; punctuation joins the
    word before it."""
    groups: list[list[int]] = []
    for i, text in enumerate(token_texts):
        starts_word = text.startswith(" ") and text.strip() and not all(c in ".,!?;:'\"" for c in text.strip())
        if starts_word or not groups:
            groups.append([i])
        else:
            groups[-1].append(i)
    return groups


def word_timestamps(token_texts: list[str], token_probs: list[float], attention: np.ndarray) -> list[Word]:
    """Words with start and end times from the alignment heads' attention (heads, tokens, frames)."""
    if not token_texts or attention.shape[2] < 2:
        return []
    weights = attention / attention.sum(-1, keepdims=True)  # renormalised over the clip's frames
    weights = (weights - weights.mean(1, keepdims=True)) / (weights.std(1, keepdims=True) + 1e-6)
    weights = median_filter(weights, size=(1, 1, MEDIAN_WIDTH))
    token_index, frame_index = dtw_path(-weights.mean(0))
    # The frame where the path first reaches each token, and the clip's end after the last one.
    entered = np.array(
        [frame_index[np.argmax(token_index == t)] for t in range(len(token_texts))] + [attention.shape[2]]
    )
    words = []
    for group in word_groups(token_texts):
        text = "".join(token_texts[i] for i in group).strip()
        start, end = entered[group[0]] / FRAMES_PER_SECOND, entered[group[-1] + 1] / FRAMES_PER_SECOND
        words.append(Word(text, float(start), float(end), min(token_probs[i] for i in group), group[0]))
    return words


def converted_path(model_bin: Path) -> Path:
    """Where the PyTorch copy of a CTranslate2 model is cached: named by the source file's path, size and time."""
    stat = model_bin.stat()
    key = hashlib.sha256(f"{model_bin.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir() / "speech" / f"whisper-{key}.safetensors"


def load_recognizer(location: str, device: torch.device) -> WhisperRecognizer:
    """A CTranslate2 Whisper folder (model.bin, tokenizer.json, config.json) -> a recognizer. The first load
    converts model.bin to safetensors in the cache folder; later ones read that."""
    folder = Path(location)
    model_bin = folder / "model.bin"
    if not model_bin.is_file() or not (folder / "tokenizer.json").is_file():
        raise ModelLoadError(f"{folder} is not a CTranslate2 Whisper folder (model.bin and tokenizer.json).")
    cached = converted_path(model_bin)
    if cached.is_file():
        model = load_whisper(cached)
    else:
        model = convert(model_bin)
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        save_whisper(model, partial)
        partial.replace(cached)  # whole or not at all, if two processes convert at once
    config = (
        json.loads((folder / "config.json").read_text(encoding="utf-8")) if (folder / "config.json").is_file() else {}
    )
    config.setdefault("alignment_heads", [[model.dims.decoder_layers - 1, h] for h in range(model.dims.heads)])
    return WhisperRecognizer(model, Tokenizer.from_file(str(folder / "tokenizer.json")), config, device)
