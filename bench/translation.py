"""Translation latency per sentence on one CPU thread (the app's policy): greedy and beam 5 for the date
model and the English -> Spanish transformer (target: a 20-word sentence at beam 5 under 150 ms), the
Apertium and IBM Model 1 panels, and, for a transformers MarianMT (random weights, the project model's
size and tokenizer), our beam search against `model.generate` as a ratio (> 1: ours is faster)."""

import statistics
import tempfile
import time
from collections.abc import Callable

import torch

from models.core.loaders import load_hf
from models.core.paths import ASSETS
from models.core.registry import get_registry
from models.translation.baselines import apertium_mode, apertium_sentence
from models.translation.ibm1 import words
from models.translation.transformer import TransformerConfig
from models.translation.translator import as_translator, read_config

DATES = [
    "Thursday, 14 March 2041",
    "4 de marzo de 2051",
    "Montag, 29. Feb. 1960",
    "3/4/1999",
    "vendredi 24 déc. 1982",
    "Wednesday, Dec 31, 2003",
]
# Twenty-word English sentences in the style of the training data.
SENTENCES = [
    "Then the king sent his servants to the city, and they gathered all the people who were living there together.",
    "He said to them, Go into all the world, and tell the good news to every person who is willing to hear.",
    "The word of the Lord came to me again, saying, Son of man, speak to the elders of your people today.",
]


def median_ms(action: Callable[[], object], inputs: list[str], repeats: int = 3) -> float:
    for text in inputs[:2]:  # warm-up
        action(text)
    times = []
    for _ in range(repeats):
        for text in inputs:
            start = time.perf_counter()
            action(text)
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def tiny_marian(folder: str) -> None:
    """A random MarianMT as big as the project's transformer, with its BPE tokenizer."""
    ours = read_config(str(ASSETS / "translation" / "enes.safetensors"), TransformerConfig)
    from tokenizers import Tokenizer
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    tokenizer = Tokenizer.from_file(str(ASSETS / "translation" / "enes_tokenizer.json"))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(folder)
    config = MarianConfig(
        vocab_size=tokenizer.get_vocab_size(),
        d_model=ours.d_model,
        encoder_layers=ours.encoder_layers,
        decoder_layers=ours.decoder_layers,
        encoder_attention_heads=ours.heads,
        decoder_attention_heads=ours.heads,
        encoder_ffn_dim=ours.ffn,
        decoder_ffn_dim=ours.ffn,
        max_position_embeddings=256,
        pad_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=1,
        forced_eos_token_id=None,
    )
    torch.manual_seed(0)
    MarianMTModel(config).eval().save_pretrained(folder)


def run() -> dict[str, float | str]:
    torch.set_num_threads(1)
    registry = get_registry()
    figures: dict[str, float | str] = {"threads": float(torch.get_num_threads())}
    for model_id, inputs, label in [
        ("translation-dates", DATES, "dates"),
        ("translation-enes", SENTENCES, "en->es 20 words"),
    ]:
        translator = registry.load(model_id)
        figures[f"{label} greedy (ms)"] = median_ms(lambda t, tr=translator: tr.translate(t, method="greedy"), inputs)
        figures[f"{label} beam 5 (ms)"] = median_ms(lambda t, tr=translator: tr.translate(t, beam_width=5), inputs)
    ibm1 = registry.load("translation-ibm1")
    spanish = words(registry.load("translation-enes").translate(SENTENCES[0]).best.text)
    figures["IBM Model 1 alignment matrix (ms)"] = median_ms(lambda t: ibm1.alignment(words(t), spanish), SENTENCES)
    if apertium_mode():
        figures["Apertium, one sentence (ms)"] = median_ms(apertium_sentence, SENTENCES)

    with tempfile.TemporaryDirectory() as folder:
        tiny_marian(folder)
        translator = as_translator(load_hf("translation", folder, torch.device("cpu")), "random MarianMT")
        max_len = 30  # random weights rarely stop by themselves: both decoders run the full length

        def ours(text: str) -> object:
            return translator.translate(text, beam_width=5, max_len=max_len)

        def generate(text: str) -> object:
            ids = translator.tokenizer(text, return_tensors="pt")
            with torch.inference_mode():
                return translator.model.generate(**ids, num_beams=5, max_new_tokens=max_len, bad_words_ids=[[0]])

        ours_ms, generate_ms = median_ms(ours, SENTENCES), median_ms(generate, SENTENCES)
    figures["MarianMT (random) beam 5, ours (ms)"] = ours_ms
    figures["MarianMT (random) beam 5, generate (ms)"] = generate_ms
    figures["MarianMT generate / ours (target >= 1)"] = generate_ms / ours_ms
    return figures
