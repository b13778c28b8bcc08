"""Sentiment analysis: a word list with rules, a bag of words, an LSTM and a transformer read the same
sentence; each gives its verdict and shows the words that decided it."""

from functools import partial

import altair as alt
import pandas as pd
import streamlit as st

import ui
import url_params as P
from models import sentiment as sm
from models.core import display
from models.core.registry import get_registry

DEFAULT_LINES = "A triumph from start to finish.\nTwo hours I will never get back.\nNot bad at all."
BATCH_RESULT = "sentiment_batch_result"


def wrap_classifier(loaded: object, _name: str) -> sm.SentimentClassifier:
    return sm.as_classifier(loaded)


# Cached by model id and text; `_model` (the shared copy, or the CPU copy after the GPU ran out of
# memory: the same answer) is left out of the key.
@st.cache_data(max_entries=512, show_spinner=False)
def analyse(model_id: str, text: str, _model: sm.SentimentClassifier) -> tuple[sm.Prediction, sm.Explanation]:
    return _model.predict([text]), _model.explain(text)


@st.cache_data(max_entries=32, show_spinner=False)
def tricky_answers(model_id: str, _model: sm.SentimentClassifier) -> sm.Prediction:
    return _model.predict([text for _, text, _ in sm.TRICKY_EXAMPLES])


ui.header(
    "Sentiment analysis",
    "Forty years of sentiment analysis on one sentence: a hand-made word list with rules, a bag of words, "
    "an LSTM and a transformer each say positive or negative, and show the words that decided.",
)

specs = get_registry().list("text-classification")
loaded = {spec.id: ui.load_model(spec.id) for spec in specs}
models = {spec.id: spec for spec in specs if loaded[spec.id] is not None}
if not models:
    st.stop()
names = {model_id: spec.name for model_id, spec in models.items()}

sentence_tab, batch_tab, compare_tab = st.tabs(["One sentence", "Batch", "Compare the models"])

# --- one sentence: every model's verdict, then why ------------------------------------------------
with sentence_tab:
    raw = st.text_area("Text to analyse", **ui.bound(P.SENTIMENT_TEXT.given(max_chars=sm.MAX_CHARS * 10)), height=90)
    prepared = ui.run_or_report(lambda: sm.prepare_text(raw))
    if prepared is not None:
        for notice in prepared.notices:
            st.info(notice, icon=":material/info:")
        results = {}
        for model_id in models:
            answer = ui.infer(model_id, wrap_classifier, partial(analyse, model_id, prepared.text))
            if answer is not None:
                results[model_id] = answer

        with ui.main_result():
            columns = st.columns(max(len(results), 1))
        for column, (model_id, (prediction, _)) in zip(columns, results.items(), strict=False):
            positive = float(prediction.positive_prob()[0])
            with column, st.container(border=True):
                st.markdown(
                    f"<div style='font-size: 3rem; text-align: center'>{sm.verdict_emoji(positive)}</div>",
                    unsafe_allow_html=True,
                )
                st.metric(
                    names[model_id],
                    prediction.top()[0],
                    f"{prediction.confidence()[0]:.0%} sure",
                    delta_color="off",
                    delta_arrow="off",
                )
        shown = ui.current_display()
        bars = pd.DataFrame(
            {
                "model": [names[m] for m in results],
                "P(positive)": [float(p.positive_prob()[0]) for p, _ in results.values()],
                "verdict": [p.top()[0] for p, _ in results.values()],
            }
        )
        chart = (
            alt.Chart(bars)
            .mark_bar()
            .encode(
                x=alt.X("P(positive):Q", scale=alt.Scale(domain=[0, 1]), title="probability of positive"),
                y=alt.Y("model:N", sort=None, title=None, axis=alt.Axis(labelLimit=220)),
                color=alt.Color(
                    "P(positive):Q",
                    scale=alt.Scale(scheme=shown.diverging_scheme, domain=[0, 1], reverse=shown.reverse_diverging),
                    legend=alt.Legend(title="P(positive)", orient="bottom", format=".0%"),
                ),
                tooltip=["model", "verdict", alt.Tooltip("P(positive):Q", format=".1%")],
            )
        )
        rule = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
        st.altair_chart(display.style_chart(chart + rule))

        st.subheader("Why: the words that pushed each verdict")
        ends = [display.hex_colour(shown.negative), "#ffffff", display.hex_colour(shown.positive)]
        ui.colour_legend("pushes negative", "pushes positive", ends)
        st.caption(
            "Stronger colour, stronger push. Each row shows the tokens that model actually read; "
            "hover a token for its score."
        )
        for model_id, (_, explanation) in results.items():
            st.markdown(f"**{names[model_id]}** · {explanation.method}")
            st.markdown(sm.shaded_html(explanation), unsafe_allow_html=True)

# --- batch: many texts through one model ----------------------------------------------------------
with batch_tab:
    spec = ui.choose_model(P.SENTIMENT_BATCH_MODEL, "Model for the batch")
    source = st.radio("Texts", **ui.bound(P.SENTIMENT_BATCH_SOURCE), horizontal=True)
    texts: list[str] | None = None
    if source == "Paste lines":
        pasted = st.text_area("One text per line", DEFAULT_LINES, height=120, key="sentiment_batch_lines")
        texts = ui.run_or_report(lambda: sm.pasted_lines(pasted))
    else:
        upload = st.file_uploader("CSV file", type=["csv", "txt"], key="sentiment_batch_csv")
        table_and_notice = ui.run_or_report(lambda: sm.read_table(upload.getvalue())) if upload else None
        if table_and_notice is not None:
            table, notice = table_and_notice
            if notice:
                st.warning(notice, icon=":material/warning:")
            candidates = sm.text_columns(table) or [str(c) for c in table.columns]
            column = st.selectbox(
                "Text column",
                [str(c) for c in table.columns],
                index=[str(c) for c in table.columns].index(candidates[0]),
                key="sentiment_batch_column",
            )
            texts = ui.run_or_report(lambda: sm.column_texts(table, column))
    if spec is not None and texts and st.button("Analyse", type="primary", key="sentiment_batch_run"):
        classifier = ui.run_or_report(lambda: sm.as_classifier(ui.require_model(spec.id)))
        if classifier is not None:
            progress = st.progress(0.0, text="Analysing…")
            parts = []
            for done, prediction in sm.predict_in_chunks(classifier, texts):
                parts.append(
                    pd.DataFrame(
                        {
                            "label": prediction.top(),
                            "confidence": prediction.confidence(),
                            "P(positive)": prediction.positive_prob(),
                        }
                    )
                )
                progress.progress(done / len(texts), text=f"Analysed {done:,} of {len(texts):,}")
            progress.empty()
            st.session_state[BATCH_RESULT] = (
                spec.name,
                pd.concat([pd.DataFrame({"text": texts}), pd.concat(parts, ignore_index=True)], axis=1),
            )
    if BATCH_RESULT in st.session_state:
        model_name, result = st.session_state[BATCH_RESULT]
        st.caption(f"{len(result):,} texts analysed by {model_name}")
        st.dataframe(
            result,
            height=300,
            column_config={
                "confidence": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0),
                "P(positive)": st.column_config.NumberColumn(format="%.3f"),
            },
        )
        counts = result["label"].value_counts().rename_axis("label").reset_index(name="texts")
        st.altair_chart(
            display.style_chart(
                alt.Chart(counts)
                .mark_bar()
                .encode(x="texts:Q", y=alt.Y("label:N", sort="-x"), color=alt.Color("label:N", legend=None))
            ),
        )
        st.download_button(
            "Download the predictions (CSV)",
            result.to_csv(index=False).encode(),
            "sentiment_predictions.csv",
            "text/csv",
            icon=":material/download:",
        )

# --- comparison: held-out accuracy and tricky sentences --------------------------------------------
with compare_tab:
    st.subheader("Held-out accuracy")
    scores = []
    for spec in models.values():
        metrics = sm.card_metrics(spec.card_markdown())
        if "test accuracy" in metrics:
            scores += [
                {"model": spec.name, "metric": name, "score": metrics[f"test {name.lower()}"]}
                for name in ("accuracy", "F1")
            ]
    if scores:
        st.caption("On the same 1,275 held-out Rotten Tomatoes snippets (from each model's card).")
        st.altair_chart(
            alt.Chart(pd.DataFrame(scores))
            .mark_bar()
            .encode(
                x=alt.X("score:Q", scale=alt.Scale(domain=[0.5, 1]), title=None),
                y=alt.Y("model:N", sort=None, title=None, axis=alt.Axis(labelLimit=220)),
                yOffset="metric:N",
                color="metric:N",
                tooltip=["model", "metric", alt.Tooltip("score:Q", format=".3f")],
            ),
        )
    st.subheader("Tricky sentences")
    st.caption("Negation, sarcasm and contrast: where word lists fail and context matters.")
    tricky = pd.DataFrame(
        {
            "kind": [k for k, _, _ in sm.TRICKY_EXAMPLES],
            "sentence": [t for _, t, _ in sm.TRICKY_EXAMPLES],
            "intended": [e for _, _, e in sm.TRICKY_EXAMPLES],
        }
    )
    for model_id in models:
        prediction = ui.infer(model_id, wrap_classifier, partial(tricky_answers, model_id))
        if prediction is not None:
            tricky[names[model_id]] = [
                f"{sm.verdict_emoji(p)} {label}"
                for p, label in zip(prediction.positive_prob(), prediction.top(), strict=True)
            ]
    st.dataframe(tricky, hide_index=True)

ui.how_it_works(
    """
**Rules and word lists** (VADER) add up hand-rated word scores, with rules for "not", "very", "but" and
capitals. No training, instantly explainable, blind to anything not in its list.

**Bag of words** (TF-IDF + logistic regression) learns a weight for each word and word pair from
labelled reviews. Word order beyond pairs is lost, so "not good" and "good, not" look alike.

**Recurrent network** (BiLSTM) reads word vectors in order, left to right and right to left, so it can
learn that "not" changes what follows. GloVe vectors let it generalise to words it saw rarely.

**Transformer** (MiniLM, a small BERT) was pre-trained on a billion sentence pairs; every word piece
attends to every other, so context ("I *wanted* to love it") can flip a word's meaning. We fine-tuned
only its top layers and a small head on 10,202 review snippets.

**Why each word matters**: VADER's own per-word scores; TF-IDF's exact share of its linear score; for
the neural models, *occlusion*: delete one token, ask again, and measure how much the log-odds of
"positive" drop. Add your own transformers classifier (e.g. a DistilBERT SST-2 model) in `studio.toml`
and it joins the comparison with its own label names.
""",
    list(models),
)
ui.sync_url()
