"""Text clean-up shared by every model that reads user text."""


def without_surrogates(text: str) -> str:
    """Lone surrogates (invalid Unicode, e.g. from a bad decode upstream) as U+FFFD, the replacement
    character, like any undecodable byte: the Rust tokenizers raise a TypeError on them."""
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
