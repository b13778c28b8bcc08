"""The class's guess against the model's: what a language model gives to a whole next *word*, which
may be several tokens (the product of each token's probability given the prompt and the tokens before it),
and its likeliest next words. Used by the class session's *Next word* activity."""

from __future__ import annotations

import torch

from models.generation.language_model import LanguageModel

MAX_WORD_TOKENS = 4  # longer guesses are shown without the model's probability


def normalise_word(text: str) -> str:
    """A guess as it is counted: its first word, lower case, without the punctuation around it."""
    words = text.split()
    return words[0].strip(".,;:!?\"'()[]«»“”‘’").lower() if words else ""


def next_words(lm: LanguageModel, prompt: str, top: int = 10) -> list[tuple[str, float]]:
    """The model's `top` likeliest next tokens that start a word, as words, with their probabilities."""
    with torch.inference_mode():
        logits, _ = lm.start(lm.encode(prompt))
        probs = torch.softmax(logits.float(), dim=-1)
        values, ids = probs.topk(top * 3)
    found: dict[str, float] = {}
    for p, token_id in zip(values.tolist(), ids.tolist(), strict=True):
        word = normalise_word(lm.decode([token_id]))
        if word and len(found) < top:
            found[word] = found.get(word, 0.0) + p
    return list(found.items())


def word_probability(lm: LanguageModel, prompt: str, word: str) -> float | None:
    """P(`word` is the next word after `prompt`), or None when it is more than MAX_WORD_TOKENS tokens."""
    before = lm.encode(prompt)
    after = lm.encode(f"{prompt.rstrip()} {word}")
    shared = 0
    while shared < min(len(before), len(after)) and before[shared] == after[shared]:
        shared += 1
    shared = max(shared, 1)  # the first position has no prediction: it is the text's start
    if not 0 < len(after) - shared <= MAX_WORD_TOKENS:
        return None
    probability = 1.0
    with torch.inference_mode():
        for position in range(shared, len(after)):
            logits, _ = lm.start(after[:position])
            probability *= float(torch.softmax(logits.float(), dim=-1)[after[position]])
    return probability
