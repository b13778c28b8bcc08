"""Text that users type, paste or put in a link: cleaned and held to a page's limit, in one place.

Each page declares a `TextPolicy`: its character limit, whether longer text is cut (at a space near the
limit, with a notice) or refused, and whether control characters are cleaned away or kept as typed (the
tokenizer views show every character). `prepare_text(raw, policy)` applies it; a blank box is an
`InputError` with the page's own message.
"""

import unicodedata
from dataclasses import dataclass

from models.core.errors import InputError

CUT_AT_SPACE_WITHIN = 0.8  # cut at the last space when it lies in the final 20% before the limit


@dataclass(frozen=True)
class TextPolicy:
    max_chars: int
    empty_message: str
    refuse_longer: bool = False  # True: longer text is an InputError; False: it is cut, with a notice
    clean: bool = True  # NFC, control and format characters as spaces, ends trimmed; False: only NUL dropped


@dataclass
class PreparedText:
    text: str
    notices: list[str]  # what the page should tell the user (cut, not English, ...)


def without_surrogates(text: str) -> str:
    """Lone surrogates (invalid Unicode, e.g. from a bad decode upstream) as U+FFFD, the replacement
    character, like any undecodable byte: the Rust tokenizers raise a TypeError on them."""
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def cut_text(text: str, max_chars: int) -> tuple[str, str | None]:
    """`text` cut to at most `max_chars` (at a space when one is near the limit), and the notice to show
    when it was cut (None when it was not)."""
    if len(text) <= max_chars:
        return text, None
    cut = text.rfind(" ", 0, max_chars)
    cut = cut if cut > CUT_AT_SPACE_WITHIN * max_chars else max_chars
    notice = (
        f"The text is long ({len(text):,} characters): this page reads the first {cut:,} "
        f"(its limit is {max_chars:,}, so every view stays fast)."
    )
    return text[:cut], notice


def prepare_text(raw: str | None, policy: TextPolicy) -> PreparedText:
    """`raw` as the page's models read it, under `policy`."""
    text = without_surrogates(raw or "")
    if policy.clean:
        text = unicodedata.normalize("NFC", text)
        text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text).strip()
    else:
        text = text.replace("\x00", "")
    if not text.strip():
        raise InputError(policy.empty_message)
    if len(text) > policy.max_chars and policy.refuse_longer:
        raise InputError(
            f"The text is {len(text):,} characters long; this page takes at most {policy.max_chars:,} at a time."
        )
    text, notice = cut_text(text, policy.max_chars)
    return PreparedText(text, [notice] if notice else [])
