"""The translators: the project's date and English -> Spanish models, a user's transformers model
(a tiny random MarianMT saved to a temp dir), and the limits on input."""

import math

import pytest
import torch

from models.core.errors import InputError, ModelLoadError
from models.core.loaders import load_hf
from models.core.registry import get_registry
from models.translation.dates import widen_year
from models.translation.translator import HFTranslator, as_translator

# Years and formats the date model never saw in training (training/translation_dates.py holds them out:
# the full style with an abbreviated month, and three numeric layouts).
HELD_OUT_DATES = {
    "Tuesday, Mar 14, 2051": "2051-03-14",
    "Friday, 1 Jan 2100": "2100-01-01",
    "Montag, 29. Feb. 1960": "1960-02-29",
    "vendredi 24 déc. 1982": "1982-12-24",
    "domingo, 7 de jul de 2030": "2030-07-07",
    "lunedì 9 ott 1922": "1922-10-09",
    "zaterdag 30 sep 2062": "2062-09-30",
    "17.06.2025": "2025-06-17",
    "2147/11/05": "2147-11-05",
    "3-8-1841": "1841-08-03",
    "  WEDNESDAY, dec 31,2003": "2003-12-31",
    "segunda-feira, 12 de fev. de 2131": "2131-02-12",
}


@pytest.fixture(scope="module")
def dates():
    return get_registry().load("translation-dates")


@pytest.fixture(scope="module")
def enes():
    return get_registry().load("translation-enes")


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_date_model_gets_held_out_dates_right(dates, method: str) -> None:
    wrong = {
        text: got
        for text, iso in HELD_OUT_DATES.items()
        if (got := dates.translate(text, method=method, beam_width=5).best.text) != iso
    }
    assert not wrong


def test_two_digit_years_follow_the_strptime_pivot(dates) -> None:
    import datetime as dt

    # The documented pivot is the one Python's %y uses: 00-68 -> 20xx, 69-99 -> 19xx.
    for yy in range(100):
        assert widen_year(yy) == dt.datetime.strptime(f"{yy:02d}", "%y").year
    # The model learned it: numeric and spelled-out dates, on both sides of the pivot, including years
    # held out of training (2003, 2051, 1982).
    cases = {
        "5 april 09": "2009-04-05",
        "12/31/99": "1999-12-31",
        "1 Jan 68": "2068-01-01",
        "1 Jan 69": "1969-01-01",
        "24.12.82": "1982-12-24",
        "Tuesday, Mar 14, 51": "2051-03-14",
        "31 déc. 03": "2003-12-31",
    }
    wrong = {text: got for text, iso in cases.items() if (got := dates.translate(text).best.text) != iso}
    assert not wrong


def test_date_translation_carries_attention_and_tree(dates) -> None:
    result = dates.translate("Tuesday, Mar 14, 2051", beam_width=4)
    best = result.best
    assert best.finished and best.tokens[-1] == "</s>"
    assert best.attention.shape == (len(best.tokens), len(result.source.tokens))
    assert best.attention.sum(axis=1) == pytest.approx(1.0, abs=1e-4)
    # The year's digits are read off the year in the source: the first output digit attends to the "2051" span.
    year_span = slice(result.source.tokens.index("2"), len(result.source.tokens))
    assert best.attention[0, year_span].sum() > 0.5
    assert len(result.candidates) == 4 and result.candidates[0].score >= result.candidates[-1].score
    assert result.search.path(result.search.best)[-1] == best.node


def test_date_limits(dates) -> None:
    with pytest.raises(InputError):
        dates.translate("   ")
    with pytest.raises(InputError):
        dates.translate("x" * 5000)
    long = dates.translate("14 March 2051 " + "and so on " * 10)
    assert any("first 64 characters" in n for n in long.notices)
    odd = dates.translate("14 March 2051 ☃")
    assert any("never seen" in n and "☃" in n for n in odd.notices)
    wide = dates.translate("14 March 2051", beam_width=50)
    assert any("larger than the vocabulary" in n for n in wide.notices)
    assert wide.best.text == "2051-03-14"


def test_enes_translates_a_verse(enes) -> None:
    result = enes.translate("And God said, Let there be light: and there was light.", beam_width=5)
    best = result.best
    assert best.finished and best.text.strip()
    layers, heads = enes.model.config.decoder_layers, enes.model.config.heads
    assert best.attention.shape == (len(best.tokens), layers, heads, len(result.source.tokens))
    assert best.attention.sum(axis=-1) == pytest.approx(1.0, abs=1e-3)
    # The incremental decoder (key/value cache, reordered by the search) scores each hypothesis exactly
    # as a full teacher-forced pass over it does.
    source = torch.tensor([result.source.ids])
    for hypothesis in result.search.hypotheses:
        target_in = torch.tensor([[enes.bos, *hypothesis.tokens[:-1]]])
        with torch.inference_mode():
            log_probs = enes.model(source, target_in)[0].float().log_softmax(-1)
        expected = sum(float(log_probs[t, token]) for t, token in enumerate(hypothesis.tokens))
        assert hypothesis.log_prob == pytest.approx(expected, abs=1e-3)


def test_enes_reads_fp16_weights_on_the_cpu_and_translates_as_fp32_does(enes) -> None:
    """The registry's translator keeps its Linear weights in fp16 (half the bytes per decoding step); the
    checkpoint is fp16, so the fp32 model gives the same beams."""
    from safetensors.torch import load_file

    from models.core.paths import ASSETS
    from models.translation.transformer import Seq2SeqTransformer, TransformerConfig
    from models.translation.translator import SubwordTranslator, read_config

    assert not any(isinstance(m, torch.nn.Linear) for m in enes.model.modules())
    location = str(ASSETS / "translation" / "enes.safetensors")
    fp32 = Seq2SeqTransformer(read_config(location, TransformerConfig))
    fp32.load_state_dict({k: v.float() for k, v in load_file(location).items()})
    reference = SubwordTranslator(fp32, enes.tokenizer, torch.device("cpu"))
    for text in SubwordTranslator.examples[:4]:
        got, expected = enes.translate(text, beam_width=5), reference.translate(text, beam_width=5)
        assert [c.text for c in got.candidates] == [c.text for c in expected.candidates]
        assert got.best.log_prob == pytest.approx(expected.best.log_prob, abs=1e-4)


def test_enes_limits(enes) -> None:
    result = enes.translate("word " * 400)
    assert any("only the first" in n for n in result.notices)
    assert len(result.source.ids) == enes.model.config.max_len
    odd = enes.translate("peace ☃ 中")
    assert any("never seen" in n for n in odd.notices)


def test_registry_lists_both_models() -> None:
    ids = {spec.id for spec in get_registry().list("translation")}
    assert {"translation-dates", "translation-enes"} <= ids


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory) -> str:
    """A random MarianMT with a small BPE tokenizer, saved like a hub download."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-marian")
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    corpus = ["the house is red", "la casa es roja", "the cat sleeps", "el gato duerme"] * 5
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=60, special_tokens=["<pad>", "</s>", "<unk>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    tokenizer.model_max_length = 32
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = MarianConfig(
        vocab_size=tok.get_vocab_size(),
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=32,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    MarianMTModel(config).eval().save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def user_translator(tiny_marian) -> HFTranslator:
    translator = as_translator(load_hf("translation", tiny_marian, torch.device("cpu")), "tiny marian")
    assert isinstance(translator, HFTranslator)
    return translator


def sequence_log_prob(translator: HFTranslator, source: list[int], tokens: list[int]) -> float:
    """Teacher-forced log P(tokens | source), the pad token banned as in the search."""
    decoder_in = torch.tensor([[translator.start_id, *tokens[:-1]]])
    with torch.inference_mode():
        logits = translator.model(input_ids=torch.tensor([source]), decoder_input_ids=decoder_in).logits[0].float()
        logits[:, translator.banned] = -math.inf
        log_probs = logits.log_softmax(-1)
    return float(sum(log_probs[t, token] for t, token in enumerate(tokens)))


def test_user_marian_greedy_matches_generate(user_translator) -> None:
    result = user_translator.translate("the house is red", method="greedy", max_len=8)
    ids = torch.tensor([result.source.ids])
    generated = user_translator.model.generate(
        input_ids=ids, num_beams=1, do_sample=False, max_new_tokens=8, bad_words_ids=[[0]], forced_eos_token_id=None
    )
    assert result.search.best.tokens == generated[0, 1:].tolist()
    assert result.best.tokens == user_translator.tokenizer.convert_ids_to_tokens(generated[0, 1:].tolist())


def test_user_marian_beam_scores_are_true_log_probs(user_translator) -> None:
    result = user_translator.translate("the cat sleeps", beam_width=4, length_penalty=1.0, max_len=6)
    assert len(result.candidates) == 4
    for hypothesis in result.search.hypotheses:
        expected = sequence_log_prob(user_translator, result.source.ids, hypothesis.tokens)
        assert hypothesis.log_prob == pytest.approx(expected, abs=1e-4)
    best = result.best
    assert best.attention.shape == (len(best.tokens), 2, 2, len(result.source.tokens))
    assert best.attention.sum(axis=-1) == pytest.approx(1.0, abs=1e-4)


def test_user_marian_limits(user_translator) -> None:
    long = user_translator.translate("the house is red " * 20, max_len=4)
    assert any("only the first 32" in n for n in long.notices)
    with pytest.raises(InputError):
        user_translator.translate("")


def test_a_causal_lm_is_refused(tmp_path) -> None:
    from tokenizers import Tokenizer, models
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=10)).save_pretrained(tmp_path)
    tokenizer = Tokenizer(models.WordLevel({"<unk>": 0, "a": 1}, unk_token="<unk>"))
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>").save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError):
        load_hf("translation", str(tmp_path), torch.device("cpu"))
