"""English-Spanish verse pairs from three public-domain Bibles in Debian, read with PyPI `pysword`,
cleaned of OSIS markup and footnotes, and split into train / validation / test by verse id.

- English: `sword-text-web` (World English Bible, 2015) and `sword-text-kjv` (King James Version);
- Spanish: `sword-text-sparv` (Reina-Valera 1909).

The split is by verse, not by pair: a test or validation verse is absent from training under both
English versions. Test and validation verses are the WEB verses a seeded shuffle put first (1,000
and 500; the same ids as before the KJV was added, so figures stay comparable); every other verse
trains, once per English version that has it.

    python -m training.translation_bible    # writes the splits as TSV under the cache directory
"""

import html
import random
import re
from pathlib import Path

from models.core.errors import ModelLoadError
from models.core.paths import cache_dir

SWORD_DIR = Path("/usr/share/sword")
WEB, KJV, SPANISH = "engWEB2015eb", "engKJV2006eb", "spaRV1909eb"
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


def read_verses() -> dict[str, dict[str, str]]:
    """verse id ("John 1:5") -> {module name: text} for every Spanish verse, in canonical order;
    an English version that lacks the verse (or leaves it empty) has no entry."""
    from pysword.modules import SwordModules

    missing = [name for name in (WEB, KJV, SPANISH) if not (SWORD_DIR / "mods.d" / f"{name}.conf").exists()]
    if missing:
        raise ModelLoadError(
            f"Bible modules missing ({', '.join(missing)}): `make training-data` installs "
            "sword-text-web, sword-text-kjv and sword-text-sparv."
        )
    modules = SwordModules(str(SWORD_DIR))
    modules.parse_modules()
    bibles = {name: modules.get_bible_from_module(name) for name in (WEB, KJV, SPANISH)}
    verses: dict[str, dict[str, str]] = {}
    for testament in bibles[SPANISH].get_structure().get_books().values():
        for book in testament:
            for chapter, length in enumerate(book.chapter_lengths, start=1):
                numbers = list(range(1, length + 1))
                texts = {
                    name: bible.get_iter(books=[book.osis_name], chapters=[chapter], verses=numbers, clean=False)
                    for name, bible in bibles.items()
                }
                for number, *raw in zip(numbers, *texts.values(), strict=True):
                    cleaned = {name: clean(text) for name, text in zip(texts, raw, strict=True)}
                    verses[f"{book.osis_name} {chapter}:{number}"] = {k: v for k, v in cleaned.items() if v}
    return verses


def split_ids(verses: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Verse ids of each split. Test and validation: a seeded shuffle of the verses that the WEB and the
    Reina-Valera share; training: every other verse."""
    shared = [ref for ref, texts in verses.items() if WEB in texts and SPANISH in texts]
    random.Random(SEED).shuffle(shared)
    ids, start = {}, 0
    for name, size in SPLIT_SIZES.items():
        ids[name] = shared[start : start + size]
        start += size
    held_out = {ref for refs in ids.values() for ref in refs}
    ids["train"] = [ref for ref in verses if ref not in held_out]
    return ids


def split_dir() -> Path:
    return cache_dir() / "translation" / "bible2"


def split_rows(verses: dict[str, dict[str, str]]) -> dict[str, list[tuple[str, str, str, str]]]:
    """Rows (verse id, English version, English, Spanish) of each split: test and validation with the
    WEB only (so figures stay comparable), training with every English version that has the verse."""
    rows = {}
    for name, refs in split_ids(verses).items():
        versions = (WEB, KJV) if name == "train" else (WEB,)
        rows[name] = [
            (ref, version, verses[ref][version], verses[ref][SPANISH])
            for ref in refs
            for version in versions
            if version in verses[ref] and SPANISH in verses[ref]
        ]
    return rows


def write_splits() -> dict[str, Path]:
    """The splits as TSVs under the cache directory."""
    out = split_dir()
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows in split_rows(read_verses()).items():
        paths[name] = out / f"{name}.tsv"
        paths[name].write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
    return paths


def load_rows(name: str) -> list[tuple[str, str, str, str]]:
    """(verse id, English version, english, spanish) rows of one split, writing the splits first if needed."""
    path = split_dir() / f"{name}.tsv"
    if not path.exists():
        write_splits()
    return [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines()]  # type: ignore[misc]


def load_split(name: str) -> list[tuple[str, str]]:
    """(english, spanish) pairs of one split."""
    return [(en, es) for _, _, en, es in load_rows(name)]


if __name__ == "__main__":
    for split, path in write_splits().items():
        print(split, sum(1 for _ in path.open(encoding="utf-8")), path)
