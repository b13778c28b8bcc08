"""Train your own word vectors on a text with gensim: Word2Vec (skip-gram or CBOW) or FastText.
The result is a `WordVectors`, so every tool of the analogies page works on it."""

import re
from collections.abc import Callable
from typing import Literal

from gensim.models import FastText, Word2Vec
from gensim.models.callbacks import CallbackAny2Vec

from models.analogies.vectors import WordVectors
from models.core.errors import InputError
from models.core.paths import extra_file

Algorithm = Literal["skip-gram", "CBOW", "FastText"]
ALGORITHMS: tuple[Algorithm, ...] = ("skip-gram", "CBOW", "FastText")
MAX_TEXT_CHARS = 3_000_000  # about 500k words: trains in well under a minute on two cores
MIN_TOKENS = 50
MAX_EPOCHS = 50
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")  # letters, with inner apostrophes (don't, king's)
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n\s*\n")


def sample_corpus() -> str:
    """Shakespeare's Hamlet (public domain), fetched by tools/fetch_extras.py."""
    return extra_file("hamlet.txt").read_text(encoding="utf-8", errors="replace")


def tokenize(text: str) -> list[list[str]]:
    """Lower-cased words, one list per sentence (or paragraph)."""
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"The text has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}.")
    sentences = [WORD.findall(chunk.lower()) for chunk in SENTENCE_END.split(text)]
    return [s for s in sentences if s]


class _EpochProgress(CallbackAny2Vec):
    def __init__(self, epochs: int, progress: Callable[[int, int], None]):
        self.epochs, self.done, self.progress = epochs, 0, progress

    def on_epoch_end(self, model) -> None:
        self.done += 1
        self.progress(self.done, self.epochs)


def train_word_vectors(
    text: str,
    algorithm: Algorithm = "skip-gram",
    vector_size: int = 50,
    window: int = 5,
    epochs: int = 10,
    min_count: int = 2,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
) -> WordVectors:
    """Train vectors on `text` and wrap them. `progress(epoch, epochs)` after each epoch."""
    if algorithm not in ALGORITHMS:
        raise InputError(f"Unknown algorithm '{algorithm}': choose one of {', '.join(ALGORITHMS)}.")
    if not 1 <= epochs <= MAX_EPOCHS:
        raise InputError(f"Epochs must be between 1 and {MAX_EPOCHS}.")
    sentences = tokenize(text)
    tokens = sum(map(len, sentences))
    if tokens < MIN_TOKENS:
        raise InputError(f"The text has {tokens} words; give at least {MIN_TOKENS} to train on.")
    settings = {"vector_size": vector_size, "window": window, "min_count": min_count, "seed": seed, "workers": 1}
    # one worker keeps the run reproducible and leaves a core for the app
    model = FastText(**settings) if algorithm == "FastText" else Word2Vec(sg=int(algorithm == "skip-gram"), **settings)
    model.build_vocab(sentences)
    if len(model.wv) < 10:
        raise InputError(
            f"Only {len(model.wv)} words occur at least {min_count} times: "
            "give a longer text or lower the minimum count."
        )
    callbacks = [_EpochProgress(epochs, progress)] if progress else []
    model.train(sentences, total_examples=model.corpus_count, epochs=epochs, callbacks=callbacks)
    return WordVectors(model.wv, name=f"your {algorithm} vectors ({tokens:,} training words)")
