"""IBM Model 1 (Brown et al. 1993): word-translation probabilities learned by counting, the statistical
step between rule-based and neural translation.

The model says a Spanish sentence f is made from an English sentence e (plus an empty word, NULL, for
Spanish words that translate nothing) by picking, for each Spanish word, an English word to translate,
uniformly, and then the Spanish word with probability t(f | e). Nobody tells it which words align; EM
finds out from co-occurrence alone:

- E-step: with the current t, each Spanish word's alignment posterior over the English words of its
  sentence is t(f_j | e_i) / sum_i' t(f_j | e_i');
- M-step: t(f | e) = (expected count of e aligned to f) / (expected count of e aligned to anything).

Each iteration cannot lower the likelihood of the corpus, which `train` records. The alignment matrix
of a sentence pair is what a page draws beside a neural model's attention: probabilities learned by
counting beside weights learned by gradient descent.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

NULL = "∅"  # the empty English word
WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
UNSEEN = 1e-7  # t(f | e) for pairs the table does not hold


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation marks: "Don't panic!" -> ["don't", "panic", "!"]."""
    return WORD.findall(text.lower())


@dataclass
class IBMModel1:
    english: list[str]  # index 0 is NULL
    spanish: list[str]
    table: dict[tuple[int, int], float]  # (english id, spanish id) -> t(f | e); small entries pruned

    def __post_init__(self) -> None:
        self._english_ids = {w: i for i, w in enumerate(self.english)}
        self._spanish_ids = {w: i for i, w in enumerate(self.spanish)}

    def alignment(self, english: list[str], spanish: list[str]) -> np.ndarray:
        """Alignment posteriors P(a_j = i | e, f): (len(spanish), 1 + len(english)), column 0 is NULL;
        each row sums to 1. Words the model never saw get the same tiny t for every partner."""
        e_ids = [0, *(self._english_ids.get(w, -1) for w in english)]
        f_ids = [self._spanish_ids.get(w, -1) for w in spanish]
        t = np.array([[self.table.get((e, f), UNSEEN) for e in e_ids] for f in f_ids], dtype=np.float64)
        return t / t.sum(1, keepdims=True) if len(f_ids) else t.reshape(0, len(e_ids))

    def translations(self, english_word: str, k: int = 5) -> list[tuple[str, float]]:
        """The k likeliest Spanish words for one English word, with t(f | e)."""
        e = self._english_ids.get(english_word.lower())
        if e is None:
            return []
        row = sorted(((p, f) for (ei, f), p in self.table.items() if ei == e), reverse=True)[:k]
        return [(self.spanish[f], p) for p, f in row]

    def save(self, path: Path) -> None:
        keys = np.array(list(self.table), dtype=np.int32).reshape(-1, 2)
        tensors = {
            "english_ids": keys[:, 0].copy(),
            "spanish_ids": keys[:, 1].copy(),
            "probabilities": np.array(list(self.table.values()), dtype=np.float16),
        }
        metadata = {"english": json.dumps(self.english), "spanish": json.dumps(self.spanish, ensure_ascii=False)}
        save_file(tensors, str(path), metadata=metadata)

    @classmethod
    def load(cls, path: Path | str) -> "IBMModel1":
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata()
        tensors = load_file(str(path))
        table = dict(
            zip(
                zip(tensors["english_ids"].tolist(), tensors["spanish_ids"].tolist(), strict=True),
                tensors["probabilities"].astype(np.float64).tolist(),
                strict=True,
            )
        )
        return cls(json.loads(metadata["english"]), json.loads(metadata["spanish"]), table)


def train(
    pairs: list[tuple[list[str], list[str]]], iterations: int = 10, keep: float = 0.01
) -> tuple[IBMModel1, list[float]]:
    """EM over (english words, spanish words) pairs, from uniform t. Returns the model (entries below
    `keep` pruned) and the corpus log-likelihood log P(f | e) before each iteration's M-step.

    Vectorised: every (sentence, Spanish position, English position) triple is one row, so an EM
    iteration is a few `bincount`s instead of Python loops."""
    english = [NULL, *sorted({w for e, _ in pairs for w in e})]
    spanish = sorted({w for _, f in pairs for w in f})
    e_index, f_index = {w: i for i, w in enumerate(english)}, {w: i for i, w in enumerate(spanish)}
    e_rows, f_rows, groups, lengths = [], [], [], []
    group = 0
    for e_words, f_words in pairs:
        e_ids = np.array([0, *(e_index[w] for w in e_words)], dtype=np.int64)
        f_ids = np.array([f_index[w] for w in f_words], dtype=np.int64)
        e_rows.append(np.tile(e_ids, len(f_ids)))  # English positions vary fastest
        f_rows.append(np.repeat(f_ids, len(e_ids)))
        groups.append(np.repeat(np.arange(group, group + len(f_ids)), len(e_ids)))
        lengths.append(np.full(len(f_ids), len(e_ids)))
        group += len(f_ids)
    e_all, f_all = np.concatenate(e_rows), np.concatenate(f_rows)
    row_group = np.concatenate(groups)  # which Spanish word (of which sentence) a row belongs to
    group_length = np.concatenate(lengths)  # 1 + English length, per Spanish word
    # Each distinct (e, f) co-occurrence gets one parameter t; rows point at theirs.
    keys, row_param = np.unique(e_all * len(spanish) + f_all, return_inverse=True)
    param_e = keys // len(spanish)
    del e_all, f_all
    t = np.full(len(keys), 1.0 / len(spanish))
    log_likelihoods = []
    for _ in range(iterations):
        row_t = t[row_param]
        per_word = np.bincount(row_group, weights=row_t)  # sum_i t(f_j | e_i) for each Spanish word
        log_likelihoods.append(float(np.log(per_word / group_length).sum()))
        posterior = row_t / per_word[row_group]  # E-step
        counts = np.bincount(row_param, weights=posterior, minlength=len(keys))
        t = counts / np.bincount(param_e, weights=counts, minlength=len(english))[param_e]  # M-step
    kept = t >= keep
    table = dict(
        zip(
            zip(param_e[kept].tolist(), (keys[kept] % len(spanish)).tolist(), strict=True),
            t[kept].tolist(),
            strict=True,
        )
    )
    return IBMModel1(english, spanish, table), log_likelihoods
