"""Voice activity: which parts of a recording hold speech.

Three detectors: a rule on loudness (`energy_vad`: a frame is speech when its energy rises far enough above
the recording's noise floor, with a hangover so that short pauses inside words do not split them), a
statistical one, pocketsphinx's port of WebRTC's detector (`model_vad`: Gaussian mixtures of speech and
noise over six frequency bands, 30 ms frames), and a neural network, Silero VAD (`neural_vad`: a probability
of speech every 32 ms, models/speech/silero.py).
"""

from dataclasses import dataclass

import numpy as np
import torch

from models.speech.audio import SAMPLE_RATE
from models.speech.silero import CHUNK, SileroVAD

FRAME = 480  # 30 ms, the frame the WebRTC detector takes at 16 kHz
MARGIN_DB = 12.0  # speech: this far above the noise floor
HANGOVER_FRAMES = 8  # 240 ms: a pause shorter than this stays inside the region
MIN_REGION_FRAMES = 3  # a region shorter than 90 ms is a click, not speech
SPEECH_PROBABILITY = 0.5  # Silero VAD's own default threshold


@dataclass
class VoiceActivity:
    """Per 30 ms frame: its start time (s), energy (dB), and whether it is speech; `regions` are the
    speech spans (start, end) in seconds; `threshold_db` is the energy rule's line (None for the models);
    `probability` the neural network's probability of speech per frame (None for the others)."""

    method: str
    times: np.ndarray
    energy_db: np.ndarray
    speech: np.ndarray
    regions: list[tuple[float, float]]
    threshold_db: float | None = None
    probability: np.ndarray | None = None


def frame_energy_db(samples: np.ndarray) -> np.ndarray:
    """(n,) samples -> (n // 480,) mean power of each 30 ms frame in dB (full scale = 0 dB)."""
    count = max(1, len(samples) // FRAME)
    frames = np.pad(samples, (0, max(0, count * FRAME - len(samples))))[: count * FRAME].reshape(count, FRAME)
    return 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)


def frame_times(count: int) -> np.ndarray:
    """The start time (s) of each of `count` 30 ms frames."""
    return np.arange(count) * FRAME / SAMPLE_RATE


def regions_of(speech: np.ndarray) -> list[tuple[float, float]]:
    """Runs of speech frames as (start, end) seconds, dropping runs shorter than MIN_REGION_FRAMES."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], speech.astype(np.int8), [0]])))
    seconds = FRAME / SAMPLE_RATE
    return [
        (float(start * seconds), float(end * seconds))
        for start, end in zip(edges[::2], edges[1::2], strict=True)
        if end - start >= MIN_REGION_FRAMES
    ]


def with_hangover(raw: np.ndarray) -> np.ndarray:
    """Frames within HANGOVER_FRAMES after a speech frame count as speech too."""
    held = raw.copy()
    for shift in range(1, HANGOVER_FRAMES + 1):
        held[shift:] |= raw[:-shift]
    return held


def energy_vad(samples: np.ndarray, margin_db: float = MARGIN_DB) -> VoiceActivity:
    """Speech where the frame energy is `margin_db` above the noise floor (the 10th percentile of the
    frames' energies: most recordings are silent at least a tenth of the time) and above -60 dB."""
    energy = frame_energy_db(samples)
    threshold = max(float(np.percentile(energy, 10)) + margin_db, -60.0)
    speech = with_hangover(energy > threshold)
    return VoiceActivity("energy rule", frame_times(len(energy)), energy, speech, regions_of(speech), threshold)


def model_vad(samples: np.ndarray, strictness: int = 2) -> VoiceActivity:
    """pocketsphinx's WebRTC-style detector on each 30 ms frame (strictness 0 loose ... 3 strict)."""
    from pocketsphinx import Vad

    detector = Vad(strictness, SAMPLE_RATE, FRAME / SAMPLE_RATE)
    energy = frame_energy_db(samples)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    speech = np.array(
        [detector.is_speech(pcm[i * FRAME : (i + 1) * FRAME].tobytes()) for i in range(len(pcm) // FRAME)], dtype=bool
    )
    speech = with_hangover(np.pad(speech, (0, len(energy) - len(speech))))
    return VoiceActivity("statistical model (WebRTC)", frame_times(len(energy)), energy, speech, regions_of(speech))


def neural_vad(samples: np.ndarray, model: SileroVAD, threshold: float = SPEECH_PROBABILITY) -> VoiceActivity:
    """Silero VAD's probability of speech per 32 ms chunk, read at each 30 ms frame's centre; speech above
    `threshold`, with the same hangover as the other detectors."""
    weights = next(model.parameters())
    with torch.inference_mode():
        per_chunk = model(torch.from_numpy(samples).to(weights.device, weights.dtype)).float().cpu().numpy()
    energy = frame_energy_db(samples)
    centres = (np.arange(len(energy)) * FRAME + FRAME // 2) // CHUNK
    probability = per_chunk[np.minimum(centres, len(per_chunk) - 1)]
    speech = with_hangover(probability > threshold)
    return VoiceActivity(
        "neural network (Silero VAD)", frame_times(len(energy)), energy, speech, regions_of(speech), None, probability
    )
