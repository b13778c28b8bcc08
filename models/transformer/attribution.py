"""Which input tokens mattered for one output, by two gradient methods from Captum: input × gradient, and
integrated gradients (the gradient averaged along a straight path from a baseline to the real token vectors, times
the difference). The baseline puts a token that carries little meaning at every position: MiniLM's padding token;
for SmolLM2 a space, and the first token kept as it is (the attention sink every head rests on). All-zero vectors
would not do for SmolLM2: its RMS norms read any non-zero multiple of a vector alike, so the output swings wildly
near the start of the path. Even so the path is rough for some prompts, so the steps double (up to MAX_STEPS)
until completeness holds within COMPLETE_WITHIN. Integrated gradients are complete: a token's attributions summed
over the embedding dimensions, then over the tokens, equal the output's change from the baseline, up to the path's
discretisation (`delta`). The output explained: SmolLM2's logit of its predicted next token, or MiniLM's logit of
the sentiment it predicts. Beside them, the last layer's attention from the position that makes the prediction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models.transformer.decoder import OpenedDecoder
from models.transformer.encoder import OpenedEncoder
from models.transformer.trace import Trace

STEPS = 32  # points on the integration path to start with
MAX_STEPS = 64  # beyond this a button press would take minutes on a CPU; the page warns instead
COMPLETE_WITHIN = 0.05


@dataclass
class Attributions:
    tokens: list[str]
    explained: str  # what output the attributions explain
    input_x_gradient: np.ndarray  # (T,)
    integrated: np.ndarray  # (T,)
    output: float  # the explained logit for the real input
    baseline_output: float  # and for the baseline (a meaningless token at every position)
    delta: float  # sum(integrated) - (output - baseline_output)
    steps: int  # points on the path it took
    last_layer_attention: np.ndarray  # (T,) mean over heads, from the predicting position

    @property
    def completeness_error(self) -> float:
        """|delta| relative to the output's change from the baseline."""
        return abs(self.delta) / max(abs(self.output - self.baseline_output), 1e-9)


def attribute(model: OpenedDecoder | OpenedEncoder, trace: Trace, steps: int = STEPS) -> Attributions:
    from captum.attr import InputXGradient, IntegratedGradients

    ids = torch.tensor([trace.ids])
    if isinstance(model, OpenedDecoder):
        neutral = model.tokenizer(" ", add_special_tokens=False).input_ids[0]
        embed = model.model.model.embed_tokens
        target = int(trace.logits[-1].argmax())
        explained = f"the logit of the next token “{model.labels([target])[0]}”"

        def forward(embeddings: torch.Tensor) -> torch.Tensor:
            return model.model(inputs_embeds=embeddings, use_cache=False).logits[:, -1, target]

        predicting = -1  # the last position predicts the next token
    else:
        embed = model.bert.embeddings.word_embeddings
        with torch.inference_mode():
            logits = model.model(input_ids=ids).logits[0]
        target = int(logits.argmax())
        explained = f"the logit of “{model.model.config.id2label[target]}”"

        def forward(embeddings: torch.Tensor) -> torch.Tensor:
            return model.model(inputs_embeds=embeddings).logits[:, target]

        predicting = 0  # the classifier reads the first ([CLS]) position
        neutral = model.tokenizer.pad_token_id
    embeddings = embed(ids).detach().requires_grad_(True)  # (1, T, D)
    baseline = embed(torch.full_like(ids, neutral)).detach()
    if isinstance(model, OpenedDecoder):
        baseline[:, 0] = embeddings[:, 0].detach()
    with torch.no_grad():
        output, baseline_output = float(forward(embeddings)), float(forward(baseline))
    while True:
        integrated, delta = IntegratedGradients(forward).attribute(
            embeddings, baselines=baseline, n_steps=steps, internal_batch_size=STEPS, return_convergence_delta=True
        )
        complete = abs(float(delta)) <= COMPLETE_WITHIN * abs(output - baseline_output)
        if complete or steps >= MAX_STEPS:
            break
        steps *= 2
    simple = InputXGradient(forward).attribute(embeddings)
    attention = trace.blocks["self"].weights[-1, :, predicting].mean(0)  # (T,)
    return Attributions(
        tokens=trace.tokens,
        explained=explained,
        input_x_gradient=simple[0].sum(-1).detach().numpy(),
        integrated=integrated[0].sum(-1).detach().numpy(),
        output=output,
        baseline_output=baseline_output,
        delta=float(delta),
        steps=steps,
        last_layer_attention=attention.numpy(),
    )
