"""Plotly figures for the analogies page: the analogy in a 2D projection, the bias projections,
and the evaluation scores. They return figures; the page only shows them."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import plotly.graph_objects as go

from models.analogies.bias import Projection
from models.analogies.vectors import Evaluation, WordVectors
from models.core import display

ROLE_COLOURS = {"input": "#0072B2", "answer": "#D55E00", "neighbour": "#9e9e9e"}  # Okabe-Ito blue, vermillion
ARITHMETIC_STEPS = ["a", "b − a", "+ c"]  # what the replay of the vector arithmetic shows, step by step


@dataclass(frozen=True)
class AnalogyLayout:
    """The analogy's words and their neighbours placed in 2D once, so every step of a replay draws the
    same picture."""

    a: str
    b: str
    c: str
    answer: str
    roles: dict[str, str]  # word -> "input" | "answer" | "neighbour"
    where: dict[str, tuple[float, float]]
    method: str


def analogy_layout(
    vectors: WordVectors,
    a: str,
    b: str,
    c: str,
    answer: str,
    neighbours: int = 5,
    method: Literal["PCA", "t-SNE"] = "PCA",
) -> AnalogyLayout:
    """The four words and their nearest neighbours, projected to 2D (PCA or t-SNE)."""
    roles = {a: "input", b: "input", c: "input", answer: "answer"}
    for word in (a, b, c, answer):
        for neighbour, _ in vectors.neighbours(word, neighbours, restrict_vocab=50_000):
            roles.setdefault(neighbour, "neighbour")
    words = list(roles)
    points = vectors.project_2d(words, method)
    where = {word: (float(x), float(y)) for word, (x, y) in zip(words, points, strict=True)}
    return AnalogyLayout(a, b, c, answer, roles, where, method)


def analogy_figure(layout: AnalogyLayout, step: int = len(ARITHMETIC_STEPS)) -> go.Figure:
    """The analogy in 2D. Step 1 shows a; step 2 the offset b − a as an arrow from a to b; step 3 (the
    whole picture) adds the same offset from c, landing at b − a + c (×), the answer nearest to it, and the
    arrow c -> answer: in a good analogy the two arrows are nearly parallel and of the same length. With
    PCA, a linear map, the × is exactly where b − a + c projects; with t-SNE it is only indicative."""
    a, b, c, answer, where = layout.a, layout.b, layout.c, layout.answer, layout.where
    shown = {a} | ({b} if step >= 2 else set()) | ({c, answer} if step >= 3 else set())
    figure = go.Figure()
    for role, colour in ROLE_COLOURS.items():
        members = [w for w, r in layout.roles.items() if r == role and (role == "neighbour" or w in shown)]
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
    offset = (where[b][0] - where[a][0], where[b][1] - where[a][1])
    target = (where[c][0] + offset[0], where[c][1] + offset[1])
    arrows = [(where[a], where[b], ROLE_COLOURS["input"], "b − a")] if step >= 2 else []
    if step >= 3:
        figure.add_trace(
            go.Scatter(
                x=[target[0]],
                y=[target[1]],
                mode="markers+text",
                text=["b − a + c"],
                textposition="bottom center",
                name="b − a + c",
                marker={"size": 16, "symbol": "x", "color": "#000000"},
                textfont={"size": 14, "color": "#000000"},
            )
        )
        arrows += [(where[c], target, "#000000", ""), (where[c], where[answer], ROLE_COLOURS["answer"], "")]
    for start, end, colour, label in arrows:
        figure.add_annotation(
            x=end[0],
            y=end[1],
            ax=start[0],
            ay=start[1],
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
        if label:
            figure.add_annotation(
                x=(start[0] + end[0]) / 2, y=(start[1] + end[1]) / 2, text=label, showarrow=False, font={"size": 14}
            )
    xs = [p[0] for p in where.values()] + [target[0]]  # the same axes at every step
    ys = [p[1] for p in where.values()] + [target[1]]
    pad_x, pad_y = 0.08 * (max(xs) - min(xs) or 1), 0.1 * (max(ys) - min(ys) or 1)
    axis = "component" if layout.method == "PCA" else "t-SNE axis"
    figure.update_layout(
        xaxis={"title": f"{layout.method} {axis} 1", "range": [min(xs) - pad_x, max(xs) + pad_x]},
        yaxis={"title": f"{layout.method} {axis} 2", "range": [min(ys) - pad_y, max(ys) + pad_y]},
        height=520,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.08},
    )
    return display.style_figure(figure)


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
    return display.style_figure(figure)


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
    return display.style_figure(figure)
