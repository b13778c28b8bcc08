"""Speech speed and memory: model loads, Whisper tiny.en (our PyTorch module, greedy and beam 5) against
CTranslate2 (int8 and float32) on a 10-second clip, pocketsphinx on the same clip, and the resident memory
both recognizers add. `python -m bench speech`."""

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import torch

from models.core.device import CPU
from models.core.registry import get_registry, resolve_source
from models.speech.audio import SAMPLE_RATE
from models.speech.catalog import SPHINX, WHISPER, read_clip
from models.speech.ctranslate2_to_torch import convert
from models.speech.features import log_mel
from models.speech.sphinx import load_sphinx
from models.speech.transcriber import load_recognizer

SECONDS = 10


def median_s(action: Callable[[], object], repeats: int = 3) -> float:
    action()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ten_seconds() -> np.ndarray:
    """Three sample clips end to end, cut to 10 s."""
    clips = [read_clip(name).samples for name in ("train_rms", "weather_slt", "music_awb")]
    return np.concatenate(clips)[: SECONDS * SAMPLE_RATE]


def run() -> dict[str, object]:
    registry = get_registry()
    whisper_folder = resolve_source(registry.get(WHISPER)).location
    sphinx_folder = resolve_source(registry.get(SPHINX)).location
    process = psutil.Process()
    figures: dict[str, object] = {"torch threads": torch.get_num_threads()}
    resident = process.memory_info().rss
    started = time.perf_counter()
    convert(Path(whisper_folder) / "model.bin")
    figures["Whisper conversion from CTranslate2's model.bin, s"] = time.perf_counter() - started
    started = time.perf_counter()
    whisper = load_recognizer(whisper_folder, CPU)  # converted already (the cached safetensors)
    figures["Whisper load (cached safetensors), s"] = time.perf_counter() - started
    started = time.perf_counter()
    sphinx = load_sphinx(sphinx_folder, CPU)
    figures["pocketsphinx load, s"] = time.perf_counter() - started
    samples = ten_seconds()
    for threads in sorted({1, torch.get_num_threads()}):
        torch.set_num_threads(threads)
        figures[f"Whisper greedy, {SECONDS} s clip, {threads} thread(s), s"] = median_s(
            lambda: whisper.transcribe(samples)
        )
        figures[f"Whisper beam 5, {SECONDS} s clip, {threads} thread(s), s"] = median_s(
            lambda: whisper.transcribe(samples, "beam", 5)
        )
    figures[f"pocketsphinx, {SECONDS} s clip, s"] = median_s(lambda: sphinx.recognize(samples))
    figures["resident memory added by both recognizers (after decoding), MB"] = (
        process.memory_info().rss - resident
    ) / 2**20
    figures["transcript (Whisper greedy)"] = whisper.transcribe(samples).text
    figures["transcript (pocketsphinx)"] = sphinx.recognize(samples).text
    try:
        import ctranslate2
    except ImportError:
        return figures
    features = ctranslate2.StorageView.from_array(log_mel(torch.from_numpy(samples)).numpy()[None])
    prompt = [[whisper.sot, whisper.no_timestamps]]
    for compute_type in ("int8", "float32"):  # one thread, like the app's requests (STUDIO_TORCH_THREADS)
        reference = ctranslate2.models.Whisper(whisper_folder, device="cpu", compute_type=compute_type, intra_threads=1)
        seconds = median_s(lambda reference=reference: reference.generate(features, prompt, beam_size=1))
        figures[f"CTranslate2 {compute_type} greedy (log-mel given), 1 thread, s"] = seconds
    ours = figures[f"Whisper greedy, {SECONDS} s clip, 1 thread(s), s"]
    figures["ratio: ours greedy / CTranslate2 int8 greedy, 1 thread"] = (
        ours / figures["CTranslate2 int8 greedy (log-mel given), 1 thread, s"]
    )
    return figures
