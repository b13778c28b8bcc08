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

Scores: a hypothesis' `log_prob` is the sum of its tokens' log-probabilities (end token included);
its `score` is `log_prob / length ** length_penalty`, with `length` its number of generated tokens.
A length penalty of 0 ranks by raw log-probability (which favours short outputs), 1 by the mean
log-probability per token. Results are sorted by `score`, best first.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

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
    return torch.stack(rows) if rows else None


@torch.inference_mode()
def greedy_search(
    step: StepFn, state: Any, *, start: int, end: int, max_len: int, length_penalty: float = 0.0
) -> SearchResult:
    """Take the most likely token at each step until `end` or `max_len` tokens."""
    prefix = torch.tensor([[start]])
    tokens: list[int] = []
    token_log_probs: list[float] = []
    attention: list[torch.Tensor] = []
    tree = [TreeNode(0, -1, 0, start, 0.0, False)]
    while len(tokens) < max_len:
        log_probs, attn, state = step(prefix, state)
        log_prob, best = log_probs[0].max(-1)
        token = int(best)
        tokens.append(token)
        token_log_probs.append(float(log_prob))
        if attn is not None:
            attention.append(attn[0].float().cpu())
        tree.append(TreeNode(len(tree), len(tree) - 1, len(tokens), token, sum(token_log_probs), token == end))
        if token == end:
            break
        prefix = torch.cat([prefix, torch.tensor([[token]])], dim=1)
    total = sum(token_log_probs)
    hypothesis = Hypothesis(
        tokens,
        token_log_probs,
        total,
        normalised_score(total, len(tokens), length_penalty),
        finished=bool(tokens) and tokens[-1] == end,
        attention=_stack(attention),
        node=len(tree) - 1,
    )
    return SearchResult([hypothesis], tree)


@dataclass
class _Beam:
    tokens: list[int]
    token_log_probs: list[float]
    log_prob: float
    attention: list[torch.Tensor]
    node: int


@torch.inference_mode()
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
    """Keep the `beam_width` most likely prefixes at each step.

    Each step looks at the 2 * width best one-token extensions of the live beams (by log-probability);
    among the best `width` of them, those ending in `end` are set aside as finished (so width 1 is
    exactly greedy search), and the best non-finished ones, up to `width`, live on. The search stops
    when `width` hypotheses have finished and no live beam's current score beats the worst of them
    (exact for length_penalty 0, the usual heuristic otherwise), or at `max_len` tokens.
    Returns the `n_best` (default: `beam_width`) hypotheses by score.
    """
    if beam_width < 1:
        raise ValueError("beam_width must be at least 1")
    n_best = n_best or beam_width
    tree = [TreeNode(0, -1, 0, start, 0.0, False)]
    beams = [_Beam([], [], 0.0, [], 0)]
    prefixes = torch.tensor([[start]])
    finished: list[Hypothesis] = []

    def finish(beam: _Beam, done: bool) -> Hypothesis:
        score = normalised_score(beam.log_prob, len(beam.tokens), length_penalty)
        return Hypothesis(
            beam.tokens, beam.token_log_probs, beam.log_prob, score, done, _stack(beam.attention), beam.node
        )

    for t in range(1, max_len + 1):
        log_probs, attention, state = step(prefixes, state)
        vocab = log_probs.size(-1)
        totals = torch.tensor([b.log_prob for b in beams], device=log_probs.device).unsqueeze(1) + log_probs.float()
        k = min(2 * beam_width, totals.numel())
        top_totals, top_flat = totals.view(-1).topk(k)
        keep_rows: list[int] = []
        next_beams: list[_Beam] = []
        for rank, (total, flat) in enumerate(zip(top_totals.tolist(), top_flat.tolist(), strict=True)):
            row, token = divmod(flat, vocab)
            parent = beams[row]
            node = TreeNode(len(tree), parent.node, t, token, total, token == end)
            rows = [] if attention is None else [attention[row].float().cpu()]
            beam = _Beam(
                [*parent.tokens, token],
                [*parent.token_log_probs, float(log_probs[row, token])],
                total,
                parent.attention + rows,
                node.id,
            )
            if token == end:
                if rank < beam_width:
                    tree.append(node)
                    finished.append(finish(beam, done=True))
            elif len(next_beams) < beam_width:
                tree.append(node)
                next_beams.append(beam)
                keep_rows.append(row)
            if len(next_beams) == beam_width and rank >= beam_width - 1:
                break
        finished.sort(key=lambda h: h.score, reverse=True)
        if not next_beams:
            break
        if len(finished) >= beam_width:
            best_live = max(normalised_score(b.log_prob, t, length_penalty) for b in next_beams)
            if best_live <= finished[beam_width - 1].score:
                break
        beams = next_beams
        index = torch.tensor(keep_rows)
        state = reorder(state, index)
        prefixes = torch.cat([prefixes[index], torch.tensor([[b.tokens[-1]] for b in beams])], dim=1)
    else:
        # Out of length: the live beams join the finished ones, marked as cut off.
        finished += [finish(b, done=False) for b in beams]
    ranked = sorted(finished, key=lambda h: h.score, reverse=True)[:n_best]
    return SearchResult(ranked, tree)
