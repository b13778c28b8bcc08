"""Translation: an encoder-decoder with attention, and beam search you can watch."""

from functools import partial

import pandas as pd
import streamlit as st

import ui
import url_params as P
from models.core.specs import ModelSpec
from models.translation.baselines import (
    APERTIUM_MISSING,
    apertium_mode,
    apertium_sentence_soon,
    comparison_rows,
    score_translator,
)
from models.translation.ibm1 import NULL, words
from models.translation.plots import attention_heatmap, attention_matrix, beam_tree
from models.translation.replay import beams_at, steps_taken
from models.translation.scores import sentence_bleu
from models.translation.translator import MAX_BEAM_WIDTH, Translation, Translator, as_translator

ui.header(
    "Translation",
    "An encoder reads the sentence; a decoder writes the translation one token at a time, looking back at the "
    "source through attention. Beam search keeps several drafts alive and picks the best whole sentence. "
    "Below it, the same sentence by hand-written rules and word statistics.",
)

spec, translator = ui.choose_and_load_model(P.TR_MODEL, "Model", as_translator)
text_param = P.translation_text(spec.id).given(default=translator.examples[0])


def use_example() -> None:
    if st.session_state.get("tr_example"):
        st.session_state[text_param.key] = st.session_state["tr_example"]


st.pills("Examples", translator.examples, key="tr_example", on_change=use_example)
text = st.text_area(f"{translator.source_language} → {translator.target_language}", **ui.bound(text_param), height=80)
columns = st.columns(2)
method = columns[0].segmented_control(
    "Decoding", **ui.bound(P.TR_METHOD), format_func={"greedy": "Greedy", "beam": "Beam search"}.get
)
method = method or P.TR_METHOD.default
width = columns[1].slider("Beam width", **ui.bound(P.TR_WIDTH.given(high=MAX_BEAM_WIDTH)), disabled=method == "greedy")
with ui.secondary_controls("Length penalty, output length, reference"):
    columns = st.columns(2)
    alpha = columns[0].slider(
        "Length penalty α",
        **ui.bound(P.TR_ALPHA),
        help="Hypotheses are ranked by log P / length^α: 0 favours short outputs, 1 ranks by mean log P per token.",
    )
    max_len = columns[1].number_input("Max output tokens (0 = automatic)", **ui.bound(P.TR_MAX_LEN))
    reference = st.text_input(
        "Reference translation (optional: scores each hypothesis with BLEU)", **ui.bound(P.TR_REFERENCE)
    )


def english_to_spanish(spec: ModelSpec) -> bool:
    """Apertium and IBM Model 1 know English -> Spanish only: the project's model, or a user's whose
    name or location says en-es (e.g. Helsinki-NLP/opus-mt-en-es)."""
    where = " ".join(filter(None, (spec.name, spec.hub_id, spec.local_path))).lower()
    return spec.id == "translation-enes" or "en-es" in where


compare = english_to_spanish(spec)
# Apertium's subprocess runs while the model searches; its answer is shown further down.
ruled_soon = apertium_sentence_soon(text) if compare and apertium_mode() is not None else None


# Cached by model id and the search's settings, so a rerun that changes only a view (the attention's layer or
# head, the replay's step, the reference) does not search again; `_model` (the shared copy, or the CPU copy
# after the GPU ran out of memory: the same answer) is left out of the key.
@st.cache_data(max_entries=256, show_spinner=False)
def translate(
    model_id: str, text: str, method: str, width: int, alpha: float, max_len: int, _model: Translator
) -> tuple[Translation, Translation]:
    """The chosen search's result, and greedy's to compare with."""

    def search(decoding: str) -> Translation:
        return _model.translate(text, method=decoding, beam_width=width, length_penalty=alpha, max_len=max_len or None)

    chosen = search(method)
    return chosen, chosen if method == "greedy" else search("greedy")


outcome = ui.infer(spec.id, as_translator, partial(translate, spec.id, text, method, width, alpha, int(max_len)))
if outcome is None:
    ui.sync_url()
    st.stop()
result, greedy = outcome

with ui.main_result():
    for notice in result.notices:
        st.info(notice, icon=":material/info:")
    st.markdown(f"#### {result.best.text or '(empty output)'}")
    if method == "beam" and greedy.best.text != result.best.text:
        left, right = st.columns(2)
        left.metric("Greedy", greedy.best.text or "(empty)", f"log P {greedy.best.log_prob:.2f}", delta_color="off")
        right.metric(
            f"Beam search (width {width})",
            result.best.text or "(empty)",
            f"log P {result.best.log_prob:.2f}",
            delta_color="off",
        )
        st.caption(
            "Greedy commits to the likeliest next token every time; the beam found a different, better-scored sentence."
        )
    elif method == "beam":
        st.caption("Greedy decoding gives the same output here.")

rows = []
for rank, candidate in enumerate(result.candidates, start=1):
    row = {
        "rank": rank,
        "translation": candidate.text,
        "tokens": len(candidate.tokens),
        "log P": round(candidate.log_prob, 3),
        "score (log P / len^α)": round(candidate.score, 3),
        "ended": "yes" if candidate.finished else "cut off",
    }
    if reference.strip():
        row["BLEU"] = round(sentence_bleu(candidate.text, reference).score, 1)
    rows.append(row)
st.subheader("N-best list")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

st.subheader("The search, step by step")
st.caption(
    "Each dot is a prefix the search kept (colour: its log-probability; squares: it ended). Step through "
    "the search or press Play: the live beams of the step are ringed, finished hypotheses are set aside on the "
    "right; at the last step the red path is the chosen translation. The replay reuses this search, it does "
    "not run the model again."
)


def draw_search_step(step: int) -> None:
    """The tree up to `step`, with that step's live beams and the hypotheses finished by then."""
    live, finished = beams_at(result.search, step, alpha)
    last = step == steps_taken(result.search)
    chosen = result.search.path(result.search.best) if last else []
    figure = beam_tree(result.search, result.token_labels, chosen, upto=step, live=[r.node for r in live])
    tree_column, table_column = st.columns([3, 2])
    tree_column.plotly_chart(figure, width="stretch", key="tr_replay_tree")

    def table(rows, caption: str) -> None:
        table_column.caption(caption)
        frame = pd.DataFrame(
            {
                "prefix": [result.prefix_texts[r.node] or "·" for r in rows],
                "log P": [round(r.log_prob, 3) for r in rows],
                "score": [round(r.score, 3) for r in rows],
            }
        )
        table_column.dataframe(frame, hide_index=True, width="stretch")

    table(live, f"Live beams after step {step} (ringed)" if live else f"No live beam after step {step}")
    if finished:
        table(finished, "Finished hypotheses, set aside (score = log P / length^α)")


steps = steps_taken(result.search)
searched = (spec.id, text, method, width, alpha, max_len)  # a new search starts the replay at its end
ui.replay("tr_replay", steps, draw_search_step, "Decoding step", start_at_end=True, identity=searched)


st.subheader("Attention beside IBM Model 1's alignment" if compare else "Attention")
picked = st.selectbox(
    "Hypothesis",
    range(len(result.candidates)),
    format_func=lambda i: f"#{i + 1}: {result.candidates[i].text}",
    key="tr_hypothesis",
)
candidate = result.candidates[picked if picked is not None and picked < len(result.candidates) else 0]
layer = head = None
if translator.attention_kind == "layers-heads" and candidate.attention is not None:
    layers, heads = candidate.attention.shape[1], candidate.attention.shape[2]
    left, right = st.columns(2)
    layer = left.selectbox(
        "Layer", [None, *range(layers)], format_func=lambda i: "mean of all" if i is None else str(i)
    )
    head = right.selectbox("Head", [None, *range(heads)], format_func=lambda i: "mean of all" if i is None else str(i))
neural_column, counting_column = st.columns(2) if compare else (st.container(), None)
if candidate.attention is not None:
    matrix = attention_matrix(candidate, layer, head)
    neural_column.plotly_chart(attention_heatmap(matrix, result.source.tokens, candidate.tokens), width="stretch")
    neural_column.caption(
        "Neural attention, learned by gradient descent. Row t: where the decoder looked in the source "
        "while choosing output token t."
    )
ibm1 = ui.load_model("translation-ibm1") if counting_column is not None else None
if counting_column is not None and ibm1 is not None:
    english, spanish = words(text), words(candidate.text)
    alignment = ibm1.alignment(english, spanish)
    counting_column.plotly_chart(
        attention_heatmap(alignment, [NULL, *english], spanish, ("English words", "Spanish words"), "P(aligned)"),
        width="stretch",
    )
    counting_column.caption(
        "IBM Model 1, learned by counting: for each Spanish word, the probability that it translates each "
        "English word (∅: none of them), from co-occurrence in the training verses alone (EM). It reads "
        "whole words and never sees word order."
    )

if compare:
    st.subheader("Rules, statistics, neural networks")
    ruled = None
    if ruled_soon is None:
        st.info(APERTIUM_MISSING, icon=":material/info:")
    else:
        ruled = ui.run_or_report(ruled_soon.result)
    rule_column, neural_answer = st.columns(2)
    rule_column.markdown("**Rule-based (Apertium)**")
    rule_column.write(ruled if ruled is not None else "—")
    rule_column.caption(
        "Dictionaries, a part-of-speech tagger and hand-written transfer rules; `*` marks a word its "
        "dictionaries lack. It has never seen a Bible."
    )
    neural_answer.markdown(f"**Neural ({spec.name})**")
    neural_answer.write(result.best.text or "(empty)")
    neural_answer.caption("Learned end to end from verse pairs; the statistical table above only aligns words.")
    rows = list(comparison_rows())
    scored = st.session_state.setdefault("tr_user_scores", {})
    if spec.id != "translation-enes":
        verses = 100
        if st.button(f"Score {spec.name} on the first {verses} test verses (beam 5)", key="tr_score"):
            bar = st.progress(0.0, text="Translating the test verses…")
            scored[spec.id] = ui.infer(
                spec.id,
                as_translator,
                lambda model: score_translator(
                    lambda source: model.translate(source, "beam", beam_width=5).best.text,
                    verses,
                    lambda done, total: bar.progress(done / total, text=f"Translated {done} of {total} verses…"),
                ),
            )
            bar.empty()
        if scored.get(spec.id):
            rows.append({"method": f"{spec.name}, beam 5 (first {verses} verses)", **scored[spec.id]})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption(
            "sacreBLEU and chrF on the 1,000 held-out test verses (World English Bible -> Reina-Valera 1909), "
            "which none of these models saw in training."
        )

ui.how_it_works(
    """
**Encoder-decoder.** The encoder turns the source into one vector per token. The decoder then writes the
output one token at a time; at each step, **attention** scores every source vector against the decoder's
state, and the softmax of those scores (a row of the heatmap) says how much of each source token goes into
the next choice. The date model uses one additive attention over characters; the transformers have several
heads in each layer, which is why you can pick a layer and a head.

**Decoding.** The model gives a probability for each next token. *Greedy* search takes the likeliest every
time, which can paint itself into a corner. *Beam search* keeps the `width` best prefixes at each step
(the dots in the tree), extends each by every token, and keeps the best again; finished sentences are set
aside. Long sentences have lower total log-probabilities, so hypotheses are ranked by log P / length^α
(the length penalty). With width 1 beam search is exactly greedy.

**BLEU** counts how many 1- to 4-word sequences of a hypothesis also appear in the reference (with a
penalty for being too short); the score here is computed the way sacreBLEU does for one sentence.
""",
    [spec.id],
)
ui.sync_url()
