"""The date translator: a character-level encoder-decoder with attention that reads a date written
for humans ("Monday, 4 March 2041", "4. März 2041", "3/4/2041") and writes it as ISO 8601 ("2041-03-04").

Encoder: a bidirectional GRU over the characters. Decoder: a GRU that, at every output character,
scores each encoder position against its own state (additive "Bahdanau" attention), mixes the
encoder outputs with those weights, and predicts the next character from the mix.
"""

import unicodedata
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = [PAD, BOS, EOS, UNK]
# Inputs are normalised (see `normalise`) to this alphabet; anything else becomes <unk>.
SOURCE_CHARS = " abcdefghijklmnopqrstuvwxyz0123456789.,/-'"
TARGET_CHARS = "0123456789-"
MAX_SOURCE_CHARS = 64
# Two-digit years are read the way C's strptime reads %y (and Python's with it): 00-68 -> 2000-2068,
# 69-99 -> 1969-1999. The model learned this pivot from training pairs made with `widen_year`.
TWO_DIGIT_PIVOT = 69


def widen_year(two_digits: int) -> int:
    """The four-digit year a two-digit year stands for: 9 -> 2009, 68 -> 2068, 69 -> 1969."""
    return 1900 + two_digits if two_digits >= TWO_DIGIT_PIVOT else 2000 + two_digits


def two_digit_years() -> range:
    """The years a two-digit year can stand for: 1969-2068."""
    return range(widen_year(TWO_DIGIT_PIVOT), widen_year(TWO_DIGIT_PIVOT - 1) + 1)


def normalise(text: str) -> str:
    """Lower case, accents removed (März -> marz), every kind of space made one plain space.
    Why: typed dates vary in exactly these ways, and a small alphabet keeps the model small."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("ß", "ss")
    return " ".join(text.split())


@dataclass(frozen=True)
class CharVocab:
    """Characters <-> ids, with the special tokens first (so <pad> is 0)."""

    chars: str

    @property
    def tokens(self) -> list[str]:
        return SPECIALS + list(self.chars)

    def __len__(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def id(self, token: str) -> int:
        tokens = self.tokens
        return tokens.index(token) if token in tokens else tokens.index(UNK)

    def encode(self, text: str) -> list[int]:
        return [self.id(c) for c in text]

    def decode(self, ids: list[int]) -> str:
        tokens = self.tokens
        return "".join(tokens[i] for i in ids if tokens[i] not in SPECIALS)


SOURCE_VOCAB = CharVocab(SOURCE_CHARS)
TARGET_VOCAB = CharVocab(TARGET_CHARS)


@dataclass
class DateModelConfig:
    source_vocab: int = len(SOURCE_VOCAB)
    target_vocab: int = len(TARGET_VOCAB)
    embedding: int = 32
    encoder_hidden: int = 96  # per direction
    decoder_hidden: int = 128
    attention: int = 96


class DateSeq2Seq(nn.Module):
    def __init__(self, config: DateModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.source_embedding = nn.Embedding(c.source_vocab, c.embedding, padding_idx=0)
        self.encoder = nn.GRU(c.embedding, c.encoder_hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * c.encoder_hidden, c.decoder_hidden)  # encoder summary -> first decoder state
        self.target_embedding = nn.Embedding(c.target_vocab, c.embedding, padding_idx=0)
        self.decoder = nn.GRUCell(c.embedding + 2 * c.encoder_hidden, c.decoder_hidden)
        self.attend_keys = nn.Linear(2 * c.encoder_hidden, c.attention, bias=False)
        self.attend_query = nn.Linear(c.decoder_hidden, c.attention)
        self.attend_score = nn.Linear(c.attention, 1, bias=False)
        self.out = nn.Linear(c.decoder_hidden + 2 * c.encoder_hidden, c.target_vocab)

    def encode(self, source: torch.Tensor) -> dict[str, torch.Tensor]:
        """source (B, S) ids -> the decoder's starting state."""
        mask = source != 0  # (B, S)
        memory, _ = self.encoder(self.source_embedding(source))  # (B, S, 2E)
        # Mean over real positions: a summary that does not depend on padding.
        summary = (memory * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return {
            "memory": memory,
            "keys": self.attend_keys(memory),  # (B, S, A), computed once per sentence
            "mask": mask,
            "hidden": torch.tanh(self.bridge(summary)),  # (B, D)
            "context": summary,  # (B, 2E): the first step's "previous context"
        }

    def step(self, token: torch.Tensor, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """token (B,) the previous output -> logits (B, V) for the next one; the state gains `attention` (B, S)."""
        x = torch.cat([self.target_embedding(token), state["context"]], dim=-1)  # (B, Emb + 2E)
        hidden = self.decoder(x, state["hidden"])  # (B, D)
        scores = self.attend_score(torch.tanh(state["keys"] + self.attend_query(hidden).unsqueeze(1))).squeeze(-1)
        weights = F.softmax(scores.masked_fill(~state["mask"], float("-inf")), dim=-1)  # (B, S)
        context = torch.bmm(weights.unsqueeze(1), state["memory"]).squeeze(1)  # (B, 2E)
        logits = self.out(torch.cat([hidden, context], dim=-1))  # (B, V)
        return logits, {**state, "hidden": hidden, "context": context, "attention": weights}

    def forward(self, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: source (B, S), target_in (B, T) starting with <s> -> logits (B, T, V)."""
        state = self.encode(source)
        logits = []
        for t in range(target_in.size(1)):
            step_logits, state = self.step(target_in[:, t], state)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)
