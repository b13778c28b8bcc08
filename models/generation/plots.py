"""The generated text as the page draws it: each token coloured by its probability."""

from models.core import display
from models.generation.decoding import Step


def coloured_html(steps: list[Step], prefix: str = "") -> str:
    """The generated text as HTML after the `prefix` (the prompt, in grey), each token's background
    coloured by its probability (`display.probability_colour`: orange unlikely to blue likely, or red to
    green in the classic palette), the probability in the tooltip."""
    from html import escape

    spans = [f'<span style="color:#888">{escape(prefix)}</span>'] if prefix else []
    for step in steps:
        if not step.text:
            continue
        text = escape(step.text).replace("\n", "<br>")
        spans.append(
            f'<span title="{escape(step.label)}: {step.prob:.1%}" style="background:'
            f'{display.probability_colour(step.prob)};color:#111;border-radius:3px;padding:0 1px">{text}</span>'
        )
    return '<div style="line-height:1.9;font-size:1.1rem;white-space:pre-wrap">' + "".join(spans) + "</div>"
