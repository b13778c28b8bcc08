"""What the sentiment page accepts: one text (cut to a length, checked for English), or a batch from a
CSV column or pasted lines, predicted in chunks.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from models.core.errors import InputError
from models.core.specs import embedded_path
from models.core.text import PreparedText, TextPolicy
from models.core.text import prepare_text as prepare
from models.sentiment.classifier import Prediction, SentimentClassifier, words

if TYPE_CHECKING:
    import pandas as pd

MAX_CHARS = 2_000  # longer text is cut here (with a notice): every model sees the same words
MAX_ROWS = 10_000  # batch mode analyses at most this many rows
MAX_CSV_BYTES = 50_000_000


TEXT_POLICY = TextPolicy(MAX_CHARS, "Type a sentence to analyse: the text box is empty.")


def prepare_text(text: str | None) -> PreparedText:
    """One input under the page's policy (cut to MAX_CHARS), with a notice when the text has no words,
    or does not look like English."""
    prepared = prepare(text, TEXT_POLICY)
    if not any(ch.isalpha() for ch in prepared.text):
        prepared.notices.append(
            "There are no words here. Only VADER knows emoji and emoticons; the trained models mostly see "
            "nothing they learned from, so their answers are close to a guess."
        )
    elif not looks_english(prepared.text):
        prepared.notices.append(
            "This does not look like English. All four models learned from English film reviews, "
            "so treat their answers as guesses."
        )
    return prepared


@functools.cache
def english_hint_words() -> frozenset[str]:
    """Common English function words plus the words of VADER's English sentiment lexicon."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    lexicon = embedded_path("pkg:vaderSentiment/vader_lexicon.txt")
    rated = lexicon.read_text(encoding="utf-8").split("\n") if lexicon else []
    return frozenset(ENGLISH_STOP_WORDS) | {line.split("\t")[0] for line in rated if line[:1].isalpha()}


def looks_english(text: str) -> bool:
    """A cheap guess: mostly Latin letters and, from four words on, at least one common English
    function word ("the", "is", "it"...) or English sentiment word."""
    letters = [ch for ch in text if ch.isalpha()]
    if sum(ord(ch) < 0x250 for ch in letters) < 0.5 * len(letters):
        return False
    tokens = [w for w in words(text) if w.isalpha()]
    return len(tokens) < 4 or any(t in english_hint_words() for t in tokens)


def read_table(data: bytes) -> tuple[pd.DataFrame, str | None]:
    """A CSV upload as a table of at most MAX_ROWS rows, and a notice when it was cut.
    Anything that is not a readable CSV becomes an InputError."""
    if not data.strip():
        raise InputError("The uploaded file is empty.")
    if len(data) > MAX_CSV_BYTES:
        raise InputError(f"The file is over {MAX_CSV_BYTES // 1_000_000} MB; upload a smaller CSV.")
    if b"\x00" in data[:4096]:
        raise InputError("This does not look like a CSV file (it contains binary data).")
    import pandas as pd

    try:
        table = pd.read_csv(io.BytesIO(data), nrows=MAX_ROWS + 1, encoding_errors="replace", on_bad_lines="skip")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(f"Could not read this file as CSV: {exc}") from exc
    if table.empty or table.columns.empty:
        raise InputError("The CSV has no rows to analyse.")
    if len(table) > MAX_ROWS:
        return table.head(
            MAX_ROWS
        ), f"The file has more than {MAX_ROWS:,} rows: only the first {MAX_ROWS:,} are analysed."
    return table, None


def text_columns(table: pd.DataFrame) -> list[str]:
    """Columns that hold text (strings in most non-empty cells)."""
    found = []
    for column in table.columns:
        values = table[column].dropna()
        if len(values) and values.map(lambda v: isinstance(v, str)).mean() >= 0.5:
            found.append(str(column))
    return found


def column_texts(table: pd.DataFrame, column: str) -> list[str]:
    """The texts of one column (empty cells become ""), or an InputError if it is missing or not text."""
    if column not in table.columns:
        raise InputError(f"The CSV has no column named '{column}'. Its columns: {', '.join(map(str, table.columns))}.")
    if column not in text_columns(table):
        raise InputError(f"Column '{column}' does not hold text (it looks like numbers or is empty). Pick another.")
    return [str(v)[:MAX_CHARS] if isinstance(v, str) else "" for v in table[column]]


def pasted_lines(text: str) -> list[str]:
    """Non-empty pasted lines, at most MAX_ROWS, each at most MAX_CHARS long."""
    lines = [line.strip()[:MAX_CHARS] for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise InputError("Paste at least one line of text, one sentence per line.")
    return lines[:MAX_ROWS]


def predict_in_chunks(
    classifier: SentimentClassifier, texts: Sequence[str], chunk: int = 256
) -> Iterator[tuple[int, Prediction]]:
    """Predictions for `texts` chunk by chunk, with the number done so far (for a progress bar)."""
    for start in range(0, len(texts), chunk):
        yield min(start + chunk, len(texts)), classifier.predict(texts[start : start + chunk])
