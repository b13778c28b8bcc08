"""Figures for the speech page (plotly) and the aligned transcript as HTML."""

from collections.abc import Sequence
from html import escape

import numpy as np
import plotly.graph_objects as go

from models.core import display
from models.speech.audio import SAMPLE_RATE, Audio
from models.speech.scoring import Edit
from models.speech.transcriber import FRAMES_PER_SECOND, KeywordCurve

POINTS = 2_000  # the waveform is drawn as this many min/max pairs, whatever its length
REGION_COLOURS = ((0, 114, 178), (230, 159, 0), (0, 158, 115))  # Okabe-Ito blue, orange, green


def _envelope(audio: Audio) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, lows, highs) of the waveform in at most POINTS columns."""
    samples = audio.samples
    step = max(1, len(samples) // POINTS)
    count = len(samples) // step
    columns = samples[: count * step].reshape(count, step)
    return np.arange(count) * step / SAMPLE_RATE, columns.min(1), columns.max(1)


def waveform(
    audio: Audio,
    regions: dict[str, Sequence[tuple[float, float]]] | None = None,
    words: Sequence[tuple[str, float, float, float]] = (),
    height: int = 260,
) -> go.Figure:
    """The waveform; each detector's speech `regions` as a shaded band (one row of bands per detector);
    `words` (text, start, end, score) as labelled spans above it, darker for a higher score."""
    times, lows, highs = _envelope(audio)
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=np.concatenate([times, times[::-1]]),
            y=np.concatenate([highs, lows[::-1]]),
            fill="toself",
            mode="lines",
            line={"width": 0.5, "color": "#444"},
            fillcolor="rgba(60,60,60,0.55)",
            hoverinfo="skip",
            name="waveform",
            showlegend=False,
        )
    )
    for row, (name, spans) in enumerate((regions or {}).items()):
        red, green, blue = REGION_COLOURS[row % len(REGION_COLOURS)]
        band = f"rgba({red},{green},{blue},0.8)"
        bottom = -1.05 - 0.15 * row  # each detector's regions as a strip under the waveform, shaded above it
        for start, end in spans:
            figure.add_shape(type="rect", x0=start, x1=end, y0=bottom, y1=bottom + 0.12, fillcolor=band, line_width=0)
            figure.add_vrect(
                x0=start, x1=end, fillcolor=f"rgba({red},{green},{blue},0.12)", line_width=0, layer="below"
            )
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"color": band, "size": 12, "symbol": "square"},
                name=f"speech: {name}",
            )
        )
    for text, start, end, score in words:
        figure.add_shape(
            type="rect",
            x0=start,
            x1=end,
            y0=1.02,
            y1=1.22,
            fillcolor=f"rgba(0,114,178,{0.08 + 0.35 * score:.2f})",
            line={"color": "#0072B2", "width": 1},
        )
        figure.add_annotation(
            x=(start + end) / 2,
            y=1.12,
            text=escape(text),
            showarrow=False,
            font={"size": 12},
            hovertext=f"{text}: {start:.2f}-{end:.2f} s, score {score:.2f}",
        )
    figure.update_layout(
        height=height,
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        xaxis={"title": "seconds", "range": [0, audio.seconds]},
        yaxis={"range": [-1.1 - 0.15 * len(regions or {}), 1.3 if words else 1.05], "showticklabels": False},
        legend={"orientation": "h", "y": -0.35},
    )
    return display.style_figure(figure)


def time_heatmap(
    matrix: np.ndarray,
    frames_per_second: float,
    y_title: str,
    colour_title: str,
    y_values: Sequence | None = None,
    height: int = 260,
) -> go.Figure:
    """A (rows, frames) matrix over time: a spectrogram, the log-mel filterbank or the MFCCs."""
    times = np.arange(matrix.shape[1]) / frames_per_second
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=times,
            y=y_values,
            colorscale=display.current().heatmap_colormap,
            colorbar={"title": colour_title},
        )
    )
    figure.update_layout(
        height=height, margin={"l": 50, "r": 10, "t": 10, "b": 40}, xaxis_title="seconds", yaxis_title=y_title
    )
    return display.style_figure(figure)


def cross_attention(attention: np.ndarray, token_texts: Sequence[str], height: int | None = None) -> go.Figure:
    """The alignment heads' attention (heads, tokens, frames), averaged over heads: one row per text token."""
    matrix = attention.mean(0) if attention.size else np.zeros((0, 0))
    labels = [f"{i}:{t}" for i, t in enumerate(token_texts)]
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=np.arange(matrix.shape[1]) / FRAMES_PER_SECOND,
            y=labels,
            colorscale=display.current().heatmap_colormap,
            colorbar={"title": "attention"},
            hovertemplate="token %{y}<br>%{x:.2f} s<br>attention %{z:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        height=height or max(260, 18 * len(labels) + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis_title="seconds (encoder frames, 20 ms each)",
        yaxis={"autorange": "reversed", "title": None},
    )
    return display.style_figure(figure)


def keyword_detection(
    curve: KeywordCurve, detections: Sequence[tuple[float, float]], threshold: float, seconds: float
) -> go.Figure:
    """Whisper's keyword probability over time (a step line: it holds until the next word), the threshold,
    and pocketsphinx's detections as shaded spans."""
    figure = go.Figure()
    for start, end in detections:
        figure.add_vrect(x0=start, x1=end, fillcolor="rgba(230,159,0,0.3)", line_width=0)
    figure.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            marker={"color": "rgba(230,159,0,0.6)", "size": 12, "symbol": "square"},
            name="pocketsphinx detection",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=curve.times,
            y=curve.probabilities,
            mode="lines+markers",
            line={"shape": "hv", "color": "#0072B2"},
            name=f"Whisper: P('{curve.keyword}' next)",
        )
    )
    figure.add_hline(y=threshold, line={"dash": "dash", "color": "#D55E00"}, annotation_text="threshold")
    figure.update_layout(
        height=280,
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        xaxis={"title": "seconds", "range": [0, seconds]},
        yaxis={"title": "probability", "range": [0, 1.05]},
        legend={"orientation": "h", "y": -0.3},
    )
    return display.style_figure(figure)


EDIT_STYLES = {
    "equal": "",
    "substitute": "background:#F0E442;",  # Okabe-Ito yellow
    "delete": "background:#E69F00;text-decoration:line-through;",  # orange
    "insert": "background:#56B4E9;",  # sky blue
}


def edits_html(edits: Sequence[Edit]) -> str:
    """The hypothesis aligned to the reference: substitutions as 'heard (said)', deletions struck through,
    insertions marked."""
    spans = []
    for edit in edits:
        if edit.kind == "substitute":
            text, title = (
                f"{edit.hypothesis} ({edit.reference})",
                f"substitution: '{edit.reference}' heard as '{edit.hypothesis}'",
            )
        elif edit.kind == "delete":
            text, title = edit.reference, f"deletion: '{edit.reference}' was not heard"
        elif edit.kind == "insert":
            text, title = f"+{edit.hypothesis}", f"insertion: '{edit.hypothesis}' was not said"
        else:
            text, title = edit.reference, "correct"
        style = EDIT_STYLES[edit.kind] + "border-radius:3px;padding:0 2px;color:#111" if edit.kind != "equal" else ""
        spans.append(f'<span title="{escape(title)}" style="{style}">{escape(text)}</span>')
    return '<div style="line-height:1.9;font-size:1.05rem">' + " ".join(spans) + "</div>"
