"""Synthesise the speech page's sample and test clips with Debian's flite and espeak-ng.

    python -m training.speech_clips      (or: make train-speech_clips; needs `make speech-voices`)

Each clip is one of the project's own sentences read by one voice at one speed, optionally with white
noise added at a given signal-to-noise ratio, resampled to 16 kHz mono and written as FLAC to
assets/speech/clips/<name>.flac; assets/speech/clips.json lists every clip's text, voice, speed, noise
and the licence of what made it (the card, assets/speech/clips.md, explains them).
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from models.core.paths import ASSETS
from models.speech.audio import SAMPLE_RATE, to_model_rate

FOLDER = ASSETS / "speech" / "clips"
INDEX = ASSETS / "speech" / "clips.json"
LICENCES = {
    "flite": "flite 2.2 (Debian `flite`), CMU ARCTIC voice: BSD-style CMU licence, free to use and redistribute",
    "espeak-ng": "espeak-ng 1.51 (Debian `espeak-ng`, GPL-3.0-or-later program; its output carries no licence of it)",
}
# (name, text, synthesiser, voice, words per minute, signal-to-noise ratio in dB or None)
CLIPS = [
    ("weather_slt", "the weather will be sunny with a light wind in the afternoon", "flite", "slt", 170, None),
    ("train_rms", "the next train to the city leaves from platform four at seven thirty", "flite", "rms", 170, None),
    ("music_awb", "please turn the music down and open the window", "flite", "awb", 170, None),
    ("library_us", "the library closes at nine o'clock on friday evenings", "espeak-ng", "en-us", 150, None),
    ("recipe_gb", "add two cups of flour and stir the mixture slowly", "espeak-ng", "en-gb", 140, None),
    ("weather_slt_noisy", "the weather will be sunny with a light wind in the afternoon", "flite", "slt", 170, 10),
    ("meeting_kal_fast", "the meeting has moved to tuesday morning at ten", "flite", "kal16", 210, None),
    ("computer_us", "computer turn on the lights in the kitchen", "espeak-ng", "en-us", 150, None),
]


def synthesise(text: str, synthesiser: str, voice: str, words_per_minute: int, target: Path) -> None:
    if synthesiser == "flite":
        stretch = 170 / words_per_minute  # flite's duration_stretch: 1 is its own pace (about 170 wpm)
        command = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}", "-t", text, "-o", str(target)]
    else:
        command = ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(target), text]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def main() -> None:
    missing = [program for program in ("flite", "espeak-ng") if shutil.which(program) is None]
    if missing:
        raise SystemExit(f"{', '.join(missing)} missing: run `make speech-voices` first.")
    FOLDER.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    index = []
    with tempfile.TemporaryDirectory() as work:
        for name, text, synthesiser, voice, speed, snr in CLIPS:
            raw = Path(work) / f"{name}.wav"
            synthesise(text, synthesiser, voice, speed, raw)
            samples, rate = soundfile.read(raw, dtype="float32", always_2d=True)
            samples = to_model_rate(samples.mean(axis=1), rate)
            samples = np.pad(samples, SAMPLE_RATE // 4)  # a quarter second of silence on each side
            if snr is not None:
                speech_power = float(np.mean(samples[np.abs(samples) > 0.01] ** 2))
                noise = rng.normal(0.0, np.sqrt(speech_power / 10 ** (snr / 10)), samples.shape)
                samples = samples + noise.astype(np.float32)
            samples = samples / max(1.0, float(np.abs(samples).max()) / 0.95)
            soundfile.write(FOLDER / f"{name}.flac", samples, SAMPLE_RATE, subtype="PCM_16")
            entry = {"name": name, "text": text, "synthesiser": synthesiser, "voice": voice, "words_per_minute": speed}
            entry |= {"noise_snr_db": snr, "seconds": round(len(samples) / SAMPLE_RATE, 2)}
            index.append(entry | {"licence": LICENCES[synthesiser]})
            print(f"{name}: {entry['seconds']} s")
    INDEX.write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
