"""Contextual against static word vectors: the same word in several sentences. A static embedding (GloVe) gives
the word one vector whatever the sentence; an encoder (MiniLM) gives it a different vector in each, shaped by the
words around it, so "bank" of a river and "bank" of money drift apart."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from models.core.errors import InputError
from models.core.text import cut_text, without_surrogates
from models.transformer.encoder import OpenedEncoder
from models.transformer.opened import MAX_CHARS

MAX_SENTENCES = 8
MAX_WORD_CHARS = 40
EXAMPLE_WORD = "bank"
EXAMPLE_SENTENCES = (
    "We sat on the bank of the river and watched the boats.",
    "The grassy bank of the stream was covered in flowers.",
    "She went to the bank to open a savings account.",
    "The bank raised its interest rates again this year.",
)


@dataclass
class WordInContexts:
    word: str
    sentences: list[str]
    vectors: np.ndarray  # (S, D) the encoder's last-layer vector of the word in each sentence
    similarity: np.ndarray  # (S, S) cosine similarity of those vectors
    projection: np.ndarray  # (S, 2) the vectors' first two principal components


def read_sentences(word: str, text: str) -> tuple[str, list[str]]:
    """The word and the non-blank lines of `text` (at most MAX_SENTENCES, each cut to MAX_CHARS); InputError when
    the word is blank or too long, there are fewer than two sentences, or one lacks the word."""
    word = without_surrogates(word).strip()
    if not word or len(word) > MAX_WORD_CHARS or len(word.split()) > 1:
        raise InputError(f"Type one word (at most {MAX_WORD_CHARS} characters) to follow through the sentences.")
    sentences = [cut_text(line.strip(), MAX_CHARS)[0] for line in without_surrogates(text).splitlines()]
    sentences = [line for line in sentences if line][:MAX_SENTENCES]
    if len(sentences) < 2:
        raise InputError("Write at least two sentences, one a line, each using the word.")
    for number, sentence in enumerate(sentences, start=1):
        if not re.search(rf"\b{re.escape(word)}\b", sentence, re.IGNORECASE):
            raise InputError(f"Sentence {number} does not use the word “{word}”.")
    return word, sentences


def word_vector(encoder: OpenedEncoder, word: str, sentence: str) -> np.ndarray:
    """The mean of the encoder's last-layer vectors over the word pieces of the word's first use in `sentence`."""
    found = re.search(rf"\b{re.escape(word)}\b", sentence, re.IGNORECASE)
    encoded = encoder.tokenizer(sentence, return_offsets_mapping=True, truncation=True, max_length=128)
    pieces = [
        i
        for i, (start, end) in enumerate(encoded["offset_mapping"])
        if end > start and start < found.end() and end > found.start()
    ]
    if not pieces:
        raise InputError(f"“{word}” falls beyond the encoder's 128 tokens in: {sentence[:60]}…")
    with torch.inference_mode():
        hidden = encoder.bert(input_ids=torch.tensor([encoded["input_ids"]])).last_hidden_state[0]  # (T, D)
    return hidden[pieces].mean(0).float().numpy()


def word_in_contexts(encoder: OpenedEncoder, word: str, text: str) -> WordInContexts:
    """`word` through each sentence (one a line) of `text`."""
    word, sentences = read_sentences(word, text)
    vectors = np.stack([word_vector(encoder, word, sentence) for sentence in sentences])  # (S, D)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    centred = vectors - vectors.mean(0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    return WordInContexts(word, sentences, vectors, unit @ unit.T, centred @ components[:2].T)
