"""Word analogies: the solver on hand-made and real GloVe vectors, parity with gensim's own
evaluation, unknown words, the debiasing math, training, the user-model path, and the page."""

from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from streamlit.testing.v1 import AppTest

from models.analogies.bias import bias_direction, equalize, equalize_pairs, neutralize, occupation_projections
from models.analogies.train import train_word_vectors
from models.analogies.vectors import (
    QuestionSection,
    WordVectors,
    as_word_vectors,
    edit_distance,
    example_analogies,
    load_questions,
)
from models.core import loaders
from models.core.errors import InputError, ModelLoadError
from models.core.registry import Registry, get_registry, user_specs


def write_questions(sections: list[QuestionSection], path: Path) -> None:
    """The sections in gensim's questions-words format, for gensim to read the same subset."""
    lines = [line for s in sections for line in [f": {s.name}", *(" ".join(q) for q in s.questions)]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "analogies.py")

# Axes: royalty, gender (+ male, - female), "person-ness"; the rest are distractors.
HAND_MADE = {
    "man": [0.0, 1.0, 1.0],
    "woman": [0.0, -1.0, 1.0],
    "king": [1.0, 1.0, 1.0],
    "queen": [1.0, -1.0, 1.0],
    "crown": [1.0, 0.0, 0.2],
    "apple": [0.0, 0.0, -1.0],
    "girl": [0.0, -1.2, 0.8],
}


def keyed_vectors(table: dict[str, list[float]]) -> KeyedVectors:
    kv = KeyedVectors(vector_size=len(next(iter(table.values()))))
    kv.add_vectors(list(table), np.array(list(table.values()), dtype=np.float32))
    return kv


@pytest.fixture(scope="module")
def toy() -> WordVectors:
    return WordVectors(keyed_vectors(HAND_MADE), name="toy")


@pytest.fixture(scope="module")
def glove() -> WordVectors:
    return get_registry().load("glove-6b-50d")


def unit(v: list[float]) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


# --- the solver on hand-made vectors ----------------------------------------------------------


def test_3cosadd_on_hand_made_vectors_finds_the_exact_offset(toy):
    answers = toy.analogy("man", "king", "woman", "3CosAdd", topn=4)
    assert answers[0][0] == "queen"
    assert {"man", "king", "woman"}.isdisjoint(w for w, _ in answers)
    expected = unit(HAND_MADE["king"]) - unit(HAND_MADE["man"]) + unit(HAND_MADE["woman"])
    for word, score in answers:
        assert score == pytest.approx(unit(HAND_MADE[word]) @ unit(expected), abs=1e-5)


def test_3cosmul_on_hand_made_vectors_matches_the_formula(toy):
    answers = toy.analogy("man", "king", "woman", "3CosMul", topn=4)
    assert answers[0][0] == "queen"

    def shifted(x: str, y: str) -> float:
        return (1 + unit(HAND_MADE[x]) @ unit(HAND_MADE[y])) / 2

    for word, score in answers:
        formula = shifted(word, "king") * shifted(word, "woman") / (shifted(word, "man") + 1e-6)
        assert score == pytest.approx(formula, rel=1e-5)
    assert [w for w, _ in answers] == [w for w, _ in toy.kv.most_similar_cosmul(["king", "woman"], ["man"], topn=4)]


def test_input_words_are_excluded_even_when_closest(toy):
    # b - a + c = king itself here, so without the exclusion "king" would win
    assert toy.analogy("queen", "king", "queen", topn=1)[0][0] != "king"


def test_unknown_method_is_an_input_error(toy):
    with pytest.raises(InputError, match="3CosAdd"):
        toy.analogy("man", "king", "woman", "3CosSomething")  # type: ignore[arg-type]


# --- the solver on GloVe ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["3CosAdd", "3CosMul"])
def test_glove_king_man_woman_gives_queen(glove, method):
    top3 = [w for w, _ in glove.analogy("man", "king", "woman", method, topn=3)]
    assert "queen" in top3


def test_glove_matches_gensim_most_similar(glove):
    ours = glove.analogy("paris", "france", "rome", topn=10)
    theirs = glove.kv.most_similar(positive=["france", "rome"], negative=["paris"], topn=10)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], abs=1e-5)


def test_glove_neighbours_similarity_and_odd_one_out(glove):
    assert [w for w, _ in glove.neighbours("frog", 5)] == [w for w, _ in glove.kv.most_similar("frog", topn=5)]
    assert glove.similarity("cat", "dog") == pytest.approx(float(glove.kv.similarity("cat", "dog")), abs=1e-5)
    words = ["breakfast", "cereal", "dinner", "lunch"]
    odd, ranked = glove.doesnt_match(words)
    assert odd == glove.kv.doesnt_match(words)
    assert sorted(w for w, _ in ranked) == sorted(words)
    with pytest.raises(InputError):
        glove.doesnt_match(["cat", "dog"])


def test_projection_shapes(glove):
    words = ["king", "queen", "man", "woman", "prince", "princess", "boy", "girl"]
    pca = glove.project_2d(words)
    assert pca.shape == (8, 2)
    assert abs(pca.mean(axis=0)).max() < 1e-6  # PCA centres the points
    assert glove.project_2d(words, "t-SNE").shape == (8, 2)


def test_parity_with_gensim_evaluate_word_analogies_on_500_questions(glove, tmp_path):
    sections = load_questions(every=39)  # 507 questions from every section
    asked = sum(len(s.questions) for s in sections)
    assert 500 <= asked <= 520
    path = tmp_path / "questions.txt"
    write_questions(sections, path)
    seen: list[tuple[int, int]] = []
    ours = glove.evaluate(sections, restrict_vocab=300_000, progress=lambda done, total: seen.append((done, total)))
    score, gensim_sections = glove.kv.evaluate_word_analogies(str(path), restrict_vocab=300_000)
    assert ours.accuracy == pytest.approx(score, abs=1e-12)
    gensim_counts = [
        (s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in gensim_sections
    ]
    assert [(s.name, s.correct, s.total) for s in ours.sections] == gensim_counts[:-1]
    assert ours.total + ours.skipped == asked
    assert seen and seen[-1][0] == seen[-1][1] == ours.total


def test_vocabulary_limit_skips_questions_like_gensim(glove, tmp_path):
    sections = load_questions(every=97)
    path = tmp_path / "questions.txt"
    write_questions(sections, path)
    ours = glove.evaluate(sections, restrict_vocab=5_000)
    score, _ = glove.kv.evaluate_word_analogies(str(path), restrict_vocab=5_000)
    assert ours.skipped > 0
    assert ours.accuracy == pytest.approx(score, abs=1e-12)


def test_example_analogies_come_from_the_question_file():
    examples = example_analogies()
    assert examples[0] == ("family", ("king", "queen", "man", "woman"))
    assert len({name for name, _ in examples}) == 14  # every section offers one


# --- unknown words and odd input ----------------------------------------------------------------


def test_case_whitespace_and_unicode_are_normalised(glove):
    assert glove.canonical("  KING ") == "king"
    assert glove.canonical("ｑｕｅｅｎ") == "queen"  # full-width letters
    assert glove.canonical("wo\u200bman") == "woman"  # a zero-width space


def test_unknown_word_suggests_close_spellings(glove):
    with pytest.raises(InputError, match="kign") as error:
        glove.lookup("kign")
    assert "king" in str(error.value)
    assert glove.suggest("philosphy")[0] == "philosophy"


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "🙂🙂🙂", "x" * 500])
def test_bad_words_are_input_errors(glove, text):
    with pytest.raises(InputError):
        glove.analogy(text, "king", "woman")


def test_parse_words(glove):
    assert glove.parse_words("Cat, dog;  mouse") == ["cat", "dog", "mouse"]
    with pytest.raises(InputError):
        glove.parse_words(" , ", minimum=1)


def test_edit_distance_counts_a_swap_as_one_edit():
    assert edit_distance("kign", "king") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3


# --- debiasing ----------------------------------------------------------------------------------


def test_neutralized_word_is_orthogonal_to_the_bias_axis(glove):
    direction = bias_direction(glove)
    assert np.linalg.norm(direction) == pytest.approx(1.0)
    nurse = glove.vector("nurse").numpy().astype(np.float64)
    assert nurse @ direction < 0  # GloVe's "nurse" leans towards "she"
    assert neutralize(nurse, direction) @ direction == pytest.approx(0.0, abs=1e-12)
    rows = occupation_projections(glove, direction, ["nurse", "engineer"])
    assert rows[0].before < 0 < rows[1].before
    assert all(abs(r.after) < 1e-9 for r in rows)


def test_bias_direction_points_from_she_to_he(glove):
    direction = bias_direction(glove, [("he", "she"), ("man", "woman")])
    assert glove.vector("he").numpy() @ direction > glove.vector("she").numpy() @ direction


def test_equalize_makes_a_pair_symmetric(glove):
    direction = bias_direction(glove)
    actor, actress = (glove.vector(w).numpy().astype(np.float64) for w in ("actor", "actress"))
    new_actor, new_actress = equalize(actor, actress, direction)
    assert np.linalg.norm(new_actor) == pytest.approx(1.0) and np.linalg.norm(new_actress) == pytest.approx(1.0)
    assert new_actor @ direction == pytest.approx(-(new_actress @ direction))
    assert new_actor @ direction > 0  # the male word stays on the "he" side
    assert neutralize(new_actor, direction) == pytest.approx(neutralize(new_actress, direction))
    row = equalize_pairs(glove, direction, [("actor", "actress")], "doctor")[0]
    assert row.before[0] != pytest.approx(row.before[1], abs=1e-3)
    assert row.after[0] == pytest.approx(row.after[1], abs=1e-9)


# --- training and user models -------------------------------------------------------------------


def synthetic_text(sentences: int = 1500) -> str:
    rng = np.random.default_rng(0)
    groups = [["red", "green", "blue", "yellow"], ["cat", "dog", "horse", "mouse"], ["one", "two", "three", "four"]]
    lines = []
    for _ in range(sentences):
        group = groups[rng.integers(3)]
        lines.append(" ".join(rng.choice(group, 6)) + ".")
    return "\n".join(lines)


@pytest.mark.parametrize("algorithm", ["skip-gram", "CBOW", "FastText"])
def test_training_learns_word_groups(algorithm):
    epochs_seen: list[int] = []
    vectors = train_word_vectors(
        synthetic_text(), algorithm, vector_size=16, epochs=10, min_count=1, progress=lambda d, t: epochs_seen.append(d)
    )
    assert epochs_seen == list(range(1, 11))
    assert len(vectors) == 12
    # words used together end up closer than words never used together
    assert vectors.similarity("cat", "dog") > vectors.similarity("cat", "three")
    assert {w for w, _ in vectors.neighbours("red", 3)} == {"green", "blue", "yellow"}


def test_training_rejects_bad_text():
    with pytest.raises(InputError, match="at least"):
        train_word_vectors("too short")
    with pytest.raises(InputError, match="limit"):
        train_word_vectors("word " * 1_000_000)
    with pytest.raises(InputError, match="minimum count"):
        train_word_vectors(" ".join("w" + "a" * i for i in range(1, 200)), min_count=2)  # every word once


def test_user_word_vectors_file_through_the_registry(tmp_path):
    path = tmp_path / "tiny.txt"
    keyed_vectors(HAND_MADE).save_word2vec_format(str(path), binary=False)
    specs = user_specs({"STUDIO_MODELS": f"word-vectors={path}"})
    registry = Registry.from_specs(specs)
    loaded = registry.load(specs[0].id)
    vectors = as_word_vectors(loaded, specs[0].name)
    assert vectors.analogy("man", "king", "woman", topn=1)[0][0] == "queen"
    assert as_word_vectors(vectors) is vectors
    glove_text = tmp_path / "glove.txt"
    glove_text.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in HAND_MADE.items()))
    no_header = as_word_vectors(loaders.load_word_vectors(str(glove_text), registry.device))
    assert no_header.canonical("Queen") == "queen"
    with pytest.raises(ModelLoadError):
        as_word_vectors(object())


# --- the page -----------------------------------------------------------------------------------


def answer_heading(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("###"))


def test_page_solves_the_default_analogy_and_typed_ones():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert "queen" in answer_heading(at)
    assert at.dataframe[0].value["word"].iloc[0] == "queen"
    at.text_input(key="analogy_a").input("athens")
    at.text_input(key="analogy_b").input("greece")
    at.text_input(key="analogy_c").input("baghdad").run()
    assert "iraq" in answer_heading(at)
    at.radio(key="analogy_method").set_value("3CosMul").run()
    assert "iraq" in answer_heading(at)
    at.text_input(key="analogy_a").input("athnes").run()
    assert not at.exception
    assert any("athnes" in e.value and "athens" in e.value for e in at.error)


def test_page_example_picker_and_bookmarked_url():
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params.update({"analogy_a": "paris", "analogy_b": "france", "analogy_c": "berlin"})
    at.run()
    assert "germany" in answer_heading(at)
    at.selectbox(key="analogy_example").select(1).run()  # paris : france :: rome : ?
    assert at.text_input(key="analogy_c").value == "rome"
    assert "italy" in answer_heading(at)
    assert any("expects **italy**" in m.value for m in at.markdown)


def test_page_evaluation_and_training_tabs():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.selectbox(key="analogies_evaluation_every").select(20)
    at.button(key="analogies_evaluation_run").click().run()
    assert not at.exception
    assert any(m.label == "Overall accuracy" and m.value.endswith("%") for m in at.metric)
    at.slider(key="analogies_train_epochs").set_value(2)
    at.button(key="analogies_train_run").click().run()
    assert not at.exception
    assert at.toggle(key="analogies_use_trained").value is True
    assert any("skip-gram vectors" in c.value for c in at.caption)


@pytest.mark.browser
def test_browser_shows_the_answer(page, app_url):
    from tests.conftest import screenshot, wait_for_app

    page.goto(f"{app_url}/analogies?analogy_a=man&analogy_b=king&analogy_c=woman")
    wait_for_app(page)
    page.locator("h3", has_text="queen").first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".js-plotly-plot").count() >= 1
    screenshot(page, "analogies")
