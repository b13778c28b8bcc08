"""VADER is not trained: this scores it on the committed split and writes its model card.

python -m training.sentiment_vader    (writes assets/sentiment/vader.md)
"""

from models.core.specs import embedded_path
from models.sentiment import SENTIMENT_ASSETS, VaderClassifier, load_corpus, split_frame
from training.sentiment_common import evaluate, write_card

ABOUT = """\
VADER (Valence Aware Dictionary and sEntiment Reasoner; Hutto & Gilbert, ICWSM 2014), from the PyPI
package `vaderSentiment` (MIT licence). About 7,500 words, emoticons and slang terms, each rated by ten
people from -4 to +4, plus rules: negation ("not good" flips and damps), boosters ("very", "slightly"),
"but" (the clause after it counts more), ALL CAPS and exclamation marks. No training; it was built for
social-media text, so film critics' irony and understatement are hard for it."""

RECIPE = """\
**How the page uses it.** P(positive) = (compound + 1) / 2, so a compound score of 0 (no sentiment
words) is a 50/50 call, reported as negative. Per-word contributions are VADER's own valences after its
rules, before they are summed and squashed into the compound score."""


def main() -> None:
    vader = VaderClassifier(str(embedded_path("pkg:vaderSentiment/vader_lexicon.txt")))
    corpus = load_corpus()
    test, validation = evaluate(vader, split_frame("test", corpus)), evaluate(vader, split_frame("validation", corpus))
    write_card(SENTIMENT_ASSETS / "vader.md", "VADER", [ABOUT, RECIPE], test, validation, "make train-sentiment_vader")


if __name__ == "__main__":
    main()
