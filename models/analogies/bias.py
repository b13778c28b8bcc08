"""Gender bias in word vectors and the two debiasing steps of Bolukbasi et al. (2016), "Man is to
Computer Programmer as Woman is to Homemaker?":

- the bias direction g: the main direction in which he/she, man/woman, ... pairs differ;
- neutralize: remove g from a word that should be neutral (an occupation), so its projection is 0;
- equalize: move a gendered pair (actor/actress) so both words sit symmetrically around the
  neutral subspace, equally far from every neutralized word.

All vectors here are unit vectors from `WordVectors`, as numpy arrays.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.analogies.vectors import WordVectors
from models.core.errors import InputError

GENDER_PAIRS = [
    ("he", "she"),
    ("man", "woman"),
    ("his", "her"),
    ("himself", "herself"),
    ("boy", "girl"),
    ("father", "mother"),
    ("son", "daughter"),
    ("male", "female"),
]
OCCUPATIONS = [
    "nurse",
    "receptionist",
    "homemaker",
    "librarian",
    "hairdresser",
    "secretary",
    "dancer",
    "teacher",
    "doctor",
    "lawyer",
    "scientist",
    "engineer",
    "programmer",
    "architect",
    "pilot",
    "surgeon",
    "carpenter",
    "mechanic",
]
EQUALIZE_PAIRS = [("actor", "actress"), ("grandfather", "grandmother"), ("boy", "girl"), ("king", "queen")]


def unit_vector(vectors: WordVectors, word: str) -> np.ndarray:
    return vectors.vector(word).cpu().numpy().astype(np.float64)


def bias_direction(vectors: WordVectors, pairs: Sequence[tuple[str, str]] = GENDER_PAIRS) -> np.ndarray:
    """The unit direction g (D,) along which the pairs differ most: centre each pair on its mean
    and take the first principal component, signed so that the first word of the first pair
    (e.g. "he") projects positively."""
    if not pairs:
        raise InputError("Give at least one pair of words to define the bias direction.")
    centred = []
    for first, second in pairs:
        u, v = unit_vector(vectors, first), unit_vector(vectors, second)
        mean = (u + v) / 2
        centred += [u - mean, v - mean]
    _, _, components = np.linalg.svd(np.stack(centred), full_matrices=False)  # (2P, D) -> rows of (D,)
    direction = components[0]
    first, second = pairs[0]
    if direction @ (unit_vector(vectors, first) - unit_vector(vectors, second)) < 0:
        direction = -direction
    return direction


def neutralize(vector: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The vector minus its component along the unit `direction`: orthogonal to it afterwards."""
    return vector - (vector @ direction) * direction


def equalize(first: np.ndarray, second: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bolukbasi et al.'s equalize for two unit vectors: both keep the pair's shared, neutral part
    ν (the mean minus its bias component) and get equal and opposite components along g, scaled
    so each stays of length 1. Any neutralized word is then equally similar to both."""
    mean = (first + second) / 2
    neutral_part = mean - (mean @ direction) * direction
    along = np.sqrt(max(0.0, 1.0 - float(neutral_part @ neutral_part)))
    side = 1.0 if (first - second) @ direction >= 0 else -1.0  # each word stays on its own side
    return neutral_part + side * along * direction, neutral_part - side * along * direction


@dataclass(frozen=True)
class Projection:
    word: str
    before: float  # cosine with the bias direction: > 0 leans to the pair's first word ("he")
    after: float  # after neutralize (about 0)


def occupation_projections(vectors: WordVectors, direction: np.ndarray, words: Sequence[str]) -> list[Projection]:
    """Each word's projection onto the bias direction before and after neutralize."""
    rows = []
    for word in words:
        u = unit_vector(vectors, word)
        rows.append(Projection(word, float(u @ direction), float(neutralize(u, direction) @ direction)))
    return rows


@dataclass(frozen=True)
class EqualizedPair:
    first: str
    second: str
    probe: str  # a neutralized word both are compared with
    before: tuple[float, float]  # cosine of the probe with first and second, before equalize
    after: tuple[float, float]  # ... and after: equal


def equalize_pairs(
    vectors: WordVectors, direction: np.ndarray, pairs: Sequence[tuple[str, str]], probe: str
) -> list[EqualizedPair]:
    """For each pair, the neutralized `probe` word's cosine with both words before and after equalize."""
    probe_vector = neutralize(unit_vector(vectors, probe), direction)
    rows = []
    for first, second in pairs:
        u, v = unit_vector(vectors, first), unit_vector(vectors, second)
        eu, ev = equalize(u, v, direction)
        rows.append(
            EqualizedPair(
                first,
                second,
                probe,
                (float(u @ probe_vector), float(v @ probe_vector)),
                (float(eu @ probe_vector), float(ev @ probe_vector)),
            )
        )
    return rows
