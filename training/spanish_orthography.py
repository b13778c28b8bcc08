"""Modern spelling for the Reina-Valera 1909 (issue 25): the accent rules of the Real Academia Española's
Ortografía (1959 onwards, and 2010) applied to the 1909 text, word by word, and the list of 1909 spellings
used to measure how often a model still writes them.

The rules change spelling only, never words or word order ("sentóse" becomes "sentose", not "se sentó"):
- single-vowel words lost their accent in 1952-1959: "á" -> "a", "é" -> "e", "ó" -> "o", "ú" -> "u";
- monosyllables carry no accent unless it is diacritic: "fué" -> "fue", "fuí" -> "fui", "dió" -> "dio",
  "vió" -> "vio", "dí" -> "di", "ví" -> "vi", "tí" -> "ti", "fé" -> "fe", "pié" -> "pie", "piés" -> "pies";
  the 2010 rules count "crió", "rió", "lió", "guión" as monosyllables too ("crio", "rio", "lio", "guion").
  Diacritic accents stay: "él", "tú", "mí", "sí", "sé", "dé", "té", "más";
- a verb with an enclitic follows the general rules: "sentóse" -> "sentose", "dióle" -> "diole" (words
  stressed on the next-to-last syllable that end in a vowel, n or s carry no accent), while "díjole"
  (stress three syllables from the end) keeps it;
- demonstrative pronouns and "solo" lost their accent in 2010: "éste" -> "este", "aquél" -> "aquel",
  "sólo" -> "solo".
"""

import re

# 1909 spelling -> modern spelling, lowercase; capitalised words follow their lowercase rule.
WORDS = {
    "á": "a",
    "é": "e",
    "ó": "o",
    "ú": "u",
    "fué": "fue",
    "fuí": "fui",
    "dió": "dio",
    "vió": "vio",
    "dí": "di",
    "ví": "vi",
    "tí": "ti",
    "fé": "fe",
    "pié": "pie",
    "piés": "pies",
    "crió": "crio",
    "rió": "rio",
    "lió": "lio",
    "guión": "guion",
    "sólo": "solo",
    "éste": "este",
    "ésta": "esta",
    "éstos": "estos",
    "éstas": "estas",
    "ése": "ese",
    "ésa": "esa",
    "ésos": "esos",
    "ésas": "esas",
    "aquél": "aquel",
    "aquélla": "aquella",
    "aquéllos": "aquellos",
    "aquéllas": "aquellas",
}
# A verb form whose accented last vowel is followed by one enclitic pronoun: "sentó" + "se". The accent
# falls on the next-to-last syllable of the joined word, so the modern spelling drops it. At least two
# letters before the vowel, so that a word like "ése" is left to WORDS.
ENCLITIC = re.compile(r"\b(\w{2,}?)([áéó])(se|le|lo|la|les|los|las|me|te|nos|os)\b", re.IGNORECASE)
WORD = re.compile(r"\w+")
PLAIN = str.maketrans("áéóÁÉÓ", "aeoAEO")
ARCHAIC_FORMS = frozenset(WORDS)


def _word(match: re.Match) -> str:
    word = match.group(0)
    modern = WORDS.get(word.lower())
    if modern is None:
        return word
    return modern.capitalize() if word[0].isupper() else modern


# Words of the ENCLITIC shape that are not a verb with a pronoun: the interrogative "cuáles" keeps its accent.
NOT_ENCLITIC = frozenset({"cuáles"})


def _enclitic(match: re.Match) -> str:
    stem, vowel, pronoun = match.groups()
    # Another accent in the stem, or a word that only looks like verb + pronoun: leave it.
    if re.search(r"[áéíóú]", stem, re.IGNORECASE) or match.group(0).lower() in NOT_ENCLITIC:
        return match.group(0)
    return stem + vowel.translate(PLAIN) + pronoun


def modernise(text: str) -> str:
    """The text in modern Spanish spelling (the rules in this module's docstring)."""
    return ENCLITIC.sub(_enclitic, WORD.sub(_word, text))


def archaic_forms(text: str) -> list[str]:
    """The 1909 spellings in a text: the words of ARCHAIC_FORMS and accented verb + enclitic forms
    ("sentóse"). A model output with none of them is in modern spelling as far as this list can tell."""
    found = [word for word in WORD.findall(text) if word.lower() in ARCHAIC_FORMS]
    found += [m.group(0) for m in ENCLITIC.finditer(text) if _enclitic(m) != m.group(0)]
    return found
