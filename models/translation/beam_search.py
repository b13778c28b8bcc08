"""Greedy and beam search for any autoregressive decoder, keeping what a page needs to show the search:
the n-best list with scores, the tree of expansions kept at each step, and the attention of each
hypothesis.

A decoder is given as a step function:

    step(prefixes, state) -> (log_probs, attention, state)

`prefixes` (B, t) are the tokens of B hypotheses so far (starting with the start token); `log_probs`
(B, V) are log-probabilities of the next token; `attention` (B, ...) is what each hypothesis looked at
for this token (e.g. (B, S) for one attention, (B, layers, heads, S) for a transformer) or None;
`state` is anything the decoder carries between steps (caches, encoder outputs). The search keeps
some hypotheses and drops others, so it reorders the state with `reorder(state, index)`; the default
`select_batch` picks rows of every tensor it finds in nested tuples, lists and dicts, and calls
`reorder_cache(index)` on objects that have it (transformers' caches).

On a GPU the search reads the decoder's answer back once per step (one packed copy of the step's best
candidates) and keeps attention rows and prefixes on the device: each host read stalls the GPU until
everything queued before it has run.

Scores: a hypothesis' `log_prob` is the sum of its tokens' log-probabilities (end token included);
its `score` is `log_prob / length ** length_penalty`, with `length` its number of generated tokens.
A length penalty of 0 ranks by raw log-probability (which favours short outputs), 1 by the mean
log-probability per token. Results are sorted by `score`, best first.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from models.core.device import upload

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, torch.Tensor | None, Any]]
ReorderFn = Callable[[Any, torch.Tensor], Any]


def select_batch(state: Any, index: torch.Tensor) -> Any:
    """Rows `index` of every tensor in `state` (dim 0), recursing into tuples, lists and dicts."""
    if isinstance(state, torch.Tensor):
        return state.index_select(0, index.to(state.device))
    if isinstance(state, dict):
        return {k: select_batch(v, index) for k, v in state.items()}
    if isinstance(state, (tuple, list)):
        return type(state)(select_batch(v, index) for v in state)
    if hasattr(state, "reorder_cache"):
        state.reorder_cache(index)
        return state
    return state


@dataclass
class Hypothesis:
    tokens: list[int]  # generated tokens, without the start token, with the end token if it finished
    token_log_probs: list[float]
    log_prob: float
    score: float
    finished: bool  # False: stopped by the length limit, not by the end token
    attention: torch.Tensor | None = None  # (len(tokens), ...) one row per generated token
    node: int = -1  # its last node in the search tree


@dataclass
class TreeNode:
    """One hypothesis prefix the search kept at one step."""

    id: int
    parent: int  # -1 for the root (the start token)
    step: int
    token: int
    log_prob: float  # of the whole prefix
    finished: bool


@dataclass
class SearchResult:
    hypotheses: list[Hypothesis]  # best first
    tree: list[TreeNode] = field(default_factory=list)

    @property
    def best(self) -> Hypothesis:
        return self.hypotheses[0]

    def path(self, hypothesis: Hypothesis) -> list[int]:
        """Node ids from the root to the hypothesis' last node."""
        by_id = {node.id: node for node in self.tree}
        ids, node = [], hypothesis.node
        while node >= 0:
            ids.append(node)
            node = by_id[node].parent
        return ids[::-1]


def normalised_score(log_prob: float, length: int, length_penalty: float) -> float:
    return log_prob / max(length, 1) ** length_penalty


def _stack(rows: list[torch.Tensor]) -> torch.Tensor | None:
    return torch.stack(rows).float().cpu() if rows else None


class Search:
    """One search, stepped from outside so that several can share a decoder batch (`run_searches`).
    `prefixes` (b, t) are its live hypotheses; `advance` takes the decoder's answer for them and
    returns which of them continue (rows into `prefixes`), or None once the search is over."""

    prefixes: torch.Tensor

    def __init__(self, *, start: int, end: int, max_len: int, length_penalty: float, source_length: int | None):
        self.start, self.end, self.max_len, self.length_penalty = start, end, max_len, length_penalty
        self.source_length = source_length  # attention columns past it are padding from a shared batch
        self.prefixes = torch.tensor([[start]])
        self.tree = [TreeNode(0, -1, 0, start, 0.0, False)]

    def attention_row(self, attention: torch.Tensor | None, row: int) -> list[torch.Tensor]:
        """The row's attention, left on its device (the hypotheses copy theirs to the host once, at the end)."""
        if attention is None:
            return []
        return [attention[row, ..., : self.source_length]]

    def extend(self, index: list[int], tokens: list[int], device: torch.device) -> None:
        """The prefixes that live on: rows `index` of the current ones, each followed by its new token."""
        prefixes = self.prefixes.to(device)  # on the host only before the first step
        if index != list(range(len(prefixes))):
            prefixes = prefixes.index_select(0, upload(index, device))
        self.prefixes = torch.cat([prefixes, upload(tokens, device)[:, None]], dim=1)

    def advance(self, log_probs: torch.Tensor, attention: torch.Tensor | None) -> list[int] | None:
        raise NotImplementedError

    def result(self) -> SearchResult:
        raise NotImplementedError


class GreedySearch(Search):
    """Take the most likely token at each step until `end` or `max_len` tokens."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokens: list[int] = []
        self.token_log_probs: list[float] = []
        self.attention: list[torch.Tensor] = []

    def advance(self, log_probs: torch.Tensor, attention: torch.Tensor | None) -> list[int] | None:
        log_prob, best = log_probs[0].float().max(-1)
        best_log_prob, token = torch.stack([log_prob.double(), best.double()]).tolist()  # the step's one host read
        token = int(token)
        self.tokens.append(token)
        self.token_log_probs.append(best_log_prob)
        self.attention += self.attention_row(attention, 0)
        parent = len(self.tree) - 1
        self.tree.append(
            TreeNode(parent + 1, parent, len(self.tokens), token, sum(self.token_log_probs), token == self.end)
        )
        if token == self.end or len(self.tokens) >= self.max_len:
            return None
        self.extend([0], [token], log_probs.device)
        return [0]

    def result(self) -> SearchResult:
        total = sum(self.token_log_probs)
        hypothesis = Hypothesis(
            self.tokens,
            self.token_log_probs,
            total,
            normalised_score(total, len(self.tokens), self.length_penalty),
            finished=bool(self.tokens) and self.tokens[-1] == self.end,
            attention=_stack(self.attention),
            node=len(self.tree) - 1,
        )
        return SearchResult([hypothesis], self.tree)


@dataclass
class _Beam:
    tokens: list[int]
    token_log_probs: list[float]
    log_prob: float
    attention: list[torch.Tensor]
    node: int


class BeamSearch(Search):
    """Keep the `beam_width` most likely prefixes at each step.

    Each step looks at the 2 * width best one-token extensions of the live beams (by log-probability);
    among the best `width` of them, those ending in `end` are set aside as finished (so width 1 is
    exactly greedy search), and the best non-finished ones, up to `width`, live on. The search stops
    when `width` hypotheses have finished and no live beam's current score beats the worst of them
    (exact for length_penalty 0, the usual heuristic otherwise), or at `max_len` tokens.
    The result holds the `n_best` (default: `beam_width`) hypotheses by score.
    """

    def __init__(self, *, beam_width: int, n_best: int | None = None, **kwargs: Any) -> None:
        if beam_width < 1:
            raise ValueError("beam_width must be at least 1")
        super().__init__(**kwargs)
        self.width, self.n_best = beam_width, n_best or beam_width
        self.beams = [_Beam([], [], 0.0, [], 0)]
        self.beam_log_probs: torch.Tensor | None = None  # (live beams,) on the decoder's device
        self.finished: list[Hypothesis] = []
        self.t = 0

    def finish(self, beam: _Beam, done: bool) -> Hypothesis:
        score = normalised_score(beam.log_prob, len(beam.tokens), self.length_penalty)
        return Hypothesis(
            beam.tokens, beam.token_log_probs, beam.log_prob, score, done, _stack(beam.attention), beam.node
        )

    def advance(self, log_probs: torch.Tensor, attention: torch.Tensor | None) -> list[int] | None:
        self.t += 1
        width, vocab = self.width, log_probs.size(-1)
        log_probs = log_probs.float()
        totals = log_probs if self.beam_log_probs is None else self.beam_log_probs[:, None] + log_probs
        top_totals, top_flat = totals.view(-1).topk(min(2 * width, totals.numel()))
        top_token_log_probs = log_probs.view(-1)[top_flat]
        # The step's one host read: the candidates' totals, places and own log-probabilities together.
        packed = torch.stack([top_totals.double(), top_flat.double(), top_token_log_probs.double()]).tolist()
        keep_rows: list[int] = []
        next_beams: list[_Beam] = []
        for rank, (total, flat, token_log_prob) in enumerate(zip(*packed, strict=True)):
            row, token = divmod(int(flat), vocab)
            parent = self.beams[row]
            node = TreeNode(len(self.tree), parent.node, self.t, token, total, token == self.end)
            beam = _Beam(
                [*parent.tokens, token],
                [*parent.token_log_probs, token_log_prob],
                total,
                parent.attention + self.attention_row(attention, row),
                node.id,
            )
            if token == self.end:
                if rank < width:
                    self.tree.append(node)
                    self.finished.append(self.finish(beam, done=True))
            elif len(next_beams) < width:
                self.tree.append(node)
                next_beams.append(beam)
                keep_rows.append(row)
            if len(next_beams) == width and rank >= width - 1:
                break
        self.finished.sort(key=lambda h: h.score, reverse=True)
        if not next_beams:
            return None
        if len(self.finished) >= width:
            best_live = max(normalised_score(b.log_prob, self.t, self.length_penalty) for b in next_beams)
            if best_live <= self.finished[width - 1].score:
                return None
        if self.t >= self.max_len:  # out of length: the live beams join the finished ones, marked as cut off
            self.finished += [self.finish(b, done=False) for b in next_beams]
            return None
        self.beams = next_beams
        self.beam_log_probs = upload([b.log_prob for b in next_beams], log_probs.device, torch.float32)
        self.extend(keep_rows, [b.tokens[-1] for b in next_beams], log_probs.device)
        return keep_rows

    def result(self) -> SearchResult:
        ranked = sorted(self.finished, key=lambda h: h.score, reverse=True)[: self.n_best]
        return SearchResult(ranked, self.tree)


@dataclass(frozen=True)
class SearchSettings:
    """How to search: the same for any decoder, turned into a `Search` once its tokens are known."""

    method: Literal["greedy", "beam"] = "beam"
    beam_width: int = 5
    max_len: int = 50
    length_penalty: float = 1.0
    n_best: int | None = None

    def new_search(self, start: int, end: int, source_length: int | None = None) -> Search:
        common = {"start": start, "end": end, "max_len": self.max_len, "length_penalty": self.length_penalty}
        if self.method == "greedy":
            return GreedySearch(**common, source_length=source_length)
        return BeamSearch(beam_width=self.beam_width, n_best=self.n_best, **common, source_length=source_length)


@torch.inference_mode()
def run_searches(
    searches: list[Search], step: StepFn, state: Any, reorder: ReorderFn = select_batch
) -> list[SearchResult]:
    """Several searches in lockstep over one decoder batch: `state` holds search 0's hypotheses, then
    search 1's, and so on (one row each at the start); each step calls the decoder once for all of
    them and keeps the rows each search continues with. Searches that end leave the batch."""
    live = list(searches)
    while live:
        log_probs, attention, state = step(torch.cat([search.prefixes for search in live]), state)
        keep: list[int] = []
        continuing: list[Search] = []
        first = 0
        for search in live:
            rows = slice(first, first + len(search.prefixes))
            kept = search.advance(log_probs[rows], None if attention is None else attention[rows])
            if kept is not None:
                keep += [first + row for row in kept]
                continuing.append(search)
            first = rows.stop
        live = continuing
        if live and keep != list(range(first)):
            state = reorder(state, upload(keep, log_probs.device))
    return [search.result() for search in searches]
