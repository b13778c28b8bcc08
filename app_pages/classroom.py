"""A class together, the presenter's screen: open a class session, show its code and QR code, pick an activity,
and watch the class's answers meet the models live (a fragment that reads the shared database every second)."""

import time
from collections import Counter

import altair as alt
import pandas as pd
import streamlit as st

import classroom_store as cr
import ui
import url_params as P
from models import generation as gen
from models.classification.classifier import EfficientNetClassifier
from models.classification.transfer import collect_features, train_head
from models.core import display
from models.core.images import read_image
from models.generation.next_word import next_words, normalise_word, word_probability

LANGUAGE_MODEL = "smollm2-135m-instruct"
BACKBONE = "efficientnet-lite0"
REFRESH_SECONDS = 1.0
TAUGHT = "_class_taught"  # the classifier trained on the class's photos: (classes, model, accuracy, held out)
HOLD_OUT_EVERY = 4  # every 4th photo of a class is kept for testing (and the last, when a class has 2 or 3)


@st.cache_data(max_entries=64, show_spinner=False)
def model_next_words(prompt: str, _lm: gen.LanguageModel) -> list[tuple[str, float]]:
    return next_words(_lm, prompt)


@st.cache_data(max_entries=2048, show_spinner=False)
def model_word_probability(prompt: str, word: str, _lm: gen.LanguageModel) -> float | None:
    return word_probability(_lm, prompt, word)


def next_word_panel(code: str, prompt: str) -> None:
    """The class's guesses beside SmolLM2's probabilities for the same next word."""
    guesses = cr.submissions(code, "next-word", prompt, hidden=False)
    counts = Counter(normalise_word(s.text) for s in guesses)
    counts.pop("", None)
    st.markdown(f"#### {ui.plain(prompt)} …")
    st.caption(  # before the model's part: the count shows at once, the probabilities of new words take a moment
        f"Guesses: {sum(counts.values())}. SmolLM2's bar is its probability that the next word is exactly this one "
        "(the product of its tokens' probabilities); its own likeliest next tokens fill the rest."
    )
    model = ui.infer(LANGUAGE_MODEL, gen.as_language_model, lambda lm: (lm, model_next_words(prompt, lm)))
    if model is None:
        return
    lm, likeliest = model
    words = [word for word, _ in counts.most_common(10)]
    words += [word for word, _ in likeliest if word not in words][: max(0, 12 - len(words))]
    model_p = dict(likeliest)
    rows = []
    for word in words:
        p = model_p.get(word) if word not in counts else model_word_probability(prompt, word, lm)
        rows.append({"word": word, "who": "the class", "share": counts[word] / max(sum(counts.values()), 1)})
        rows.append({"word": word, "who": "SmolLM2", "share": p or 0.0})
    if rows:
        shown = ui.current_display()
        chart = (
            alt.Chart(pd.DataFrame(rows))
            .mark_bar()
            .encode(
                y=alt.Y("word:N", sort=words, title=None),
                x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of the class · model probability"),
                yOffset="who:N",
                color=alt.Color(
                    "who:N",
                    scale=alt.Scale(
                        domain=["the class", "SmolLM2"],
                        range=[display.hex_colour(shown.positive), display.hex_colour(shown.negative)],
                    ),
                    legend=alt.Legend(orient="bottom", title=None),
                ),
                tooltip=["word", "who", alt.Tooltip("share:Q", format=".2%")],
            )
        )
        st.altair_chart(display.style_chart(chart))
    moderation(code, guesses)


def fool_panel(code: str) -> None:
    """Each sentence with the label its author meant and the four models' verdicts; who was fooled most."""
    sent = cr.submissions(code, "fool-the-models", hidden=False)
    judged = [s for s in sent if s.result]
    fooled_models: Counter[str] = Counter()
    foolers: Counter[str] = Counter()
    rows = []
    for s in judged:
        wrong = [model for model, verdict in s.result.items() if verdict != s.label]
        fooled_models.update(wrong)
        foolers[s.name] += len(wrong)
        rows.append({"who": s.name, "sentence": s.text, "meant": s.label, **s.result, "fooled": len(wrong)})
    models = list(judged[0].result) if judged else []
    if models:
        for column, model in zip(st.columns(len(models)), models, strict=True):
            column.metric(f"{model} fooled", f"{fooled_models[model]} / {len(judged)}")
        best = [{"who": name, "models fooled": n} for name, n in foolers.most_common(5) if n]
        left, right = st.columns([3, 1])
        left.dataframe(pd.DataFrame(rows[::-1]), hide_index=True)
        right.markdown("**Best foolers**")
        right.dataframe(pd.DataFrame(best, columns=["who", "models fooled"]), hide_index=True)
    else:
        st.info("Waiting for sentences: students write one that a model will read wrongly.", icon=":material/edit:")
    if len(sent) > len(judged):
        st.caption(f"{len(sent) - len(judged)} sentence(s) still with the models…")
    moderation(code, sent)


def translation_panel(code: str) -> None:
    """Each sentence, the neural model's and Apertium's Spanish side by side, and the class's votes."""
    sent = [s for s in cr.submissions(code, "translation-vote", hidden=False) if s.result]
    tally = cr.votes(code, "translation-vote")
    totals = Counter()
    rows = []
    for s in sent:
        counted = tally.get(s.id, {})
        totals.update(counted)
        rows.append(
            {
                "who": s.name,
                "English": s.text,
                "neural (the project's transformer)": s.result.get("neural", ""),
                "rules (Apertium)": s.result.get("apertium", ""),
                "votes: neural": counted.get("neural", 0),
                "votes: Apertium": counted.get("apertium", 0),
            }
        )
    left, right = st.columns(2)
    left.metric("Votes for the neural model", totals["neural"])
    right.metric("Votes for Apertium", totals["apertium"])
    if rows:
        st.dataframe(pd.DataFrame(rows[::-1]), hide_index=True)
    else:
        st.info("Waiting for sentences: students type English, then vote on the translations.", icon=":material/edit:")
    moderation(code, sent)


def photos_panel(code: str, classes: list[str]) -> None:
    """How many photos each class has so far, and the latest ones."""
    pooled = cr.photos(code, classes)
    for column, (name, taken) in zip(st.columns(len(classes)), pooled.items(), strict=True):
        with column:
            st.markdown(f"**{ui.plain(name)}** · {len(taken)} photo(s)")
            if taken:
                st.image([photo for _, photo in taken[-6:]], width=70)
    moderation(code, cr.submissions(code, "new-classes", hidden=False))


def split(taken: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(training photos, held-out photos) of one class."""
    held = {i for i in range(len(taken)) if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1}
    if not held and len(taken) >= 2:
        held = {len(taken) - 1}
    return [p for i, p in enumerate(taken) if i not in held], [p for i, p in enumerate(taken) if i in held]


def teach(code: str, classes: list[str], backbone: EfficientNetClassifier) -> None:
    """Train a new head on the class's photos (the backbone frozen) and measure it on the held-out ones."""
    pooled = {name: [photo for _, photo in taken] for name, taken in cr.photos(code, classes).items()}
    short = [name for name, taken in pooled.items() if len(taken) < 2]
    if short:
        st.warning(f"Each class needs at least 2 photos (one is kept for testing): {', '.join(short)}.")
        return
    parts = {name: split(taken) for name, taken in pooled.items()}
    with st.spinner("Running the frozen network over the photos and training the new head…"):
        training = {name: [read_image(photo) for photo in train] for name, (train, _) in parts.items()}
        features, targets = collect_features(backbone, training)
        head, _ = train_head(features, targets, len(classes))
        taught = backbone.with_head(head, classes, "the class's classifier")
        tested = [(name, read_image(photo)) for name, (_, held) in parts.items() for photo in held]
        right = sum(taught.predict(image, top_k=1)[0][0] == name for name, image in tested)
    st.session_state[TAUGHT] = (classes, taught, right / len(tested), len(tested))


def new_classes(code: str, classes: list[str]) -> None:
    """Train on the class's photos, the held-out accuracy, and a new photo to try."""
    backbone = ui.require_model(BACKBONE)
    if st.button("Train on the class's photos", type="primary", icon=":material/model_training:", key="class_train"):
        with ui.friendly_errors():
            teach(code, classes, backbone)
    taught = st.session_state.get(TAUGHT)
    if taught is None or taught[0] != classes:
        st.caption(f"Every {HOLD_OUT_EVERY}th photo of each class is kept out of training to test the result.")
        return
    _, model, accuracy, held_out = taught
    st.metric("Accuracy on the held-out photos", f"{accuracy:.0%}", f"{held_out} photo(s)", delta_color="off")
    trial = ui.image_input("class_try", P.CLASS_TRY)
    if trial is not None:
        guess = ui.run_or_report(lambda: model.predict(trial, top_k=len(classes)))
        if guess is not None:
            st.dataframe(
                pd.DataFrame([{"class": label, "probability": p} for label, _, p in guess]),
                hide_index=True,
                column_config={"probability": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0)},
            )


def moderation(code: str, shown: list[cr.Submission]) -> None:
    """Hide a submission from every screen."""
    if not shown:
        return
    key = st.session_state[ui.CLASS_ROOM][1]
    choices = {s.id: f"{s.name}: {s.text[:60]}" for s in reversed(shown)}
    with st.expander("Moderate", icon=":material/visibility_off:"):
        picked = st.selectbox("Hide from every screen", list(choices), format_func=choices.get, key="class_hide")
        if st.button("Hide it", key="class_hide_button"):
            ui.run_or_report(lambda: cr.hide(code, key, picked))
            st.toast("Hidden from every screen.", icon=":material/visibility_off:")


@st.fragment(run_every=REFRESH_SECONDS)
def live(code: str, activity: str, prompt: str, classes: list[str]) -> None:
    """Who is in and the activity's panel, read again every second from the shared database."""
    ui.use_display()  # a fragment rerun may run in a fresh thread
    try:
        people = cr.participants(code)
    except cr.ClassroomError as error:
        st.error(str(error), icon=":material/error:")
        return
    names = ", ".join(p.name for p in people) or "nobody yet"
    st.markdown(f"**{len(people)} in:** {ui.plain(names)}")
    with ui.friendly_errors():
        if activity == "next-word":
            next_word_panel(code, prompt)
        elif activity == "fool-the-models":
            fool_panel(code)
        elif activity == "translation-vote":
            translation_panel(code)
        elif classes:
            photos_panel(code, classes)


def start(minutes: int) -> None:
    room, key = cr.open_room(minutes)
    st.session_state[ui.CLASS_ROOM] = (room.code, key)


ui.header(
    "A class together",
    "Students join from their phones; their guesses, sentences and votes meet the models live on this screen.",
)
running = st.session_state.get(ui.CLASS_ROOM)
room = None
if running:
    try:
        room = cr.room(running[0])
    except cr.ClassroomError as error:
        st.warning(str(error), icon=":material/event_busy:")
        del st.session_state[ui.CLASS_ROOM]

if room is None:
    st.info(
        "Start a class session: phones scan its QR code and join, with a name or anonymously.",
        icon=":material/groups:",
    )
    minutes = st.segmented_control("Lasts", **ui.bound(P.CLASS_MINUTES), format_func=lambda m: f"{m} minutes")
    st.button(
        "Start a class",
        type="primary",
        icon=":material/play_arrow:",
        on_click=start,
        args=(minutes or P.CLASS_MINUTES.default,),
    )
else:
    code, key = running
    join_address = ui.address("join", {P.JOIN_ROOM.key: [code]})
    codes, activities = st.columns([1, 2])
    with codes:
        st.markdown(f"## {cr.shown_code(code)}")
        st.image(ui.qr_png(join_address), width=320, caption="Scan to join")
        st.code(join_address, language=None, wrap_lines=True)
        minutes_left = max(0, round((room.expires - time.time()) / 60))
        st.caption(f"Ends by itself in {minutes_left} minutes; what the class sent is deleted then.")
        locked = st.toggle("Lock the class (no one new, no new answers)", value=room.locked, key="class_locked")
        if locked != room.locked:
            ui.run_or_report(lambda: cr.lock(code, key, locked))
        if st.button("End the class now", icon=":material/stop_circle:", key="class_end"):
            ui.run_or_report(lambda: cr.end(code, key))
            del st.session_state[ui.CLASS_ROOM]
            st.rerun()
    with activities:
        title = st.segmented_control("Activity", **ui.bound(P.CLASS_ACTIVITY)) or P.CLASS_ACTIVITY.default
        activity = next(a for a, t in cr.TITLES.items() if t == title)
        prompt = ""
        if activity == "next-word":
            prompt = st.text_input("Prompt: the class guesses the word after it", **ui.bound(P.CLASS_PROMPT))
            prompt = " ".join(prompt.split()) or P.CLASS_PROMPT.default
        classes: list[str] = []
        if activity == "new-classes":
            named = st.text_input("New classes: 2 to 4 names, separated by commas", **ui.bound(P.CLASS_NAMES))
            classes = ui.run_or_report(lambda: cr.class_names(named)) or []
        setup = {"prompt": prompt} if prompt else {"classes": classes} if classes else {}
        if (room.activity, room.setup) != (activity, setup):
            ui.run_or_report(lambda: cr.set_activity(code, key, activity, setup))
        live(code, activity, prompt, classes)
        if classes:
            new_classes(code, classes)

ui.how_it_works(
    f"""
A **class session** lives in the app's database (SQLite in the cache folder, or PostgreSQL behind
`make serve-cluster`), so every phone, every browser tab and every replica of the app sees the same room.
Its code is {cr.CODE_LENGTH} letters and digits (about 50 bits: it cannot be guessed by trying); only the
session that opened it can change the activity, lock it, hide answers or end it.

**Next word**: the class guesses the word after the prompt; SmolLM2 gives every possible next token a
probability, and a word of several tokens gets the product of its tokens' probabilities.
**Fool the models**: each sentence goes through the four sentiment models of the sentiment page (word
list, bag of words, LSTM, transformer) on the student's phone request; a model is fooled when its verdict
differs from what the author meant. **Which translation is better**: the project's neural English→Spanish
model and Apertium's hand-written rules translate each sentence, and the class votes: a small human evaluation.
**Teach it new classes**: the presenter names 2 to 4 classes, phones photograph examples; the frozen
EfficientNet-Lite0 turns each photo into 1,280 features and only a new last layer is trained on them (as on the
image classification page); every 4th photo of a class is kept out to measure the accuracy on unseen photos.

Stored: {cr.STORED}. Deleted when the presenter ends the class or when its time runs out.
Each phone may send {cr.BURST} answers at once, then about {cr.RATE:g} a second.
""",
    [LANGUAGE_MODEL, BACKBONE],
)
ui.sync_url()
