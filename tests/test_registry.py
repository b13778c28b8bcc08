"""The model registry: source order, offline refusal, user models from config, clear load errors."""

import os
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from models.core import registry as reg
from models.core.errors import ModelLoadError
from models.core.loaders import HFModel

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "a", "the"]


def spec(**kwargs) -> reg.ModelSpec:
    fields = {"id": "m", "task": "text-classification", "name": "Test model", "licence": "MIT", "card": "card"}
    fields.setdefault("loader", lambda location, device: location)
    return reg.ModelSpec(**(fields | kwargs))


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT sequence classifier with its tokenizer, saved to disk."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    BertTokenizerFast(vocab={word: index for index, word in enumerate(WORDS)}).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(WORDS),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_local_path_wins_over_embedded_and_hub(tmp_path):
    local = tmp_path / "weights.bin"
    local.write_bytes(b"x")
    chosen = reg.resolve_source(spec(local_path=str(local), embedded="README.md", hub_id="org/model"), online=True)
    assert chosen == reg.Source("local", str(local))


def test_embedded_wins_over_hub_and_packages_resolve():
    chosen = reg.resolve_source(spec(embedded="pkg:models/core/registry.py", hub_id="org/model"), online=True)
    assert chosen.kind == "embedded"
    assert Path(chosen.location) == Path(reg.__file__)


def test_hub_used_only_when_online():
    missing = spec(embedded="assets/no-such-file.safetensors", hub_id="org/model")
    assert reg.resolve_source(missing, online=True) == reg.Source("hub", "org/model")
    with pytest.raises(ModelLoadError, match=r"offline.*STUDIO_ONLINE=1"):
        reg.resolve_source(missing, online=False)


def test_missing_local_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        reg.resolve_source(spec(local_path=str(tmp_path / "nope")))


def test_network_mode_follows_the_setting(monkeypatch):
    monkeypatch.delenv(reg.ONLINE_ENV, raising=False)
    reg.apply_network_mode()
    assert reg.is_online() is False
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    monkeypatch.setenv(reg.ONLINE_ENV, "1")
    reg.apply_network_mode()
    assert os.environ["HF_HUB_OFFLINE"] == "0"
    monkeypatch.delenv(reg.ONLINE_ENV)
    reg.apply_network_mode()


def test_offline_hub_user_model_fails_with_message_and_status(monkeypatch):
    monkeypatch.delenv(reg.ONLINE_ENV, raising=False)
    specs = reg.user_specs({reg.MODELS_ENV: "text-classification=hub:distilbert/sst2"})
    registry = reg.Registry.from_specs(specs)
    with pytest.raises(ModelLoadError, match="offline"):
        registry.load(specs[0].id)
    assert registry.status(specs[0].id).state == "failed"


def test_user_model_from_toml_config_loads_and_runs(tiny_classifier, tmp_path):
    config = tmp_path / "studio.toml"
    config.write_text(
        f'[[models]]\ntask = "text-classification"\npath = "{tiny_classifier}"\nname = "Tiny BERT"\nid = "tiny"\n'
    )
    specs = reg.user_specs({reg.CONFIG_ENV: str(config)})
    registry = reg.Registry.from_specs(specs, device=torch.device("cpu"))
    loaded = registry.load("tiny")
    assert isinstance(loaded, HFModel)
    batch = loaded.preprocessor(["a good movie"], return_tensors="pt")
    assert loaded.preprocessor.convert_ids_to_tokens(batch["input_ids"][0]) == ["[CLS]", "a", "good", "movie", "[SEP]"]
    with torch.inference_mode():
        logits = loaded.model(**batch).logits
    assert logits.shape == (1, 2)
    assert loaded.model.config.id2label[1] == "positive"
    status = registry.status("tiny")
    assert status.state == "loaded" and status.source.kind == "local" and status.device == "cpu"


def test_user_model_from_environment_variable(tiny_classifier):
    (entry,) = reg.user_specs({reg.MODELS_ENV: f"text-classification={tiny_classifier}"})
    assert entry.task == "text-classification" and entry.local_path == str(tiny_classifier)
    assert isinstance(reg.Registry.from_specs([entry]).load(entry.id), HFModel)


def test_bad_user_entries_are_explained(tmp_path):
    with pytest.raises(ModelLoadError, match="task must be one of"):
        reg.user_specs({reg.MODELS_ENV: "poetry=/tmp/x"})
    with pytest.raises(ModelLoadError, match="task=path"):
        reg.user_specs({reg.MODELS_ENV: "just-a-path"})
    broken = tmp_path / "studio.toml"
    broken.write_text("[[models]\n")
    with pytest.raises(ModelLoadError, match="not valid TOML"):
        reg.user_specs({reg.CONFIG_ENV: str(broken)})


def test_corrupt_weights_give_a_clear_error(tiny_classifier, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in tiny_classifier.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    (broken / "model.safetensors").write_bytes(b"this is not a safetensors file")
    (entry,) = reg.user_specs({reg.MODELS_ENV: f"text-classification={broken}"})
    registry = reg.Registry.from_specs([entry])
    with pytest.raises(ModelLoadError, match="Could not load") as raised:
        registry.load(entry.id)
    assert "broken" in str(raised.value)
    assert registry.status(entry.id).state == "failed"


def test_word_vectors_user_file(tmp_path):
    vectors = tmp_path / "tiny.txt"
    vectors.write_text("cat 1 0 0\ndog 0.9 0.1 0\ncar 0 0 1\n")  # GloVe text: no header line
    (entry,) = reg.user_specs({reg.MODELS_ENV: f"word-vectors={vectors}"})
    keyed = reg.Registry.from_specs([entry]).load(entry.id)
    assert keyed.most_similar("cat", topn=1)[0][0] == "dog"


def test_concurrent_first_loads_run_the_loader_once():
    calls = []

    def slow_loader(location, device):
        calls.append(location)
        time.sleep(0.2)
        return object()

    registry = reg.Registry.from_specs([spec(loader=slow_loader, embedded="README.md")])
    results = []
    threads = [threading.Thread(target=lambda: results.append(registry.load("m"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len({id(result) for result in results}) == 1


def test_duplicate_ids_are_refused():
    with pytest.raises(ModelLoadError, match="share the id"):
        reg.Registry.from_specs([spec(), spec()])


def test_card_markdown_reads_files_and_text():
    assert spec(card="plain text card").card_markdown() == "plain text card"
    assert "Deep-learning demo studio" in spec(card="README.md").card_markdown()


def test_warm_up_loads_available_models_and_skips_hub_only_ones():
    loaded = []
    specs = [
        spec(id="here", embedded="README.md", loader=lambda location, device: loaded.append(location) or location),
        spec(id="hub-only", hub_id="org/model"),
    ]
    registry = reg.Registry.from_specs(specs)
    thread = registry.warm_in_background()
    assert registry.warm_in_background() is thread  # a second call (app.py after tools/serve.py) adds nothing
    thread.join(timeout=30)
    assert registry.is_loaded("here") and not registry.is_loaded("hub-only")
    assert registry.status("hub-only").state == "not loaded"


def test_the_warm_up_asks_before_each_load():
    """app.py's warm-up waits there while a page's script runs (tests/test_startup.py)."""
    events = []
    specs = [
        spec(id=name, embedded="README.md", loader=lambda location, device, name=name: events.append(name) or name)
        for name in ("one", "two")
    ]
    registry = reg.Registry.from_specs(specs)
    registry.warm_in_background(before_each_load=lambda: events.append("ask")).join(timeout=30)
    assert events == ["ask", "one", "ask", "two"]


def test_models_marked_warm_last_load_after_the_others():
    """SmolLM2 (6-9 s to load here, opened by no page) waits until every other model has loaded."""
    loaded = []
    specs = [
        spec(
            id=name,
            embedded="README.md",
            warm_last=name.startswith("long"),
            loader=lambda loc, dev, n=name: loaded.append(n),
        )
        for name in ("first", "long one", "second", "long two", "third")
    ]
    reg.Registry.from_specs(specs).warm_in_background().join(timeout=30)
    assert loaded == ["first", "second", "third", "long one", "long two"]
    catalog = reg.get_registry().list()
    assert [s.id for s in catalog if s.warm_last] == ["smollm2-135m-instruct"]


def test_a_page_load_during_the_warm_up_goes_first():
    """The warm-up starts no load while a page waits for one, and runs at a lower CPU priority."""
    events: list[str] = []
    release = {name: threading.Event() for name in ("first", "second", "page")}
    warm_niceness = []

    def loader(name):
        def load(location, device):
            if threading.current_thread().name == "model-warmup":
                warm_niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            events.append(f"{name} starts")
            assert release[name].wait(timeout=30)
            events.append(f"{name} ends")
            return name

        return load

    registry = reg.Registry.from_specs(
        [spec(id=name, embedded="README.md", loader=loader(name)) for name in ("first", "second", "page")]
    )
    warm_up = registry.warm_in_background()
    wait_until(lambda: events == ["first starts"])
    page = threading.Thread(target=registry.load, args=("page",))
    page.start()
    wait_until(lambda: events == ["first starts", "page starts"])
    release["first"].set()  # the warm-up's load ends while the page's still runs: the warm-up waits
    wait_until(lambda: "first ends" in events)
    release["second"].set()
    time.sleep(0.3)
    assert "second starts" not in events
    release["page"].set()
    page.join(timeout=30)
    warm_up.join(timeout=30)
    assert events == ["first starts", "page starts", "first ends", "page ends", "second starts", "second ends"]
    assert registry.is_loaded("second") and registry.load("page") == "page"
    if sys.platform == "linux":
        assert warm_niceness and min(warm_niceness) >= os.getpriority(os.PRIO_PROCESS, 0) + 1


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        time.sleep(0.01)
