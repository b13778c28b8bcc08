"""Entry point: `streamlit run app.py`. Navigation over the technique pages, grouped by field."""

import os
from pathlib import Path

import streamlit as st

import models  # noqa: F401  (puts Hugging Face libraries offline before any page imports them)
from models.device import best_device, use_app_thread_policy
from models.registry import get_registry

PAGES_DIR = Path(__file__).parent / "app_pages"


def page(file: str, title: str, icon: str, **kwargs) -> st.Page:
    return st.Page(PAGES_DIR / file, title=title, icon=icon, **kwargs)


# Technique pages: (file, title, Material icon, one-line explanation). The home page's cards
# are built from this list too. A page is listed only once its file exists.
TECHNIQUES = {
    "Language": [
        ("analogies.py", "Word analogies", ":material/hub:", "Words as vectors: king - man + woman lands near queen."),
        (
            "generation.py",
            "Text generation",
            ":material/edit_note:",
            "Language models write one token at a time; see every choice they make.",
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
}


def technique_pages() -> dict[str, list[tuple[st.Page, str]]]:
    """Each section's pages that exist, with their one-line explanation."""
    return {
        section: [
            (page(file, title, icon), blurb) for file, title, icon, blurb in entries if (PAGES_DIR / file).exists()
        ]
        for section, entries in TECHNIQUES.items()
    }


@st.cache_resource(show_spinner=False)
def start_warmup() -> bool:
    """Once per server process: with STUDIO_WARMUP=1 (the default of `make run`) load the default
    models in a background thread while the first visitors look around."""
    if os.environ.get("STUDIO_WARMUP", "0") != "1":
        return False
    get_registry().warm_in_background()
    return True


def main() -> None:
    st.set_page_config(page_title="Deep-learning demo studio", page_icon=":material/neurology:", layout="wide")
    use_app_thread_policy()
    start_warmup()
    sections = technique_pages()
    st.session_state["technique_pages"] = sections  # the home page draws its cards from this
    home = page("home.py", "Home", ":material/home:", default=True)
    about = page("models_device.py", "Models & device", ":material/memory:")
    navigation = {"": [home]}
    navigation.update({name: [p for p, _ in entries] for name, entries in sections.items() if entries})
    navigation["About"] = [about]
    current = st.navigation(navigation)
    st.sidebar.caption(f"Running on **{best_device().type.upper()}**")
    current.run()


main()
