"""Named entities two ways: a rule-based recognizer (spaCy's EntityRuler with a gazetteer and token
patterns) beside the pipeline's statistical NER, and where they differ.

The gazetteer comes from Debian's `miscfiles` package (GNU miscfiles, GPL-2+), read where it is
installed, never copied into the project: first names (/usr/share/dict/propernames), countries with
their capitals (/usr/share/misc/countries) and about 500 world cities (/usr/share/misc/cities.dat).
Token patterns add titles ("Dr. Smith"), dates, money and percentages. Without miscfiles the patterns
still work and the page says what is missing.

API: `load_gazetteer()` -> `rule_recognizer(gazetteer)` -> `rule_entities(recognizer, doc)` ->
`compare_entities(statistical_doc, rule_doc)`, `entities_html(doc)`.
"""

import gzip
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

DICT_DIR = Path("/usr/share/dict")
MISC_DIR = Path("/usr/share/misc")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTHS += [m[:3] for m in MONTHS if len(m) > 3] + ["Sept"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TITLES = ["Mr", "Mr.", "Mrs", "Mrs.", "Ms", "Ms.", "Dr", "Dr.", "Prof", "Prof.", "Sir", "Lady", "Lord", "President"]
CURRENCY_SIGNS = ["$", "£", "€", "¥", "US$"]
CURRENCY_WORDS = ["dollar", "dollars", "euro", "euros", "pound", "pounds", "cents", "yen", "francs"]
SCALES = ["thousand", "million", "billion", "trillion", "bn", "m"]
# Label colours for displaCy (its defaults for the usual labels; anything else grey).
ENTITY_COLOURS = {
    "PERSON": "#aa9cfc",
    "GPE": "#feca74",
    "LOC": "#ff9561",
    "ORG": "#7aecec",
    "DATE": "#bfe1d9",
    "TIME": "#bfe1d9",
    "MONEY": "#e4e7d2",
    "PERCENT": "#e4e7d2",
    "CARDINAL": "#e4e7d2",
    "ORDINAL": "#e4e7d2",
    "NORP": "#c887fb",
    "FAC": "#9cc9cc",
    "PRODUCT": "#bfeeb7",
    "EVENT": "#ffeb80",
    "WORK_OF_ART": "#f0d0ff",
    "LAW": "#ff8197",
    "LANGUAGE": "#ff8197",
    "QUANTITY": "#e4e7d2",
}


@dataclass
class Gazetteer:
    first_names: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # files that were not found


def read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in handle]


def first_existing(directory: Path, name: str) -> Path | None:
    """`name` or `name.gz` in `directory` (Debian compresses some of these files)."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_gazetteer(dict_dir: Path = DICT_DIR, misc_dir: Path = MISC_DIR) -> Gazetteer:
    """First names and place names from miscfiles; files that are absent are listed in `missing`."""
    gazetteer = Gazetteer()
    names = first_existing(dict_dir, "propernames")
    if names:
        gazetteer.first_names = sorted({line.strip() for line in read_lines(names) if line.strip()})
    else:
        gazetteer.missing.append(str(dict_dir / "propernames"))
    places: set[str] = set()
    countries = first_existing(misc_dir, "countries")
    if countries:
        # "004:AF:AFG:Afghanistan:Kabul": the country, then its capital.
        for line in read_lines(countries):
            fields = line.split(":")
            if line.startswith("#") or len(fields) < 5:
                continue
            places.update(part.strip() for part in fields[3:5] if part.strip())
    else:
        gazetteer.missing.append(str(misc_dir / "countries"))
    cities = first_existing(misc_dir, "cities.dat")
    if cities:
        # Records of "Key : value" lines; the city's name is on its "Name" line.
        for line in read_lines(cities):
            key, _, value = line.partition(":")
            if key.strip() == "Name" and value.strip():
                places.add(value.strip())
    else:
        gazetteer.missing.append(str(misc_dir / "cities.dat"))
    gazetteer.places = sorted(places)
    return gazetteer


def token_patterns() -> list[dict[str, Any]]:
    """The recognizer's token patterns: titles before capitalised words, dates, money, percentages."""
    number = {"LIKE_NUM": True}
    day = {"TEXT": {"REGEX": r"^([1-9]|[12]\d|3[01])(st|nd|rd|th)?$"}}
    year = {"TEXT": {"REGEX": r"^(1[0-9]|20)\d\d$"}}
    month = {"ORTH": {"IN": MONTHS}}
    return [
        {"label": "PERSON", "pattern": [{"ORTH": {"IN": TITLES}}, {"IS_TITLE": True, "OP": "+"}]},
        {"label": "DATE", "pattern": [day, month, {"TEXT": ",", "OP": "?"}, {**year, "OP": "?"}]},
        {"label": "DATE", "pattern": [month, {**day, "OP": "?"}, {"TEXT": ",", "OP": "?"}, {**year, "OP": "?"}]},
        {"label": "DATE", "pattern": [{"ORTH": {"IN": WEEKDAYS}}]},
        {"label": "DATE", "pattern": [year]},
        {"label": "DATE", "pattern": [{"TEXT": {"REGEX": r"^\d{4}-\d\d-\d\d$"}}]},
        {"label": "DATE", "pattern": [{"LOWER": {"IN": ["today", "yesterday", "tomorrow"]}}]},
        {
            "label": "MONEY",
            "pattern": [{"TEXT": {"IN": CURRENCY_SIGNS}}, number, {"LOWER": {"IN": SCALES}, "OP": "?"}],
        },
        {
            "label": "MONEY",
            "pattern": [number, {"LOWER": {"IN": SCALES}, "OP": "?"}, {"LOWER": {"IN": CURRENCY_WORDS}}],
        },
        {"label": "PERCENT", "pattern": [number, {"LOWER": {"IN": ["%", "percent", "pc"]}}]},
        {"label": "PERCENT", "pattern": [{"TEXT": {"REGEX": r"^\d+(\.\d+)?%$"}}]},
    ]


def rule_recognizer(gazetteer: Gazetteer) -> Any:
    """A blank English pipeline whose only component is an EntityRuler: the gazetteer's places as
    phrases (GPE), first names with an optional capitalised surname (PERSON), and `token_patterns()`.
    Where matches overlap, the longest wins."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    patterns = token_patterns()
    if gazetteer.first_names:
        patterns.append(
            {"label": "PERSON", "pattern": [{"ORTH": {"IN": gazetteer.first_names}}, {"IS_TITLE": True, "OP": "?"}]}
        )
    patterns += [{"label": "GPE", "pattern": place} for place in gazetteer.places]
    ruler.add_patterns(patterns)
    return nlp


def rule_entities(recognizer: Any, doc: Any) -> Any:
    """The rule-based entities on exactly the statistical pipeline's tokens (a new Doc from its words
    and spaces), so the two sets of spans can be compared token for token."""
    from spacy.tokens import Doc

    words = Doc(recognizer.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
    return recognizer(words)


def compare_entities(statistical: Any, rules: Any) -> pd.DataFrame:
    """Every entity either recognizer found, with what the other one said about the same words:
    agree, different label, different boundaries (overlap), or found by one only."""
    stat = {(e.start, e.end): e for e in statistical.ents}
    rule = {(e.start, e.end): e for e in rules.ents}
    rows = []
    for span in sorted(set(stat) | set(rule)):
        s, r = stat.get(span), rule.get(span)
        text = (s or r).text
        if s and r:
            verdict = "agree" if s.label_ == r.label_ else "different label"
        else:
            mine = s or r
            others = rules.ents if s else statistical.ents
            overlap = any(o.start < mine.end and mine.start < o.end for o in others)
            verdict = "different boundaries" if overlap else ("statistical only" if s else "rules only")
        rows.append(
            {"text": text, "statistical": s.label_ if s else "", "rules": r.label_ if r else "", "verdict": verdict}
        )
    return pd.DataFrame(rows, columns=["text", "statistical", "rules", "verdict"])


def entities_html(doc: Any) -> str:
    """displaCy's entity view of a Doc. The data goes in by hand with every label HTML-escaped:
    displaCy escapes the text but not the labels, and a user's pipeline may use any label."""
    from spacy import displacy

    data = {
        "text": doc.text,
        "ents": [{"start": e.start_char, "end": e.end_char, "label": html.escape(e.label_)} for e in doc.ents],
        "title": None,
    }
    colours = {html.escape(label): colour for label, colour in ENTITY_COLOURS.items()}
    return displacy.render(data, style="ent", manual=True, options={"colors": colours}, jupyter=False)
