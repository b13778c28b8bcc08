"""Inside a transformer: the studio's three transformers opened up, layer by layer and head by head."""

import numpy as np
import pandas as pd
import streamlit as st

import ui
import url_params as P
from models.core.registry import get_registry
from models.transformer import plots
from models.transformer.ablation import Ablation, ablate, sweep_heads
from models.transformer.attribution import COMPLETE_WITHIN, STEPS, attribute
from models.transformer.catalog import as_opened, user_models
from models.transformer.context import EXAMPLE_SENTENCES, EXAMPLE_WORD, word_in_contexts
from models.transformer.decoder import OpenedDecoder
from models.transformer.encoder import OpenedEncoder
from models.transformer.lens import logit_lens
from models.transformer.opened import MAX_CHARS, MAX_TOKENS, OpenedTransformer
from models.transformer.patterns import findings_markdown, head_patterns
from models.transformer.trace import AttentionBlock, Trace, recomputed_weights, sinusoidal_table, work_head
from models.translation.plots import attention_heatmap

ui.header(
    "Inside a transformer",
    "Open up the transformers the studio runs: the vectors each token becomes, what every attention head looks at "
    "and why, and what happens to the prediction when parts are switched off. Every number comes from the model's "
    "own forward pass.",
)


def explain(markdown: str) -> None:
    """A view's own "how it works"."""
    with st.expander("How it works", icon=":material/school:", expanded=ui.presenter_mode()):
        st.markdown(markdown)


@st.cache_resource(show_spinner=False, max_entries=8)
def patterns_of(model_id: str, _model: OpenedTransformer) -> list:
    """The head-pattern scores of a model (they do not depend on the page's text): once per model and process."""
    return head_patterns(_model)


def traced(model_id: str, model: OpenedTransformer, text: str) -> Trace | None:
    """The trace of `text`, kept for this session's reruns (another view, another head) while the text stays."""
    key = (model_id, text)
    kept = st.session_state.get("inside_trace")
    if kept is None or kept[0] != key:
        with st.spinner("Running the model with hooks on…"):
            trace = ui.run_or_report(lambda: model.trace(text))
        if trace is None:
            return None
        kept = st.session_state["inside_trace"] = (key, trace)
    return kept[1]


def choose_block(trace: Trace) -> AttentionBlock:
    names = {key: block.name for key, block in trace.blocks.items()}
    if len(names) == 1:
        return next(iter(trace.blocks.values()))
    key = st.segmented_control(
        "Attention", **ui.bound(P.INSIDE_BLOCK.given(choices=tuple(names), default="encoder")), required=True
    )
    return trace.blocks[key or "encoder"]


def choose_layer_and_head(block: AttentionBlock, heads: bool = True) -> tuple[int, int]:
    columns = st.columns(2)
    layer = columns[0].slider("Layer", **ui.bound(P.INSIDE_LAYER.given(high=block.layers - 1)))
    head = 0
    if heads:
        head = columns[1].slider("Head", **ui.bound(P.INSIDE_HEAD.given(high=block.heads - 1)))
    return int(layer), int(head)


# ---- model and text
spec, model = ui.choose_and_load_model(P.INSIDE_MODEL, "Model", as_opened, user_models(get_registry().list()))
text_param = P.INSIDE_TEXT.given(default=model.examples[0])


def use_example() -> None:
    if st.session_state.get("inside_example"):
        st.session_state[text_param.key] = st.session_state["inside_example"]


st.pills("Examples", model.examples, key="inside_example", on_change=use_example)
text = st.text_area(
    "Text",
    **ui.bound(text_param),
    height=80,
    help=f"The page reads up to {MAX_CHARS} characters and {MAX_TOKENS} tokens: every layer's and head's "
    "attention is kept for each token pair.",
)
trace = traced(spec.id, model, text)
if trace is None:
    ui.sync_url()
    st.stop()
for notice in trace.notices:
    st.info(notice, icon=":material/info:")
if trace.target_tokens:
    st.markdown(f"**Its translation**, which the decoder reads: `{' '.join(trace.target_tokens[1:])}`")

with ui.main_result():
    tabs = dict(zip(P.INSIDE_VIEWS, st.tabs(P.INSIDE_VIEWS, key=P.INSIDE_VIEW.key, bind="query-params"), strict=True))

# ---- 1. tokens to vectors
if tabs["Tokens to vectors"].open:
    with tabs["Tokens to vectors"]:
        st.caption(f"{model.name} is {model.architecture}: it reads {len(trace.ids)} tokens here.")
        ids = pd.DataFrame([trace.tokens, [str(i) for i in trace.ids]], index=["token", "id"])
        st.dataframe(ids, width="stretch", key="inside_token_ids")
        st.markdown("**Each token's embedding vector** (a strip per token, a colour per dimension)")
        st.plotly_chart(plots.embedding_strips(trace.tokens, trace.embeddings), width="stretch")
        st.markdown("**Where each token stands**")
        st.caption(trace.positions.explanation + " The dotted line marks the end of this text.")
        st.plotly_chart(plots.position_figure(trace.positions, len(trace.ids)), width="stretch")
        if trace.positions.kind == "learned":
            with st.expander("The original Transformer's sinusoidal positions", icon=":material/waves:"):
                table = sinusoidal_table(len(trace.positions.values), trace.embeddings.shape[1])
                st.caption(table.explanation)
                st.plotly_chart(plots.position_figure(table, len(trace.ids)), width="stretch", key="inside_sinusoids")
        explain(
            """
A tokenizer cuts the text into **tokens** (whole words, pieces of words, punctuation) and each gets an **id**,
its row in the embedding table. That row, a vector of a few hundred numbers learned in training, is all the model
knows about the token at first.

Attention on its own ignores order: shuffle the tokens and every score stays the same. So the model is told
**positions**. MiniLM and the translator *add* a learned vector per position to each token's vector. SmolLM2 adds
nothing: **rotary embeddings** turn each pair of dimensions of the queries and keys by an angle that grows with
the position, so that their dot product depends on how far apart two tokens are.
"""
        )

# ---- 2. one head, worked out
if tabs["One head, worked out"].open:
    with tabs["One head, worked out"]:
        block = choose_block(trace)
        layer, head = choose_layer_and_head(block)
        last = len(block.query_tokens) - 1
        query = 0
        if last > 0:
            query = int(st.slider("Query token (position)", **ui.bound(P.INSIDE_QUERY.given(default=last, high=last))))
        working = work_head(block, layer, head, query)
        st.markdown(
            f"Token **`{working.query_token}`** asks with its query vector q; every key k answers with q·k, "
            f"scaled by 1/√{working.q.shape[0]} = {working.scale:.3f}."
        )
        st.plotly_chart(plots.head_working_figure(working), width="stretch")
        table = pd.DataFrame(
            {
                "key token": working.key_tokens,
                "q·k/√d": working.scores.round(3),
                "mask": ["allowed" if a else "masked (-∞)" for a in working.allowed],
                "softmax": working.weights.round(4),
                "the model's weight": working.returned.round(4),
            }
        )
        st.dataframe(table, hide_index=True, width="stretch")
        error = float((recomputed_weights(block) - block.weights).abs().max())
        st.caption(
            f"Largest difference between these softmaxes and the weights the model returned, over every layer, "
            f"head and token: {error:.1e}."
        )
        st.markdown("**The vectors: q, every key's k, and the output (the weights times the values, summed)**")
        rows = ["query q", *(f"k {token}" for token in working.key_tokens), "output Σ w·v"]
        vectors = np.vstack([working.q, working.k, working.output])  # (1 + Tk + 1, d)
        st.plotly_chart(plots.embedding_strips(rows, vectors), width="stretch")
        explain(
            """
Each head projects every token's vector three ways: a **query** q (what am I looking for?), a **key** k (what
do I offer?) and a **value** v (what I pass on). The query of one token is compared with the key of every token
by a dot product, divided by √d so the scores do not grow with the vector size. A **mask** sets the scores of
tokens it may not see to −∞: in a decoder every later token, so that it cannot peek at the future. The
**softmax** turns the scores into weights that sum to 1, and the head's output is the weighted sum of the values.

The numbers are recorded by hooks on the model's own projections during its forward pass (with the rotary turn
applied, for SmolLM2); the softmax computed here matches the weights the model itself returned.
"""
        )

# ---- 3. head view and model view
if tabs["Head and model view"].open:
    with tabs["Head and model view"]:
        block = choose_block(trace)
        layer, head = choose_layer_and_head(block)
        left, right = st.columns([2, 3])
        with left:
            st.markdown(f"**Head view** · layer {layer}, head {head}")
            st.caption("Queries on the left, keys on the right; thicker, darker lines carry more weight.")
            st.plotly_chart(plots.head_view(block, layer, head), width="stretch", key="inside_head_view")
        with right:
            st.markdown(f"**Layer {layer}, every head**")
            st.plotly_chart(plots.model_view(block, [layer]), width="stretch", key="inside_layer_row")
            st.plotly_chart(
                attention_heatmap(
                    block.weights[layer, head].numpy(), block.key_tokens, block.query_tokens, ("keys", "queries")
                ),
                width="stretch",
                key="inside_enlarged",
            )
        st.markdown("**Layer by layer**: the same head position in every layer, and that layer's row of heads")

        def draw_layer(step: int) -> None:
            columns = st.columns([2, 3])
            columns[0].plotly_chart(plots.head_view(block, step - 1, head), width="stretch", key="inside_replay_head")
            columns[1].plotly_chart(plots.model_view(block, [step - 1]), width="stretch", key="inside_replay_row")

        ui.replay(
            "inside_replay", block.layers, draw_layer, "Layer (1 = the first)", identity=(spec.id, text, block.name)
        )
        st.markdown("**Model view**: every layer (down) and head (across)")
        st.plotly_chart(plots.model_view(block), width="stretch", key="inside_model_view")
        explain(
            """
A layer runs several heads side by side, each with its own q, k and v projections, so that each can look for
something different; their outputs are joined and projected back into the model's vector. The **head view** shows
one head's weights as lines; the **model view** shows every head of every layer at once, each as a small map
(query tokens down, key tokens across). Diagonal stripes are heads that look at a neighbour; a dark first column
is a head resting on the first token.

After attention, each layer also runs a **feed-forward network** (MLP) on every token on its own. Around both,
**residual connections** add the block's output to its input, and a **normalisation** rescales the vector first.
An encoder (MiniLM) lets every token see every other; a decoder (SmolLM2) only the earlier ones; an
encoder-decoder (the translator) has both, plus **cross-attention**, where the Spanish tokens look at the English
ones.
"""
        )

# ---- 4. what the heads do
if tabs["What the heads do"].open:
    with tabs["What the heads do"]:
        st.caption(
            "Scores from a run of 20 random tokens written twice, the same for every text. Ringed: the three best."
        )
        with st.spinner("Scoring every head…"):
            found = ui.run_or_report(lambda: patterns_of(spec.id, model))
        for scores in found or []:
            st.markdown(f"#### {scores.block}")
            shown = {
                "previous_token": "previous-token",
                "first_token": "first token (sink)",
                "broad": "broad (uniform)",
                "induction": "induction",
            }
            available = {name: label for name, label in shown.items() if getattr(scores, name) is not None}
            columns = st.columns(2)
            for i, (name, label) in enumerate(available.items()):
                best = scores.best(name)
                with columns[i % 2]:
                    st.markdown(f"**{label}** · best: " + ", ".join(f"L{la} H{h} ({s:.2f})" for la, h, s in best))
                    figure = plots.head_scores(getattr(scores, name), label, [(la, h) for la, h, _ in best])
                    st.plotly_chart(figure, width="stretch", key=f"inside_patterns_{scores.block}_{name}")
            if scores.induction is not None:
                st.caption(f"Induction by chance (uniform attention): {scores.induction_chance:.3f}.")
        with st.expander(
            "Findings: which heads of SmolLM2, MiniLM and the translator do what", icon=":material/search:"
        ):
            st.markdown(findings_markdown())
        explain(
            """
Some heads do recognisable jobs, and a score per head finds them. A **previous-token head** puts its weight on the
token just before. A **first-token head** rests on the first token: softmax weights must sum to 1, so a head with
nothing to do parks them there (an *attention sink*). A **broad** head spreads its weight evenly, averaging the
context. An **induction head** completes patterns: if "A B" appeared earlier and A comes again, it looks at the B
that followed, so the model can predict B again. Random tokens written twice show it: nothing but the repetition
can predict the second copy. Induction heads rely on a previous-token head in an earlier layer, and they appear in
trained language models, not in encoders trained to fill gaps.
"""
        )

# ---- 5. logit lens
if tabs["Logit lens"].open:
    with tabs["Logit lens"]:
        if not isinstance(model, OpenedDecoder):
            st.info("The logit lens reads a decoder's next-token predictions: choose SmolLM2.", icon=":material/info:")
        else:
            lens = ui.run_or_report(lambda: logit_lens(model, trace))
            if lens is not None:
                st.markdown(f"The model's next token after the whole text: **`{lens.final_token}`**.")
                st.plotly_chart(plots.final_token_figure(lens), width="stretch")
                st.caption("Each cell: the likeliest next token after that position, read after that layer.")
                st.plotly_chart(plots.lens_figure(lens), width="stretch")
        explain(
            """
Every layer adds its output to the **residual stream**, a vector per token that the last layer turns into
next-token scores through a final normalisation and the **unembedding** (the output layer). The logit lens applies
that same read-out after every layer, as if the model stopped there. Early layers mostly echo the input token;
the real prediction settles somewhere in the middle and sharpens towards the end. At the last layer the lens is
exactly the model's own output.
"""
        )

# ---- 6. switch parts off
if tabs["Switch parts off"].open:
    with tabs["Switch parts off"]:
        if not isinstance(model, OpenedDecoder):
            st.info(
                "Switching parts off is measured on a decoder's next token: choose SmolLM2.", icon=":material/info:"
            )
        else:
            block = trace.blocks["self"]
            part = st.segmented_control(
                "Switch off",
                **ui.bound(P.INSIDE_PART),
                format_func={"head": "one head", "attention": "a layer's attention", "mlp": "a layer's MLP"}.get,
                required=True,
            )
            layer, head = choose_layer_and_head(block, heads=part == "head")
            ablation = Ablation(part or "head", layer, head)
            result = ui.run_or_report(lambda: ablate(model, trace, ablation))
            if result is not None:
                st.metric(f"KL divergence with {ablation.describe()} off", f"{result.kl:.4f} nats")
                columns = st.columns(2)
                for column, title, rows in ((columns[0], "Before", result.before), (columns[1], "After", result.after)):
                    column.markdown(f"**{title}**")
                    frame = pd.DataFrame(
                        [(token, f"{p:.1%}") for token, p in rows], columns=["next token", "probability"]
                    )
                    column.dataframe(frame, hide_index=True, width="stretch")
            st.markdown("**Every head, one at a time**")
            swept = st.session_state.get("inside_sweep")
            if st.button("Rank every head", key="inside_sweep_button", icon=":material/sort:"):
                bar = st.progress(0.0, text="Switching heads off…")
                sweep = sweep_heads(model, trace, lambda done: bar.progress(done, text=f"Heads measured: {done:.0%}"))
                bar.empty()
                swept = st.session_state["inside_sweep"] = ((spec.id, text), sweep)
            if swept is not None and swept[0] == (spec.id, text):
                sweep = swept[1]
                ranked = sweep.ranked()
                st.plotly_chart(
                    plots.head_scores(sweep.kl, "KL", [(la, h) for la, h, _ in ranked[:3]]), width="stretch"
                )
                rows = [(la, h, kl, "fp32" if sweep.exact[la, h] else "bfloat16") for la, h, kl in ranked]
                st.dataframe(
                    pd.DataFrame(rows, columns=["layer", "head", "KL (nats)", "measured in"]),
                    hide_index=True,
                    width="stretch",
                )
        explain(
            """
To test what a part does, switch it off and watch the prediction. A head is switched off by zeroing its share of
the attention output before the layer's output projection; a layer's attention or MLP by dropping what it adds to
the residual stream. The **KL divergence** measures how far the new next-token distribution moved from the old one
(0 = unchanged). The sweep removes each head alone: layers before it are unchanged, so it restarts from the
recorded residual stream and runs the rest once per head (a layer's heads side by side as one batch). It first
screens all heads in bfloat16, which is faster and ranks them alike, then measures the 12 strongest again in full
precision: the table says which values are those. Most heads barely matter for one prompt; a few matter a lot, and which
ones depends on the prompt.
"""
        )

# ---- 7. contextual vs static vectors
if tabs["Contextual vs static"].open:
    with tabs["Contextual vs static"]:
        if not isinstance(model, OpenedEncoder):
            st.info("Contextual vectors are read from the encoder: choose MiniLM.", icon=":material/info:")
        else:
            word = st.text_input("Word", **ui.bound(P.INSIDE_WORD.given(default=EXAMPLE_WORD)))
            sentences = st.text_area(
                "Sentences using it, one a line",
                **ui.bound(P.INSIDE_SENTENCES.given(default="\n".join(EXAMPLE_SENTENCES))),
                height=130,
            )
            contexts = ui.run_or_report(lambda: word_in_contexts(model, word, sentences))
            if contexts is not None:
                labels = [f"{i}: {s[:40]}{'…' if len(s) > 40 else ''}" for i, s in enumerate(contexts.sentences, 1)]
                left, right = st.columns(2)
                with left:
                    st.markdown(f"**MiniLM: “{contexts.word}” in each sentence**, cosine similarity")
                    st.plotly_chart(
                        attention_heatmap(contexts.similarity, labels, labels, ("sentence", "sentence"), "cosine"),
                        width="stretch",
                        key="inside_context_similarity",
                    )
                with right:
                    st.markdown("**The same vectors in 2-D** (their first two principal components)")
                    st.plotly_chart(plots.projection_figure(contexts.projection, labels), width="stretch")
                glove = ui.load_model("glove-6b-50d")
                if glove is not None:
                    neighbours = ui.run_or_report(lambda: glove.neighbours(contexts.word, 10))
                    if neighbours is not None:
                        st.markdown(
                            f"**GloVe: one vector for “{contexts.word}” in every sentence** (similarity 1.0 between "
                            "any two of them). Its nearest words mix the senses: "
                            + ", ".join(f"{w} ({s:.2f})" for w, s in neighbours)
                        )
        explain(
            """
A **static** embedding such as GloVe or word2vec is a table: one vector per word, learned from which words appear
together across a whole corpus. A word with several senses gets one vector, a blend of all of them.

An encoder's output is **contextual**: each layer mixes the vectors of the words around, so by the last layer the
vector of "bank" carries its sentence. Sentences about rivers give vectors close to each other, sentences about
money others. That is why transformer vectors replaced static ones for most tasks.
"""
        )

# ---- 8. which input tokens mattered
if tabs["Which tokens mattered"].open:
    with tabs["Which tokens mattered"]:
        if isinstance(model, OpenedDecoder | OpenedEncoder):
            explained = st.session_state.get("inside_attribution")
            if st.button("Attribute", key="inside_attribute", icon=":material/calculate:"):
                with st.spinner(f"Integrated gradients: {STEPS} or more forward and backward passes…"):
                    found = ui.run_or_report(lambda: attribute(model, trace))
                explained = st.session_state["inside_attribution"] = ((spec.id, text), found)
            if explained is not None and explained[0] == (spec.id, text) and explained[1] is not None:
                result = explained[1]
                st.markdown(f"Explaining {result.explained}.")
                st.plotly_chart(plots.attribution_figure(result), width="stretch")
                st.caption(
                    f"Completeness: the integrated gradients sum to {result.integrated.sum():.3f}; the logit moved "
                    f"{result.output - result.baseline_output:.3f} from the baseline "
                    f"({result.completeness_error:.1%} apart at {result.steps} steps)."
                )
                if result.completeness_error > COMPLETE_WITHIN:
                    st.warning(
                        f"The path from the baseline is rough for this text: even at {result.steps} steps the "
                        "attributions do not add up to the change, so read them with care.",
                        icon=":material/warning:",
                    )
            else:
                st.caption("Press Attribute: it takes a few seconds (a backward pass per step of the path).")
        else:
            st.info("Attributions are computed for SmolLM2 and MiniLM.", icon=":material/info:")
        explain(
            """
**Input × gradient** multiplies each token's vector by the gradient of the output with respect to it: how much the
output would change, to first order, if that token's vector shrank to zero. **Integrated gradients** walk from a
baseline (a token that carries little meaning at every position: padding for MiniLM, a space for SmolLM2, whose
first token stays) to the real input in small steps and add up the gradients along the way,
so the attributions sum to the whole change of the output (*completeness*). Both come from Captum.

The last layer's attention is shown beside them, and it often disagrees: **attention is not explanation**. A
weight says where a head read from, not how much that reading changed the output; values, later layers and the
residual stream all stand between the two.
"""
        )

ui.how_it_works(
    """
A **transformer** turns each token into a vector, then refines all the vectors together, layer after layer. In
each layer, **self-attention** lets every token gather information from the others (several **heads** at once,
each looking for something else), then a **feed-forward network** processes each token on its own; **residual
connections** and **normalisation** keep the signal stable through many layers. The three models here are the
three shapes of the idea: SmolLM2 is **decoder-only** like GPT (causal attention, predicts the next token),
MiniLM is **encoder-only** like BERT (every token sees the whole sentence), and the translator is an
**encoder-decoder** like the original Transformer and T5 (the decoder writes Spanish while cross-attending to the
English encoding).

The page loads its own copy of each model in 32-bit floats on the CPU, so that hooks on the forward pass record
exact numbers without touching the copies the other pages serve.
""",
    [spec.id],
)
ui.sync_url()
