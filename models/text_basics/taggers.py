"""Part-of-speech tagging three ways: hand-written rules, statistics learned from tagged text (n-gram
backoff, a hidden Markov model, an averaged perceptron) and spaCy's neural tagger.

No gold-tagged corpus is available offline, so the statistical taggers learn from *silver* labels:
spaCy's universal tags on Hamlet (public domain; the play's speeches, without speaker names and stage
directions). Sentences are shuffled with a fixed seed; 80% train the taggers, the other 20% are held
out and used only for scoring. Accuracy here therefore means agreement with spaCy on sentences the
tagger never saw; spaCy's own accuracy against human (gold) tags is its published figure.

API: `silver_sentences(nlp)` -> `compare_taggers(sentences)` (held-out split, training, held-out
accuracies) -> `tag_table(words, comparison.taggers, spacy_tags)` for the user's text.
"""

import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.core.paths import extra_file

TaggedSentence = list[tuple[str, str]]
HELD_OUT_SHARE = 0.2
SPLIT_SEED = 0
PERCEPTRON_ITERATIONS = 5
# Lines of Hamlet that are not speech: the speaker's name (in capitals), act and scene headings, and
# stage directions.
NOT_SPEECH = re.compile(r"^(?:[A-Z][A-Z' ]+|ACT [IVX]+|SCENE [IVX]+\..*|(?:Enter|Exit|Exeunt|Re-enter)\b.*)$")
STAGE_DIRECTION = re.compile(r"\[[^\]]*\]")


# ----------------------------------------------------------------------------- silver corpus


def hamlet_speeches(text: str | None = None) -> list[str]:
    """Hamlet's speeches, each as one string: consecutive verse lines joined, headings, speaker names
    and stage directions left out. The first three lines are the file's title block."""
    text = extra_file("hamlet.txt").read_text(encoding="utf-8", errors="replace") if text is None else text
    speeches, current = [], []
    for line in text.splitlines()[3:]:
        line = STAGE_DIRECTION.sub("", line).strip()
        if not line or NOT_SPEECH.match(line):
            if current:
                speeches.append(" ".join(current))
                current = []
            continue
        current.append(line)
    if current:
        speeches.append(" ".join(current))
    return speeches


def silver_sentences(nlp: Any, speeches: Sequence[str] | None = None) -> list[TaggedSentence]:
    """Speeches tagged by spaCy (universal tags), cut into sentences after sentence-final punctuation
    (Penn tag "."). Only the tagger runs: the parser and NER are not needed for tags."""
    speeches = hamlet_speeches() if speeches is None else speeches
    sentences: list[TaggedSentence] = []
    with nlp.select_pipes(enable=[name for name in ("tok2vec", "tagger", "attribute_ruler") if name in nlp.pipe_names]):
        for doc in nlp.pipe(speeches, batch_size=64):
            current: TaggedSentence = []
            for token in doc:
                if token.is_space:
                    continue
                current.append((token.text, token.pos_))
                if token.tag_ == ".":
                    sentences.append(current)
                    current = []
            if current:
                sentences.append(current)
    return sentences


def split_held_out(
    sentences: Sequence[TaggedSentence], share: float = HELD_OUT_SHARE, seed: int = SPLIT_SEED
) -> tuple[list[TaggedSentence], list[TaggedSentence]]:
    """(train, held_out): a seeded shuffle of whole sentences, `share` of them held out."""
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    n_held = round(share * len(sentences))
    held = sorted(order[:n_held])
    train = sorted(order[n_held:])
    return [sentences[i] for i in train], [sentences[i] for i in held]


# ----------------------------------------------------------------------------- the taggers

# Hand-written rules, tried in order; the first pattern that matches the whole word gives its tag.
# Closed classes are short lists; open classes are guessed from suffixes and shapes.
RULES = [
    (r"^[^\w\s]+$", "PUNCT"),
    (r"^[-+]?\d[\d,.:/]*(st|nd|rd|th|s)?$", "NUM"),
    (r"(?i)^(the|a|an|this|that|these|those|every|each|some|any|no|all|both|either|neither|thy|thine)$", "DET"),
    (
        r"(?i)^(i|me|you|he|him|she|her|it|we|us|they|them|my|your|his|its|our|their|mine|yours|thou|thee|ye|"
        r"myself|yourself|himself|herself|itself|ourselves|themselves|who|whom|whose|what|which|'t)$",
        "PRON",
    ),
    (r"(?i)^(and|or|but|nor|yet|&)$", "CCONJ"),
    (r"(?i)^(if|because|although|though|while|whether|unless|since|than|when|where|till|until|as)$", "SCONJ"),
    (
        r"(?i)^(of|in|on|at|by|for|with|from|to|into|onto|upon|over|under|about|after|before|between|through|"
        r"against|without|within|during|among|across|behind|beyond|near|toward|towards|like|o'er)$",
        "ADP",
    ),
    (
        r"(?i)^(is|am|are|was|were|be|been|being|have|has|had|hath|hast|do|does|did|doth|dost|will|would|"
        r"shall|should|can|could|may|might|must|'re|'m|'ve|'ll|'d|wilt|wouldst|shalt)$",
        "AUX",
    ),
    (r"(?i)^(not|n't|'s)$", "PART"),
    (r"(?i)^(oh|o|ah|alas|ay|nay|yes|no|hello|hey|wow|ha|hum|ho|fie)$", "INTJ"),
    (r"(?i)^(very|too|so|now|then|here|there|thus|never|ever|always|often|again|still|just|only|well)$", "ADV"),
    (r"(?i)^\w+ly$", "ADV"),
    (r"(?i)^\w+(ing|ed|en|ise|ize|ify|ate)$", "VERB"),
    (r"(?i)^\w+(ous|ful|able|ible|ive|al|ic|less|ish|est|er)$", "ADJ"),
    (r"^[A-Z][\w'-]*$", "PROPN"),
    (r".*", "NOUN"),
]


def rule_tagger() -> Any:
    """NLTK's RegexpTagger over RULES: no training data at all."""
    from nltk.tag import RegexpTagger

    return RegexpTagger(RULES)


def ngram_tagger(train: Sequence[TaggedSentence]) -> Any:
    """Trigram -> bigram -> unigram -> "NOUN", each backing off to the next when it has not seen the
    context (the word with its previous one or two tags, the word alone)."""
    from nltk.tag import BigramTagger, DefaultTagger, TrigramTagger, UnigramTagger

    tagger = DefaultTagger("NOUN")
    for order in (UnigramTagger, BigramTagger, TrigramTagger):
        tagger = order(list(train), backoff=tagger)
    return tagger


def hmm_tagger(train: Sequence[TaggedSentence]) -> Any:
    """A hidden Markov model: P(tag | previous tag) and P(word | tag) counted from the training
    sentences (Lidstone smoothing, so an unseen word is not impossible), decoded with Viterbi."""
    from nltk.probability import LidstoneProbDist
    from nltk.tag.hmm import HiddenMarkovModelTrainer

    return HiddenMarkovModelTrainer().train_supervised(
        list(train), estimator=lambda counts, bins: LidstoneProbDist(counts, 0.1, bins)
    )


def perceptron_tagger(train: Sequence[TaggedSentence], iterations: int = PERCEPTRON_ITERATIONS) -> Any:
    """NLTK's averaged perceptron (Honnibal's tagger) trained from scratch: features of the word, its
    suffixes and neighbours and the previous tags; weights averaged over all updates. Its shuffle uses
    Python's global random generator, seeded here (and restored) so training is repeatable."""
    from nltk.tag.perceptron import PerceptronTagger

    tagger = PerceptronTagger(load=False)
    state = random.getstate()
    random.seed(SPLIT_SEED)
    try:
        tagger.train(list(train), nr_iter=iterations)
    finally:
        random.setstate(state)
    return tagger


@dataclass
class TrainedTagger:
    name: str
    family: str  # rules, statistics or neural network
    tagger: Any
    train_seconds: float


def train_taggers(train: Sequence[TaggedSentence]) -> list[TrainedTagger]:
    """The rule-based tagger and the three statistical ones, each with its training time."""
    makers = [
        ("Rules (regex and suffixes)", "rules", lambda: rule_tagger()),
        ("N-gram backoff", "statistics", lambda: ngram_tagger(train)),
        ("Hidden Markov model", "statistics", lambda: hmm_tagger(train)),
        ("Averaged perceptron", "statistics", lambda: perceptron_tagger(train)),
    ]
    trained = []
    for name, family, make in makers:
        start = time.perf_counter()
        tagger = make()
        trained.append(TrainedTagger(name, family, tagger, time.perf_counter() - start))
    return trained


def accuracy(tagger: Any, held_out: Sequence[TaggedSentence]) -> float:
    """The share of held-out tokens whose tag matches the silver (spaCy) tag."""
    correct = total = 0
    for sentence in held_out:
        words = [word for word, _ in sentence]
        for (_, guess), (_, silver) in zip(tagger.tag(words), sentence, strict=True):
            correct += guess == silver
            total += 1
    return correct / total if total else 0.0


@dataclass
class TaggerComparison:
    taggers: list[TrainedTagger]
    accuracy: dict[str, float]  # tagger name -> agreement with the silver tags on the held-out sentences
    train: list[TaggedSentence]
    held_out: list[TaggedSentence]

    @staticmethod
    def tokens(sentences: Sequence[TaggedSentence]) -> int:
        return sum(map(len, sentences))


def compare_taggers(
    sentences: Sequence[TaggedSentence], share: float = HELD_OUT_SHARE, seed: int = SPLIT_SEED
) -> TaggerComparison:
    """Hold out `share` of the sentences, train every tagger on the rest, score each on the held-out
    sentences only."""
    train, held_out = split_held_out(sentences, share, seed)
    taggers = train_taggers(train)
    return TaggerComparison(taggers, {t.name: accuracy(t.tagger, held_out) for t in taggers}, train, held_out)


def tag_table(words: list[str], taggers: Sequence[TrainedTagger], spacy_tags: list[str]) -> pd.DataFrame:
    """One row per word: each tagger's tag and spaCy's, and whether any tagger disagrees with spaCy."""
    table = pd.DataFrame({"word": words})
    for trained in taggers:
        table[trained.name] = [tag for _, tag in trained.tagger.tag(words)] if words else []
    table["spaCy (neural)"] = spacy_tags
    names = [t.name for t in taggers]
    table["disagree"] = table[names].ne(table["spaCy (neural)"], axis=0).any(axis=1) if words else []
    return table
