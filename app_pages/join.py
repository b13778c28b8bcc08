"""Join a class, the phone's page (/join?room=..., from the presenter's QR code): join with a name or
anonymously, then take part in the activity the presenter's screen shows. Narrow-screen first (390 px)."""

import random
from functools import partial

import streamlit as st

import classroom_store as cr
import ui
import url_params as P
from models import sentiment as sm
from models.core.images import small_jpeg
from models.core.registry import get_registry
from models.translation.baselines import APERTIUM_MISSING, apertium_mode, apertium_sentence
from models.translation.translator import as_translator

SEATS = "_class_seats"  # room code -> this session's Participant in it
TRANSLATOR = "translation-enes"
VOTE_ON = 5  # the latest sentences a phone can vote on
WATCH_SECONDS = 2.0


def verdicts(text: str) -> dict[str, str]:
    """Every sentiment model's verdict on `text`, by model name."""
    found = {}
    for spec in get_registry().list("text-classification"):
        answer = ui.infer(spec.id, lambda loaded, _name: sm.as_classifier(loaded), lambda m: m.predict([text]).top()[0])
        if answer is not None:
            found[spec.name] = answer
    return found


def translations(text: str) -> dict[str, str] | None:
    """The project's neural English->Spanish model and Apertium on `text` (None: a message was shown)."""
    neural = ui.infer(TRANSLATOR, as_translator, lambda t: t.translate(text, method="greedy").best.text)
    if neural is None:
        return None
    if apertium_mode() is None:
        st.info(APERTIUM_MISSING, icon=":material/info:")
        return None
    rules = ui.run_or_report(lambda: apertium_sentence(text))
    return None if rules is None else {"neural": neural, "apertium": rules}


@st.fragment(run_every=WATCH_SECONDS)
def watch(code: str, activity: str, setup: dict) -> None:
    """Reload the page when the presenter moves to another activity or prompt, or ends the class."""
    try:
        room = cr.room(code)
    except cr.ClassroomError:
        st.rerun()
    if (room.activity, room.setup) != (activity, setup):
        st.rerun()


def next_word(code: str, me: cr.Participant, prompt: str) -> None:
    st.markdown(f"### {ui.plain(prompt)} …")
    with st.form("class_next_word", clear_on_submit=True, border=False):
        word = st.text_input("Your guess for the next word", max_chars=40)
        if st.form_submit_button("Send", type="primary", icon=":material/send:"):
            sent = ui.run_or_report(lambda: cr.submit(code, me.token, "next-word", word, round=prompt, replace=True))
            if sent is not None:
                st.success(f"Sent: {ui.plain(sent.text)}. Watch the screen: does SmolLM2 agree?")
    st.caption("One guess each: a new one replaces your last.")


def fool_the_models(code: str, me: cr.Participant) -> None:
    st.markdown("Write a sentence a model will read wrongly: sarcasm, a twist, a double negative…")
    with st.form("class_fool", clear_on_submit=True, border=False):
        text = st.text_area("Your sentence", max_chars=cr.MAX_TEXT, height=90)
        meant = st.segmented_control("You mean it as", cr.SENTIMENTS, default=cr.SENTIMENTS[0])
        if st.form_submit_button("Send", type="primary", icon=":material/send:"):
            sent = ui.run_or_report(lambda: cr.submit(code, me.token, "fool-the-models", text, meant or "positive"))
            if sent is not None:
                with st.spinner("The models are reading it…"):
                    said = verdicts(sent.text)
                cr.record_result(sent.id, said)
                fooled = [name for name, verdict in said.items() if verdict != sent.label]
                st.success(
                    f"You fooled {len(fooled)} of {len(said)} models" + (f": {', '.join(fooled)}." if fooled else ".")
                )


def translation_vote(code: str, me: cr.Participant) -> None:
    with st.form("class_translate", clear_on_submit=True, border=False):
        text = st.text_input("An English sentence", max_chars=cr.MAX_TEXT)
        if st.form_submit_button("Translate it for the class", icon=":material/translate:"):
            sent = ui.run_or_report(lambda: cr.submit(code, me.token, "translation-vote", text))
            if sent is not None:
                with st.spinner("Translating…"):
                    result = translations(sent.text)
                if result is not None:
                    cr.record_result(sent.id, result)
    st.markdown("**Which Spanish translation is better?**")
    ready = [s for s in cr.submissions(code, "translation-vote", hidden=False) if s.result][-VOTE_ON:]
    if not ready:
        st.caption("No sentences yet: send one.")
    mine = cr.my_votes(code, me.token)
    for s in reversed(ready):
        # Blind: A and B are the two systems in an order fixed per sentence, so a vote is on the Spanish alone.
        order = list(cr.TRANSLATIONS)
        random.Random(s.id).shuffle(order)
        with st.container(border=True):
            st.markdown(f"*{ui.plain(s.text)}*")
            for letter, system in zip("AB", order, strict=True):
                st.markdown(f"**{letter}** · {ui.plain(s.result[system])}")
            current = dict(zip(order, "AB", strict=True)).get(mine.get(s.id, ""))
            picked = st.segmented_control("Better", ["A", "B"], default=current, key=f"class_vote_{s.id}")
            if picked and picked != current:
                ui.run_or_report(partial(cr.vote, code, me.token, s.id, order["AB".index(picked)]))


def new_classes(code: str, me: cr.Participant, classes: list[str]) -> None:
    if not classes:
        st.info("Waiting for the presenter to name the classes.", icon=":material/hourglass_empty:")
        return
    st.markdown("Photograph examples of each class: the screen teaches the network from everyone's photos.")
    picked = st.segmented_control("This photo shows", classes, default=classes[0], key="class_photo_class")
    shot = st.camera_input("Photo", key="class_photo")
    if shot is not None and st.button(
        "Send this photo", type="primary", icon=":material/send:", key="class_photo_send"
    ):
        photo = ui.run_or_report(lambda: small_jpeg(shot.getvalue()))
        if photo is not None and ui.run_or_report(lambda: cr.submit_photo(code, me.token, picked or classes[0], photo)):
            st.success(f"Sent as {ui.plain(picked or classes[0])}. Take another, of any class.")


ui.header("Join a class", "Take part from your phone: the class's answers appear on the presenter's screen.")
typed = st.text_input("Class code", **ui.bound(P.JOIN_ROOM), placeholder="ABCDE-FGHJK")
st.caption(
    f"Stored while the class runs: {cr.STORED}. Everything is deleted when the presenter ends the class "
    "or when its time runs out."
)
room = None
if not typed.strip():
    st.info(
        "Scan the QR code on the presenter's screen, or type the class code shown there.", icon=":material/qr_code:"
    )
else:
    room = ui.run_or_report(lambda: cr.room(typed))

if room is not None:
    seats: dict[str, cr.Participant] = st.session_state.setdefault(SEATS, {})
    me = seats.get(room.code)
    if me is None:
        with st.form("class_join", border=False):
            name = st.text_input("Display name (leave it empty to stay anonymous)", max_chars=cr.MAX_NAME)
            if st.form_submit_button("Join", type="primary", icon=":material/login:"):
                joined = ui.run_or_report(lambda: cr.join(room.code, name))
                if joined is not None:
                    seats[room.code] = joined[0]
                    st.rerun()
    else:
        st.success(f"You are in as **{ui.plain(me.name)}** · {cr.TITLES[room.activity]}", icon=":material/groups:")
        if room.locked:
            st.warning("The presenter has locked the class for now.", icon=":material/lock:")
        elif room.activity == "next-word":
            next_word(room.code, me, room.setup.get("prompt", ""))
        elif room.activity == "fool-the-models":
            fool_the_models(room.code, me)
        elif room.activity == "translation-vote":
            translation_vote(room.code, me)
        else:
            new_classes(room.code, me, room.setup.get("classes", []))
        watch(room.code, room.activity, room.setup)

ui.how_it_works(
    "The app's server runs the models on what the class sends: a language model guessing the next word, "
    "four sentiment models, two translators, an image classifier. Your phone only sends text, votes and photos "
    "(each shrunk to at most 448 pixels a side and stored as a new JPEG)."
)
ui.sync_url()
