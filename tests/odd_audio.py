"""Odd audio uploads for the speech page, generated deterministically: silence, noise, clipping, telephone
audio, stereo, a ten-minute file, every accepted format, a truncated file, random bytes and text named .wav.

python -m tests.odd_audio OUTDIR
"""

import io
import sys
from pathlib import Path

import numpy as np
import soundfile

from models.speech.catalog import CLIPS

SPEECH_CLIP = CLIPS / "music_awb.flac"  # "please turn the music down and open the window"


def _encoded(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def speech(rate: int = 16_000) -> np.ndarray:
    samples, clip_rate = soundfile.read(SPEECH_CLIP, dtype="float32")
    if rate == clip_rate:
        return samples
    from scipy.signal import resample_poly

    return resample_poly(samples, rate, clip_rate).astype(np.float32)


def odd_audio() -> dict[str, tuple[str, bytes]]:
    """{kind: (file name, bytes)}; the same bytes on every call."""
    rng = np.random.default_rng(0)
    voice = speech()
    ten_minutes = np.tile(speech(8_000), int(600 / (len(voice) / 16_000)) + 1)[: 600 * 8_000]
    files = {
        "silence": ("silence.wav", _encoded(np.zeros(3 * 16_000, np.float32), 16_000, "WAV", "PCM_16")),
        "noise": ("noise.wav", _encoded(rng.normal(0, 0.2, 3 * 16_000).clip(-1, 1), 16_000, "WAV", "PCM_16")),
        "clipped": ("clipped.wav", _encoded(np.clip(voice * 8, -1, 1), 16_000, "WAV", "PCM_16")),
        "telephone": ("telephone.wav", _encoded(speech(8_000), 8_000, "WAV", "PCM_16")),
        "stereo": ("stereo.flac", _encoded(np.stack([voice, 0.5 * voice], axis=1), 16_000, "FLAC", "PCM_16")),
        "ten_minutes": ("ten_minutes.wav", _encoded(ten_minutes, 8_000, "WAV", "PCM_16")),
        "ogg": ("speech.ogg", _encoded(voice, 16_000, "OGG", "VORBIS")),
        "mp3": ("speech.mp3", _encoded(speech(44_100), 44_100, "MP3", "MPEG_LAYER_III")),
        "text_as_wav": ("notes.wav", b"These are my meeting notes, not a recording.\n" * 20),
        "random_bytes": ("random.flac", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()),
        "empty": ("empty.wav", b""),
    }
    whole = _encoded(voice, 16_000, "FLAC", "PCM_16")
    files["truncated"] = ("truncated.flac", whole[: len(whole) // 3])
    header_only = _encoded(voice, 16_000, "WAV", "PCM_16")[:44]
    files["header_only"] = ("header_only.wav", header_only)
    return files


def write_odd_audio(directory: Path) -> dict[str, Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, (name, data) in odd_audio().items():
        paths[kind] = directory / name
        paths[kind].write_bytes(data)
    return paths


if __name__ == "__main__":
    for kind, path in write_odd_audio(Path(sys.argv[1])).items():
        print(kind, path)
