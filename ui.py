"""Streamlit helpers that every page shares: model loading with a spinner, clear errors,
inputs kept in the URL, the image picker, and the "how it works" expander."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import streamlit as st
import torch
from PIL import Image

from models.errors import StudioError
from models.images import SAMPLES, read_image, sample_image
from models.registry import ModelSpec, get_registry

T = TypeVar("T")
W = TypeVar("W")
_URL_KEYS = "_url_keys"
CPU = torch.device("cpu")
OUT_OF_MEMORY = "The GPU ran out of memory; this answer was computed on the CPU."


def header(title: str, explanation: str) -> None:
    """The page title and the one-line explanation of its technique."""
    st.title(title)
    st.caption(explanation)


@st.cache_resource(show_spinner=False, max_entries=64)
def shared_model(model_id: str) -> Any:
    # One copy per process, shared by every session; the registry's per-model lock makes sure
    # two sessions never run the same first load twice.
    return get_registry().load(model_id)


def load_model(model_id: str) -> Any | None:
    """The loaded model, with a spinner naming it during the first load. On failure: a clear
    message on the page and None, so the page can stop while the rest of the app keeps working."""
    registry = get_registry()
    try:
        spec = registry.get(model_id)
        if registry.is_loaded(model_id):
            return shared_model(model_id)
        with st.spinner(f"Loading {spec.name}…"):
            return shared_model(model_id)
    except StudioError as exc:
        st.error(str(exc), icon=":material/error:")
        return None


def require_model(model_id: str) -> Any:
    """`load_model`, stopping the page (after its message) when the model cannot be loaded."""
    model = load_model(model_id)
    if model is None:
        st.stop()
    return model


def model_select(task: str, label: str = "Model", key: str | None = None) -> ModelSpec | None:
    """A select box over the registry's models for `task`, remembered in the URL."""
    specs = get_registry().list(task)
    if not specs:
        st.warning(f"No {task} model is registered.")
        return None
    key = key or f"model_{task}"
    ids = [spec.id for spec in specs]
    url_state(key, ids[0])
    if st.session_state[key] not in ids:
        st.session_state[key] = ids[0]
    chosen = st.selectbox(label, ids, key=key, format_func=lambda i: get_registry().get(i).name)
    return get_registry().get(chosen)


def select_model(task: str, label: str, key: str, wrap: Callable[[Any, str], T]) -> tuple[ModelSpec, T]:
    """`model_select`, then load the chosen model and `wrap(model, name)` it into the page's
    pipeline. Stops the page (after a clear message) when there is no model or it fails to load."""
    spec = model_select(task, label, key)
    if spec is None:
        st.stop()
    wrapped = run_or_report(lambda: wrap(require_model(spec.id), spec.name))
    if wrapped is None:
        st.stop()
    return spec, wrapped


def url_state(key: str, default: T) -> T:
    """Seed widget `key` from the URL's query string (once per session), else `default`, and
    remember the key so `sync_url()` writes its value back. Call it before creating the widget
    with the same `key`."""
    keys: set[str] = st.session_state.setdefault(_URL_KEYS, set())
    keys.add(key)
    if key not in st.session_state:
        raw = st.query_params.get_all(key) if isinstance(default, list) else st.query_params.get(key)
        st.session_state[key] = _parse(raw, default)
    return st.session_state[key]


def _parse(raw: Any, default: T) -> T:
    if raw is None or raw == []:
        return default
    try:
        if isinstance(default, bool):
            return raw.lower() in {"1", "true", "yes"}  # type: ignore[return-value]
        if isinstance(default, list):
            return list(raw)  # type: ignore[return-value]
        return type(default)(raw)  # type: ignore[call-arg]
    except (TypeError, ValueError):
        return default


def sync_url() -> None:
    """Write every `url_state` widget's current value into the URL, so the page can be bookmarked."""
    for key in sorted(st.session_state.get(_URL_KEYS, ())):
        value = st.session_state.get(key)
        if isinstance(value, list):
            st.query_params[key] = [str(item) for item in value]
        elif value is not None:
            st.query_params[key] = str(value)


def show_error(exc: Exception) -> None:
    """A project error as a message; anything else as a short apology with the error's type."""
    if isinstance(exc, StudioError):
        st.error(str(exc), icon=":material/error:")
    else:
        st.error(f"Something went wrong: {type(exc).__name__}: {exc}", icon=":material/error:")


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn the project's errors raised inside the block into a message on the page."""
    try:
        yield
    except StudioError as exc:
        show_error(exc)


def run_or_report(action: Callable[[], T]) -> T | None:
    """Run `action`; on a project error show its message and return None."""
    try:
        return action()
    except StudioError as exc:
        show_error(exc)
        return None


def infer(model_id: str, wrap: Callable[[Any, str], W], run: Callable[[W], T]) -> T | None:
    """How every page runs its model: `run(wrap(model, name))` on the shared copy of `model_id`
    (`wrap` as in `select_model`). A project error becomes a message and None, as in `run_or_report`.

    When the GPU runs out of memory (torch.OutOfMemoryError), free its cached blocks, say so, and
    run again on a CPU copy of the model for this request; the shared copy stays on the GPU for the
    next one, and the CPU copy is kept for the next out-of-memory error."""
    model = load_model(model_id)
    if model is None:
        return None
    name = get_registry().get(model_id).name
    try:
        return run_or_report(lambda: run(wrap(model, name)))
    except torch.OutOfMemoryError:
        pass  # leave the except block first: its traceback holds the failed attempt's tensors
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    st.warning(OUT_OF_MEMORY, icon=":material/memory:")
    try:
        with st.spinner(f"Running {name} on the CPU…"):
            return run_or_report(lambda: run(wrap(get_registry().load(model_id, CPU), name)))
    except torch.OutOfMemoryError:
        st.error(f"{name} ran out of memory on the CPU too. Try a shorter input.", icon=":material/error:")
        return None


def image_input(key: str, default_sample: str = "cat (chelsea)") -> Image.Image | None:
    """Pick an image: a bundled sample, an upload or the camera. Bad files become a message."""
    source = st.segmented_control("Image", ["Sample", "Upload", "Camera"], default="Sample", key=f"{key}_source")
    if source == "Upload":
        upload = st.file_uploader("Upload an image", key=f"{key}_upload")
        return run_or_report(lambda: read_image(upload.getvalue())) if upload else None
    if source == "Camera":
        shot = st.camera_input("Take a picture", key=f"{key}_camera")
        return run_or_report(lambda: read_image(shot.getvalue())) if shot else None
    names = list(SAMPLES)
    url_state(f"{key}_sample", default_sample if default_sample in names else names[0])
    name = st.selectbox("Sample photo", names, key=f"{key}_sample")
    return sample_image(name)


def how_it_works(explanation: str, model_ids: Sequence[str] = ()) -> None:
    """The expander at the bottom of every page: the technique in a few sentences, then model cards."""
    with st.expander("How it works", icon=":material/school:"):
        st.markdown(explanation)
        registry = get_registry()
        for model_id in model_ids:
            spec = registry.get(model_id)
            st.markdown(f"---\n#### Model card: {spec.name}\n*Licence: {spec.licence}*")
            st.markdown(spec.card_markdown())
