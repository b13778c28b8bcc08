"""How the current viewer wants things drawn: presenter mode (bigger type and markers, high contrast for
a washed-out projector) and the colour palette (colour-blind safe by default).

The UI sets the display once per script run (`use`); figure builders and HTML helpers in models/ read it
with `current()`, so every plot follows the mode without each page passing it along. The value lives in
a ContextVar: each Streamlit session runs its script in its own thread, which has its own context, so one
session's presenter mode never leaks into another's. No Streamlit here, and nothing heavy to import.
"""

import colorsys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

Palette = Literal["safe", "classic"]
PALETTES: dict[str, str] = {
    "safe": "Colour-blind safe (blue / orange)",
    "classic": "Classic (green / red)",
}
PRESENTER_SCALE = 1.4

# Okabe & Ito (2008): eight colours told apart with every common colour-vision deficiency.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"]
# Ends of the two-sided scales (negative/unlikely, positive/likely), as RGB.
TWO_SIDED: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "safe": ((230, 97, 1), (67, 147, 195)),  # orange / blue (ColorBrewer PuOr, RdBu): black text stays readable
    "classic": ((220, 38, 38), (22, 163, 74)),  # red / green
}


@dataclass(frozen=True)
class Display:
    presenter: bool = False
    palette: Palette = "safe"

    @property
    def scale(self) -> float:
        """How much bigger text and markers are drawn."""
        return PRESENTER_SCALE if self.presenter else 1.0

    def size(self, points: float) -> int:
        return round(points * self.scale)

    @property
    def negative(self) -> tuple[int, int, int]:
        """The colour of 'negative' / 'unlikely' / 'wrong'."""
        return TWO_SIDED[self.palette][0]

    @property
    def positive(self) -> tuple[int, int, int]:
        return TWO_SIDED[self.palette][1]

    @property
    def diverging_scheme(self) -> str:
        """A Vega scheme from negative (0) to positive (1)."""
        return "blueorange" if self.palette == "safe" else "redyellowgreen"

    @property
    def reverse_diverging(self) -> bool:
        """Vega's blueorange runs blue -> orange, the reverse of negative -> positive here."""
        return self.palette == "safe"

    @property
    def heatmap_colormap(self) -> str:
        """A matplotlib colormap for one-sided intensities (Grad-CAM): perceptually even, readable without hue."""
        return "inferno" if self.palette == "safe" else "jet"


_current: ContextVar[Display | None] = ContextVar("display", default=None)


def current() -> Display:
    return _current.get() or Display()


def use(display: Display) -> None:
    """Set the display for the rest of this thread's work (one Streamlit script run)."""
    _current.set(display)


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def mix(low: tuple[int, int, int], high: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    t = min(max(t, 0.0), 1.0)
    return tuple(round(a + (b - a) * t) for a, b in zip(low, high, strict=True))  # type: ignore[return-value]


def probability_colour(probability: float, display: Display | None = None) -> str:
    """A light background for text (dark type stays readable) from unlikely (0) to likely (1):
    orange -> pale grey -> blue when colour-blind safe, red -> yellow -> green in the classic palette."""
    display = display or current()
    if display.palette == "classic":
        return f"hsl({round(120 * min(max(probability, 0.0), 1.0))},75%,80%)"
    white = (240, 240, 240)
    low, high = mix(display.negative, white, 0.55), mix(display.positive, white, 0.6)
    colour = mix(low, white, probability * 2) if probability < 0.5 else mix(white, high, probability * 2 - 1)
    return hex_colour(colour)


def class_colours(count: int, background: tuple[int, int, int], display: Display | None = None) -> list[tuple]:
    """`count` distinct RGB colours: `background` for class 0, then Okabe-Ito's colours (safe) or hues
    spread by the golden ratio (classic, and beyond Okabe-Ito's eight)."""
    display = display or current()
    colours: list[tuple] = [background]
    for index in range(1, count):
        if display.palette == "safe" and index <= len(OKABE_ITO):
            code = OKABE_ITO[index - 1]
            colours.append(tuple(int(code[i : i + 2], 16) for i in (1, 3, 5)))
        else:
            hue = (index * 0.618034) % 1.0
            colours.append(tuple(round(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.75, 0.95)))
    return colours


def gradient_legend(low_label: str, high_label: str, stops: list[str], title: str = "") -> str:
    """HTML for a small horizontal colour bar with its two ends labelled: the legend of a shading."""
    gradient = ", ".join(stops)
    return (
        '<div style="display:flex;align-items:center;gap:0.5em;flex-wrap:wrap;font-size:0.9em;margin:0.2em 0">'
        + (f"<span>{title}</span>" if title else "")
        + f"<span>{low_label}</span>"
        + f'<span style="display:inline-block;width:9em;max-width:40vw;height:0.9em;border:1px solid #666;'
        f'background:linear-gradient(to right, {gradient})"></span>' + f"<span>{high_label}</span></div>"
    )


def style_figure(figure: Any, display: Display | None = None) -> Any:
    """Scale a plotly figure's fonts, markers and lines for the display, and in presenter mode draw it in
    black on white with firm grid lines. Returns the same figure."""
    display = display or current()
    if not display.presenter:
        return figure
    scale = display.scale
    figure.update_layout(
        font={"size": display.size(14), "color": "#000000"},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        height=round((figure.layout.height or 450) * 1.15),
    )
    figure.update_xaxes(gridcolor="#9a9a9a", linecolor="#000000", tickfont={"size": display.size(13)})
    figure.update_yaxes(gridcolor="#9a9a9a", linecolor="#000000", tickfont={"size": display.size(13)})
    for trace in figure.data:  # each trace type has its own properties: ask before touching one
        marker = trace["marker"] if "marker" in trace else None  # noqa: SIM401  (plotly objects have no .get)
        size = marker["size"] if marker is not None and "size" in marker else None
        if isinstance(size, (int, float)):
            marker.size = size * scale
        elif size is not None:
            marker.size = [item * scale for item in size]
        if "textfont" in trace:
            trace.textfont.size = (trace.textfont.size or 12) * scale
        if "line" in trace and "width" in trace.line and isinstance(trace.line.width, (int, float)):
            trace.line.width = trace.line.width * scale
    for annotation in figure.layout.annotations:
        annotation.font.size = (annotation.font.size or 12) * scale
        if annotation.arrowwidth:
            annotation.arrowwidth = annotation.arrowwidth * scale
    return figure


def style_chart(chart: Any, display: Display | None = None) -> Any:
    """An Altair chart with axis, legend and title fonts scaled for the display (presenter: black text)."""
    display = display or current()
    if not display.presenter:
        return chart
    colour = "#000000"
    return (
        chart.configure_axis(
            labelFontSize=display.size(12),
            titleFontSize=display.size(13),
            labelColor=colour,
            titleColor=colour,
            gridColor="#9a9a9a",
        )
        .configure_legend(labelFontSize=display.size(12), titleFontSize=display.size(13))
        .configure_title(fontSize=display.size(16))
    )
