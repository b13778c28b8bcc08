"""Word analogies: words as vectors, analogies by vector arithmetic, neighbours, bias, evaluation
on the Google analogy set, and vectors trained on your own text."""

import pandas as pd
import streamlit as st

import ui
import url_params as P
from models.analogies.bias import (
    EQUALIZE_PAIRS,
    GENDER_PAIRS,
    OCCUPATIONS,
    bias_direction,
    equalize_pairs,
    occupation_projections,
)
from models.analogies.plots import ARITHMETIC_STEPS, analogy_figure, analogy_layout, bias_figure, evaluation_figure
from models.analogies.train import ALGORITHMS, MAX_TEXT_CHARS, sample_corpus, train_word_vectors
from models.analogies.vectors import WordVectors, as_word_vectors, example_analogies, load_questions
from models.core.errors import InputError
from models.core.registry import get_registry

TRAINED = "analogies_trained"  # the session's own WordVectors
SWITCH_TO_TRAINED = "analogies_switch_to_trained"


@st.cache_resource(show_spinner="Normalising the vectors…", max_entries=8)
def shared_word_vectors(model_id: str) -> WordVectors:
    # one normalised copy per model and process, like the model itself
    return as_word_vectors(ui.shared_model(model_id), get_registry().get(model_id).name)


@st.cache_data(show_spinner=False)
def ready_examples() -> list[tuple[str, tuple[str, str, str, str]]]:
    return example_analogies()


def table(pairs: list[tuple[str, float]], score: str = "score") -> pd.DataFrame:
    return pd.DataFrame({"word": [w for w, _ in pairs], score: [s for _, s in pairs]}, index=range(1, len(pairs) + 1))


ui.header(
    "Word analogies",
    "Every word is a point in space, and directions carry meaning: king − man + woman lands near queen.",
)

# --- which vectors ---------------------------------------------------------------------------
spec = ui.choose_model(P.ANALOGIES_MODEL, "Word vectors")
if spec is None:
    st.stop()
trained: WordVectors | None = st.session_state.get(TRAINED)
if st.session_state.pop(SWITCH_TO_TRAINED, False):
    st.session_state["analogies_use_trained"] = True
use_trained = trained is not None and st.toggle(
    f"Use {trained.name}", key="analogies_use_trained", help="Trained in the last tab."
)
if use_trained:
    vectors = trained
else:
    ui.require_model(spec.id)
    vectors = ui.run_or_report(lambda: shared_word_vectors(spec.id))
    if vectors is None:
        st.stop()
st.caption(f"{vectors.name}: {len(vectors):,} words × {vectors.dim} dimensions.")

analogy_tab, neighbours_tab, bias_tab, evaluation_tab, train_tab = st.tabs(
    ["Analogy", "Neighbours & similarity", "Bias", "Evaluation", "Train your own"]
)

# --- analogy -----------------------------------------------------------------------------------
with analogy_tab:
    examples = ready_examples()

    def use_example() -> None:
        chosen = st.session_state.get("analogy_example")
        if chosen is not None:
            _, (a, b, c, _) = examples[chosen]
            st.session_state.update(analogy_a=a, analogy_b=b, analogy_c=c)

    st.selectbox(
        "Ready examples from the Google analogy test set",
        range(len(examples)),
        index=None,
        format_func=lambda i: (
            f"{examples[i][1][0]} : {examples[i][1][1]} :: {examples[i][1][2]} : ?   ({examples[i][0]})"
        ),
        placeholder="Pick an example…",
        key="analogy_example",
        on_change=use_example,
    )
    left, middle, right = st.columns(3)
    a = left.text_input("a", **ui.bound(P.ANALOGY_A))
    b = middle.text_input("is to b", **ui.bound(P.ANALOGY_B))
    c = right.text_input("as c is to ?", **ui.bound(P.ANALOGY_C))
    with ui.secondary_controls("Method and vocabulary"):
        method_column, vocab_column = st.columns(2)
    method = method_column.radio(
        "Method",
        **ui.bound(P.ANALOGY_METHOD),
        horizontal=True,
        help="3CosAdd: the word closest to b − a + c. 3CosMul: the word close to b and c and far from a, "
        "multiplying similarities so no single one dominates (Levy & Goldberg, 2014).",
    )
    vocab = vocab_column.select_slider(
        "Search the most frequent words",
        **ui.bound(P.ANALOGY_VOCAB),
        format_func=lambda n: f"{n:,}",
        help="Rare words are noisy: searching only the most frequent ones often gives cleaner answers.",
    )
    answers = ui.run_or_report(lambda: vectors.analogy(a, b, c, method, topn=10, restrict_vocab=vocab))
    if answers:
        answer = answers[0][0]
        with ui.main_result():
            st.markdown(f"### {a.strip()} is to {b.strip()} as {c.strip()} is to **:orange[{answer}]**")
        expected = {q[:3]: q[3] for _, q in examples}.get(tuple(map(vectors.canonical, (a, b, c))))
        if expected:
            ranks = [w for w, _ in answers]
            verdict = f"rank {ranks.index(expected) + 1}" if expected in ranks else "not in the top 10"
            st.markdown(f"The test set expects **{expected}**: {verdict}.")
        result_column, plot_column = st.columns([1, 2])
        result_column.dataframe(
            table(answers),
            column_config={"score": st.column_config.ProgressColumn("score", format="%.3f", min_value=0, max_value=1)},
        )
        projection = plot_column.radio("Projection", ["PCA", "t-SNE"], horizontal=True, key="analogy_projection")
        with plot_column, ui.friendly_errors():
            layout = analogy_layout(vectors, *map(vectors.canonical, (a, b, c)), answer, method=projection)
            explained = [
                f"**a** = *{layout.a}*: where the arithmetic starts.",
                f"**b − a**: the offset from *{layout.a}* to *{layout.b}*, the relation itself.",
                f"**+ c**: the same offset from *{layout.c}* lands at ×; the nearest word there is *{answer}*.",
            ]

            def draw_arithmetic(step: int) -> None:
                st.markdown(f"Step {step} of {len(ARITHMETIC_STEPS)} · {explained[step - 1]}")
                st.plotly_chart(analogy_figure(layout, step), width="stretch", key="analogy_plot")

            shown = (vectors.name, a, b, c, method, vocab, projection)  # a new analogy starts at the whole picture
            ui.replay("analogy_step", len(ARITHMETIC_STEPS), draw_arithmetic, "Vector arithmetic", 1.5, True, shown)

# --- neighbours, similarity, odd one out -----------------------------------------------------
with neighbours_tab:
    near_column, similar_column, odd_column = st.columns(3)
    with near_column:
        st.subheader("Nearest neighbours")
        word = st.text_input("Word", "frog", key="analogies_neighbours_word")
        neighbours = ui.run_or_report(lambda: vectors.neighbours(word, topn=10))
        if neighbours:
            st.dataframe(table(neighbours, "cosine"))
    with similar_column:
        st.subheader("Similarity")
        first = st.text_input("First word", "cat", key="analogies_similarity_first")
        second = st.text_input("Second word", "dog", key="analogies_similarity_second")
        similarity = ui.run_or_report(lambda: vectors.similarity(first, second))
        if similarity is not None:
            st.metric(f"cos({first.strip()}, {second.strip()})", f"{similarity:.3f}")
            st.caption("1 = same direction, 0 = unrelated, −1 = opposite.")
    with odd_column:
        st.subheader("Which word doesn't match?")
        listed = st.text_input("Words", "breakfast, cereal, dinner, lunch", key="analogies_odd_words")
        odd = ui.run_or_report(lambda: vectors.doesnt_match(vectors.parse_words(listed, minimum=3)))
        if odd:
            st.markdown(f"The odd one out: **{odd[0]}**")
            st.dataframe(table(odd[1], "to mean"))

# --- bias --------------------------------------------------------------------------------------
with bias_tab:
    st.markdown(
        "Pairs like *he/she* differ along one main direction. Words that should be neutral "
        "(occupations) still lean along it: that is bias learned from the text. **Neutralize** removes "
        "the direction from neutral words; **equalize** makes gendered pairs symmetric around them "
        "(Bolukbasi et al., 2016)."
    )
    pair_labels = [f"{x}–{y}" for x, y in GENDER_PAIRS]
    chosen_pairs = st.multiselect(
        "Pairs that define the direction", pair_labels, default=pair_labels, key="analogies_bias_pairs"
    )
    occupations = st.text_input("Words to project", ", ".join(OCCUPATIONS), key="analogies_bias_words")
    pairs = [GENDER_PAIRS[pair_labels.index(label)] for label in chosen_pairs]
    with ui.friendly_errors():
        if not pairs:
            raise InputError("Pick at least one pair to define the direction.")
        direction = bias_direction(vectors, pairs)
        projections = occupation_projections(vectors, direction, vectors.parse_words(occupations))
        st.plotly_chart(bias_figure(projections, *pairs[0]), width="stretch")
        st.caption("After neutralize every projection is 0, so those bars vanish: no word leans either way.")
        st.subheader("Equalize")
        probe = st.text_input("A neutral word to compare with", "doctor", key="analogies_bias_probe")
        rows = equalize_pairs(
            vectors, direction, [p for p in EQUALIZE_PAIRS if all(w in vectors.index for w in p)], probe
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "pair": [f"{r.first} / {r.second}" for r in rows],
                    f"cos with {probe} before": [f"{r.before[0]:.3f} / {r.before[1]:.3f}" for r in rows],
                    "after equalize": [f"{r.after[0]:.3f} / {r.after[1]:.3f}" for r in rows],
                }
            ),
            hide_index=True,
        )
        st.caption(f"After equalize both words of a pair are equally similar to the neutralized '{probe}'.")

# --- evaluation --------------------------------------------------------------------------------
with evaluation_tab:
    st.markdown(
        "The Google analogy set (Mikolov et al., 2013; gensim's `questions-words.txt`): 19,544 questions "
        "in 14 sections. An answer counts when the top 3CosAdd answer is the expected word; questions with "
        "a word outside the vocabulary limit are skipped. Scored exactly as gensim's `evaluate_word_analogies`."
    )
    limit_column, subset_column = st.columns(2)
    limit = limit_column.select_slider(
        "Vocabulary limit",
        P.VOCAB_LIMITS,
        value=300_000,
        format_func=lambda n: f"{n:,}",
        key="analogies_evaluation_vocab",
    )
    every = subset_column.selectbox(
        "Questions",
        [1, 4, 20],
        format_func=lambda n: "all" if n == 1 else f"every {n}th (quicker)",
        key="analogies_evaluation_every",
    )
    if st.button("Run the evaluation", icon=":material/play_arrow:", key="analogies_evaluation_run"):
        bar = st.progress(0.0, "Scoring questions…")
        result = ui.run_or_report(
            lambda: vectors.evaluate(
                load_questions(every=every),
                restrict_vocab=limit,
                progress=lambda done, total: bar.progress(done / total, f"{done:,} / {total:,} questions"),
            )
        )
        bar.empty()
        if result:
            st.session_state["analogies_evaluation"] = (vectors.name, result)
    stored = st.session_state.get("analogies_evaluation")
    if stored and stored[0] == vectors.name:
        evaluation = stored[1]
        st.metric(
            "Overall accuracy",
            f"{evaluation.accuracy:.1%}",
            help=f"{evaluation.correct:,} of {evaluation.total:,} questions",
        )
        st.caption(
            f"{evaluation.correct:,} / {evaluation.total:,} correct; {evaluation.skipped:,} questions skipped "
            f"(a word outside the {evaluation.restrict_vocab:,} most frequent)."
        )
        st.plotly_chart(evaluation_figure(evaluation), width="stretch")

# --- train your own ----------------------------------------------------------------------------
with train_tab:
    st.markdown(
        "Train word2vec (skip-gram predicts the neighbours of a word, CBOW the word from its neighbours) or "
        "FastText (which also learns letter n-grams) on a text. Small texts give noisy vectors: a few "
        f"hundred thousand words work best (limit: {MAX_TEXT_CHARS:,} characters)."
    )
    source = st.segmented_control(
        "Text", ["Sample: Hamlet", "Paste", "Upload .txt"], default="Sample: Hamlet", key="analogies_train_source"
    )
    text: str | None = None
    if source == "Paste":
        text = st.text_area("Your text", height=160, key="analogies_train_text", max_chars=MAX_TEXT_CHARS)
    elif source == "Upload .txt":
        upload = st.file_uploader("A plain-text file", type=["txt"], key="analogies_train_upload")
        if upload is not None:
            if upload.size > 4 * MAX_TEXT_CHARS:
                ui.show_error(InputError(f"{upload.name} is too large ({upload.size:,} bytes)."))
            else:
                text = upload.getvalue().decode("utf-8", errors="replace")
    else:
        text = ui.run_or_report(sample_corpus)
    algorithm_column, size_column, window_column, epochs_column, count_column = st.columns(5)
    algorithm = algorithm_column.selectbox("Algorithm", ALGORITHMS, key="analogies_train_algorithm")
    size = size_column.slider("Dimensions", 10, 200, 50, step=10, key="analogies_train_size")
    window = window_column.slider("Window", 2, 10, 5, key="analogies_train_window")
    epochs = epochs_column.slider("Epochs", 1, 50, 10, key="analogies_train_epochs")
    min_count = count_column.slider("Minimum count", 1, 10, 2, key="analogies_train_min_count")
    if st.button("Train", icon=":material/model_training:", key="analogies_train_run", disabled=not text):
        bar = st.progress(0.0, "Training…")
        new_vectors = ui.run_or_report(
            lambda: train_word_vectors(
                text or "",
                algorithm,
                vector_size=size,
                window=window,
                epochs=epochs,
                min_count=min_count,
                progress=lambda done, total: bar.progress(done / total, f"epoch {done} / {total}"),
            )
        )
        bar.empty()
        if new_vectors is not None:
            st.session_state[TRAINED] = new_vectors
            st.session_state[SWITCH_TO_TRAINED] = True
            st.rerun()
    if trained is not None:
        st.success(f"Trained {trained.name}. The switch at the top of the page runs every tool on them.")

ui.how_it_works(
    "Word embeddings place each word at a point so that words used in similar contexts end up close "
    "together. GloVe fits the vectors to the logarithm of how often two words co-occur in 6 billion "
    "tokens of Wikipedia and news; word2vec learns them by predicting nearby words. Because the "
    "co-occurrence patterns of *king* and *queen* differ much like those of *man* and *woman*, the "
    "offset b − a is roughly the same for many pairs, and the nearest word to b − a + c (by cosine, "
    "with a, b and c themselves excluded) answers the analogy. Every query is one matrix-vector product "
    "with the unit-normalised 400,000 × 50 matrix and a top-k. The same geometry also captures "
    "stereotypes in the text, which the Bias tab measures and removes.",
    [] if use_trained else [spec.id],
)
ui.sync_url()
