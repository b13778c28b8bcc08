"""The display settings that figures read (presenter scale, colour-blind-safe palettes), and the data the
step-by-step replays draw from: the beam search's state at each step and the decoding rule's reasons."""

import threading

import pytest

from models import generation as gen
from models.analogies.plots import ARITHMETIC_STEPS, AnalogyLayout, analogy_figure
from models.core import display
from models.core.registry import get_registry
from models.segmentation import segmenter as seg
from models.sentiment import Explanation, shaded_html
from models.translation.plots import beam_tree
from models.translation.replay import beams_at, steps_taken
from tests.test_translation_search import RandomDecoder, run_beam

PRESENTER = display.Display(presenter=True)


@pytest.fixture
def presenter():
    display.use(PRESENTER)
    yield
    display.use(display.Display())


def sizes(figure) -> list[float]:
    """Every font and marker size a plotly figure sets."""
    found = [figure.layout.font.size or 0]
    for trace in figure.data:
        marker_size = trace.marker.size if trace.marker is not None else None
        found += marker_size if isinstance(marker_size, (list, tuple)) else [marker_size or 0]
        found.append(trace.textfont.size or 0 if trace.textfont is not None else 0)
    return found


def test_presenter_mode_scales_every_font_and_marker_of_a_figure(presenter):
    search = run_beam(RandomDecoder(0), width=3, max_len=5)
    labels = {token: str(token) for token in range(5)}
    presented = beam_tree(search, labels, search.path(search.best))
    display.use(display.Display())
    normal = beam_tree(search, labels, search.path(search.best))
    assert presented.layout.font.size == display.Display(presenter=True).size(14)
    assert [p >= 1.39 * n for p, n in zip(sizes(presented), sizes(normal), strict=True)].count(False) == 0
    assert presented.layout.height > normal.layout.height


def test_the_display_is_per_thread_like_streamlit_sessions(presenter):
    seen = []
    other = threading.Thread(target=lambda: seen.append(display.current()))
    other.start()
    other.join()
    assert display.current().presenter and not seen[0].presenter


def test_safe_palettes_avoid_red_against_green():
    safe, classic = display.Display(palette="safe"), display.Display(palette="classic")
    # Each two-sided scale: its two ends differ in blue, which red-green colour blindness keeps.
    assert abs(safe.negative[2] - safe.positive[2]) > 150 and abs(classic.negative[2] - classic.positive[2]) < 60
    assert display.probability_colour(0.0, safe) != display.probability_colour(1.0, safe)
    assert display.probability_colour(0.5, classic).startswith("hsl(60")
    colours = display.class_colours(9, (0, 0, 0), safe)
    assert colours[1:] == [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in display.OKABE_ITO]
    assert len(set(display.class_colours(20, (0, 0, 0), safe))) == 20


def test_pages_shading_follows_the_palette():
    explanation = Explanation(["good", "bad"], [1.0, -1.0], "test")
    display.use(display.Display(palette="classic"))
    classic = shaded_html(explanation)
    display.use(display.Display(palette="safe"))
    safe = shaded_html(explanation)
    assert "rgba(22,163,74" in classic and "rgba(67,147,195" in safe and "rgba(230,97,1" in safe
    assert tuple(seg.palette(3)[1]) == (0xE6, 0x9F, 0x00)


def test_beam_replay_shows_the_live_beams_and_sets_finished_hypotheses_aside():
    search = run_beam(RandomDecoder(3), width=3, max_len=6, length_penalty=1.0)
    steps = steps_taken(search)
    finished_before = 0
    for step in range(1, steps + 1):
        live, finished = beams_at(search, step, 1.0)
        assert len(live) <= 3 and all(row.step == step and len(row.tokens) == step for row in live)
        assert [r.log_prob for r in live] == sorted((r.log_prob for r in live), reverse=True)
        assert len(finished) >= finished_before and all(row.step <= step for row in finished)
        finished_before = len(finished)
    # at the end, every returned hypothesis that ended is among those set aside, with the same score
    _, finished = beams_at(search, steps, 1.0)
    ended = {h.node: h.score for h in search.hypotheses if h.finished}
    assert ended and all(
        pytest.approx(score) == {r.node: r.score for r in finished}[node] for node, score in ended.items()
    )
    figure = beam_tree(
        search, {t: str(t) for t in range(5)}, [], upto=1, live=[r.node for r in beams_at(search, 1, 1.0)[0]]
    )
    assert max(figure.data[-1].x) == 1 and figure.layout.xaxis.range[1] == steps + 0.5  # grows in a fixed frame


def test_analogy_arithmetic_is_drawn_in_three_steps_on_fixed_axes():
    layout = AnalogyLayout(
        "man",
        "king",
        "woman",
        "queen",
        {"man": "input", "king": "input", "woman": "input", "queen": "answer", "boy": "neighbour"},
        {"man": (0.0, 0.0), "king": (1.0, 1.0), "woman": (0.0, -1.0), "queen": (1.1, 0.1), "boy": (-0.5, 0.2)},
        "PCA",
    )
    figures = [analogy_figure(layout, step) for step in range(1, len(ARITHMETIC_STEPS) + 1)]
    words = [{w for trace in f.data if trace.text is not None for w in trace.text} for f in figures]
    assert words[0] == {"man", "boy"} and words[1] == {"man", "king", "boy"}
    assert {"woman", "queen", "b − a + c"} <= words[2]
    target = next(t for t in figures[2].data if t.name == "b − a + c")
    assert (target.x[0], target.y[0]) == (1.0, 0.0)  # woman + (king - man)
    assert len({(f.layout.xaxis.range, f.layout.yaxis.range) for f in figures}) == 1


def step_with(probs: list[float], chosen: int, rule: tuple[float, ...] = (), candidates: int = 1) -> gen.Step:
    labels = [f"t{i}" for i in range(len(probs))]
    alternatives = tuple(zip(labels, probs, strict=True))
    return gen.Step(chosen, labels[chosen], labels[chosen], probs[chosen], alternatives, False, rule, candidates)


def test_why_a_token_was_chosen():
    greedy = gen.why_chosen(step_with([0.6, 0.3, 0.1], 0), gen.Decoding("greedy"))
    assert "Greedy" in greedy and "`t0`" in greedy and "60.0%" in greedy
    sampled = gen.why_chosen(
        step_with([0.6, 0.3, 0.1], 1, (0.55, 0.45, 0.0), 2), gen.Decoding("sample", 0.7, top_k=2, seed=5), "character"
    )
    assert "temperature 0.7 sharpened" in sampled and "top-k kept the 2 likeliest" in sampled
    assert "2 character(s) could be drawn" in sampled and "#2 choice" in sampled and "45.0%" in sampled


def test_generation_records_the_rule_it_sampled_from():
    lm = gen.as_language_model(get_registry().load("charlm-names-lstm"))
    decoding = gen.Decoding("sample", temperature=0.5, top_k=3, max_new_tokens=6, seed=1)
    steps = list(gen.generate(lm, "Ma", decoding))
    assert steps and all(step.candidates == 3 for step in steps)
    for step in steps:  # the 3 tokens top-k kept hold all of the rule's probability, sharper than the model's
        assert sum(step.rule_probs[:3]) == pytest.approx(1.0) and not any(step.rule_probs[3:])
        assert step.rule_probs[0] >= step.alternatives[0][1]
