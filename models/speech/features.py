"""What the recognizers hear: a spectrogram, Whisper's log-mel filterbank and pocketsphinx's MFCCs.

Both start the same way: cut the waveform into short overlapping windows (25 ms, every 10 ms) and take each
window's power spectrum. Whisper sums the spectrum into 80 mel bands (narrow at low frequencies, wide at
high ones, like the ear) and takes the log; pocketsphinx uses 40 bands, then a discrete cosine transform
of their logs, keeping 13 coefficients (the cepstrum: the spectrum's overall shape, without its fine
harmonic detail).
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from scipy.fft import dct

from models.speech.audio import SAMPLE_RATE

# Whisper's front end
N_FFT = 400  # 25 ms windows
HOP = 160  # every 10 ms: 100 frames a second
N_MELS = 80
CHUNK_SAMPLES = 30 * SAMPLE_RATE  # Whisper always reads 30 seconds, padding with silence
CHUNK_FRAMES = CHUNK_SAMPLES // HOP  # 3000
# pocketsphinx's front end (its defaults for 16 kHz models)
SPHINX_WINDOW = 410  # 25.6 ms
SPHINX_FFT = 512
SPHINX_MELS = 40
SPHINX_LOW, SPHINX_HIGH = 133.33, 6855.5  # Hz
SPHINX_CEPSTRA = 13
PRE_EMPHASIS = 0.97


@dataclass
class Features:
    """Frames at 100 a second (one per 10 ms hop) of one clip: `spectrogram_db` (201 frequencies, T) in dB,
    `log_mel` (80, T) as Whisper normalises it, `mfcc` (13, T)."""

    spectrogram_db: np.ndarray
    log_mel: np.ndarray
    mfcc: np.ndarray

    @property
    def frequencies(self) -> np.ndarray:
        return np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)


@cache
def whisper_filters() -> torch.Tensor:
    """(80, 201) triangular mel filters, Slaney's scale and area normalisation, as Whisper's were made."""
    from transformers.audio_utils import mel_filter_bank  # imported here: transformers takes a second to load

    bank = mel_filter_bank(N_FFT // 2 + 1, N_MELS, 0.0, SAMPLE_RATE / 2, SAMPLE_RATE, norm="slaney", mel_scale="slaney")
    return torch.from_numpy(bank.T.astype(np.float32))


@cache
def sphinx_filters() -> np.ndarray:
    """(40, 257) triangular filters on the HTK mel scale between 133 and 6855 Hz."""
    from transformers.audio_utils import mel_filter_bank

    bank = mel_filter_bank(SPHINX_FFT // 2 + 1, SPHINX_MELS, SPHINX_LOW, SPHINX_HIGH, SAMPLE_RATE, mel_scale="htk")
    return bank.T.astype(np.float32)


def power_spectrum(samples: torch.Tensor) -> torch.Tensor:
    """(n,) samples -> (201, n // 160) power per frequency bin and 10 ms frame (Hann windows, centred)."""
    window = torch.hann_window(N_FFT, device=samples.device)
    stft = torch.stft(samples, N_FFT, HOP, window=window, return_complex=True)  # (201, n // 160 + 1)
    return stft[:, :-1].abs() ** 2


def log_mel(samples: torch.Tensor) -> torch.Tensor:
    """(n,) samples, n <= 30 s -> (80, 3000) Whisper input: padded to 30 s, log10 of mel power, floored at
    8 (x 10 dB) below the loudest value, then scaled to about [-1, 1]."""
    padded = torch.nn.functional.pad(samples.float(), (0, CHUNK_SAMPLES - samples.numel()))
    mel = whisper_filters().to(samples.device) @ power_spectrum(padded)  # (80, 3000)
    log = mel.clamp(min=1e-10).log10()
    log = torch.maximum(log, log.max() - 8.0)
    return (log + 4.0) / 4.0


def mfcc(samples: np.ndarray) -> np.ndarray:
    """(n,) samples -> (13, T) MFCCs the way pocketsphinx computes them: pre-emphasis, 25.6 ms Hamming
    windows every 10 ms, 40 mel bands, log, DCT."""
    emphasised = np.append(samples[:1], samples[1:] - PRE_EMPHASIS * samples[:-1])
    count = max(1, 1 + (len(emphasised) - SPHINX_WINDOW) // HOP)
    padded = np.pad(emphasised, (0, max(0, SPHINX_WINDOW - len(emphasised))))
    starts = np.arange(count) * HOP
    frames = padded[starts[:, None] + np.arange(SPHINX_WINDOW)] * np.hamming(SPHINX_WINDOW)  # (T, 410)
    power = np.abs(np.fft.rfft(frames, SPHINX_FFT)) ** 2  # (T, 257)
    bands = np.log(np.maximum(power @ sphinx_filters().T, 1e-10))  # (T, 40)
    return dct(bands, type=2, norm="ortho", axis=1)[:, :SPHINX_CEPSTRA].T.astype(np.float32)


def features(samples: np.ndarray) -> Features:
    """Every view of one clip (at most 30 s), cut to the clip's own frames (no padding)."""
    tensor = torch.from_numpy(samples.astype(np.float32))
    frames = max(1, len(samples) // HOP)
    power = power_spectrum(torch.nn.functional.pad(tensor, (0, max(0, N_FFT - len(samples)))))[:, :frames]
    spectrogram_db = 10 * torch.log10(power.clamp(min=1e-10))
    return Features(spectrogram_db.numpy(), log_mel(tensor)[:, :frames].numpy(), mfcc(samples)[:, :frames])
