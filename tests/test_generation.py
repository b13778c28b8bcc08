"""Generation page: the character models the project trained, the token-by-token loop, the training
script, the transformer path with a tiny random causal LM loaded as a user model, and the page."""

import json
import math
import re
import threading
from pathlib import Path

import pytest
import torch

from models import generation as gen
from models.core.device import half_linear_weights
from models.core.errors import InputError
from models.core.registry import Registry, get_registry, user_spec
from tests.precision import tiny_llama
from training import generation_charlm as charlm

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "generation.py")


@pytest.fixture(scope="module")
def hamlet_lstm() -> gen.CharLanguageModel:
    return get_registry().load("charlm-hamlet-lstm")


@pytest.fixture(scope="module")
def names_gru() -> gen.CharLanguageModel:
    return get_registry().load("charlm-names-gru")


def text_of(steps) -> str:
    return "".join(step.text for step in steps)


# ---------------------------------------------------------------- character models


@pytest.mark.parametrize("corpus", gen.CORPORA)
@pytest.mark.parametrize("cell", gen.CELLS)
def test_checkpoint_loads_with_its_metrics(corpus, cell):
    lm = get_registry().load(f"charlm-{corpus}-{cell}")
    assert isinstance(lm, gen.CharLanguageModel) and lm.cell == cell and lm.corpus == corpus
    # A trained model beats guessing uniformly among its characters by a wide margin.
    assert 1 < lm.perplexity < lm.vocab.size / 3


@pytest.mark.parametrize("cell", gen.CELLS)
def test_stepping_through_cells_matches_the_whole_sequence_at_once(cell):
    lm = get_registry().load(f"charlm-names-{cell}")
    ids = lm.encode("Marguerite")
    with torch.inference_mode():
        whole, _ = lm.model(torch.tensor([ids]))  # (1, T, V)
        logits, state = lm.start(ids[:2])
        stepped = [logits]
        for token in ids[2:]:
            logits, state = lm.advance([token], state)
            stepped.append(logits[0])
    torch.testing.assert_close(torch.stack(stepped), whole[0, 1:], rtol=1e-4, atol=1e-5)


def test_char_model_writes_only_characters_it_knows(hamlet_lstm):
    steps = list(gen.generate(hamlet_lstm, "HAMLET\n", gen.Decoding(temperature=1.5, max_new_tokens=400, seed=3)))
    assert len(steps) == 400
    assert set(text_of(steps)) <= set(hamlet_lstm.vocab.chars) | {"\n"}
    assert all(0 < step.prob <= 1 and len(step.alternatives) == 10 for step in steps)


def test_fixed_seed_gives_the_same_text(hamlet_lstm):
    decoding = gen.Decoding(temperature=1.0, max_new_tokens=200, seed=42)
    first = text_of(gen.generate(hamlet_lstm, "To be", decoding))
    assert first == text_of(gen.generate(hamlet_lstm, "To be", decoding))
    other_seed = gen.Decoding(temperature=1.0, max_new_tokens=200, seed=43)
    assert first != text_of(gen.generate(hamlet_lstm, "To be", other_seed))


def test_greedy_follows_the_most_likely_character(hamlet_lstm):
    steps = list(gen.generate(hamlet_lstm, "KING CLAUDIUS\n", gen.Decoding(strategy="greedy", max_new_tokens=50)))
    assert all(step.label == step.alternatives[0][0] for step in steps)


def test_empty_prompt_starts_a_name_and_stops_at_its_end(names_gru):
    for seed in range(5):
        steps = list(gen.generate(names_gru, "", gen.Decoding(max_new_tokens=60, seed=seed)))
        name = text_of(steps)
        assert steps[-1].stop and steps[-1].label == "⟨end⟩"
        assert name and "\n" not in name and len(steps) == len(name) + 1


def test_unknown_characters_are_named_in_the_message(hamlet_lstm):
    with pytest.raises(InputError, match=r"'é', '😀'"):
        gen.generate(hamlet_lstm, "café 😀", gen.Decoding())


def test_decoding_limits_are_checked(hamlet_lstm):
    with pytest.raises(InputError, match="Temperature"):
        gen.generate(hamlet_lstm, "a", gen.Decoding(temperature=0))
    with pytest.raises(InputError, match="between 1 and"):
        gen.generate(hamlet_lstm, "a", gen.Decoding(max_new_tokens=gen.MAX_NEW_CHARS + 1))
    with pytest.raises(InputError, match="limit"):
        gen.generate(hamlet_lstm, "a" * (gen.MAX_PROMPT_CHARS + 1), gen.Decoding())


def test_sampling_distribution_applies_temperature_top_k_and_top_p():
    logits = torch.tensor([0.5, 0.3, 0.15, 0.05]).log()
    plain = gen.sampling_distribution(logits, gen.Decoding())
    torch.testing.assert_close(plain, torch.tensor([0.5, 0.3, 0.15, 0.05]))
    top_k = gen.sampling_distribution(logits, gen.Decoding(top_k=2))
    torch.testing.assert_close(top_k, torch.tensor([0.625, 0.375, 0.0, 0.0]))
    # 0.5 + 0.3 reaches 0.7, so the nucleus is the first two tokens.
    top_p = gen.sampling_distribution(logits, gen.Decoding(top_p=0.7))
    torch.testing.assert_close(top_p, torch.tensor([0.625, 0.375, 0.0, 0.0]))
    assert gen.sampling_distribution(logits, gen.Decoding(top_p=0.1)).tolist() == [1.0, 0.0, 0.0, 0.0]
    cold = gen.sampling_distribution(logits, gen.Decoding(temperature=0.5))
    expected = torch.tensor([0.5, 0.3, 0.15, 0.05]) ** 2
    torch.testing.assert_close(cold, expected / expected.sum())


# ---------------------------------------------------------------- training script

TINY_CORPUS = ["the cat sat on the mat\n", "a bat ate the hat\n", "the rat ran\n"] * 20


def test_training_lowers_the_loss_and_the_checkpoint_round_trips(tmp_path):
    vocab = charlm.build_vocab(TINY_CORPUS, stop_at_boundary=False)
    stream = charlm.encode_stream(TINY_CORPUS, vocab)
    recipe = charlm.Recipe(embed_dim=8, hidden_dim=32, num_layers=1, seq_len=16, batch_size=8, steps=40, lr=1e-2)
    config = gen.CharLMConfig(vocab.size, "gru", recipe.embed_dim, recipe.hidden_dim, recipe.num_layers)
    model, metrics = charlm.train(stream, stream, config, recipe, log_every=0)
    assert metrics["initial_val_loss"] == pytest.approx(math.log(vocab.size), rel=0.1)  # an untrained guess
    assert metrics["val_loss"] < metrics["initial_val_loss"] - 0.8

    (tmp_path / "charlm-tiny.vocab.json").write_text(json.dumps(vocab.to_json()))
    path = charlm.save_model(model, "tiny", metrics, tmp_path)
    lm = gen.load_char_lm(str(path), torch.device("cpu"))
    assert lm.val_loss == pytest.approx(metrics["val_loss"], abs=1e-3)
    text = text_of(gen.generate(lm, "the ", gen.Decoding(strategy="greedy", max_new_tokens=30)))
    assert set(text) <= set("".join(TINY_CORPUS))


def test_training_command_writes_models_metrics_and_card(tmp_path, monkeypatch):
    monkeypatch.setattr(charlm, "corpus_documents", lambda corpus: (TINY_CORPUS, corpus == "names"))
    charlm.main(["--corpus", "names", "--cells", "rnn", "lstm", "--steps", "5", "--out", str(tmp_path)])
    metrics = json.loads((tmp_path / "charlm-metrics.json").read_text())
    assert set(metrics["names"]) == {"vocab_size", "rnn", "lstm"}
    card = (tmp_path / "charlm.md").read_text()
    assert "| Names | LSTM |" in card and "python -m training.generation_charlm" in card
    lm = gen.load_char_lm(str(tmp_path / "charlm-names-lstm.safetensors"), torch.device("cpu"))
    assert lm.vocab.stop_at_boundary and lm.cell == "lstm"


# ---------------------------------------------------------------- transformer path, tiny random model


@pytest.fixture(scope="module")
def tiny_causal_lm_folder(tmp_path_factory) -> Path:
    """A 2-layer random Llama and a byte-level BPE tokenizer with a chat template, built here offline."""
    folder = tmp_path_factory.mktemp("tiny-causal-lm")
    texts = ["the cat sat on the mat", "a dog ran in the park"] * 20
    model, tokenizer = tiny_llama(texts, vocab_size=300, hidden_size=32)
    tokenizer.chat_template = "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_causal_lm(tiny_causal_lm_folder) -> gen.TransformerLanguageModel:
    """The tiny model loaded the way a user's model is: a `causal-lm` entry with a `path`."""
    spec = user_spec({"task": "causal-lm", "path": str(tiny_causal_lm_folder), "name": "tiny llama"})
    loaded = Registry.from_specs([spec]).load(spec.id)
    return gen.as_language_model(loaded, spec.name)


def test_user_causal_lm_greedy_matches_transformers_generate(tiny_causal_lm):
    lm = tiny_causal_lm
    steps = list(gen.generate(lm, "the cat", gen.Decoding(strategy="greedy", max_new_tokens=24)))
    prompt_ids = lm.tokenizer("the cat", return_tensors="pt").input_ids
    reference = lm.model.generate(prompt_ids, max_new_tokens=24, do_sample=False, pad_token_id=0)
    assert [step.token_id for step in steps] == reference[0, prompt_ids.shape[1] :].tolist()
    # Each step's probability is the model's softmax for that token, computed without the cache.
    ids = torch.cat([prompt_ids, reference[:, prompt_ids.shape[1] :]], dim=1)
    with torch.inference_mode():
        probs = torch.softmax(lm.model(ids).logits[0, prompt_ids.shape[1] - 1 : -1], dim=-1)
    expected = [probs[i, step.token_id].item() for i, step in enumerate(steps)]
    assert [step.prob for step in steps] == pytest.approx(expected, rel=1e-4)


def test_user_causal_lm_seeded_sampling_and_text(tiny_causal_lm):
    decoding = gen.Decoding(temperature=1.3, top_k=50, top_p=0.95, max_new_tokens=40, seed=7)
    first = list(gen.generate(tiny_causal_lm, "ünïcödé 🙂", decoding))
    again = list(gen.generate(tiny_causal_lm, "ünïcödé 🙂", decoding))
    assert [s.token_id for s in first] == [s.token_id for s in again]
    # Pieces streamed token by token add up to the decoded text, even where a token is half a character.
    ids = [s.token_id for s in first if not s.stop]
    assert text_of(first) == tiny_causal_lm.tokenizer.decode(ids, skip_special_tokens=True)


def test_user_causal_lm_prompts_empty_and_chat(tiny_causal_lm):
    lm = tiny_causal_lm
    assert lm.supports_chat
    assert lm.encode("") == [lm.tokenizer.bos_token_id]
    assert lm.tokenizer.decode(lm.encode("hi", chat=True)) == "<s>user: hi\nassistant:"
    with pytest.raises(InputError, match="message"):
        lm.encode("  ", chat=True)
    with pytest.raises(InputError, match="between 1 and"):
        gen.generate(lm, "a", gen.Decoding(max_new_tokens=gen.MAX_NEW_TOKENS + 1))


# ---------------------------------------------------------------- streams in one batch

BATCH_PROMPTS = ["the cat", "a", "the dog ran in the park and the cat sat", ""]


def run_concurrently(lm, prompts, decodings) -> list[list[gen.Step]]:
    """Start every stream before reading any, so that they share the batch, then read them all."""
    iterators = [gen.generate(lm, prompt, decoding) for prompt, decoding in zip(prompts, decodings, strict=True)]
    return [list(steps) for steps in iterators]


def count_batch_sizes(module: torch.nn.Module) -> list[int]:
    """Record the batch size of every forward call of `module` from now on (instrumentation)."""
    sizes: list[int] = []
    module.register_forward_pre_hook(lambda _, args, kwargs: sizes.append(len(kwargs["input_ids"])), with_kwargs=True)
    return sizes


def test_streams_batched_together_match_each_run_alone(tiny_causal_lm_folder):
    spec = user_spec({"task": "causal-lm", "path": str(tiny_causal_lm_folder), "name": "tiny llama"})
    lm = gen.as_language_model(Registry.from_specs([spec]).load(spec.id), spec.name)
    decodings = [
        gen.Decoding(strategy="greedy", max_new_tokens=30),
        gen.Decoding(temperature=1.2, top_k=40, max_new_tokens=12, seed=1),
        gen.Decoding(strategy="greedy", max_new_tokens=45),
        gen.Decoding(top_p=0.9, max_new_tokens=20, seed=5),
    ]
    lm.batcher.enabled = False
    alone = run_concurrently(lm, BATCH_PROMPTS, decodings)
    lm.batcher.enabled, lm.batcher.wait_seconds = True, 0.5  # the worker waits for all four to arrive
    sizes = count_batch_sizes(lm.model)
    together = run_concurrently(lm, BATCH_PROMPTS, decodings)
    assert max(sizes) == len(BATCH_PROMPTS)  # one forward pass served all four streams
    assert sizes[-1] == 1  # the longest stream finished on its own after the others left
    for batched, single in zip(together, alone, strict=True):
        assert [s.token_id for s in batched] == [s.token_id for s in single]
        assert [s.text for s in batched] == [s.text for s in single]
        assert [s.prob for s in batched] == pytest.approx([s.prob for s in single], abs=1e-5)


@pytest.mark.parametrize("cell", gen.CELLS)
def test_char_models_batch_like_they_run_alone(cell):
    lm = get_registry().load(f"charlm-names-{cell}")
    prompts, decoding = ["Ann", "", "Christophe"], gen.Decoding(max_new_tokens=15, seed=2)
    alone = [[s.token_id for s in gen.generate(lm, prompt, decoding)] for prompt in prompts]
    streams = [gen.Stream(lm, lm.encode(prompt), decoding) for prompt in prompts]
    batch = gen.StreamBatch(lm)
    batch.add(streams[:2])
    batch.step()
    batch.add(streams[2:])  # a stream joining a running batch
    assert [[s.token_id for s in stream.results(batch)] for stream in streams] == alone


def test_an_abandoned_stream_stops_at_the_next_step(tiny_causal_lm_folder, caplog):
    spec = user_spec({"task": "causal-lm", "path": str(tiny_causal_lm_folder), "name": "tiny llama"})
    lm = gen.as_language_model(Registry.from_specs([spec]).load(spec.id), spec.name)
    # Each forward pass waits for a permit, so the test decides how far the worker gets.
    permits, calls = threading.Semaphore(0), []

    def wait_for_permit(*_) -> None:
        permits.acquire()
        calls.append(1)

    lm.model.register_forward_pre_hook(wait_for_permit)
    steps = gen.generate(lm, "the cat", gen.Decoding(max_new_tokens=gen.MAX_NEW_TOKENS, seed=0))
    for _ in range(4):
        permits.release()
    first = [next(steps) for _ in range(3)]
    assert len(first) == 3
    steps.close()  # the reader goes away, as a closed browser tab does
    for _ in range(50):
        permits.release()
    [worker] = lm.batcher.workers
    worker.join(timeout=30)
    assert not worker.is_alive()
    # Four permits ran the prompt and three steps; the worker saw the closed stream at most one step later.
    assert len(calls) <= 5
    assert re.search(r"generation stopped after [34] tokens: its reader went away", caplog.text)


def test_a_failing_step_reaches_the_reader_and_the_next_stream_works(tiny_causal_lm_folder):
    spec = user_spec({"task": "causal-lm", "path": str(tiny_causal_lm_folder), "name": "tiny llama"})
    lm = gen.as_language_model(Registry.from_specs([spec]).load(spec.id), spec.name)
    calls = []

    def fail_on_the_third_pass(*_) -> None:  # fault injection: the batch's third forward pass breaks
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("simulated failure")

    hook = lm.model.register_forward_pre_hook(fail_on_the_third_pass)
    greedy = gen.Decoding(strategy="greedy", max_new_tokens=10)
    steps = gen.generate(lm, "the cat", greedy)
    with pytest.raises(RuntimeError, match="simulated failure"):
        list(steps)
    hook.remove()
    assert len(list(gen.generate(lm, "the cat", greedy))) == 10


def test_fp16_linear_weights_keep_the_greedy_text(tiny_causal_lm_folder):
    spec = user_spec({"task": "causal-lm", "path": str(tiny_causal_lm_folder), "name": "tiny llama"})
    lm = gen.as_language_model(Registry.from_specs([spec]).load(spec.id), spec.name)
    decoding = gen.Decoding(strategy="greedy", max_new_tokens=30)
    full = list(gen.generate(lm, "the cat", decoding))
    half_linear_weights(lm.model)
    assert not any(isinstance(m, torch.nn.Linear) for m in lm.model.modules())  # every one was replaced
    half = list(gen.generate(lm, "the cat", decoding))
    assert [s.token_id for s in half] == [s.token_id for s in full]
    assert [s.prob for s in half] == pytest.approx([s.prob for s in full], abs=2e-3)


def test_smollm2_is_registered_from_its_package():
    spec = get_registry().get("smollm2-135m-instruct")
    assert spec.task == "causal-lm" and spec.licence == "Apache-2.0"
    assert "Apache-2.0" in spec.card_markdown()


# ---------------------------------------------------------------- the page


def test_page_generates_and_compares_cells():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    at.selectbox(key="model_char-lm").set_value("charlm-names-lstm")
    at.text_area(key="prompt_char-lm").input("Ma")
    at.slider(key="length_char-lm").set_value(30)
    at.button(key="generate").click().run()
    assert not at.exception and not at.error
    steps = at.session_state["generation"]["steps"]
    assert steps and set(text_of(steps)) <= set("abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert any("probability" in m.value for m in at.markdown)

    at.button(key="compare").click().run()
    assert not at.exception
    assert [m.label for m in at.metric] == [f"{gen.CELL_NAMES[c]} · Names" for c in gen.CELLS]

    at.text_area(key="prompt_char-lm").input("Zoë 😀")
    at.button(key="generate").click().run()
    assert not at.exception
    assert any("never saw" in e.value for e in at.error)


def test_page_runs_a_user_causal_lm_in_chat_mode(tiny_causal_lm_folder, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from models.core import registry

    monkeypatch.setenv(registry.MODELS_ENV, f"causal-lm={tiny_causal_lm_folder}")
    monkeypatch.setattr(registry, "_registry", None)  # a fresh registry that reads the variable
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.segmented_control(key="family").set_value("Transformer").run()
    at.selectbox(key="model_causal-lm").set_value(f"user:{tiny_causal_lm_folder}").run()
    at.segmented_control(key="mode").set_value("Chat").run()
    at.text_area(key="prompt_causal-lm").input("hi there")
    at.slider(key="length_causal-lm").set_value(8)
    at.button(key="generate").click().run()
    assert not at.exception and not at.error
    result = at.session_state["generation"]
    assert result["chat"] and result["model"] == f"user:{tiny_causal_lm_folder}" and result["steps"]
    assert any(m.value.startswith("You: hi there") for m in at.caption)
