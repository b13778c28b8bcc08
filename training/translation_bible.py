"""English-Spanish verse pairs from two public-domain Bibles (Debian `sword-text-web`: World English
Bible; `sword-text-sparv`: Reina-Valera 1909), read with PyPI `pysword`, cleaned of OSIS markup and
footnotes, and split into train / validation / test by a fixed seed.

    python -m training.translation_bible    # writes the splits as TSV under the cache directory
"""

import html
import random
import re
from pathlib import Path

from models.errors import ModelLoadError
from models.paths import cache_dir

SWORD_DIR = Path("/usr/share/sword")
ENGLISH, SPANISH = "engWEB2015eb", "spaRV1909eb"
SPLIT_SIZES = {"test": 1000, "valid": 500}
SEED = 2026

NOTE = re.compile(r"<note\b.*?</note>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def clean(raw: str) -> str:
    """OSIS verse text -> plain text. Footnotes sit between words with no space, so they become one."""
    text = html.unescape(TAG.sub("", NOTE.sub(" ", raw)))
    text = " ".join(text.replace("¶", " ").split())
    text = re.sub(r" ([,.;:?!’”)])", r"\1", text)
    # The Reina-Valera capitalises a chapter's first word ("EN el principio"); make it a normal word.
    return re.sub(r"^([A-ZÁÉÍÓÚÑ]{2,})\b", lambda m: m.group(1).capitalize(), text)


def read_pairs() -> list[tuple[str, str, str]]:
    """(reference, english, spanish) for every verse both Bibles have, in canonical order."""
    from pysword.modules import SwordModules

    if not (SWORD_DIR / "mods.d" / f"{ENGLISH}.conf").exists():
        raise ModelLoadError(
            "The Bibles are missing: `make training-data` installs sword-text-web and sword-text-sparv."
        )
    modules = SwordModules(str(SWORD_DIR))
    modules.parse_modules()
    english, spanish = (modules.get_bible_from_module(name) for name in (ENGLISH, SPANISH))
    pairs = []
    for testament in spanish.get_structure().get_books().values():
        for book in testament:
            for chapter, length in enumerate(book.chapter_lengths, start=1):
                verses = list(range(1, length + 1))
                en = english.get_iter(books=[book.osis_name], chapters=[chapter], verses=verses, clean=False)
                es = spanish.get_iter(books=[book.osis_name], chapters=[chapter], verses=verses, clean=False)
                for verse, en_raw, es_raw in zip(verses, en, es, strict=True):
                    en_text, es_text = clean(en_raw), clean(es_raw)
                    if en_text and es_text:
                        pairs.append((f"{book.osis_name} {chapter}:{verse}", en_text, es_text))
    return pairs


def split_dir() -> Path:
    return cache_dir() / "translation" / "bible"


def write_splits() -> dict[str, Path]:
    """Shuffle the verses with a fixed seed and write test / valid / train TSVs (reference, en, es)."""
    pairs = read_pairs()
    random.Random(SEED).shuffle(pairs)
    start, paths = 0, {}
    out = split_dir()
    out.mkdir(parents=True, exist_ok=True)
    for name, size in [*SPLIT_SIZES.items(), ("train", len(pairs))]:
        paths[name] = out / f"{name}.tsv"
        paths[name].write_text("".join("\t".join(p) + "\n" for p in pairs[start : start + size]), encoding="utf-8")
        start += size
    return paths


def load_split(name: str) -> list[tuple[str, str]]:
    """(english, spanish) pairs of one split, writing the splits first if needed."""
    path = split_dir() / f"{name}.tsv"
    if not path.exists():
        write_splits()
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    return [(en, es) for _, en, es in rows]


if __name__ == "__main__":
    for split, path in write_splits().items():
        print(split, sum(1 for _ in path.open(encoding="utf-8")), path)
