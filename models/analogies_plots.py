"""Plotly figures for the analogies page: the analogy in a 2D projection, the bias projections,
and the evaluation scores. They return figures; the page only shows them."""

from collections.abc import Sequence
from typing import Literal

import plotly.graph_objects as go

from models.analogies import Evaluation, WordVectors
from models.analogies_bias import Projection

ROLE_COLOURS = {"input": "#1f77b4", "answer": "#d62728", "neighbour": "#9e9e9e"}


def analogy_figure(
    vectors: WordVectors,
    a: str,
    b: str,
    c: str,
    answer: str,
    neighbours: int = 5,
    method: Literal["PCA", "t-SNE"] = "PCA",
) -> go.Figure:
    """The four words and their nearest neighbours in 2D, with arrows a -> b and c -> answer:
    in a good analogy the two arrows are nearly parallel and of the same length."""
    roles = {a: "input", b: "input", c: "input", answer: "answer"}
    for word in (a, b, c, answer):
        for neighbour, _ in vectors.neighbours(word, neighbours, restrict_vocab=50_000):
            roles.setdefault(neighbour, "neighbour")
    words = list(roles)
    points = vectors.project_2d(words, method)
    where = dict(zip(words, points, strict=True))
    figure = go.Figure()
    for role, colour in ROLE_COLOURS.items():
        members = [w for w in words if roles[w] == role]
        figure.add_trace(
            go.Scatter(
                x=[where[w][0] for w in members],
                y=[where[w][1] for w in members],
                mode="markers+text",
                text=members,
                textposition="top center",
                name=role,
                marker={"size": 14 if role != "neighbour" else 8, "color": colour},
                textfont={"size": 16 if role != "neighbour" else 12, "color": colour},
            )
        )
    for start, end, colour in ((a, b, ROLE_COLOURS["input"]), (c, answer, ROLE_COLOURS["answer"])):
        figure.add_annotation(
            x=where[end][0],
            y=where[end][1],
            ax=where[start][0],
            ay=where[start][1],
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=3,
            arrowsize=1.5,
            arrowwidth=2.5,
            arrowcolor=colour,
        )
    axis = "component" if method == "PCA" else "t-SNE axis"
    figure.update_layout(
        xaxis_title=f"{method} {axis} 1",
        yaxis_title=f"{method} {axis} 2",
        height=520,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.08},
    )
    return figure


def bias_figure(projections: Sequence[Projection], first: str, second: str) -> go.Figure:
    """Horizontal bars: each word's projection on the bias direction, before and after neutralize."""
    ordered = sorted(projections, key=lambda p: p.before)
    words = [p.word for p in ordered]
    figure = go.Figure()
    figure.add_trace(go.Bar(y=words, x=[p.before for p in ordered], orientation="h", name="before"))
    figure.add_trace(go.Bar(y=words, x=[p.after for p in ordered], orientation="h", name="after neutralize"))
    figure.update_layout(
        barmode="group",
        xaxis_title=f"projection on the {first}–{second} direction  (← {second} · {first} →)",
        height=max(320, 28 * len(words)),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.05},
    )
    return figure


def evaluation_figure(evaluation: Evaluation) -> go.Figure:
    """Accuracy per section of the analogy test set, with the number of questions asked."""
    sections = [s for s in evaluation.sections if s.total]
    figure = go.Figure(
        go.Bar(
            x=[s.accuracy * 100 for s in sections],
            y=[s.name for s in sections],
            orientation="h",
            text=[f"{s.accuracy:.0%} of {s.total}" for s in sections],
            textposition="auto",
        )
    )
    figure.update_layout(
        xaxis_title="accuracy (%)",
        xaxis_range=[0, 100],
        yaxis_autorange="reversed",
        height=max(320, 30 * len(sections)),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure
