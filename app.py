"""Entry point: `streamlit run app.py`. Navigation over the technique pages, grouped by field."""

import logging
import os
import time
from pathlib import Path

import streamlit as st

import models  # noqa: F401  (puts Hugging Face libraries offline before any page imports them)
import ui
from models.core import startup

PAGES_DIR = Path(__file__).parent / "app_pages"
# With STUDIO_LOG_SCRIPT_RUNS=1 every script run's duration goes to the server log, one line each:
# the server's own share of a page's latency (`python -m bench load` reads it).
LOG_SCRIPT_RUNS = os.environ.get("STUDIO_LOG_SCRIPT_RUNS") == "1"
log = logging.getLogger("studio.pages")


def page(file: str, title: str, icon: str, **kwargs) -> st.Page:
    return st.Page(PAGES_DIR / file, title=title, icon=icon, **kwargs)


# Technique pages: (file, title, Material icon, one-line explanation). The home page's cards
# are built from this list too. A page is listed only once its file exists.
TECHNIQUES = {
    "Language": [
        (
            "text_basics.py",
            "Text basics",
            ":material/text_fields:",
            "Tokens, stems, tags, entities and parses: rules, statistics and neural networks on one text.",
        ),
        ("analogies.py", "Word analogies", ":material/hub:", "Words as vectors: king - man + woman lands near queen."),
        (
            "generation.py",
            "Text generation",
            ":material/edit_note:",
            "Language models write one token at a time; see every choice they make.",
        ),
        (
            "transformer.py",
            "Inside a transformer",
            ":material/schema:",
            "Attention heads, the logit lens and switched-off parts in the three transformers the studio runs.",
        ),
        (
            "sentiment.py",
            "Sentiment analysis",
            ":material/sentiment_satisfied:",
            "Word lists, an LSTM and a transformer read the same sentence, and show why.",
        ),
        (
            "translation.py",
            "Translation",
            ":material/translate:",
            "An encoder-decoder with attention, and beam search you can watch.",
        ),
        (
            "speech.py",
            "Speech",
            ":material/mic:",
            "From a waveform to words: a statistical recognizer and a transformer, from your microphone.",
        ),
    ],
    "Vision": [
        (
            "classification.py",
            "Image classification",
            ":material/image_search:",
            "A CNN names what it sees, Grad-CAM shows where it looked.",
        ),
        (
            "segmentation.py",
            "Segmentation",
            ":material/select_all:",
            "Label every pixel: person masks, a U-Net learning live, masks from class activations.",
        ),
    ],
    "Class": [
        (
            "classroom.py",
            "A class together",
            ":material/groups:",
            "Students join from their phones; their guesses, sentences and votes meet the models live.",
        ),
        ("join.py", "Join a class", ":material/phone_iphone:", "On a phone: join the class on the projector."),
    ],
}


def technique_pages() -> dict[str, list[tuple[st.Page, str]]]:
    """Each section's pages that exist, with their one-line explanation."""
    return {
        section: [
            (page(file, title, icon), blurb) for file, title, icon, blurb in entries if (PAGES_DIR / file).exists()
        ]
        for section, entries in TECHNIQUES.items()
    }


def start_preparation() -> None:
    """Once per server process, without waiting: import torch, transformers and the registry in a
    background thread, and with STUDIO_WARMUP=1 (the default of `make run`) then load the default models,
    while the first visitors look around. The navigation and the home page need none of it."""
    startup.prepare_in_background(warm=os.environ.get("STUDIO_WARMUP", "0") == "1")


def device_badge() -> str:
    registry = startup.registry_if_ready()
    return f"Running on **{registry.device.type.upper()}**" if registry else "Loading PyTorch…"


def main() -> None:
    started = time.perf_counter()
    ui.open_shared_view()  # a short link's stored state goes into the URL before anything reads it
    st.set_page_config(
        page_title="Deep-learning demo studio",
        page_icon=":material/neurology:",
        layout="wide",
        initial_sidebar_state=ui.sidebar_state(),
    )
    sections = technique_pages()
    st.session_state["technique_pages"] = sections  # the home page draws its cards from this
    home = page("home.py", "Home", ":material/home:", default=True)
    about = page("models_device.py", "Models & device", ":material/memory:")
    navigation = {"": [home]}
    navigation.update({name: [p for p, _ in entries] for name, entries in sections.items() if entries})
    navigation["About"] = [about]
    # Every page stays listed: collapsed after ten entries, the list hid pages (and Models & device) under "View more".
    current = st.navigation(navigation, expanded=True)
    technique = current.url_path != home.url_path
    if technique:
        start_preparation()  # the page waits for it
    outcome = "interrupted"  # a newer rerun or st.stop() ended it early
    try:
        with startup.script_run():  # the model warm-up waits while it runs
            ui.page_chrome(current.url_path, wait_for_libraries=technique)
            st.sidebar.caption(device_badge())
            current.run()
            ui.page_done()
            if current.url_path != "join":  # a student's phone on the class's Wi-Fi needs none of it
                ui.prefetch_frontend()
        outcome = "done"
    finally:
        start_preparation()  # the home page has been sent: the libraries load while the visitor reads it
        if LOG_SCRIPT_RUNS:
            milliseconds = (time.perf_counter() - started) * 1000
            log.info("script run /%s %s in %.1f ms", current.url_path, outcome, milliseconds)


main()
