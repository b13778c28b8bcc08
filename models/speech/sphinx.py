"""pocketsphinx: speech recognition by statistics. A hidden Markov model per phone with Gaussian mixtures
for the sounds (the acoustic model), a pronouncing dictionary from phones to words, and a trigram language
model for which words follow which. The decoder searches for the word sequence that maximises
acoustic score x language score^weight (in logs: a sum, the language model weighted by `language_weight`).

    sphinx = get_registry().load("speech-pocketsphinx")
    result = sphinx.recognize(audio.samples)         # words with time spans and posteriors, the n-best list
    sphinx.phonemes(audio.samples)                    # phones alone, with a phone bigram model instead of words
    sphinx.spot(audio.samples, "light wind", 1e-20)   # keyphrase spotting: where the phrase was heard

pocketsphinx decoders are not thread-safe: each kind is used by one caller at a time (a lock).
"""

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.core.errors import InputError, ModelLoadError
from models.speech.audio import SAMPLE_RATE

FRAMES_PER_SECOND = 100  # pocketsphinx's frame rate (10 ms)
DEFAULT_LANGUAGE_WEIGHT = 6.5  # the en-us model's own setting
FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "SIL", "NSN", "SPN"}
NBEST = 5
VARIANT = re.compile(r"\(\d+\)$")  # "wind(2)": the dictionary's second pronunciation of "wind"


@dataclass
class Segment:
    """A word or phone with its time span (seconds) and scores: `posterior`, P(this word here | the audio)
    over the lattice of alternatives; `acoustic` and `language`, natural-log scores of the two models."""

    text: str
    start: float
    end: float
    posterior: float
    acoustic: float = 0.0
    language: float = 0.0


@dataclass
class SphinxResult:
    text: str
    words: list[Segment]
    nbest: list[str] = field(default_factory=list)
    language_weight: float = DEFAULT_LANGUAGE_WEIGHT


def _log(value: float) -> float:
    return float(np.log(value)) if value > 0 else float("-inf")


def _pcm16(samples: np.ndarray) -> bytes:
    if len(samples) < SAMPLE_RATE // 10:
        raise InputError("The audio is shorter than a tenth of a second: too short to recognise.")
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


class SphinxRecognizer:
    """pocketsphinx's en-us models, from the folder of the installed package (or a user's copy of it)."""

    def __init__(self, model_dir: Path, name: str = "pocketsphinx"):
        from pocketsphinx import Decoder

        self.name, self.model_dir, self._decoder_class = name, Path(model_dir), Decoder
        for needed in ("en-us", "en-us.lm.bin", "cmudict-en-us.dict", "en-us-phone.lm.bin"):
            if not (self.model_dir / needed).exists():
                raise ModelLoadError(f"{self.model_dir} lacks pocketsphinx's {needed}.")
        self._decoders: dict[tuple, object] = {}
        self._lock = threading.Lock()
        self.decoder("words", DEFAULT_LANGUAGE_WEIGHT)  # load the models now, not on the first request

    def decoder(self, kind: str, *settings: object):
        """A decoder of one kind and settings, made once (a few hundred milliseconds) and kept."""
        key = (kind, *settings)
        if key not in self._decoders:
            # Batch cepstral mean normalisation (the whole utterance's mean): the default live estimate carries
            # over from the previous recording, so the same clip would be heard differently after another one.
            base = {"samprate": SAMPLE_RATE, "loglevel": "FATAL", "hmm": str(self.model_dir / "en-us"), "cmn": "batch"}
            base["dict"] = str(self.model_dir / "cmudict-en-us.dict")
            if kind == "words":
                options = {"lm": str(self.model_dir / "en-us.lm.bin"), "lw": settings[0]}
                # One pass (no second flat-lexicon pass) and at most 3,000 active HMMs a frame: 0.76 s instead of
                # 1.25 s on a 10 s clip here, and fewer word errors on the sample clips (45% instead of 50%).
                options |= {"fwdflat": False, "maxhmmpf": 3000}
            elif kind == "phonemes":
                options = {"lm": None, "allphone": str(self.model_dir / "en-us-phone.lm.bin"), "lw": 2.0}
                options |= {"beam": 1e-20, "pbeam": 1e-20}
            else:  # keyphrase spotting
                options = {"lm": None, "keyphrase": settings[0], "kws_threshold": settings[1]}
            if len(self._decoders) > 16:  # settings from a slider: keep the default one, drop the others
                self._decoders = {k: v for k, v in self._decoders.items() if k == ("words", DEFAULT_LANGUAGE_WEIGHT)}
            self._decoders[key] = self._decoder_class(**base, **options)
        return self._decoders[key]

    def _decode(self, decoder, samples: np.ndarray) -> None:
        pcm = _pcm16(samples)  # checked before the utterance starts: a started one must be ended
        decoder.start_utt()
        try:
            decoder.process_raw(pcm, full_utt=True)
        finally:
            decoder.end_utt()

    def _segments(self, decoder) -> list[Segment]:
        return [
            Segment(
                VARIANT.sub("", seg.word),
                seg.start_frame / FRAMES_PER_SECOND,
                (seg.end_frame + 1) / FRAMES_PER_SECOND,
                float(seg.prob),
                _log(seg.ascore),
                _log(seg.lscore),
            )
            for seg in decoder.seg() or ()  # None when nothing was heard
        ]

    def recognize(self, samples: np.ndarray, language_weight: float = DEFAULT_LANGUAGE_WEIGHT) -> SphinxResult:
        """Words (fillers and silences left out) with their spans and scores, and the n-best sentences."""
        if not 0.0 < language_weight <= 50.0:
            raise InputError("The language model weight must be between 0 and 50.")
        with self._lock:
            decoder = self.decoder("words", float(language_weight))
            self._decode(decoder, samples)
            hypothesis = decoder.hyp()
            words = [s for s in self._segments(decoder) if s.text not in FILLERS]
            nbest = []
            for candidate, _ in zip(decoder.nbest(), range(NBEST * 4), strict=False):
                if candidate is None:  # pocketsphinx yields None for a path without words (noise)
                    continue
                text = " ".join(VARIANT.sub("", w) for w in candidate.hypstr.split())
                if text and text not in nbest:
                    nbest.append(text)
                if len(nbest) == NBEST:
                    break
        text = hypothesis.hypstr if hypothesis is not None else ""
        return SphinxResult(" ".join(VARIANT.sub("", w) for w in text.split()), words, nbest, language_weight)

    def phonemes(self, samples: np.ndarray) -> list[Segment]:
        """The phones heard (CMU's ARPAbet set; SIL is silence), decoded with a phone bigram instead of words."""
        with self._lock:
            decoder = self.decoder("phonemes")
            self._decode(decoder, samples)
            return self._segments(decoder)

    def spot(self, samples: np.ndarray, keyphrase: str, threshold: float) -> list[Segment]:
        """Where `keyphrase` was detected: a search for that phrase alone against a garbage loop, reporting
        a detection whenever its score beats the rest by more than `threshold` (smaller: more detections)."""
        words = keyphrase.lower().split()
        if not words:
            raise InputError("Type a keyword to look for.")
        if not 0.0 < threshold < 1.0:
            raise InputError("The detection threshold must be between 0 and 1.")
        with self._lock:
            lexicon = self.decoder("words", DEFAULT_LANGUAGE_WEIGHT)
            unknown = [w for w in words if lexicon.lookup_word(w) is None]
            if unknown:
                raise InputError(f"pocketsphinx's dictionary has no pronunciation for: {', '.join(unknown)}.")
            decoder = self.decoder("keyphrase", " ".join(words), float(threshold))
            self._decode(decoder, samples)
            return self._segments(decoder)


def load_sphinx(location: str, device: object) -> SphinxRecognizer:
    """The registry's loader: pocketsphinx runs on the CPU whatever the device."""
    return SphinxRecognizer(Path(location))
