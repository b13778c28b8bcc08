"""Reading audio: any upload (wav, flac, ogg, mp3) -> 16 kHz mono float32, cut to the page's limit, with
notices for what the listener should know (telephone bandwidth, clipping, silence, a cut)."""

import io
from dataclasses import dataclass, field

import numpy as np
import soundfile
from scipy.signal import resample_poly

from models.core.errors import InputError

SAMPLE_RATE = 16_000  # both recognizers were trained on 16 kHz audio
MAX_SECONDS = 30  # Whisper reads one 30-second window; longer audio is cut
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
FORMATS = ("wav", "flac", "ogg", "mp3")
CLIPPED_LEVEL = 0.999
SILENCE_RMS = 1e-3  # about -60 dBFS


@dataclass
class Audio:
    """Samples (n,) float32 in [-1, 1] at SAMPLE_RATE, mono; `notices` say what was done to the upload."""

    samples: np.ndarray
    source_rate: int = SAMPLE_RATE
    source_channels: int = 1
    notices: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def span(self, start: float, end: float) -> np.ndarray:
        """The samples between `start` and `end` seconds."""
        return self.samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]

    def wav_bytes(self, start: float = 0.0, end: float | None = None) -> bytes:
        """A 16-bit WAV file of the samples between `start` and `end` seconds (for an audio player)."""
        buffer = io.BytesIO()
        soundfile.write(buffer, self.span(start, self.seconds if end is None else end), SAMPLE_RATE, format="WAV")
        return buffer.getvalue()


def to_model_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """(n,) samples at `rate` -> at SAMPLE_RATE, by polyphase filtering (an anti-aliasing low-pass included)."""
    if rate == SAMPLE_RATE:
        return samples.astype(np.float32)
    divisor = np.gcd(rate, SAMPLE_RATE)
    return resample_poly(samples, SAMPLE_RATE // divisor, rate // divisor).astype(np.float32)


def read_audio(data: bytes, max_seconds: float = MAX_SECONDS) -> Audio:
    """The first `max_seconds` of an audio file's bytes as 16 kHz mono. Raises InputError, with a message
    for the person who uploaded it, when the bytes are not audio soundfile can read."""
    if not data:
        raise InputError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB.")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as file:
            rate, channels, total = file.samplerate, file.channels, file.frames
            frames = file.read(frames=int(max_seconds * rate), dtype="float32", always_2d=True)  # (n, channels)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError, EOFError) as exc:
        why = str(getattr(exc, "error_string", "") or type(exc).__name__).strip().rstrip(".").lower()
        why = why.removeprefix("error").strip(" :")  # libsndfile's "Error : flac decoder lost sync"
        raise InputError(f"This file is damaged or not audio ({why}); {', '.join(FORMATS)} files can be read.") from exc
    if len(frames) == 0:
        raise InputError("The file holds no audio samples.")
    if not np.isfinite(frames).all():
        raise InputError("The file's samples are not numbers (NaN or infinite values).")
    notices = []
    if channels > 1:
        notices.append(f"The recording has {channels} channels; they are averaged into one.")
    if total > len(frames) or (total < 0 and len(frames) >= int(max_seconds * rate)):
        notices.append(f"Only the first {max_seconds:g} seconds are used (of {describe_length(total, rate)}).")
    if rate < SAMPLE_RATE:
        notices.append(
            f"Sampled at {rate / 1000:g} kHz (telephone quality): nothing above {rate / 2000:g} kHz was recorded, "
            "so the upper part of the spectrogram is empty and the recognizers hear less than they were trained on."
        )
    clipped = float(np.mean(np.abs(frames) >= CLIPPED_LEVEL))
    if clipped > 0.001:
        notices.append(
            f"{clipped:.1%} of the samples sit at full scale (clipping): the recording was too loud, and the "
            "flattened peaks add harmonics the models never heard in training."
        )
    samples = to_model_rate(frames.mean(axis=1), rate)
    if float(np.sqrt(np.mean(samples**2))) < SILENCE_RMS:
        notices.append("The recording is nearly silent: there is no speech to recognise.")
    return Audio(np.clip(samples, -1.0, 1.0), rate, channels, notices)


def describe_length(frames: int, rate: int) -> str:
    if frames < 0:
        return "an unknown length"
    seconds = frames / rate
    return f"{seconds / 60:.1f} minutes" if seconds >= 120 else f"{seconds:.0f} seconds"
