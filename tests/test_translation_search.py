"""Beam search and greedy search on hand-made decoders whose every output can be enumerated,
and the BLEU helper against sacreBLEU."""

import itertools
import math
from typing import Any

import pytest
import sacrebleu
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from models.translation.beam_search import (
    ReorderFn,
    SearchResult,
    SearchSettings,
    StepFn,
    normalised_score,
    run_searches,
    select_batch,
)
from models.translation.scores import sentence_bleu


def greedy_search(
    step: StepFn, state: Any, *, start: int, end: int, max_len: int, length_penalty: float = 0.0
) -> SearchResult:
    """Greedy search over one decoder, through the same `run_searches` the translators use."""
    search = SearchSettings("greedy", max_len=max_len, length_penalty=length_penalty).new_search(start, end)
    return run_searches([search], step, state)[0]


def beam_search(
    step: StepFn,
    state: Any,
    *,
    start: int,
    end: int,
    beam_width: int,
    max_len: int,
    length_penalty: float = 1.0,
    n_best: int | None = None,
    reorder: ReorderFn = select_batch,
) -> SearchResult:
    """Beam search over one decoder, through the same `run_searches` the translators use."""
    search = SearchSettings("beam", beam_width, max_len, length_penalty, n_best).new_search(start, end)
    return run_searches([search], step, state, reorder)[0]


START, END = 0, 1
WORDS = [2, 3, 4]  # the tokens besides END that a hypothesis can produce


class RandomDecoder:
    """A decoder whose next-token distribution is a fixed random function of the whole prefix.
    Its attention over a 3-token "source" is random too, so the search's bookkeeping can be checked."""

    def __init__(self, seed: int, vocab: int = 5) -> None:
        self.seed, self.vocab = seed, vocab

    def log_probs(self, prefix: tuple[int, ...]) -> torch.Tensor:
        generator = torch.Generator().manual_seed(hash((self.seed, prefix)) % 2**31)
        logits = torch.randn(self.vocab, generator=generator) * 2
        logits[START] = -math.inf  # the start token is never generated
        return logits.log_softmax(-1)

    def step(self, prefixes: torch.Tensor, state: dict) -> tuple[torch.Tensor, torch.Tensor, dict]:
        rows = [tuple(p) for p in prefixes.tolist()]
        log_probs = torch.stack([self.log_probs(r) for r in rows])
        attention = torch.stack([self.log_probs(r)[2:].softmax(-1) for r in rows])  # (B, 3)
        # The state counts each hypothesis' steps: the search must reorder it along with the hypotheses.
        assert state["steps"].tolist() == [len(r) - 1 for r in rows]
        return log_probs, attention, {"steps": state["steps"] + 1}

    def sequence_log_prob(self, tokens: tuple[int, ...]) -> float:
        prefix, total = (START,), 0.0
        for token in tokens:
            total += float(self.log_probs(prefix)[token])
            prefix += (token,)
        return total


def all_outputs(max_len: int) -> list[tuple[int, ...]]:
    """Every output of at most max_len tokens: those that end with END, and those cut off at max_len."""
    outputs = []
    for length in range(max_len):
        outputs += [(*words, END) for words in itertools.product(WORDS, repeat=length)]
    return outputs + list(itertools.product(WORDS, repeat=max_len))


def run_beam(decoder: RandomDecoder, width: int, max_len: int, length_penalty: float = 0.0, **kwargs):
    state = {"steps": torch.zeros(1, dtype=torch.long)}
    return beam_search(
        decoder.step,
        state,
        start=START,
        end=END,
        beam_width=width,
        max_len=max_len,
        length_penalty=length_penalty,
        **kwargs,
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_wide_beam_finds_the_enumerated_best(seed: int, length_penalty: float) -> None:
    decoder, max_len = RandomDecoder(seed), 4
    # 3**4 = 81 live prefixes at most: a beam this wide never drops one, so it must rank like brute force.
    result = run_beam(decoder, 81, max_len, length_penalty, n_best=5)
    scored = sorted(
        ((normalised_score(decoder.sequence_log_prob(o), len(o), length_penalty), o) for o in all_outputs(max_len)),
        reverse=True,
    )
    assert [tuple(h.tokens) for h in result.hypotheses] == [o for _, o in scored[:5]]
    for hypothesis, (score, _) in zip(result.hypotheses, scored, strict=False):
        assert hypothesis.score == pytest.approx(score, abs=1e-5)


def test_beam_beats_greedy_on_a_garden_path() -> None:
    """Greedy takes the likelier first word (0.6) into a flat continuation; the best sequence starts
    with the less likely one (0.4) and then ends almost surely: 0.4 * 0.9 = 0.36 > 0.6 * 0.5."""
    table = {
        (START,): {2: 0.6, 3: 0.4},
        (START, 2): {END: 0.5, 4: 0.5},
        (START, 3): {END: 0.9, 4: 0.1},
    }

    def step(prefixes: torch.Tensor, state: None) -> tuple[torch.Tensor, None, None]:
        rows = []
        for prefix in prefixes.tolist():
            probs = torch.full((5,), 1e-9)
            for token, p in table.get(tuple(prefix), {END: 1.0}).items():
                probs[token] = p
            rows.append(probs.log())
        return torch.stack(rows), None, None

    greedy = greedy_search(step, None, start=START, end=END, max_len=4)
    beam = beam_search(step, None, start=START, end=END, beam_width=2, max_len=4, length_penalty=0.0)
    assert greedy.best.tokens == [2, END]
    assert beam.best.tokens == [3, END]
    assert math.exp(beam.best.log_prob) == pytest.approx(0.36, rel=1e-4)


@pytest.mark.parametrize("seed", range(8))
def test_width_one_is_greedy(seed: int) -> None:
    decoder = RandomDecoder(seed)
    state = {"steps": torch.zeros(1, dtype=torch.long)}
    greedy = greedy_search(decoder.step, state, start=START, end=END, max_len=6)
    beam = run_beam(decoder, 1, 6)
    assert beam.best.tokens == greedy.best.tokens
    assert beam.best.log_prob == pytest.approx(greedy.best.log_prob, abs=1e-6)
    assert torch.allclose(beam.best.attention, greedy.best.attention)


@pytest.mark.parametrize("length_penalty", [0.0, 0.6, 1.0, 2.0])
def test_scores_sorted_and_normalised_as_documented(length_penalty: float) -> None:
    decoder = RandomDecoder(7)
    result = run_beam(decoder, 4, 6, length_penalty)
    assert len(result.hypotheses) == 4
    scores = [h.score for h in result.hypotheses]
    assert scores == sorted(scores, reverse=True)
    for h in result.hypotheses:
        assert h.log_prob == pytest.approx(sum(h.token_log_probs), abs=1e-5)
        assert h.log_prob == pytest.approx(decoder.sequence_log_prob(tuple(h.tokens)), abs=1e-5)
        assert h.score == pytest.approx(h.log_prob / len(h.tokens) ** length_penalty, abs=1e-6)
        assert h.finished == (h.tokens[-1] == END)
        assert h.attention.shape == (len(h.tokens), 3)


def test_tree_and_attention_follow_the_chosen_hypothesis() -> None:
    decoder = RandomDecoder(3)
    result = run_beam(decoder, 3, 5, 1.0)
    by_id = {node.id: node for node in result.tree}
    for hypothesis in result.hypotheses:
        path = result.path(hypothesis)
        assert path[0] == 0 and by_id[0].parent == -1
        assert [by_id[i].token for i in path[1:]] == hypothesis.tokens
        assert by_id[path[-1]].log_prob == pytest.approx(hypothesis.log_prob, abs=1e-5)
        # Row t of the attention is what the decoder attended to when it chose token t.
        for t in range(len(hypothesis.tokens)):
            prefix = (START, *hypothesis.tokens[:t])
            expected = decoder.log_probs(prefix)[2:].softmax(-1)
            assert torch.allclose(hypothesis.attention[t], expected)
    # No step keeps more live nodes than the beam is wide.
    for step in range(1, 6):
        assert sum(1 for n in result.tree if n.step == step and not n.finished) <= 3


WORD_LIST = ["the", "cat", "sat", "on", "a", "mat", ".", "dog", ",", "ran"]


@settings(max_examples=60, deadline=None)
@given(
    hypothesis=st.lists(st.sampled_from(WORD_LIST), max_size=14),
    reference=st.lists(st.sampled_from(WORD_LIST), min_size=1, max_size=14),
)
def test_bleu_helper_matches_sacrebleu(hypothesis: list[str], reference: list[str]) -> None:
    hyp, ref = " ".join(hypothesis), " ".join(reference)
    ours = sentence_bleu(hyp, ref)
    theirs = sacrebleu.sentence_bleu(hyp, [ref])
    assert ours.score == pytest.approx(theirs.score, abs=1e-6)
    if hypothesis:
        assert ours.brevity_penalty == pytest.approx(theirs.bp, abs=1e-9)


def test_bleu_on_real_sentences() -> None:
    hyp = "En el principio creó Dios los cielos y la tierra."
    ref = "En el principio crió Dios los cielos y la tierra."
    assert sentence_bleu(hyp, ref).score == pytest.approx(sacrebleu.sentence_bleu(hyp, [ref]).score)
    assert sentence_bleu(ref, ref).score == pytest.approx(100.0)
