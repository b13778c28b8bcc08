"""The transformer internals page's model side, on the three shipped transformers: recorded attention equals what
the models return, the logit lens and ablations agree with the models, and the known head patterns show up."""

import numpy as np
import pytest
import torch

from models.core.device import use_app_thread_policy
from models.core.errors import InputError, ModelLoadError
from models.core.loaders import load_hf
from models.core.registry import get_registry
from models.sentiment.minilm import minilm_base_dir
from models.transformer.ablation import Ablation, ablate, logits_with, sweep_heads, zero_heads
from models.transformer.attribution import attribute
from models.transformer.catalog import as_opened
from models.transformer.context import EXAMPLE_SENTENCES, word_in_contexts
from models.transformer.hooks import hooked
from models.transformer.lens import logit_lens
from models.transformer.opened import MAX_TOKENS
from models.transformer.patterns import findings_markdown, head_patterns
from models.transformer.trace import recomputed_weights, sinusoidal_table, work_head

TEXT = "The cat sat on the mat. The dog sat on the"


@pytest.fixture(scope="module", autouse=True)
def app_threads():
    """One thread per forward pass, as the app runs them (two fight over a busy machine's cores)."""
    before = torch.get_num_threads()
    use_app_thread_policy()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def smollm2():
    return get_registry().load("inside-smollm2")


@pytest.fixture(scope="module")
def minilm():
    return get_registry().load("inside-minilm")


@pytest.fixture(scope="module")
def enes():
    return get_registry().load("inside-enes")


@pytest.fixture(scope="module")
def smollm2_trace(smollm2):
    return smollm2.trace(TEXT)


@pytest.mark.parametrize("model_name", ["smollm2", "minilm", "enes"])
def test_attention_recomputed_from_hooked_q_k_equals_the_models_weights(model_name, request):
    model = request.getfixturevalue(model_name)
    trace = model.trace("I sat by the bank of the river and watched the boats.")
    expected = {"smollm2": ["self"], "minilm": ["self"], "enes": ["encoder", "decoder", "cross"]}[model_name]
    assert list(trace.blocks) == expected
    for block in trace.blocks.values():
        layers, heads, queries, keys = block.weights.shape
        assert (queries, keys) == (len(block.query_tokens), len(block.key_tokens))
        assert block.q.shape[:3] == (layers, heads, queries) and block.k.shape[:3] == (layers, heads, keys)
        torch.testing.assert_close(recomputed_weights(block), block.weights, atol=1e-5, rtol=0)
        torch.testing.assert_close(block.weights.sum(-1), torch.ones(layers, heads, queries), atol=1e-5, rtol=0)
        assert float(block.weights.masked_fill(block.mask, 0).abs().max()) == 0.0
        working = work_head(block, layers - 1, heads - 1, queries - 1)
        np.testing.assert_allclose(working.weights, working.returned, atol=1e-5)
    causal = [b for b in trace.blocks.values() if "causal" in b.name or "masked" in b.name]
    assert len(causal) == (0 if model_name == "minilm" else 1)
    for block in causal:  # the upper triangle is masked, and gets nothing
        assert torch.equal(block.mask, torch.ones_like(block.mask).tril())
        assert float(block.weights.triu(1).abs().max()) == 0.0


def test_rotary_positions_matter_for_the_recomputation(smollm2_trace):
    """Leaving the rotation out changes the weights: the test above would catch a trace without it."""
    block = smollm2_trace.blocks["self"]
    angles = smollm2_trace.positions.values  # (T, d/2)
    assert smollm2_trace.positions.kind == "rotary" and angles.shape == (len(smollm2_trace.ids), 32)
    assert np.all(angles[0] == 0) and angles[1, 0] == pytest.approx(1.0)  # position 0 is not turned
    # Undo the rotation of the keys (turn them back by their own angles): the weights no longer match.
    cos, sin = (torch.from_numpy(np.cos(angles)).repeat(1, 2), torch.from_numpy(np.sin(angles)).repeat(1, 2))
    k = block.k
    half = k.shape[-1] // 2
    rotated_back = k * cos + torch.cat([k[..., half:], -k[..., :half]], -1) * sin
    scores = (block.q @ rotated_back.transpose(-2, -1) * block.scale).masked_fill(~block.mask, float("-inf"))
    assert float((scores.softmax(-1) - block.weights).abs().max()) > 0.1


def test_learned_positions_are_most_similar_to_themselves(minilm):
    signal = minilm.trace("A short one.").positions
    assert signal.kind == "learned" and signal.values.shape == (MAX_TOKENS, MAX_TOKENS)
    np.testing.assert_allclose(np.diag(signal.values), 1, atol=1e-5)
    assert signal.values[10, 11] > signal.values[10, 40]  # neighbours learned more similar vectors


def test_the_sinusoidal_table_is_sines_and_cosines_of_position():
    table = sinusoidal_table(48, 384).values
    assert table.shape == (48, 384)
    np.testing.assert_allclose(table[0, 0::2], 0, atol=1e-7)  # sin(0)
    np.testing.assert_allclose(table[0, 1::2], 1, atol=1e-7)  # cos(0)
    assert table[5, 0] == pytest.approx(np.sin(5)) and table[5, 1] == pytest.approx(np.cos(5))
    assert table[5, 382] == pytest.approx(np.sin(5 * 10000 ** (-382 / 384)), abs=1e-6)


def test_the_translator_decodes_its_own_translation(enes):
    trace = enes.trace("My house is your house.")
    assert trace.target_tokens[0] == "<s>" and "▁casa" in trace.target_tokens
    assert trace.blocks["cross"].key_tokens == trace.tokens and trace.tokens[-1] == "</s>"


def test_logit_lens_at_the_last_layer_is_the_models_output(smollm2, smollm2_trace):
    torch.testing.assert_close(smollm2.read_out(smollm2_trace.residuals[-1]), smollm2_trace.logits, atol=1e-5, rtol=0)
    lens = logit_lens(smollm2, smollm2_trace)
    assert lens.top_tokens[-1] == smollm2.labels(smollm2_trace.logits.argmax(-1).tolist())
    assert lens.final_token == "·mat"  # "The dog sat on the" -> " mat", copied from the first sentence
    assert lens.final_token_probs[-1] == pytest.approx(float(smollm2_trace.logits[-1].softmax(-1).max()), abs=1e-6)
    assert lens.final_token_probs[0] < 0.01  # the bare embedding does not predict it


def test_ablating_nothing_changes_nothing_and_all_heads_equal_the_attention(smollm2, smollm2_trace):
    unchanged = ablate(smollm2, smollm2_trace, Ablation())
    assert unchanged.kl == pytest.approx(0, abs=1e-6) and unchanged.before == unchanged.after
    layer = smollm2.layers[3]
    with hooked(layer.self_attn.o_proj, zero_heads(torch.zeros(9), smollm2.head_dim), pre=True), torch.no_grad():
        every_head = smollm2.model(input_ids=torch.tensor([smollm2_trace.ids])).logits[0]
    torch.testing.assert_close(every_head, logits_with(smollm2, smollm2_trace.ids, Ablation("attention", 3)))
    assert ablate(smollm2, smollm2_trace, Ablation("mlp", 0)).kl > 1  # the first MLP is essential


def test_the_head_sweep_agrees_with_ablating_each_head_alone(smollm2):
    trace = smollm2.trace("One, two")
    done = []
    sweep = sweep_heads(smollm2, trace, done.append, exact=4)
    assert sweep.kl.shape == (30, 9) and done[-1] == pytest.approx(1.0) and done == sorted(done)
    assert sweep.exact.sum() == 4  # screened in bfloat16, the 4 strongest measured again in fp32
    for layer, head, kl in sweep.ranked(2):
        assert sweep.exact[layer, head]
        assert ablate(smollm2, trace, Ablation("head", layer, head)).kl == pytest.approx(kl, rel=1e-3, abs=1e-6)
    screened = ~sweep.exact
    later = [(la, h) for la, h in zip(*np.nonzero(screened), strict=True)][:3]
    for layer, head in later:  # the bfloat16 screen is close to the exact value
        exact_kl = ablate(smollm2, trace, Ablation("head", int(layer), int(head))).kl
        assert sweep.kl[layer, head] == pytest.approx(exact_kl, rel=0.3, abs=2e-3)


def test_smollm2_has_induction_and_previous_token_heads(smollm2):
    (patterns,) = head_patterns(smollm2)
    best = patterns.best("induction", 1)[0][2]
    assert best > 0.5 and best > 10 * patterns.induction_chance  # chance: about 1/30 on this run
    assert patterns.best("previous_token", 1)[0][2] > 0.5
    assert patterns.best("first_token", 1)[0][2] > 0.9  # attention sinks
    # The findings card names the heads this measures.
    card = findings_markdown()
    for pattern in ("induction", "previous_token"):
        layer, head, score = patterns.best(pattern, 1)[0]
        assert f"**{layer}.{head}: {score:.2f}**" in card


def test_minilm_has_a_previous_token_head_and_no_induction_head(minilm):
    (patterns,) = head_patterns(minilm)
    assert patterns.best("previous_token", 1)[0][2] > 0.5
    assert patterns.best("induction", 1)[0][2] < 5 * patterns.induction_chance


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "word " * 200_000, "🙂🙃🫠 emoji 👩‍👩‍👧", "שלום עולם مرحبا بالعالم", "a" * 5000],
    ids=["empty", "blank", "1MB", "emoji", "rtl", "long-word"],
)
def test_hostile_text_gives_a_message_or_a_capped_trace(text, smollm2, minilm, enes):
    for model in (smollm2, minilm, enes):
        if not text.strip():
            with pytest.raises(InputError):
                model.trace(text)
            continue
        trace = model.trace(text)
        assert 0 < len(trace.ids) <= MAX_TOKENS
        if len(text) > 300:
            assert trace.notices


def test_contextual_vectors_tell_the_senses_apart(minilm):
    river, money = ("The grassy bank of the river flooded.", "He paid the cheque into his bank account.")
    contexts = word_in_contexts(minilm, "bank", "\n".join([*EXAMPLE_SENTENCES, river, money]))
    similarity = contexts.similarity  # rows 0, 1, 4: rivers; 2, 3, 5: money
    assert contexts.projection.shape == (6, 2)
    assert similarity[4, 0] > similarity[4, 2] and similarity[5, 2] > similarity[5, 0]
    with pytest.raises(InputError, match="Sentence 2"):
        word_in_contexts(minilm, "bank", "A bank.\nNo such word here.")
    for word in ("", "two words", "x" * 100):
        with pytest.raises(InputError):
            word_in_contexts(minilm, word, "\n".join(EXAMPLE_SENTENCES))


@pytest.mark.parametrize("model_name", ["minilm", "smollm2"])
def test_integrated_gradients_are_complete(model_name, request):
    model = request.getfixturevalue(model_name)
    trace = model.trace("Not bad at all: the cast is great." if model_name == "minilm" else "One, two, three,")
    result = attribute(model, trace)
    assert result.integrated.shape == result.input_x_gradient.shape == (len(trace.ids),)
    change = result.output - result.baseline_output
    assert abs(change) > 0.5
    assert result.integrated.sum() == pytest.approx(change, rel=0.05)  # complete at the steps it took
    assert result.completeness_error < 0.05 and result.steps >= 32
    np.testing.assert_allclose(result.last_layer_attention.sum(), 1, atol=1e-5)


def test_a_users_causal_lm_opens_on_a_copy_of_its_own(tiny_llama_folder):
    loaded = load_hf("causal-lm", str(tiny_llama_folder), torch.device("cpu"))
    opened = as_opened(loaded, "tiny Llama")
    assert as_opened(loaded, "tiny Llama") is opened and opened.model is not loaded.model
    trace = opened.trace("the cat sat on the mat")
    block = trace.blocks["self"]
    torch.testing.assert_close(recomputed_weights(block), block.weights, atol=1e-5, rtol=0)
    assert logit_lens(opened, trace).top_tokens[-1] == opened.labels(trace.logits.argmax(-1).tolist())


def test_a_users_bert_classifier_opens_and_others_get_a_message(tmp_path):
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(minilm_base_dir())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
    )
    BertForSequenceClassification(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    opened = as_opened(load_hf("text-classification", str(tmp_path), torch.device("cpu")), "tiny BERT")
    block = opened.trace("A river bank.").blocks["self"]
    assert block.weights.shape[:2] == (2, 4)
    torch.testing.assert_close(recomputed_weights(block), block.weights, atol=1e-5, rtol=0)
    with pytest.raises(ModelLoadError):
        as_opened(object(), "a date model")
