"""Figures for the translation page: the beam search tree and the attention heatmap (plotly)."""

from collections.abc import Collection

import numpy as np
import plotly.graph_objects as go

from models.core import display
from models.translation.beam_search import SearchResult
from models.translation.translator import Candidate


def beam_tree(
    search: SearchResult,
    labels: dict[int, str],
    chosen: list[int],
    upto: int | None = None,
    live: Collection[int] = (),
) -> go.Figure:
    """Every prefix the search kept, by step (x) and rank within its step (y), linked to its parent.
    `chosen`: node ids of the path to highlight (the best hypothesis). For a replay: only the steps up
    to `upto` (the axes keep the whole search's size, so the tree grows in place), with the `live`
    prefixes of that step ringed in black."""
    nodes = {node.id: node for node in search.tree}
    rank: dict[int, int] = {}
    for step in sorted({n.step for n in search.tree}):
        at_step = sorted((n for n in search.tree if n.step == step), key=lambda n: -n.log_prob)
        rank.update({n.id: i for i, n in enumerate(at_step)})
    last_step = max((n.step for n in search.tree), default=0)
    kept = [n for n in search.tree if upto is None or n.step <= upto]
    on_path, ringed = set(chosen), set(live)
    figure = go.Figure()
    for highlight in (False, True):
        xs, ys = [], []
        for node in kept:
            if node.parent >= 0 and (node.id in on_path and node.parent in on_path) == highlight:
                parent = nodes[node.parent]
                xs += [parent.step, node.step, None]
                ys += [-rank[parent.id], -rank[node.id], None]
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": "#d62728" if highlight else "#b0b0b0", "width": 3 if highlight else 1},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    shown = [n for n in kept if n.parent >= 0]
    figure.add_trace(
        go.Scatter(
            x=[n.step for n in shown],
            y=[-rank[n.id] for n in shown],
            mode="markers+text",
            text=[labels.get(n.token, str(n.token)) for n in shown],
            textposition="top center",
            marker={
                "size": [14 if n.id in on_path or n.id in ringed else 9 for n in shown],
                "color": [n.log_prob for n in shown],
                "colorscale": "Viridis",  # colour-blind safe, and its scale stays fixed while a replay grows
                "cmin": min((n.log_prob for n in search.tree if n.parent >= 0), default=0.0),
                "cmax": max((n.log_prob for n in search.tree if n.parent >= 0), default=0.0),
                "colorbar": {"title": "log P(prefix)"},
                "symbol": ["square" if n.finished else "circle" for n in shown],
                "line": {
                    "color": [
                        "#d62728" if n.id in on_path else "#000000" if n.id in ringed else "white" for n in shown
                    ],
                    "width": [3 if n.id in ringed else 2 for n in shown],
                },
            },
            customdata=[[n.log_prob, "finished" if n.finished else "live"] for n in shown],
            hovertemplate="%{text}<br>step %{x}<br>log P = %{customdata[0]:.3f} (%{customdata[1]})<extra></extra>",
            showlegend=False,
        )
    )
    figure.update_layout(
        xaxis={"title": "decoding step", "range": [0.5, last_step + 0.5]},
        yaxis={"visible": False, "range": [-max(rank.values(), default=0) - 0.5, 0.7]},
        height=220 + 28 * max(rank.values(), default=0),
        margin={"l": 10, "r": 10, "t": 20, "b": 40},
    )
    return display.style_figure(figure)


def attention_matrix(candidate: Candidate, layer: int | None = None, head: int | None = None) -> np.ndarray:
    """(output tokens, source tokens) weights; for transformers, one layer/head or the mean over them."""
    weights = candidate.attention
    if weights is None:
        raise ValueError("this hypothesis has no attention weights")
    if weights.ndim == 2:
        return weights
    weights = weights[:, layer] if layer is not None else weights.mean(axis=1)  # (T, H, S)
    return weights[:, head] if head is not None else weights.mean(axis=1)


def attention_heatmap(
    matrix: np.ndarray,
    source_tokens: list[str],
    output_tokens: list[str],
    titles: tuple[str, str] = ("source tokens", "output tokens"),
    value: str = "weight",
) -> go.Figure:
    """(output, source) weights as a heatmap, output tokens down, source tokens across. Also draws
    IBM Model 1's alignment probabilities, with other axis `titles` and `value` name."""
    # Repeated labels would merge on a categorical axis, so each carries its position.
    x = [f"{i}:{t}" for i, t in enumerate(source_tokens)]
    y = [f"{i}:{t}" for i, t in enumerate(output_tokens)]
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=x,
            y=y,
            colorscale="Blues",
            zmin=0,
            hovertemplate=f"output %{{y}}<br>source %{{x}}<br>{value} %{{z:.3f}}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"title": titles[0], "tickangle": -45},
        yaxis={"title": titles[1], "autorange": "reversed"},
        height=max(300, 22 * len(y) + 160),
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
    )
    return display.style_figure(figure)
