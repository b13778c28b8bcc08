"""The generation loop: how the next token is chosen (greedy, or sampling reshaped by temperature, top-k
and top-p), one `Step` per token with its probability and alternatives, and why the rule picked it.
"""

from dataclasses import dataclass
from typing import Literal

import torch

from models.core.errors import InputError
from models.generation.language_model import LanguageModel


@dataclass(frozen=True)
class Decoding:
    """How the next token is chosen. Sampling reshapes the distribution in this order: temperature,
    then top-k (keep the k likeliest), then top-p (keep the smallest set holding probability p)."""

    strategy: Literal["greedy", "sample"] = "sample"
    temperature: float = 1.0
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1.0: off
    max_new_tokens: int = 200
    seed: int = 0
    alternatives: int = 10  # how many of the likeliest tokens each Step records

    def check(self, lm: LanguageModel) -> None:
        if self.strategy not in ("greedy", "sample"):
            raise InputError(f"Unknown decoding strategy {self.strategy!r}.")
        if not 0.05 <= self.temperature <= 5:
            raise InputError("Temperature must be between 0.05 and 5.")
        if self.top_k < 0 or not 0 < self.top_p <= 1:
            raise InputError("top-k must be 0 (off) or more, and top-p in (0, 1].")
        if not 1 <= self.max_new_tokens <= lm.max_new_tokens:
            raise InputError(f"Length must be between 1 and {lm.max_new_tokens} {lm.unit}s for {lm.name}.")


@dataclass(frozen=True)
class Step:
    """One generated token."""

    token_id: int
    text: str  # what it adds to the output ("" while a multi-byte character is still incomplete)
    label: str  # the token as a chart shows it
    prob: float  # its probability under the model (before temperature/top-k/top-p)
    alternatives: tuple[tuple[str, float], ...]  # the likeliest tokens (label, probability), best first
    stop: bool  # it ends the text (end of name, end of sequence)
    # Sampling only: the probability the decoding rule (after temperature, top-k, top-p) gave each of the
    # alternatives, and how many tokens it could draw from at all. Empty / 1 for greedy.
    rule_probs: tuple[float, ...] = ()
    candidates: int = 1


def sampling_distribution(logits: torch.Tensor, decoding: Decoding) -> torch.Tensor:
    """Logits (V,) -> the probabilities sampling draws from, after temperature, top-k and top-p."""
    logits = logits.float() / decoding.temperature
    if 0 < decoding.top_k < logits.numel():
        kth = torch.topk(logits, decoding.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if decoding.top_p < 1:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Drop a token when the tokens before it already hold top_p; the likeliest always stays.
        drop = (torch.cumsum(sorted_probs, dim=-1) - sorted_probs) >= decoding.top_p
        probs = probs.scatter(0, order, sorted_probs.masked_fill(drop, 0.0))
        probs = probs / probs.sum()
    return probs


def choose(
    logits: torch.Tensor, decoding: Decoding, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The next token (a 0-d tensor, left on the logits' device), and for sampling the distribution it was
    drawn from (None for greedy)."""
    if decoding.strategy == "greedy":
        return logits.argmax(), None
    distribution = sampling_distribution(logits, decoding)
    return torch.multinomial(distribution, 1, generator=generator)[0], distribution


def why_chosen(step: Step, decoding: Decoding, unit: str = "token") -> str:
    """One markdown sentence on how the decoding rule picked `step`'s token, from what the step recorded."""
    ranks = [label for label, _ in step.alternatives]
    rank = ranks.index(step.label) + 1 if step.label in ranks else None
    place = f"the model's #{rank} choice" if rank else f"outside the model's top {len(ranks)}"
    if decoding.strategy == "greedy":
        return f"**Greedy** decoding always takes the likeliest {unit}: `{step.label}` ({step.prob:.1%})."
    reshaped = []
    if decoding.temperature != 1:
        effect = "sharpened" if decoding.temperature < 1 else "flattened"
        reshaped.append(f"temperature {decoding.temperature:g} {effect} the distribution")
    if decoding.top_k:
        reshaped.append(f"top-k kept the {decoding.top_k} likeliest")
    if decoding.top_p < 1:
        reshaped.append(f"top-p kept the fewest {unit}s holding {decoding.top_p:.0%} of the probability")
    chance = step.rule_probs[rank - 1] if rank and len(step.rule_probs) >= rank else None
    odds = f", which had a **{chance:.1%}** chance under the rule" if chance is not None else ""
    return (
        f"**Sampling**: {'; '.join(reshaped) or 'the model’s own distribution, unchanged'}, so "
        f"{step.candidates:,} {unit}(s) could be drawn. The random draw (seed {decoding.seed}) picked "
        f"`{step.label}`, {place}{odds} ({step.prob:.1%} under the model)."
    )
