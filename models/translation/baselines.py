"""Rule-based, statistical and neural translation side by side: Debian's rule-based Apertium, the word
alignments of IBM Model 1 (models/translation/ibm1.py), and corpus scores of any translator on the
English -> Spanish test verses, so a page can put all of them in one table.
"""

import functools
import json
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from models.core.errors import ModelLoadError
from models.core.paths import ASSETS
from models.core.specs import ModelSpec
from models.translation.ibm1 import IBMModel1
from models.translation.scores import corpus_scores
from models.translation.translator import check_text

TEST_VERSES = ASSETS / "translation" / "enes_test.tsv"  # the 1,000 held-out verses: English \t Spanish
METRICS = {
    "neural": ASSETS / "translation" / "enes_metrics.json",
    "apertium": ASSETS / "translation" / "apertium_metrics.json",
}
# Debian's apertium-eng-spa installs the mode `eng-spa`; older packagings called it `en-es`.
APERTIUM_MODES = ("eng-spa", "en-es")
APERTIUM_MODE_DIRS = (Path("/usr/share/apertium/modes"), Path("/usr/local/share/apertium/modes"))
APERTIUM_MISSING = (
    "Apertium is not installed here. On Debian or Ubuntu: `sudo apt-get install apertium-eng-spa` "
    "(`make run` tries this), then reload the page."
)


def apertium_mode() -> str | None:
    """The installed English -> Spanish Apertium mode, or None when Apertium is missing."""
    if shutil.which("apertium") is None:
        return None
    for mode in APERTIUM_MODES:
        if any((folder / f"{mode}.mode").exists() for folder in APERTIUM_MODE_DIRS):
            return mode
    return None


def apertium_translate(text: str, mark_unknown: bool = True) -> str:
    """English -> Spanish by Apertium's rules (dictionaries, a tagger, transfer rules). Each line of
    `text` comes back as one line. With `mark_unknown`, words outside its dictionaries keep a `*`."""
    mode = apertium_mode()
    if mode is None:
        raise ModelLoadError(APERTIUM_MISSING)
    flags = [] if mark_unknown else ["-u"]
    try:
        done = subprocess.run(
            ["apertium", *flags, mode], input=text, capture_output=True, text=True, timeout=120, check=True
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise ModelLoadError(f"Apertium failed: {exc}") from exc
    return done.stdout.rstrip("\n")


def apertium_sentence(text: str) -> str:
    """One sentence through Apertium, checked like every translator's input."""
    return _apertium_line(apertium_mode(), " ".join(check_text(text).split()))


_apertium_runs = ThreadPoolExecutor(max_workers=2, thread_name_prefix="apertium")


def apertium_sentence_soon(text: str) -> Future[str]:
    """`apertium_sentence(text)` in a worker thread: a page starts it first and reads it last, so the
    subprocess runs while the neural model translates (a first translation page 0.2 s sooner)."""
    return _apertium_runs.submit(apertium_sentence, text)


@functools.lru_cache(maxsize=4096)
def _apertium_line(mode: str | None, text: str) -> str:
    # Apertium is a subprocess of 180-270 ms; the page asks again on every rerun, and rules give the same
    # answer. Keyed by the installed mode too, so that installing or removing Apertium shows at once.
    return apertium_translate(text)


def held_out_verses(limit: int | None = None) -> tuple[list[str], list[str]]:
    """(English, Spanish) of the held-out test verses, the first `limit` of them."""
    if not TEST_VERSES.exists():
        raise ModelLoadError(f"{TEST_VERSES.name} is missing: `python -m training.translation_baselines` writes it.")
    rows = [line.split("\t") for line in TEST_VERSES.read_text(encoding="utf-8").splitlines()][:limit]
    return [en for en, _ in rows], [es for _, es in rows]


def score_translator(
    translate: Callable[[str], str], limit: int, progress: Callable[[int, int], None] | None = None
) -> dict[str, float]:
    """Translate the first `limit` test verses with `translate` and score them; `progress(done, total)`
    after each verse."""
    sources, references = held_out_verses(limit)
    hypotheses = []
    for i, source in enumerate(sources, start=1):
        hypotheses.append(translate(source))
        if progress:
            progress(i, len(sources))
    return corpus_scores(hypotheses, references)


@functools.cache  # committed files: read once per process, not on every rerun of the page
def comparison_rows() -> tuple[dict[str, object], ...]:
    """The committed test-set figures: Apertium and the neural model (greedy, beam 5)."""
    rows = []
    apertium = read_metrics("apertium")
    if apertium:
        rows.append({"method": "rule-based: Apertium (eng-spa)", **apertium["test"]})
    neural = read_metrics("neural")
    for decoding in ("greedy", "beam 5"):
        if f"{decoding} (test)" in neural:
            rows.append({"method": f"neural: our transformer, {decoding}", **neural[f"{decoding} (test)"]})
    return tuple(rows)


def read_metrics(name: str) -> dict:
    path = METRICS[name]
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def load_ibm1(location: str, device: object = None) -> IBMModel1:
    """The registry's loader for the IBM Model 1 table (the device is irrelevant: it is a lookup table)."""
    return IBMModel1.load(location)


MODELS = [
    ModelSpec(
        id="translation-ibm1",
        task="word-alignment",
        name="IBM Model 1 word alignments (English -> Spanish, Bible verses)",
        licence="project's own (learned here from public-domain Bibles)",
        card="assets/translation/ibm1.md",
        loader=load_ibm1,
        embedded="assets/translation/ibm1.safetensors",
        summary="word-translation table learned by EM from co-occurrence counts, trained by the project",
    ),
]
