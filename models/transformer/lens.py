"""The logit lens: the residual stream after every layer of a decoder read as if it were the last, through the
final norm and the unembedding. Where a prediction settles shows which layers made it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.transformer.decoder import OpenedDecoder
from models.transformer.trace import Trace


@dataclass
class LogitLens:
    """Rows: the embeddings (0) then each layer (1..L); columns: the input positions."""

    tokens: list[str]
    top_tokens: list[list[str]]  # (L+1) x T: the likeliest next token read at each layer and position
    top_probs: np.ndarray  # (L+1, T)
    final_token: str  # the model's own next token after the whole text
    final_token_probs: np.ndarray  # (L+1,) that token's probability read at each layer, last position


def logit_lens(model: OpenedDecoder, trace: Trace) -> LogitLens:
    assert trace.residuals is not None and trace.logits is not None, "a decoder's trace"
    final_id = int(trace.logits[-1].argmax())
    top_tokens, top_probs, final_probs = [], [], []
    for residual in trace.residuals:  # one layer at a time: (T, V) each, never (L+1, T, V)
        probs = model.read_out(residual).softmax(-1)  # (T, V)
        best = probs.max(-1)
        top_tokens.append(model.labels(best.indices.tolist()))
        top_probs.append(best.values.numpy())
        final_probs.append(float(probs[-1, final_id]))
    return LogitLens(trace.tokens, top_tokens, np.stack(top_probs), model.labels([final_id])[0], np.array(final_probs))
