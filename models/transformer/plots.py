"""Figures for the transformer internals page (plotly): embedding strips, position signals, one head's scores and
weights, the head view's lines, the model view's grid of every layer and head, per-head score maps, the logit lens."""

from __future__ import annotations

import itertools

import numpy as np
import plotly.graph_objects as go

from models.core import display
from models.transformer.attribution import Attributions
from models.transformer.lens import LogitLens
from models.transformer.trace import AttentionBlock, HeadWorking, PositionSignal

LINE_BINS = 6  # line widths the head view draws (one trace each)
THINNEST = 0.02  # weights below this get no line


def positioned(tokens: list[str]) -> list[str]:
    """Labels made unique by position (repeated tokens would merge on a categorical axis)."""
    return [f"{i}:{t}" for i, t in enumerate(tokens)]


def embedding_strips(tokens: list[str], embeddings: np.ndarray) -> go.Figure:
    """One row per token: its embedding vector's values as colours, dimension by dimension."""
    limit = float(np.abs(embeddings).max()) or 1.0
    figure = go.Figure(
        go.Heatmap(
            z=embeddings,
            y=positioned(tokens),
            colorscale="RdBu",
            zmin=-limit,
            zmax=limit,
            hovertemplate="%{y}<br>dimension %{x}<br>value %{z:.3f}<extra></extra>",
            colorbar={"title": "value"},
        )
    )
    figure.update_layout(
        xaxis={"title": "dimension"},
        yaxis={"autorange": "reversed"},
        height=max(220, 20 * len(tokens) + 120),
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
    )
    return display.style_figure(figure)


def position_figure(signal: PositionSignal, tokens: int) -> go.Figure:
    """Rotary: cos(angle) per position and dimension pair. Learned: position-by-position similarity. Sinusoidal: the
    fixed table, position by dimension."""
    if signal.kind == "sinusoidal":
        heatmap = go.Heatmap(
            z=signal.values,
            colorscale="RdBu",
            zmin=-1,
            zmax=1,
            colorbar={"title": "value"},
            hovertemplate="position %{y}<br>dimension %{x}<br>%{z:.2f}<extra></extra>",
        )
        axes = {"xaxis": {"title": "dimension (fast → slow)"}, "yaxis": {"title": "position"}}
    elif signal.kind == "rotary":
        heatmap = go.Heatmap(
            z=np.cos(signal.values),
            colorscale="RdBu",
            zmin=-1,
            zmax=1,
            colorbar={"title": "cos(angle)"},
            hovertemplate="position %{y}<br>pair %{x}<br>cos %{z:.2f}<extra></extra>",
        )
        axes = {"xaxis": {"title": "dimension pair (fast → slow)"}, "yaxis": {"title": "position"}}
    else:
        heatmap = go.Heatmap(
            z=signal.values,
            colorscale="Viridis",
            colorbar={"title": "cosine"},
            hovertemplate="position %{y} · position %{x}<br>similarity %{z:.2f}<extra></extra>",
        )
        axes = {"xaxis": {"title": "position"}, "yaxis": {"title": "position"}}
    figure = go.Figure(heatmap)
    figure.add_hline(y=tokens - 0.5, line={"color": "#000000", "dash": "dot", "width": 1})
    figure.update_layout(**axes, height=420, margin={"l": 10, "r": 10, "t": 20, "b": 10})
    figure.update_yaxes(autorange="reversed")
    return display.style_figure(figure)


def head_working_figure(working: HeadWorking) -> go.Figure:
    """For each key: the scaled score q·k/√d (masked keys greyed) and the softmax weight."""
    keys = positioned(working.key_tokens)
    allowed = working.allowed
    figure = go.Figure()
    figure.add_bar(
        x=keys,
        y=np.where(allowed, working.scores, 0),
        name="score q·k/√d",
        marker={"color": ["#0072B2" if a else "#bbbbbb" for a in allowed]},
        yaxis="y",
    )
    figure.add_bar(x=keys, y=working.weights, name="weight (softmax)", marker={"color": "#E69F00"}, yaxis="y2")
    figure.update_layout(
        barmode="group",
        yaxis={"title": "score", "side": "left"},
        yaxis2={"title": "weight", "side": "right", "overlaying": "y", "range": [0, 1], "showgrid": False},
        xaxis={"tickangle": -45},
        legend={"orientation": "h", "y": 1.12},
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return display.style_figure(figure)


def head_view(block: AttentionBlock, layer: int, head: int) -> go.Figure:
    """Queries on the left, keys on the right, a line from each query to each key it attends to; line width and
    darkness grow with the weight."""
    weights = block.weights[layer, head].numpy()  # (Tq, Tk)
    queries, keys = block.query_tokens, block.key_tokens
    figure = go.Figure()
    edges = np.linspace(THINNEST, 1, LINE_BINS + 1)
    for low, high in itertools.pairwise(edges):
        rows, cols = np.nonzero((weights >= low) & (weights < high if high < 1 else weights <= high))
        xs, ys = [], []
        for r, c in zip(rows, cols, strict=True):
            xs += [0, 1, None]
            ys += [-r, -c, None]
        if xs:
            middle = (low + high) / 2
            figure.add_scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"width": 0.5 + 7 * middle, "color": f"rgba(0, 114, 178, {0.15 + 0.85 * middle:.2f})"},
                hoverinfo="skip",
                showlegend=False,
            )
    for x, tokens, side in ((0, queries, "middle left"), (1, keys, "middle right")):
        figure.add_scatter(
            x=[x] * len(tokens),
            y=[-i for i in range(len(tokens))],
            mode="markers+text",
            text=tokens,
            textposition=side,
            marker={"size": 6, "color": "#000000"},
            hoverinfo="text",
            showlegend=False,
        )
    figure.update_layout(
        xaxis={"visible": False, "range": [-0.6, 1.6]},
        yaxis={"visible": False},
        height=max(260, 22 * max(len(queries), len(keys)) + 60),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return display.style_figure(figure)


def model_view(block: AttentionBlock, layers: list[int] | None = None) -> go.Figure:
    """Every head of the given layers (default all) as a small attention map, layers down and heads across, tiled
    into one heatmap (a gap between the maps)."""
    layers = list(range(block.layers)) if layers is None else layers
    q, k = block.weights.shape[2:]
    tiles = np.full((len(layers) * (q + 1), block.heads * (k + 1)), np.nan)
    for row, layer in enumerate(layers):
        for head in range(block.heads):
            tiles[row * (q + 1) : row * (q + 1) + q, head * (k + 1) : head * (k + 1) + k] = block.weights[layer, head]
    figure = go.Figure(go.Heatmap(z=tiles, colorscale="Blues", zmin=0, zmax=1, showscale=False, hoverinfo="skip"))
    figure.update_layout(
        xaxis={
            "tickvals": [h * (k + 1) + k / 2 for h in range(block.heads)],
            "ticktext": [f"head {h}" for h in range(block.heads)],
            "side": "top",
        },
        yaxis={
            "tickvals": [r * (q + 1) + q / 2 for r in range(len(layers))],
            "ticktext": [f"layer {layer}" for layer in layers],
            "autorange": "reversed",
        },
        height=min(2400, max(200, 70 * len(layers) + 60)),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return display.style_figure(figure)


def head_scores(scores: np.ndarray, title: str, marked: list[tuple[int, int]] = ()) -> go.Figure:
    """A layers × heads map of one score per head; `marked` heads are ringed."""
    figure = go.Figure(
        go.Heatmap(
            z=scores,
            colorscale="Viridis",
            colorbar={"title": title},
            hovertemplate="layer %{y} head %{x}<br>" + title + " %{z:.3f}<extra></extra>",
        )
    )
    if marked:
        figure.add_scatter(
            x=[h for _, h in marked],
            y=[layer for layer, _ in marked],
            mode="markers",
            marker={"symbol": "square-open", "size": 16, "color": "#D55E00", "line": {"width": 3}},
            hoverinfo="skip",
            showlegend=False,
        )
    figure.update_layout(
        xaxis={"title": "head", "dtick": 1},
        yaxis={"title": "layer", "autorange": "reversed", "dtick": 1 if scores.shape[0] <= 12 else 2},
        height=max(260, 16 * scores.shape[0] + 120),
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
    )
    return display.style_figure(figure)


def lens_figure(lens: LogitLens) -> go.Figure:
    """Layers down, positions across: the likeliest next token read at that layer, coloured by its probability."""
    rows = [f"layer {i}" if i else "embeddings" for i in range(len(lens.top_tokens))]
    figure = go.Figure(
        go.Heatmap(
            z=lens.top_probs,
            x=positioned(lens.tokens),
            y=rows,
            text=lens.top_tokens,
            texttemplate="%{text}",
            textfont={"size": 10},
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": "probability"},
            hovertemplate="after %{x}, read at %{y}<br>next: %{text} (%{z:.1%})<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"tickangle": -45, "side": "top"},
        yaxis={"autorange": "reversed"},
        height=22 * len(rows) + 160,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
    )
    return display.style_figure(figure)


def final_token_figure(lens: LogitLens) -> go.Figure:
    """The probability of the model's final next token, read after each layer (last position)."""
    figure = go.Figure(
        go.Scatter(
            x=list(range(len(lens.final_token_probs))),
            y=lens.final_token_probs,
            mode="lines+markers",
            line={"color": "#0072B2"},
            hovertemplate="after layer %{x}: %{y:.1%}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"title": "layer (0 = embeddings)"},
        yaxis={"title": f"P({lens.final_token})", "range": [0, 1], "tickformat": ".0%"},
        height=300,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
    )
    return display.style_figure(figure)


def projection_figure(points: np.ndarray, labels: list[str]) -> go.Figure:
    """Points in 2-D, each labelled."""
    figure = go.Figure(
        go.Scatter(
            x=points[:, 0],
            y=points[:, 1],
            mode="markers+text",
            text=[label.split(":")[0] for label in labels],
            textposition="top center",
            hovertext=labels,
            hoverinfo="text",
            marker={"size": 12, "color": "#0072B2"},
        )
    )
    figure.update_layout(
        xaxis={"title": "component 1"},
        yaxis={"title": "component 2"},
        height=360,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
    )
    return display.style_figure(figure)


def attribution_figure(result: Attributions) -> go.Figure:
    """Per token: input × gradient, integrated gradients, and the last layer's mean attention from the predicting
    position, each scaled to its largest magnitude so the three read side by side."""
    tokens = positioned(result.tokens)
    figure = go.Figure()
    for values, name, colour in (
        (result.input_x_gradient, "input × gradient", "#56B4E9"),
        (result.integrated, "integrated gradients", "#0072B2"),
        (result.last_layer_attention, "last layer's attention", "#E69F00"),
    ):
        scale = float(np.abs(values).max()) or 1.0
        figure.add_bar(
            x=tokens,
            y=values / scale,
            name=name,
            marker={"color": colour},
            customdata=values,
            hovertemplate="%{x}<br>" + name + " %{customdata:.3f}<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        yaxis={"title": "relative to its largest"},
        xaxis={"tickangle": -45},
        legend={"orientation": "h", "y": 1.12},
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return display.style_figure(figure)
