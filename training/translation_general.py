"""General-domain English->Spanish pairs (issue 25): software-interface text from the Spanish gettext
catalogs of Debian packages, cleaned, deduplicated and split, plus the leak check that keeps every test
and validation sentence out of training.

- Software: the Spanish catalogs `/usr/share/locale/es/LC_MESSAGES/*.mo` (msgid English -> msgstr
  Spanish) of the Debian packages listed in training/catalog_packages.txt (`make training-data` installs
  them; a catalog of any other package is skipped, so the data does not depend on what else a machine
  has), read with Python's `gettext.GNUTranslations`.
  Cleaning drops entries with format placeholders, URLs, paths or command-line options; strips markup
  and keyboard accelerators; keeps 3-40 word English with a Latin-script Spanish translation that
  differs from it; dedupes by normalised English. Splits are by normalised English: 1,000 test pairs,
  500 validation pairs, the rest trains.
- Leak check (`drop_leaks`): no training pair may share its normalised English or Spanish (lowercase,
  punctuation and spaces removed) with any held-out sentence of any domain.

`general_splits` assembles the three domains the general model trains on, each pair tagged with its
domain: "bible" (training/translation_bible.py, the Spanish in modern spelling by
training/spanish_orthography.py), "soft" (the catalogs above) and "daily" (training/translation_everyday.py,
written for the project; 200 of them validate). The tests are the Bible test verses, the software test
split and assets/translation/everyday_test.tsv.

    python -m training.translation_general     # writes the software splits; prints counts and provenance
"""

import gettext
import html
import json
import random
import re
import subprocess
import unicodedata
from collections import Counter
from pathlib import Path

from models.core.paths import ASSETS, cache_dir

LOCALE_DIR = Path("/usr/share/locale/es/LC_MESSAGES")
CATALOG_PACKAGES = Path(__file__).with_name("catalog_packages.txt")
EVERYDAY_TEST = ASSETS / "translation" / "everyday_test.tsv"
DOMAINS = ("bible", "soft", "daily")
DAILY_VALID = 100  # of the written everyday pairs
SPLIT_SIZES = {"test": 1000, "valid": 500}
SEED = 2026
MIN_WORDS, MAX_WORDS = 3, 40

# Entries that carry a placeholder are dropped, not edited: "File %s not found" without its "%s" is not
# a sentence anyone types. printf (%s, %d, %-5.2f, %1$s, %(name)s, gcc's %qs and %<...%>), Python/Qt/.NET
# style ({0}, {name}, %1), shell style ($VAR, ${VAR}).
PLACEHOLDER = re.compile(r"%(\(\w+\))?[-+ #0-9.$*lhqjzt]*[a-zA-Z%<>]|%\d|\{\w*\}|\$\{?[A-Za-z_]\w*\}?")
# Machine text rather than language: URLs, e-mail addresses, paths, command-line options, code.
TECHNICAL = re.compile(r"https?://|www\.|\w@\w|(^|\s)[~.]?/\w|(^|\s)--?\w|\w\(\)|\\|[=|]|::|->|\w_\w")
TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# A keyboard accelerator marks the letter after it: "_File", "&Open" (not "Tom & Jerry", not "snake_case",
# which TECHNICAL already dropped).
ACCELERATOR = re.compile(r"(?<![\w&])[_&](?=\w)")


def normalise(text: str) -> str:
    """Lowercase letters and digits only: the key for deduplication and the leak check."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).lower() if c.isalnum())


def read_catalog(path: Path) -> dict[str, str]:
    """English msgid -> Spanish msgstr of one .mo catalog: singular entries with a translation, the
    msgctxt prefix removed. Plural entries are left out: their forms are split by number, not sentence."""
    with path.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog  # no public way to list a catalog's entries
    return {
        msgid.split("\x04")[-1]: msgstr
        for msgid, msgstr in catalog.items()
        if isinstance(msgid, str) and msgid and msgstr
    }


def is_latin(text: str) -> bool:
    """Every letter is a Latin-script letter (a Spanish translation, not a left-over in another script)."""
    return all("LATIN" in unicodedata.name(c, "") for c in text if c.isalpha())


def strip_markup(text: str) -> str:
    """Tags removed, entities decoded, accelerators dropped, whitespace normalised."""
    text = html.unescape(TAG.sub("", text))
    return " ".join(ACCELERATOR.sub("", text).split())


def clean_pair(english: str, spanish: str) -> tuple[str, str] | None:
    """The cleaned pair, or None when the entry is not a usable sentence pair."""
    if any(PLACEHOLDER.search(text) or TECHNICAL.search(text) for text in (english, spanish)):
        return None
    english, spanish = strip_markup(english), strip_markup(spanish)
    words = len(english.split())
    if not MIN_WORDS <= words <= MAX_WORDS or len(spanish.split()) > MAX_WORDS:
        return None
    if normalise(english) == normalise(spanish) or not is_latin(spanish) or not is_latin(english):
        return None
    if "<" in english + spanish or ">" in english + spanish:  # a tag the pattern did not recognise
        return None
    return english, spanish


def catalog_package(path: Path) -> str:
    """The Debian package that installed a file (`dpkg -S`), or "unknown"."""
    found = subprocess.run(["dpkg", "-S", str(path)], capture_output=True, text=True, check=False)
    return found.stdout.split(":")[0].strip() if found.returncode == 0 else "unknown"


def package_licence(package: str) -> str:
    """The main licence of a package: the first `License:` of its machine-readable copyright file (the
    one for `Files: *`), else the GNU licence its free-form copyright file names."""
    copyright_file = Path("/usr/share/doc") / package / "copyright"
    text = copyright_file.read_text(errors="replace") if copyright_file.exists() else ""
    if found := re.search(r"^License:[ \t]*(\S.*)$", text, re.MULTILINE):
        return found.group(1).strip()
    if found := re.search(r"GNU\s+(Lesser\s+|Library\s+)?General\s+Public\s+License", text):
        return "LGPL" if found.group(1) else "GPL"
    return "see /usr/share/doc/<package>/copyright"


def package_version(package: str) -> str:
    found = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False)
    return found.stdout.strip()


def software_pairs() -> tuple[list[tuple[str, str]], list[dict]]:
    """Clean, deduplicated pairs of the listed packages' Spanish catalogs (catalogs in name order, the
    first English spelling kept), and a provenance row per catalog: package, version, licence, entries,
    pairs kept."""
    wanted = set(CATALOG_PACKAGES.read_text(encoding="utf-8").split())
    pairs: dict[str, tuple[str, str]] = {}
    provenance = []
    for path in sorted(LOCALE_DIR.glob("*.mo")):
        package = catalog_package(path)
        if package not in wanted:
            continue
        entries = read_catalog(path)
        kept = 0
        for english, spanish in entries.items():
            pair = clean_pair(english, spanish)
            if pair and normalise(pair[0]) not in pairs:
                pairs[normalise(pair[0])] = pair
                kept += 1
        provenance.append(
            {
                "catalog": path.name,
                "package": package,
                "version": package_version(package),
                "licence": package_licence(package),
                "entries": len(entries),
                "kept": kept,
            }
        )
    return list(pairs.values()), provenance


def split_pairs(pairs: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Test and validation pairs by a seeded shuffle, the rest train (pairs are unique by normalised
    English already, so no held-out English is in training)."""
    shuffled = sorted(pairs)
    random.Random(SEED).shuffle(shuffled)
    splits, start = {}, 0
    for name, size in SPLIT_SIZES.items():
        splits[name] = shuffled[start : start + size]
        start += size
    splits["train"] = shuffled[start:]
    return splits


def drop_leaks(train: list[tuple[str, str]], held_out: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The training pairs none of whose sides equals a held-out sentence (either language) by normalised
    text: a test sentence must not train under any source."""
    banned = {normalise(text) for pair in held_out for text in pair}
    return [(en, es) for en, es in train if normalise(en) not in banned and normalise(es) not in banned]


def leaks(train: list[tuple[str, str]], held_out: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The training pairs that `drop_leaks` would remove (an empty list is the check passing)."""
    kept = set(drop_leaks(train, held_out))
    return [pair for pair in train if pair not in kept]


def split_dir() -> Path:
    return cache_dir() / "translation" / "software"


def write_splits() -> dict[str, Path]:
    """The software splits as TSVs (english, spanish) and provenance.json under the cache directory."""
    pairs, provenance = software_pairs()
    out = split_dir()
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows in split_pairs(pairs).items():
        paths[name] = out / f"{name}.tsv"
        paths[name].write_text("".join(f"{en}\t{es}\n" for en, es in rows), encoding="utf-8")
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1, ensure_ascii=False), encoding="utf-8")
    return paths


def load_split(name: str) -> list[tuple[str, str]]:
    """(english, spanish) pairs of one software split, writing the splits first if needed."""
    path = split_dir() / f"{name}.tsv"
    if not path.exists():
        write_splits()
    return [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines()]  # type: ignore[misc]


def provenance_summary() -> dict[str, dict]:
    """Per package: its licence, catalog entries and clean pairs kept (for the model card)."""
    rows = json.loads((split_dir() / "provenance.json").read_text(encoding="utf-8"))
    entries, kept, licences = Counter(), Counter(), {}
    for row in rows:
        entries[row["package"]] += row["entries"]
        kept[row["package"]] += row["kept"]
        licences[row["package"]] = row["licence"]
    return {
        p: {"licence": licences[p], "entries": entries[p], "kept": kept[p]}
        for p in sorted(kept, key=kept.get, reverse=True)
    }


def everyday_test() -> list[tuple[str, str]]:
    """The everyday test set written for the project (never trained or selected on)."""
    rows = EVERYDAY_TEST.read_text(encoding="utf-8").splitlines()
    return [tuple(row.split("\t")) for row in rows if row.strip()]  # type: ignore[misc]


def bible_split(name: str) -> list[tuple[str, str]]:
    """Bible verse pairs of one split with the Reina-Valera in modern spelling."""
    from training.spanish_orthography import modernise
    from training.translation_bible import load_split as load_bible

    return [(en, modernise(es)) for en, es in load_bible(name)]


Splits = dict[str, dict[str, list[tuple[str, str]]]]


def general_splits() -> Splits:
    """split ("train", "valid", "test") -> domain -> (english, spanish) pairs, with every training pair
    that repeats a validation or test sentence of any domain removed (`drop_leaks`)."""
    from training.translation_everyday import everyday_pairs, written_pairs

    # Validated on written sentences only: frame sentences are easy to score high on and unlike the test set.
    written = sorted(drop_leaks(written_pairs(), everyday_test()))
    random.Random(SEED).shuffle(written)
    splits: Splits = {
        "valid": {"bible": bible_split("valid"), "soft": load_split("valid"), "daily": written[:DAILY_VALID]},
        "test": {"bible": bible_split("test"), "soft": load_split("test"), "daily": everyday_test()},
    }
    held_out = [pair for split in splits.values() for pairs in split.values() for pair in pairs]
    raw = {"bible": bible_split("train"), "soft": load_split("train"), "daily": everyday_pairs()}
    splits["train"] = {domain: drop_leaks(pairs, held_out) for domain, pairs in raw.items()}
    return splits


def counts(splits: Splits) -> dict[str, dict[str, int]]:
    return {name: {domain: len(pairs) for domain, pairs in split.items()} for name, split in splits.items()}


if __name__ == "__main__":
    for split, path in write_splits().items():
        print(split, sum(1 for _ in path.open(encoding="utf-8")), path)
    print(json.dumps(provenance_summary(), indent=1, ensure_ascii=False))
    print(json.dumps(counts(general_splits()), indent=1))
