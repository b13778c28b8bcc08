"""Streamlit helpers that every page shares: model loading with a spinner, clear errors,
inputs kept in the URL (declared in url_params.py), the image picker, the "how it works" expander, and the
page chrome that app.py puts around every page (presenter mode, colour palette, the Share control, progress while
the libraries load, step-by-step replays).

Light to import: torch and the registry are imported inside the functions that need them, so the
navigation and the home page never wait for them."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

import streamlit as st

import classroom_store
import share_store
import url_params as P
from models.core import display as disp
from models.core import startup
from models.core.errors import StudioError
from models.core.images import read_image, sample_image

if TYPE_CHECKING:
    from PIL import Image

    from models.core.specs import ModelSpec

T = TypeVar("T")
W = TypeVar("W")
_URL_KEYS = "_url_keys"
_URL_NOTICES = "_url_notices"  # what this page could not use from its link, shown under the Share control
_SAVED_VIEWS = "_saved_views"  # long states this session stored: digest of the query -> its short id
_OPENED_VIEW = "_opened_view"  # the short link this session opened: (its id, the query parameters it stood for)
PRESENT = P.PRESENT.key  # the presenter-mode toggle's key, and its query parameter (?present=1)
PALETTE = P.PALETTE.key  # the colour palette's key and query parameter (?palette=classic)
# Longer links (the page's state in the query string) are shared as a short link to the stored state
# (share_store): a QR code of 1,200 characters is already too dense to scan from across a room.
LONGEST_LINK = 1_200
# Where `main_result` draws in presenter mode: a container right under the page's header.
_result_slot: ContextVar[Any] = ContextVar("result_slot", default=None)
# The Share popover's contents (a placeholder) and the page path, redrawn once the page has run.
_share_slot: ContextVar[tuple[Any, str] | None] = ContextVar("share_slot", default=None)
_notice_slot: ContextVar[Any] = ContextVar("notice_slot", default=None)
OUT_OF_MEMORY = "The GPU ran out of memory; this answer was computed on the CPU."
CLASS_ROOM = "_class_room"  # the class this session presents: (room code, presenter key)
CLASS_PAGE = "app_pages/classroom.py"
_FRONTEND_PREFETCHED = "_frontend_prefetched"
# Streamlit's browser code for charts, tables and most widgets comes in chunks fetched on first use; the Plotly
# one is 4.7 MB. The first page that drew a Plotly chart spent about a second fetching, compiling and running it
# (2-core machine). These are the chunks the technique pages use and the home page does not.
PREFETCHED_CHUNKS = (
    *("PlotlyChart", "DataFrame", "ArrowVegaLiteChart", "loadVegaEmbed", "Metric", "ImageList", "Audio"),
    *("TextArea", "TextInput", "NumberInput", "Slider", "ButtonGroup", "Radio", "Multiselect", "FileUploader"),
    "DownloadButton",
)
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def header(title: str, explanation: str) -> None:
    """The page title and the one-line explanation of its technique. In presenter mode it also keeps a
    place right below them for the page's main result (`main_result`)."""
    st.title(title)
    st.caption(explanation)
    _result_slot.set(st.container() if presenter_mode() else None)


@st.cache_resource(show_spinner=False, max_entries=64)
def shared_model(model_id: str) -> Any:
    # One copy per process, shared by every session; the registry's per-model lock makes sure
    # two sessions never run the same first load twice.
    from models.core.registry import get_registry

    return get_registry().load(model_id)


def load_model(model_id: str) -> Any | None:
    """The loaded model, with a spinner naming it during the first load. On failure: a clear
    message on the page and None, so the page can stop while the rest of the app keeps working."""
    from models.core.registry import get_registry

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


def choose_model(param: P.Model, label: str = "Model", extra: Sequence[ModelSpec] = ()) -> ModelSpec | None:
    """A select box over the registry's models for the parameter's task (and `extra` ones of other tasks that the
    page can also run), remembered in the URL."""
    from models.core.registry import get_registry

    specs = [*get_registry().list(param.task), *extra]
    if not specs:
        st.warning(f"No {param.task} model is registered.")
        return None
    ids = tuple(spec.id for spec in specs)
    chosen = st.selectbox(
        label, **bound(param.given(choices=ids, default=ids[0])), format_func=lambda i: get_registry().get(i).name
    )
    return get_registry().get(chosen)


def choose_and_load_model(
    param: P.Model, label: str, wrap: Callable[[Any, str], T], extra: Sequence[ModelSpec] = ()
) -> tuple[ModelSpec, T]:
    """`choose_model`, then load the chosen model and `wrap(model, name)` it into the page's
    pipeline. Stops the page (after a clear message) when there is no model or it fails to load."""
    spec = choose_model(param, label, extra)
    if spec is None:
        st.stop()
    wrapped = run_or_report(lambda: wrap(require_model(spec.id), spec.name))
    if wrapped is None:
        st.stop()
    return spec, wrapped


def bound(param: P.Param) -> dict[str, Any]:
    """The widget arguments of a parameter kept in the URL: its key and the range or choices it was declared
    with (`widget(label, **ui.bound(param), ...)`). Once per session it seeds the widget from the link,
    checked against that same declaration (a notice says what could not be used); after that it keeps the
    session's value within what the widget now offers (another model may offer other choices). `sync_url()`
    writes the value back."""
    st.session_state.setdefault(_URL_KEYS, set()).add(param.key)
    if param.key not in st.session_state:
        value, notice = param.parse(link_values(param.key))
        if notice:
            _add_url_notice(notice)
        st.session_state[param.key] = value
    else:
        value = st.session_state[param.key]
        valid = param.valid(value)
        # Written only when it changes: a write also resets the widget in the browser, which would drop
        # what the user is typing into it while another widget's rerun runs.
        if not _same_value(valid, value):
            st.session_state[param.key] = valid
    return param.widget_args()


def _same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def link_values(key: str) -> list[str]:
    """The values the link gives `key`: the URL's, or those of the stored view a short link opened."""
    opened = st.session_state.get(_OPENED_VIEW)
    if opened is not None and key in opened[1]:
        return opened[1][key]
    return st.query_params.get_all(key)


def _add_url_notice(notice: str) -> None:
    st.session_state.setdefault(_URL_NOTICES, []).append(notice)
    _draw_url_notices()


def _draw_url_notices() -> None:
    slot, notices = _notice_slot.get(), st.session_state.get(_URL_NOTICES)
    if slot is not None and notices:
        slot.caption(":material/link_off: Not used as the link had it: " + "; ".join(notices) + ".")


def sync_url() -> None:
    """Write every URL-kept widget's current value into the URL, so the page can be bookmarked; a state too
    long for an address is stored and the URL carries its short id instead (`link_query`)."""
    query = link_query(shared_query())
    # Only the widgets kept by `bound` (Streamlit refuses writes to the parameters its own widgets bind).
    for key in [*st.session_state.get(_URL_KEYS, ()), share_store.VIEW]:
        if key in query:
            st.query_params[key] = query[key]
        elif key in st.query_params:  # the state now behind a short id, or a short id the state replaced
            del st.query_params[key]


def plain(text: str) -> str:
    """Text someone typed, made safe to put inside markdown: every character markdown or HTML would read
    as markup is escaped, so it shows exactly as typed (a name, a sentence from a phone)."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", text).replace("\n", " ")


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
    (`wrap` as in `choose_and_load_model`). A project error becomes a message and None, as in `run_or_report`.

    When the GPU runs out of memory (torch.OutOfMemoryError), free its cached blocks, say so, and
    run again on a CPU copy of the model for this request; the shared copy stays on the GPU for the
    next one, and the CPU copy is kept for the next out-of-memory error."""
    import torch

    from models.core.device import on_cpu_after_gpu_oom
    from models.core.registry import get_registry

    model = load_model(model_id)
    if model is None:
        return None
    name = get_registry().get(model_id).name

    def attempt(device: torch.device | None) -> T:  # None: the shared copy
        return run(wrap(model if device is None else get_registry().load(model_id, device), name))

    @contextmanager
    def on_the_cpu() -> Iterator[None]:
        st.warning(OUT_OF_MEMORY, icon=":material/memory:")
        with st.spinner(f"Running {name} on the CPU…"):
            yield

    try:
        return run_or_report(lambda: on_cpu_after_gpu_oom(attempt, on_the_cpu))
    except torch.OutOfMemoryError:
        st.error(f"{name} ran out of memory on the CPU too. Try a shorter input.", icon=":material/error:")
        return None


def image_input(key: str, sample: P.Choice) -> Image.Image | None:
    """Pick an image: a bundled sample (`sample`, kept in the URL), an upload or the camera. Bad files become
    a message."""
    source = st.segmented_control("Image", ["Sample", "Upload", "Camera"], default="Sample", key=f"{key}_source")
    if source == "Upload":
        upload = st.file_uploader("Upload an image", key=f"{key}_upload")
        return run_or_report(lambda: read_image(upload.getvalue())) if upload else None
    if source == "Camera":
        shot = st.camera_input("Take a picture", key=f"{key}_camera")
        return run_or_report(lambda: read_image(shot.getvalue())) if shot else None
    return sample_image(st.selectbox("Sample photo", **bound(sample)))


def how_it_works(explanation: str, model_ids: Sequence[str] = ()) -> None:
    """The expander at the bottom of every page: the technique in a few sentences, then model cards."""
    from models.core.registry import get_registry

    with st.expander("How it works", icon=":material/school:", expanded=presenter_mode()):
        st.markdown(explanation)
        registry = get_registry()
        for model_id in model_ids:
            spec = registry.get(model_id)
            st.markdown(f"---\n#### Model card: {spec.name}\n*Licence: {spec.licence}*")
            st.markdown(spec.card_markdown())


# ---- page chrome: presenter mode, palette, Share, progress while libraries load -------------------

PRESENTER_CSS = f"""
<style>
/* Presenter mode: bigger type everywhere (Streamlit sizes text in rem), black on white, firm lines. */
html {{ font-size: {round(100 * disp.PRESENTER_SCALE)}%; }}
[data-testid="stApp"], [data-testid="stMarkdownContainer"], [data-testid="stWidgetLabel"] p,
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] *, [data-testid="stMetricLabel"] p {{
  color: #000 !important;
}}
[data-testid="stCaptionContainer"] {{ font-size: 0.95rem !important; opacity: 1 !important; }}
[data-testid="stExpander"] details, [data-testid="stVerticalBlockBorderWrapper"] {{ border-color: #000 !important; }}
[data-testid="stBaseButton-primary"] {{ background: #1a237e !important; border-color: #1a237e !important; }}
.block-container {{ max-width: 100% !important; }}
</style>
"""
# Long share links wrap anywhere; on phones (a 390-pixel screen) nothing may push the page wider than the screen.
SMALL_SCREEN_CSS = """
<style>
[data-testid="stPopoverBody"] code { word-break: break-all; }
@media (max-width: 640px) {
  .block-container { padding-left: 0.75rem !important; padding-right: 0.75rem !important; }
  [data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"] { overflow-wrap: anywhere; }
  [data-testid="stTable"], [data-testid="stGraphVizChart"], [data-testid="stHtml"] {
    overflow-x: auto; max-width: 100%;
  }
  [data-testid="stImage"] img { max-width: 100% !important; height: auto !important; }
}
</style>
"""
SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def presenter_mode() -> bool:
    """Whether this session shows the app for a projector (the sidebar toggle, or ?present=1)."""
    return bool(st.session_state.get(PRESENT, False))


def sidebar_state() -> str:
    """`st.set_page_config`'s initial sidebar: collapsed in presenter mode."""
    _seed_display_settings()
    return "collapsed" if presenter_mode() else "auto"


def _seed_display_settings() -> None:
    """Presenter mode and palette from the URL, once per session (then the sidebar widgets own them)."""
    for param in P.CHROME:
        if param.key not in st.session_state:
            st.session_state[param.key], notice = param.parse(st.query_params.get_all(param.key))
            if notice:
                _add_url_notice(notice)


def current_display() -> disp.Display:
    return disp.Display(presenter=presenter_mode(), palette=st.session_state.get(PALETTE, "safe"))


def use_display() -> None:
    """Hand this session's presenter mode and palette to the figure builders in models/ for this run."""
    disp.use(current_display())


def page_chrome(page_path: str, wait_for_libraries: bool = True) -> None:
    """What app.py draws around every page, before the page runs: the presenter-mode toggle and the
    palette in the sidebar (kept in the URL across pages), the presenter styles, the Share control at
    the top of the page, and, on pages that need torch, progress until the libraries are loaded."""
    _seed_display_settings()
    with st.sidebar:
        st.toggle(
            "Presenter mode",
            key=PRESENT,
            help="For a projector: bigger type and plots, high contrast, the main result first. "
            "Also ?present=1 in the address.",
        )
        st.selectbox(
            "Colours",
            list(disp.PALETTES),
            key=PALETTE,
            format_func=disp.PALETTES.get,
            help="Where colour carries meaning (word shading, probabilities, masks). The default reads "
            "the same with red-green colour blindness.",
        )
    # Kept in the URL so that a reload or a bookmark keeps them; the navigation clears the query string
    # when it moves to another page, so they are written again on every run.
    wanted = {PRESENT: "1" if presenter_mode() else None, PALETTE: st.session_state[PALETTE]}
    for key, value in wanted.items():
        if value is None or value == "safe":  # the defaults stay out of the address
            st.query_params.pop(key, None)
        else:
            st.query_params[key] = value
    class_link()
    use_display()
    _result_slot.set(None)
    # In the sidebar, as markdown: the styles apply to the whole page, and the main area's first HTML
    # element stays the page's own (tests and the load benchmark look for it).
    st.sidebar.markdown(SMALL_SCREEN_CSS + (PRESENTER_CSS if presenter_mode() else ""), unsafe_allow_html=True)
    share_control(page_path)
    _notice_slot.set(st.empty())
    _draw_url_notices()
    if wait_for_libraries:
        wait_until_prepared()


def class_link() -> None:
    """In the sidebar: start a class session, or go back to the one this session presents."""
    running = st.session_state.get(CLASS_ROOM)
    label = f"Class {classroom_store.shown_code(running[0])}" if running else "Start a class"
    st.sidebar.page_link(CLASS_PAGE, label=label, icon=":material/groups:")


def wait_until_prepared() -> None:
    """Until the background preparation has imported torch and the registry: a progress
    bar saying which, instead of a blank page."""
    preparation = startup.preparation()
    if preparation is None or preparation.finished.is_set():
        if preparation is not None and preparation.error:
            st.warning(f"Loading the libraries failed: {preparation.error}", icon=":material/warning:")
        return
    bar = st.progress(preparation.fraction, text="Loading the libraries…")
    while not preparation.finished.wait(0.2):
        bar.progress(preparation.fraction, text=f"Loading {preparation.next_stage}… (only after the server starts)")
    bar.empty()


def open_shared_view() -> None:
    """A short link (`?view=<id>`, made by `link_query`): the stored view's query parameters become what the
    link gives the page's inputs (`link_values`; kept in the session, as Streamlit ignores a query string over
    512 kB). An unknown or expired id leaves the page as it is, with a notice."""
    view_id = st.query_params.get_all(share_store.VIEW)[:1]
    opened = st.session_state.get(_OPENED_VIEW)
    if not view_id or (opened is not None and opened[0] == view_id[0]):
        return
    stored = share_store.load(view_id[0]) if re.fullmatch(r"[\w-]{1,64}", view_id[0]) else None
    st.session_state[_OPENED_VIEW] = (view_id[0], stored or {})
    for param in P.BOUND_BY_STREAMLIT:  # these widgets read the URL themselves, not `link_values`
        if stored and param.key in stored:
            st.query_params[param.key] = param.parse(stored[param.key])[0]
    if stored is None:
        days = share_store.LIFETIME_DAYS
        _add_url_notice(f"`{share_store.VIEW}` named no stored view (stored views expire after {days} days unused)")


def link_query(query: dict[str, list[str]]) -> dict[str, list[str]]:
    """`query`, or when its link would be longer than LONGEST_LINK characters, the short id of the stored
    query (`share_store`). A session stores each long state once: the URL and the Share control both ask on
    every rerun, and the database would otherwise be written twice a rerun."""
    encoded = urlencode(query, doseq=True)
    if len(encoded) <= LONGEST_LINK:
        return query
    saved: dict[str, str] = st.session_state.setdefault(_SAVED_VIEWS, {})
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    if digest not in saved:
        saved[digest] = share_store.save(query)
    return {share_store.VIEW: [saved[digest]]}


def shared_query() -> dict[str, list[str]]:
    """The page's state as query parameters: the URL's, updated with the current value of every input
    kept in the URL (`bound`), which this run's widgets may have just changed. Presenter mode and
    the palette stay out: they are the presenter's settings, not the view; so does a short link's id
    (the state it stood for is in the parameters now)."""
    params = {key: st.query_params.get_all(key) for key in st.query_params if key != share_store.VIEW}
    for key in st.session_state.get(_URL_KEYS, ()):
        value = st.session_state.get(key)
        if isinstance(value, list):
            params[key] = [str(item) for item in value]
        elif value is not None:
            params[key] = [str(value)]
    for key in (PRESENT, PALETTE):
        params.pop(key, None)
    return dict(sorted(params.items()))


def share_url(page_path: str) -> str:
    """This view's address, with the page's state in the query string."""
    return address(page_path, link_query(shared_query()))


def address(page_path: str, query: dict[str, list[str]]) -> str:
    """The address of a page as the browser reached the server (the request's Host header, so a LAN
    address stays a LAN address), with `query`."""
    headers = st.context.headers
    host = headers.get("X-Forwarded-Host") or headers.get("Host") or ""
    if not SAFE_HOST.match(host):
        host = f"{st.get_option('server.address') or 'localhost'}:{st.get_option('server.port')}"
    scheme = "https" if headers.get("X-Forwarded-Proto", "").lower() == "https" else "http"
    path = "/".join(part for part in (st.get_option("server.baseUrlPath").strip("/"), page_path) if part)
    query = urlencode(query, doseq=True)
    return f"{scheme}://{host}/{path}" + (f"?{query}" if query else "")


def qr_png(text: str) -> bytes:
    """A QR code of `text` as a PNG, black on white with the standard quiet zone."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def share_control(page_path: str) -> None:
    """The Share button at the top right of every page: the link to this exact view, with a copy button,
    and a QR code big enough to scan from the back of a room. Drawn before the page runs, and drawn again
    by `page_done` once the page's inputs are known (a page that stops early keeps the first drawing)."""
    with (
        st.container(horizontal=True, horizontal_alignment="right", key="share_bar"),
        st.popover("Share", icon=":material/qr_code_2:", key="share"),
    ):
        slot = st.empty()
    _share_slot.set((slot, page_path))
    _draw_share()


def _draw_share() -> None:
    slot, page_path = _share_slot.get() or (None, "")
    if slot is None:
        return
    url = share_url(page_path)
    with slot.container():
        st.markdown("**Open this exact view on another device**")
        st.code(url, language=None, wrap_lines=True)
        st.image(qr_png(url), width=480 if presenter_mode() else 320, caption="Scan with a phone camera")
        if re.match(r"https?://(127\.|localhost|\[::1\])", url):
            st.caption(
                "This address only works on this computer. To reach the app from phones on the same "
                "network, start it with `make run ADDRESS=0.0.0.0` and open it by the computer's LAN address."
            )


def page_done() -> None:
    """After the page ran (app.py): the Share control again, now with every input the page keeps in the URL."""
    _draw_share()


@functools.cache
def frontend_chunks() -> tuple[str, ...]:
    """The file names of `PREFETCHED_CHUNKS` in the installed Streamlit (their hashes change with its version)."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    return tuple(path.name for name in PREFETCHED_CHUNKS for path in sorted(folder.glob(f"{name}.*.js")))


def prefetch_frontend() -> None:
    """Once per browser session, after its first page: the browser loads the chart and table chunks when it is
    idle (a presenter reading the home page while the server imports torch), so the first page with a chart
    draws without fetching and compiling them. They are the same modules Streamlit imports later, by URL."""
    if st.session_state.get(_FRONTEND_PREFETCHED):
        return
    st.session_state[_FRONTEND_PREFETCHED] = True
    script = f"""<script>
(() => {{
  const app = document.querySelector('script[type="module"][src*="/static/js/index"]');
  if (!app) return;
  const chunks = {json.dumps(frontend_chunks())};
  const load = () => chunks.forEach((name) => import(new URL(name, app.src).href).catch(() => {{}}));
  (window.requestIdleCallback || setTimeout)(load);
}})();
</script>"""
    st.sidebar.html(script, unsafe_allow_javascript=True)


# ---- presenter layout: the main result first, secondary controls tucked away ---------------------


@contextmanager
def main_result() -> Iterator[None]:
    """Draw the page's main result here, or in presenter mode right below the page's header, above
    the controls. Its container is keyed (`.st-key-main_result` in the page) so that `python -m bench
    startup` can time a page to its result."""
    slot = _result_slot.get()
    with slot if slot is not None else nullcontext(), st.container(key="main_result"):
        yield


@contextmanager
def secondary_controls(label: str = "More settings") -> Iterator[None]:
    """Controls a presenter rarely touches: in place normally, folded into an expander in presenter mode."""
    if presenter_mode():
        with st.expander(label, icon=":material/tune:"):
            yield
    else:
        yield


def colour_legend(low: str, high: str, stops: Sequence[str], title: str = "") -> None:
    """A small colour bar with its two ends labelled, under a shading whose colour encodes a value."""
    st.html(disp.gradient_legend(low, high, list(stops), title))


# ---- step-by-step replays --------------------------------------------------------------------------


def replay(
    key: str,
    steps: int,
    draw: Callable[[int], None],
    label: str = "Step",
    seconds: float = 0.9,
    start_at_end: bool = False,
    identity: object = None,
) -> None:
    """A step control over something the page already computed: a slider, first / previous / play /
    next / last buttons, and `draw(step)` (1-based) below them. It runs as a fragment, so moving it
    reruns only this part of the page, never the page's model; Play advances one step per `seconds`.
    A new `identity` (what was computed: inputs, settings) starts again at step 1, or at the last step
    with `start_at_end`."""
    playing, goto, shown = f"{key}_playing", f"{key}_goto", f"{key}_identity"
    st.session_state[playing] = False  # a full run of the page stops any replay that was playing
    if st.session_state.get(shown) != identity or not 1 <= st.session_state.get(key, 0) <= steps:
        st.session_state[shown] = identity
        st.session_state[key] = steps if start_at_end else 1

    def move(to: int) -> None:
        st.session_state[key] = min(max(to, 1), steps)
        st.session_state[playing] = False

    def toggle_play() -> None:
        st.session_state[playing] = not st.session_state.get(playing)
        if st.session_state[playing] and st.session_state.get(key, 1) >= steps:
            st.session_state[key] = 1

    @st.fragment
    def player() -> None:
        use_display()  # a fragment rerun may run in a fresh thread
        if goto in st.session_state:
            st.session_state[key] = st.session_state.pop(goto)
        position = st.session_state.get(key, 1)
        is_playing = st.session_state.get(playing, False)
        with st.container(horizontal=True, vertical_alignment="bottom", key=f"{key}_buttons"):
            st.button("", icon=":material/first_page:", key=f"{key}_first", help="First step", on_click=move, args=(1,))
            st.button(
                "",
                icon=":material/chevron_left:",
                key=f"{key}_back",
                help="Previous step",
                on_click=move,
                args=(position - 1,),
            )
            st.button(
                "Pause" if is_playing else "Play",
                icon=":material/pause:" if is_playing else ":material/play_arrow:",
                key=f"{key}_play",
                on_click=toggle_play,
            )
            st.button(
                "",
                icon=":material/chevron_right:",
                key=f"{key}_next",
                help="Next step",
                on_click=move,
                args=(position + 1,),
            )
            st.button(
                "", icon=":material/last_page:", key=f"{key}_last", help="Last step", on_click=move, args=(steps,)
            )
        if steps > 1:
            st.slider(label, 1, steps, key=key)
        draw(st.session_state[key])
        if is_playing:
            if st.session_state[key] >= steps:
                st.session_state[playing] = False
            else:
                time.sleep(seconds)
                st.session_state[goto] = st.session_state[key] + 1
                st.rerun(scope="fragment")

    player()
