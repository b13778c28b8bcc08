"""Word error rate: how far a transcript is from a reference, in word edits (jiwer's alignment).

WER = (substitutions + deletions + insertions) / words in the reference, after both texts are normalised
the same way (lower case, punctuation dropped): Whisper writes "Sunny." where pocketsphinx writes "sunny",
and that is not an error of hearing. Numbers are compared as written ("4" is not "four").
"""

import re
from dataclasses import dataclass

import jiwer

from models.core.errors import InputError

PUNCTUATION = re.compile(r"[^\w\s']|(?<!\w)'|'(?!\w)")


@dataclass(frozen=True)
class Edit:
    """One aligned pair: `kind` is equal, substitute, delete (a reference word missing) or insert (an extra
    hypothesis word); the side that has no word holds ''."""

    kind: str
    reference: str
    hypothesis: str


@dataclass(frozen=True)
class WordErrors:
    wer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int
    edits: list[Edit]


def normalise(text: str) -> str:
    return " ".join(PUNCTUATION.sub(" ", text.lower()).split())


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """The alignment of `hypothesis` against `reference` with its counts (an empty hypothesis deletes every word)."""
    reference_words, hypothesis_words = normalise(reference).split(), normalise(hypothesis).split()
    if not reference_words:
        raise InputError("The reference has no words to compare with.")
    if not hypothesis_words:
        edits = [Edit("delete", word, "") for word in reference_words]
        return WordErrors(1.0, 0, len(reference_words), 0, len(reference_words), edits)
    output = jiwer.process_words(" ".join(reference_words), " ".join(hypothesis_words))
    edits: list[Edit] = []
    for chunk in output.alignments[0]:
        ref = reference_words[chunk.ref_start_idx : chunk.ref_end_idx]
        hyp = hypothesis_words[chunk.hyp_start_idx : chunk.hyp_end_idx]
        if chunk.type == "delete":
            edits += [Edit("delete", word, "") for word in ref]
        elif chunk.type == "insert":
            edits += [Edit("insert", "", word) for word in hyp]
        else:
            kind = "equal" if chunk.type == "equal" else "substitute"
            edits += [Edit(kind, r, h) for r, h in zip(ref, hyp, strict=True)]
    return WordErrors(
        output.wer, output.substitutions, output.deletions, output.insertions, len(reference_words), edits
    )
