"""The speech package with its real models: reading odd audio, the features, voice activity, pocketsphinx,
Whisper converted from CTranslate2 (parity with ctranslate2 itself), word timestamps, keywords and WER."""

import json
import struct

import jiwer
import numpy as np
import pytest
import torch

from models.core.device import CPU
from models.core.errors import InputError, ModelLoadError
from models.core.paths import ASSETS
from models.core.registry import get_registry, resolve_source
from models.speech.audio import MAX_SECONDS, SAMPLE_RATE, read_audio
from models.speech.catalog import SPHINX, VAD, WHISPER, clip_entry, clip_index, read_clip
from models.speech.ctranslate2_to_torch import read_ctranslate2
from models.speech.features import features, log_mel
from models.speech.scoring import word_errors
from models.speech.silero import CHUNK
from models.speech.sphinx import SphinxRecognizer
from models.speech.transcriber import WhisperRecognizer, dtw_path, word_groups
from models.speech.vad import energy_vad, model_vad, neural_vad
from tests.odd_audio import odd_audio

# kind -> (seconds read, words a notice must hold, or None for no notice) or the words of the error
ODD_AUDIO = {
    "silence": (3.0, "silent"),
    "noise": (3.0, None),
    "clipped": (3.33, "clipping"),
    "telephone": (3.33, "8 kHz"),
    "stereo": (3.33, "2 channels"),
    "ten_minutes": (MAX_SECONDS, "first 30 seconds"),
    "ogg": (3.33, None),
    "mp3": (3.33, None),
    "text_as_wav": "not audio",
    "random_bytes": "not audio",
    "truncated": "damaged",
    "header_only": "no audio samples",
    "empty": "empty",
}


MUSIC_START = 1.2  # seconds


@pytest.fixture(scope="module")
def whisper() -> WhisperRecognizer:
    return get_registry().load(WHISPER)


@pytest.fixture(scope="module")
def sphinx() -> SphinxRecognizer:
    return get_registry().load(SPHINX)


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    return read_clip("music_awb").samples  # "please turn the music down and open the window"


def odd_audio_samples(kind: str) -> np.ndarray:
    return read_audio(odd_audio()[kind][1]).samples


@pytest.mark.parametrize("kind", ODD_AUDIO)
def test_odd_audio_is_read_or_explained(kind):
    _, data = odd_audio()[kind]
    expected = ODD_AUDIO[kind]
    if isinstance(expected, str):
        with pytest.raises(InputError, match=expected):
            read_audio(data)
        return
    seconds, notice = expected
    audio = read_audio(data)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.seconds == pytest.approx(seconds, abs=0.02)
    assert np.abs(audio.samples).max() <= 1.0
    notices = " ".join(audio.notices)
    assert (notice in notices) if notice else not notices


def test_telephone_audio_is_resampled_and_keeps_its_words(sphinx):
    telephone = read_audio(odd_audio()["telephone"][1])
    assert telephone.source_rate == 8_000 and len(telephone.samples) == pytest.approx(3.33 * SAMPLE_RATE, abs=200)
    spectrum = np.abs(np.fft.rfft(telephone.samples)) ** 2
    frequencies = np.fft.rfftfreq(len(telephone.samples), 1 / SAMPLE_RATE)
    assert spectrum[frequencies > 4_100].sum() < 1e-3 * spectrum.sum()  # nothing above the old Nyquist
    assert "music" in sphinx.recognize(telephone.samples).text


def test_log_mel_is_whispers_own():
    from transformers import WhisperFeatureExtractor  # the reference implementation of Whisper's input

    samples = read_clip("weather_slt").samples
    reference = WhisperFeatureExtractor()(samples, sampling_rate=SAMPLE_RATE, return_tensors="np").input_features[0]
    assert np.abs(log_mel(torch.from_numpy(samples)).numpy() - reference).max() < 1e-4
    heard = features(samples)
    frames = len(samples) // 160
    assert heard.spectrogram_db.shape == (201, frames) and heard.log_mel.shape == (80, frames)
    assert heard.mfcc.shape[0] == 13 and abs(heard.mfcc.shape[1] - frames) <= 3


@pytest.fixture(scope="module")
def silero():
    return get_registry().load(VAD)


def test_voice_activity_finds_the_speech_between_the_silences(music, silero):
    # The clip is padded with a quarter second of silence at each end; pocketsphinx puts "please" at 0.49 s.
    for activity in (energy_vad(music), model_vad(music), neural_vad(music, silero)):
        start = activity.regions[0][0]
        assert 0.2 <= start <= 0.65 and activity.regions[-1][1] >= len(music) / SAMPLE_RATE - 0.6, activity.method
    silence = np.zeros(SAMPLE_RATE, np.float32)
    assert energy_vad(silence).regions == [] and model_vad(silence).regions == []
    assert neural_vad(silence, silero).regions == [] and neural_vad(silence, silero).probability.max() < 0.1
    noise = np.random.default_rng(1).normal(0, 0.1, 2 * SAMPLE_RATE).astype(np.float32)
    assert energy_vad(noise).regions == []  # steady noise is its own floor: nothing rises above it
    assert neural_vad(noise, silero).regions == []  # and the network learned that hiss is not a voice


def test_pocketsphinx_words_nbest_phones_and_keyphrases(sphinx, music):
    result = sphinx.recognize(music)
    assert result.text == "please turn the music down and open the window"
    assert [w.text for w in result.words] == result.text.split()
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and all(w.end > w.start for w in result.words)
    assert all(0.0 <= w.posterior <= 1.0 for w in result.words)
    assert result.text in result.nbest and len(set(result.nbest)) == len(result.nbest) > 1
    phones = [p.text for p in sphinx.phonemes(music) if p.text != "SIL"]
    assert phones[:3] == ["P", "L", "IY"]  # "please" (the rest of the phone loop's guess is rougher)
    music_word = next(w for w in result.words if w.text == "music")
    (spotted,) = sphinx.spot(music, "music", 1e-20)
    assert spotted.start == pytest.approx(music_word.start, abs=0.15)
    assert sphinx.spot(music, "kitchen", 1e-5) == []
    with pytest.raises(InputError, match="no pronunciation"):
        sphinx.spot(music, "qzxv", 1e-20)
    sphinx.recognize(odd_audio_samples("noise"))
    assert sphinx.recognize(music).text == result.text  # what came before does not change what it hears


def test_the_ctranslate2_reader_refuses_what_it_cannot_read(tmp_path):
    model_bin = resolve_source(get_registry().get(WHISPER)).location + "/model.bin"
    spec, arrays = read_ctranslate2(model_bin)
    assert spec == "WhisperSpec" and arrays["decoder/embeddings/weight"].shape == (51864, 384)
    truncated = tmp_path / "model.bin"
    with open(model_bin, "rb") as whole:
        truncated.write_bytes(whole.read(200_000))
    with pytest.raises(ModelLoadError, match="truncated"):
        read_ctranslate2(truncated)
    truncated.write_bytes(struct.pack("<I", 3) + b"\x00" * 64)
    with pytest.raises(ModelLoadError, match="version 3"):
        read_ctranslate2(truncated)


@pytest.mark.parametrize("clip", ["computer_us"])  # the hardest of the clean clips for tiny.en
def test_whisper_matches_ctranslate2(whisper, clip):
    """Our PyTorch module against the reference runtime on the same log-mel input: the same tokens greedy
    and with beam 5, and the same next-token log-probabilities along the transcript."""
    import ctranslate2

    folder = resolve_source(get_registry().get(WHISPER)).location
    reference = ctranslate2.models.Whisper(folder, device="cpu", compute_type="float32", intra_threads=1)
    samples = read_clip(clip).samples
    mel = ctranslate2.StorageView.from_array(log_mel(torch.from_numpy(samples)).numpy()[None])
    prompt = [[whisper.sot, whisper.no_timestamps]]
    greedy = reference.generate(mel, prompt, beam_size=1, return_logits_vocab=True)[0]
    assert greedy.sequences_ids[0] == whisper.transcribe(samples, "greedy").tokens
    beam = reference.generate(mel, prompt, beam_size=5)[0]
    assert beam.sequences_ids[0] == whisper.transcribe(samples, "beam", 5).tokens
    tokens = greedy.sequences_ids[0]
    theirs = torch.from_numpy(np.stack([np.asarray(step).reshape(-1) for step in greedy.logits[0]]))
    suppressed = theirs < -1e30  # CTranslate2 gives suppressed tokens the lowest float32
    assert torch.equal(suppressed[0], whisper.suppress_first) and torch.equal(suppressed[1], whisper.suppress)
    ours = whisper.forced_log_probs(whisper.encode(whisper.preprocess(samples)), [tokens])[0, 1 : 2 + len(tokens)]
    ours = ours.masked_fill(suppressed, float("-inf")).log_softmax(-1)
    theirs = theirs.masked_fill(suppressed, float("-inf")).log_softmax(-1)
    chosen = torch.tensor([*tokens, whisper.eot])
    assert (ours[torch.arange(len(chosen)), chosen] - theirs[torch.arange(len(chosen)), chosen]).abs().max() < 1e-3


def test_whisper_transcribes_with_word_times(whisper, music):
    written: list[str] = []
    transcript = whisper.transcribe(music, "beam", 3, on_step=written.append)
    assert written[0] == "" and written[2] == "Please turn" and len(written) >= len(transcript.tokens)
    assert word_errors(clip_entry("music_awb")["text"], transcript.text).wer == 0.0
    assert len(transcript.tokens) == len(transcript.token_probs) == transcript.attention.shape[1]
    assert transcript.attention.shape[0] == len(whisper.alignment_heads)
    assert all(0.0 < p <= 1.0 for p in transcript.token_probs)
    assert transcript.no_speech_prob < 0.2
    assert transcript.candidates[0][0] == transcript.text and len(transcript.candidates) == 3
    words = [w.text.strip(".,").lower() for w in transcript.words]
    assert words == ["please", "turn", "the", "music", "down", "and", "open", "the", "window"]
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts) and transcript.words[-1].end <= len(music) / SAMPLE_RATE + 1e-6
    # pocketsphinx's acoustic segmentation puts "music" at MUSIC_START: cross-attention finds it too.
    music_start = next(w.start for w in transcript.words if w.text.strip(".,").lower() == "music")
    assert music_start == pytest.approx(MUSIC_START, abs=0.3)


def test_whisper_keyword_curve_peaks_before_the_keyword(whisper):
    samples = read_clip("computer_us").samples
    transcript = whisper.transcribe(samples, "greedy")
    curve = whisper.keyword_curve(samples, transcript, "kitchen")
    kitchen = next(i for i, w in enumerate(transcript.words) if "kitchen" in w.text.lower())
    assert curve.probabilities[kitchen] > 0.9
    assert max(p for i, p in enumerate(curve.probabilities) if i != kitchen) < 0.1
    with pytest.raises(InputError):
        whisper.keyword_curve(samples, transcript, "   ")


def test_dtw_and_word_groups():
    cost = np.array([[0, 1, 1, 1], [1, 0, 0, 1], [1, 1, 1, 0]], dtype=float)
    tokens, frames = dtw_path(cost)
    assert list(zip(tokens, frames, strict=True)) == [(0, 0), (1, 1), (1, 2), (2, 3)]
    assert word_groups([" The", " weather", "'s", " fine", "."]) == [[0], [1, 2], [3, 4]]


def test_word_errors_agree_with_jiwer_and_align_both_sides():
    reference, hypothesis = "The cat sat on the mat.", "the cat sit on mat today"
    errors = word_errors(reference, hypothesis)
    assert errors.wer == pytest.approx(jiwer.wer("the cat sat on the mat", "the cat sit on mat today"))
    assert " ".join(e.reference for e in errors.edits if e.reference) == "the cat sat on the mat"
    assert " ".join(e.hypothesis for e in errors.edits if e.hypothesis) == "the cat sit on mat today"
    assert word_errors("Hello, world!", "hello world").wer == 0.0
    assert word_errors("two words", "").deletions == 2
    with pytest.raises(InputError):
        word_errors("  ", "something")


def test_the_committed_scores_are_those_of_the_committed_clips():
    scores = json.loads((ASSETS / "speech" / "scores.json").read_text(encoding="utf-8"))
    assert [row["clip"] for row in scores["clips"]] == [entry["name"] for entry in clip_index()]
    for row in scores["clips"]:
        assert row["parity"]["same_tokens_beam1"] and row["parity"]["same_tokens_beam5"]
        for model in (WHISPER, SPHINX):
            assert row[model]["wer"] == pytest.approx(word_errors(row["reference"], row[model]["text"]).wer)


def test_recognizers_refuse_bad_settings(whisper, sphinx, music):
    with pytest.raises(InputError):
        whisper.transcribe(music, "beam", 99)
    with pytest.raises(InputError):
        whisper.preprocess(np.zeros(31 * SAMPLE_RATE, np.float32))
    with pytest.raises(InputError):
        sphinx.recognize(music[:100])
    with pytest.raises(InputError):
        sphinx.recognize(music, language_weight=0)
    assert whisper.device == CPU


def test_silero_vad_in_pytorch_matches_the_wheels_torchscript_model(silero):
    """Our module, all chunks through the convolutions at once, against the wheel's own TorchScript model fed
    chunk by chunk (its reference use), on every sample clip."""
    threads = torch.get_num_threads()
    from silero_vad import load_silero_vad  # its import sets torch to one thread

    torch.set_num_threads(threads)
    reference = load_silero_vad()
    for entry in clip_index():
        samples = read_clip(entry["name"]).samples
        padded = np.pad(samples, (0, -len(samples) % CHUNK))
        reference.reset_states()
        with torch.inference_mode():
            expected = [float(reference(torch.from_numpy(chunk), SAMPLE_RATE)) for chunk in padded.reshape(-1, CHUNK)]
            ours = silero(torch.from_numpy(samples)).numpy()
        assert len(ours) == len(expected)
        assert np.abs(ours - np.array(expected)).max() < 1e-4, entry["name"]
        assert max(expected) > 0.5, entry["name"]  # every clip holds speech
