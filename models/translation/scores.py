"""How close a translation is to a reference: sentence BLEU computed step by step (so the page can show
its n-gram precisions and brevity penalty) and sacreBLEU's corpus BLEU and chrF for test sets."""

import math
from collections import Counter
from dataclasses import dataclass

from models.core.errors import InputError


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """sacreBLEU's corpus BLEU and chrF (default settings), rounded to 0.01."""
    from sacrebleu.metrics import BLEU, CHRF

    if not hypotheses or len(hypotheses) != len(references):
        raise InputError("Scoring needs one translation per reference.")
    return {
        "BLEU": round(BLEU().corpus_score(hypotheses, [references]).score, 2),
        "chrF": round(CHRF().corpus_score(hypotheses, [references]).score, 2),
    }


def ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


@dataclass
class Bleu:
    score: float  # 0-100
    precisions: list[float]  # modified n-gram precisions (%), n = 1..4
    brevity_penalty: float


def sentence_bleu(hypothesis: str, reference: str, max_order: int = 4) -> Bleu:
    """Sentence BLEU the way sacreBLEU computes it by default: its 13a tokenizer, clipped n-gram counts,
    "exp" smoothing of zero counts, the effective order (no n-grams longer than the hypothesis), and the
    brevity penalty."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    tokenize = Tokenizer13a()
    hyp, ref = tokenize(hypothesis.strip()).split(), tokenize(reference.strip()).split()
    precisions = [0.0] * max_order
    brevity = 1.0 if len(hyp) >= len(ref) else math.exp(1 - len(ref) / len(hyp)) if hyp else 0.0
    correct, totals = [], []
    for n in range(1, max_order + 1):
        hyp_counts, ref_counts = ngrams(hyp, n), ngrams(ref, n)
        correct.append(sum(min(count, ref_counts[gram]) for gram, count in hyp_counts.items()))
        totals.append(sum(hyp_counts.values()))
    if not any(correct):
        return Bleu(0.0, precisions, brevity)
    order, smoothing = max_order, 1.0
    for n in range(1, max_order + 1):
        if totals[n - 1] == 0:
            break
        order = n
        if correct[n - 1] == 0:
            smoothing *= 2  # each order without a match halves the stand-in precision
            precisions[n - 1] = 100.0 / (smoothing * totals[n - 1])
        else:
            precisions[n - 1] = 100.0 * correct[n - 1] / totals[n - 1]
    score = brevity * math.exp(sum(math.log(p) for p in precisions[:order]) / order)
    return Bleu(score, precisions, brevity)
