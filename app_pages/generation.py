"""Text generation: a language model writes one token at a time, and every choice is on show."""

import itertools
import re
from collections.abc import Generator

import altair as alt
import pandas as pd
import streamlit as st

import ui
import url_params as P
from models import generation as gen
from models.core import display


def markdown_safe(text: str) -> str:
    """Generated text shown through markdown while it streams: keep line breaks, no accidental formatting."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-!|~$])", r"\\\1", text).replace("\n", "  \n")


def stream_text(steps, collected: list[gen.Step]):
    for step in steps:
        collected.append(step)
        yield markdown_safe(step.text)


def start_generation(
    lm: gen.LanguageModel, prompt: str, decoding: gen.Decoding, chat: bool
) -> Generator[gen.Step, None, None]:
    """The steps, with the first one already computed: it runs the whole prompt through the model, so
    that is where the GPU runs out of memory, and `ui.infer` can still fall back to the CPU there.
    An out-of-memory error in a later step (while streaming) is not caught."""
    steps = gen.generate(lm, prompt, decoding, chat)
    first = list(itertools.islice(steps, 1))  # computed now, inside ui.infer

    def first_then_the_rest() -> Generator[gen.Step, None, None]:
        try:
            yield from first
            yield from steps
        finally:
            steps.close()  # a session that goes away mid-stream takes its stream out of the model's batch

    return first_then_the_rest()


def run_generation(model_id: str, prompt: str, decoding: gen.Decoding, chat: bool) -> list[gen.Step] | None:
    """Stream the text onto the page and return its steps; None (after a message) on bad input."""
    steps = ui.infer(model_id, gen.as_language_model, lambda lm: start_generation(lm, prompt, decoding, chat))
    if steps is None:
        return None
    collected: list[gen.Step] = []
    try:
        st.write_stream(stream_text(steps, collected))
    finally:  # also when Streamlit stops the script because the browser tab closed
        steps.close()
    return collected


def alternatives_chart(step: gen.Step) -> alt.Chart:
    """The likeliest next tokens: the model's probability and, when sampling, the decoding rule's (after
    temperature, top-k, top-p); the chosen token is marked."""
    rows = []
    for rank, (label, p) in enumerate(step.alternatives):
        shown = f"{label}  ◀ chosen" if label == step.label else label
        rows.append({"rank": rank, "token": shown, "probability": p, "from": "the model"})
        if step.rule_probs:
            rows.append({"rank": rank, "token": shown, "probability": step.rule_probs[rank], "from": "the rule"})
    table = pd.DataFrame(rows)
    shown_display = ui.current_display()
    colours = alt.Scale(domain=["the model", "the rule"], range=["#0072B2", "#E69F00"])  # Okabe-Ito blue, orange
    chart = (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", axis=alt.Axis(format="%"), title="probability"),
            y=alt.Y(
                "token:N",
                sort=alt.SortField("rank"),
                title=None,
                axis=alt.Axis(labelFontSize=shown_display.size(16), labelLimit=260),
            ),
            yOffset="from:N",
            color=alt.Color("from:N", scale=colours, legend=alt.Legend(title=None, orient="bottom")),
            tooltip=["token", "from", alt.Tooltip("probability:Q", format=".2%")],
        )
        .properties(height=shown_display.size(32) * len(step.alternatives))
    )
    return display.style_chart(chart)


ui.header(
    "Text generation",
    "A language model scores every possible next token; a decoding rule picks one, and the text grows one step "
    "at a time.",
)

# ---- model
family = st.segmented_control("Model kind", **ui.bound(P.FAMILY), required=True)
task = P.FAMILIES[family]
spec, lm = ui.choose_and_load_model(P.GENERATION_MODEL[task], "Model", gen.as_language_model)

# ---- inputs
chat = False
if lm.supports_chat:
    chat = st.segmented_control("Mode", **ui.bound(P.CHAT_MODE), required=True) == "Chat"
    st.caption(
        "Chat wraps your message in the model's chat template, the conversation format it was tuned on; "
        "completion just continues your text."
    )
prompt = st.text_area(
    "Prompt" if not chat else "Your message",
    **ui.bound(P.PROMPT[task]),
    height=100,
    help="Empty is fine for a character model: it starts from its start-of-text symbol.",
)

with ui.secondary_controls("Decoding settings"):
    strategy_col, temperature_col, k_col, p_col = st.columns(4)
    strategy = strategy_col.radio("Decoding", **ui.bound(P.STRATEGY), horizontal=True)
    sampling = strategy == "sample"
    temperature = temperature_col.slider("Temperature", **ui.bound(P.TEMPERATURE), disabled=not sampling)
    top_k = k_col.number_input("Top-k (0 = off)", **ui.bound(P.TOP_K), disabled=not sampling)
    top_p = p_col.slider("Top-p", **ui.bound(P.TOP_P), disabled=not sampling)
length_col, seed_col, button_col = st.columns([2, 1, 1], vertical_alignment="bottom")
length = length_col.slider(f"New {lm.unit}s (at most)", **ui.bound(P.LENGTH[task].given(high=lm.max_new_tokens)))
seed = seed_col.number_input("Seed", **ui.bound(P.SEED), help="The same seed gives the same text.")
clicked = button_col.button("Generate", type="primary", key="generate", icon=":material/play_arrow:")
decoding = gen.Decoding(strategy, temperature, int(top_k), top_p, int(length), int(seed))

# ---- result: streamed while it is produced, then coloured by each token's probability
with ui.main_result():
    output = st.empty()
if clicked:
    with output.container(border=True, key="streaming_text"):
        steps = run_generation(spec.id, prompt, decoding, chat)
    st.session_state["generation"] = (
        {"model": spec.id, "prompt": prompt, "chat": chat, "steps": steps, "decoding": decoding} if steps else None
    )
result = st.session_state.get("generation")
if result and result["model"] == spec.id:
    steps = result["steps"]
    with output.container(border=True):
        if result["chat"]:
            st.caption(f"You: {result['prompt']}")
        st.html(gen.coloured_html(steps, prefix="" if result["chat"] else result["prompt"]))
        low = sum(s.prob < 0.1 for s in steps)
        ui.colour_legend(
            "unlikely", "likely", [display.probability_colour(p / 4) for p in range(5)], "Probability it gave:"
        )
        st.caption(f"{len(steps)} {lm.unit}s, {low} of them below 10 %. Hover a {lm.unit} for its probability.")

    st.subheader("What else could it have written?")
    st.caption(
        f"Step through the generation, or press Play: each {lm.unit}'s likeliest alternatives and why the decoding "
        "rule picked the one it did. The replay uses what the generation recorded; it does not run the model."
    )

    def draw_step(step_number: int) -> None:
        step = steps[step_number - 1]
        context = ("" if result["chat"] else result["prompt"]) + "".join(s.text for s in steps[: step_number - 1])
        before = f"…`{gen.visible(context[-60:])}`" if context else "the start"
        st.markdown(f"After {before} it wrote **`{step.label}`**.")
        st.markdown(gen.why_chosen(step, result["decoding"], lm.unit))
        st.altair_chart(alternatives_chart(step), width="stretch")

    ui.replay("step", len(steps), draw_step, f"{lm.unit.capitalize()} number", identity=id(steps))

# ---- compare the three cells on one corpus
if isinstance(lm, gen.CharLanguageModel):
    st.subheader("Same prompt, three kinds of cell")
    st.caption(
        f"The vanilla RNN, LSTM and GRU trained on the same {gen.CORPORA[lm.corpus]} text with the same recipe, "
        "run with your prompt, decoding and seed. Lower validation perplexity = better next-character guesses."
    )
    loaded = {cell: ui.load_model(f"charlm-{lm.corpus}-{cell}") for cell in gen.CELLS}  # a failure shows a message
    cells = {cell: model for cell, model in loaded.items() if model is not None}
    if st.button("Compare RNN · LSTM · GRU", key="compare", icon=":material/view_column:"):
        outputs = ui.run_or_report(lambda: {c: list(gen.generate(m, prompt, decoding)) for c, m in cells.items()})
        st.session_state["comparison"] = {"corpus": lm.corpus, "steps": outputs} if outputs else None
    comparison = st.session_state.get("comparison")
    if comparison and comparison["corpus"] == lm.corpus:
        for column, (cell, cell_steps) in zip(st.columns(len(cells)), comparison["steps"].items(), strict=True):
            with column:
                st.metric(
                    cells[cell].name, f"perplexity {cells[cell].perplexity:.2f}", help="validation, per character"
                )
                st.html(gen.coloured_html(cell_steps))
                mean_prob = sum(s.prob for s in cell_steps) / len(cell_steps)
                st.caption(f"Mean probability of its choices: {mean_prob:.0%}")

ui.how_it_works(
    """
A **language model** turns the text so far into a probability for every possible next token — a
character for the small recurrent models, a sub-word piece for the transformer. **Generation** is a
loop: pick one token, append it, ask again. The page keeps what the model has already read (the
recurrent state, or the transformer's key/value cache), so each step costs one token's work.

**Decoding** is how the pick is made. *Greedy* takes the likeliest token: safe and often repetitive.
*Sampling* draws at random from the distribution after reshaping it: *temperature* below 1 sharpens
it, above 1 flattens it; *top-k* keeps only the k likeliest tokens; *top-p* (nucleus) keeps the
smallest set whose probabilities add up to p. A fixed *seed* makes the random draws repeatable.
The colours and the chart show the model's own probabilities, before that reshaping.

The **character models** differ only in the recurrent cell. A vanilla RNN squashes its memory
through one tanh at every step and forgets quickly; the LSTM and GRU have gates that decide what to
keep, so they track longer patterns (line lengths, speaker names) and reach a lower perplexity —
the number of characters the model is, on average, as unsure as if choosing uniformly among.
""",
    [spec.id],
)
ui.sync_url()
