"""Speech: from a waveform to words, by statistics (pocketsphinx) and by a transformer (Whisper tiny.en)."""

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

import ui
import url_params as P
from models.core import display
from models.core.paths import ASSETS
from models.generation.decoding import Step
from models.generation.plots import coloured_html
from models.speech import plots
from models.speech.audio import FORMATS, MAX_SECONDS, SAMPLE_RATE, Audio, read_audio
from models.speech.catalog import SPHINX, VAD, WHISPER, as_recognizer, as_vad, clip_entry, clip_names, read_clip
from models.speech.features import HOP, features
from models.speech.scoring import word_errors
from models.speech.sphinx import DEFAULT_LANGUAGE_WEIGHT
from models.speech.vad import energy_vad, model_vad, neural_vad
from models.translation.plots import beam_tree
from models.translation.replay import beams_at, steps_taken
from models.translation.translator import as_translator

T = TypeVar("T")
RESULTS = "speech_results"  # this session's recognitions, by clip and settings: tabs and reruns reuse them

ui.header(
    "Speech",
    "Two ways from sound to words: pocketsphinx scores phone models and a trigram language model (statistics), "
    "Whisper's transformer reads a log-mel picture of the sound and writes tokens (a neural network). "
    "Record yourself, upload a file or pick a sample.",
)


def remembered(key: tuple, compute: Callable[[], T | None]) -> T | None:
    """`compute()` once per session for `key` (a clip's digest and the settings); None (an error, shown) is
    not kept."""
    store: dict = st.session_state.setdefault(RESULTS, {})
    if key not in store:
        value = compute()
        if value is None:
            return None
        if len(store) >= 24:
            store.clear()
        store[key] = value
    return store[key]


# ---- input: a sample, the microphone or a file
source = st.segmented_control("Audio", **ui.bound(P.SPEECH_SOURCE)) or P.SPEECH_SOURCE.default
audio: Audio | None = None
reference_text = ""
if source == "Sample":
    names = clip_names()
    name = st.selectbox(
        "Sample clip",
        **ui.bound(P.SPEECH_SAMPLE.given(choices=names, default=names[0])),
        format_func=lambda n: f"{clip_entry(n)['text']}  ({clip_entry(n)['voice']}, {clip_entry(n)['synthesiser']})",
    )
    audio, reference_text = read_clip(name), clip_entry(name)["text"]
    st.caption(
        f"Synthesised speech ({clip_entry(name)['synthesiser']}, voice {clip_entry(name)['voice']}"
        + (f", white noise at {clip_entry(name)['noise_snr_db']} dB SNR" if clip_entry(name)["noise_snr_db"] else "")
        + "). Every clip's source and licence are in the card under *How it works*."
    )
elif source == "Microphone":
    recording = st.audio_input("Record (your browser asks for the microphone first)", key="speech_microphone")
    st.caption(
        "Nothing is recorded until you press the microphone button. If the browser was refused the microphone, "
        "allow it in the address bar's site settings, or use *Upload*."
    )
    audio = ui.run_or_report(lambda: read_audio(recording.getvalue())) if recording else None
else:
    upload = st.file_uploader(
        f"An audio file ({', '.join(FORMATS)}; the first {MAX_SECONDS} s are used)",
        type=list(FORMATS),
        key="speech_upload",
    )
    audio = ui.run_or_report(lambda: read_audio(upload.getvalue())) if upload else None
if audio is None:
    if source != "Sample":
        st.info("Record or upload some speech to see what the recognizers make of it.", icon=":material/mic:")
    ui.sync_url()
    st.stop()

for notice in audio.notices:
    st.info(notice, icon=":material/info:")
st.audio(audio.wav_bytes(), format="audio/wav")
digest = hashlib.sha256(audio.samples.tobytes()).hexdigest()[:16]
st.caption(f"{audio.seconds:.1f} s at {SAMPLE_RATE / 1000:g} kHz, mono: what both recognizers take.")


def whisper_transcript(method: str = "beam", width: int = 5, watch: bool = False):
    """Whisper's transcript; with `watch`, the likeliest hypothesis is shown as the search writes it."""
    live = st.empty() if watch else None

    def transcribe(model):
        on_step = (lambda text: live.markdown(f"✍️ {text}▌")) if live is not None else None
        return model.transcribe(audio.samples, method, width, on_step=on_step)

    transcript = remembered(("whisper", digest, method, width), lambda: ui.infer(WHISPER, as_recognizer, transcribe))
    if live is not None:
        live.empty()
    return transcript


def sphinx_result(language_weight: float = DEFAULT_LANGUAGE_WEIGHT):
    return remembered(
        ("sphinx", digest, language_weight),
        lambda: ui.infer(SPHINX, as_recognizer, lambda model: model.recognize(audio.samples, language_weight)),
    )


with ui.main_result():
    tabs = dict(zip(P.SPEECH_VIEWS, st.tabs(P.SPEECH_VIEWS, key=P.SPEECH_VIEW.key, bind="query-params"), strict=True))

# ---- 1. what the models hear
if tabs["What the models hear"].open:
    with tabs["What the models hear"]:
        margin = st.slider(
            "Energy rule: speech is this many dB above the noise floor",
            **ui.bound(P.SPEECH_VAD_MARGIN),
            help="The noise floor is the quietest tenth of the recording's 30 ms frames.",
        )
        detectors = [energy_vad(audio.samples, margin), model_vad(audio.samples)]
        neural = remembered(("vad", digest), lambda: ui.infer(VAD, as_vad, lambda vad: neural_vad(audio.samples, vad)))
        detectors += [neural] if neural is not None else []
        st.plotly_chart(
            plots.waveform(audio, {detector.method: detector.regions for detector in detectors}),
            width="stretch",
            key="speech_waveform",
        )
        st.caption(
            "The waveform: air pressure at the microphone, 16,000 numbers a second. Shaded: where each detector "
            "heard speech. The energy rule only knows loudness (a slammed door is speech to it); the statistical "
            "model compares the frame's spectrum with Gaussian models of speech and of noise; the neural network "
            "(Silero VAD) learned from recordings in many languages and noises, and gives a probability of speech "
            "every 32 ms (speech above 0.5)."
        )
        spans = [
            (f"speech region {i + 1} ({detector.method})", s, e)
            for detector in detectors
            for i, (s, e) in enumerate(detector.regions)
        ]
        if spans:
            picked = st.selectbox(
                "Play a region",
                range(len(spans)),
                format_func=lambda i: f"{spans[i][0]}: {spans[i][1]:.2f}–{spans[i][2]:.2f} s",
                key="speech_region",
            )
            _, start, end = spans[picked if picked is not None and picked < len(spans) else 0]
            st.audio(audio.wav_bytes(start, end), format="audio/wav")
        else:
            st.info("No detector found speech in this recording.", icon=":material/info:")
        heard = features(audio.samples)
        frames_per_second = SAMPLE_RATE / HOP
        st.markdown("**Spectrogram**: how much of each frequency, every 10 ms")
        st.plotly_chart(
            plots.time_heatmap(heard.spectrogram_db, frames_per_second, "Hz", "dB", heard.frequencies),
            width="stretch",
        )
        st.markdown("**Log-mel filterbank**: Whisper's input (80 bands, log, scaled)")
        st.plotly_chart(plots.time_heatmap(heard.log_mel, frames_per_second, "mel band", "log"), width="stretch")
        st.markdown("**MFCCs**: pocketsphinx's input (13 cepstral coefficients)")
        st.plotly_chart(plots.time_heatmap(heard.mfcc, frames_per_second, "coefficient", "value"), width="stretch")
        st.caption(
            "Each column comes from a 25 ms window of the waveform (400 samples; pocketsphinx: 25.6 ms), moved on "
            "by 10 ms (the hop), so windows overlap and nothing between them is missed. The spectrogram keeps "
            "201 frequencies; the mel filterbank sums them into bands that widen with frequency, as the ear's do; "
            "the MFCCs are a cosine transform of 40 such bands' logs, keeping the spectrum's shape and dropping "
            "the pitch's fine detail. Whisper always reads 30 s: the rest is padded with silence."
        )

# ---- 2. statistics: pocketsphinx
if tabs["Statistics: pocketsphinx"].open:
    with tabs["Statistics: pocketsphinx"]:
        result = sphinx_result()
        if result is not None:
            st.markdown(f"#### {result.text or '(nothing recognised)'}")
            words = [(w.text, w.start, w.end, w.posterior) for w in result.words]
            st.plotly_chart(plots.waveform(audio, words=words), width="stretch", key="speech_sphinx_words")
            st.caption(
                "Each word's time span as the decoder placed it; darker: a higher posterior probability (how much "
                "of the lattice of competing word sequences goes through this word here)."
            )
            if result.words:
                st.dataframe(
                    pd.DataFrame(
                        {
                            "word": [w.text for w in result.words],
                            "from (s)": [round(w.start, 2) for w in result.words],
                            "to (s)": [round(w.end, 2) for w in result.words],
                            "posterior": [round(w.posterior, 3) for w in result.words],
                            "acoustic log score": [round(w.acoustic, 1) for w in result.words],
                            "language log P": [round(w.language, 2) for w in result.words],
                        }
                    ),
                    hide_index=True,
                    width="stretch",
                )
            left, right = st.columns(2)
            left.markdown("**N-best list** (the decoder's next-best sentences)")
            left.dataframe(pd.DataFrame({"sentence": result.nbest}), hide_index=True, width="stretch")
            phones = remembered(
                ("phones", digest),
                lambda: ui.infer(SPHINX, as_recognizer, lambda model: model.phonemes(audio.samples)),
            )
            right.markdown("**Phonemes** (phones alone, no dictionary or word model)")
            if phones is not None:
                right.code(" ".join(p.text for p in phones if p.text != "SIL") or "(none)", language=None)
            st.markdown("**What the language model contributes**")
            weight = st.slider(
                f"Language model weight (the en-us model's own: {DEFAULT_LANGUAGE_WEIGHT:g})",
                **ui.bound(P.SPEECH_LM_WEIGHT),
                help="Score = acoustic log-likelihood + weight x language model log-probability.",
            )
            other = sphinx_result(weight)
            if other is not None and weight != DEFAULT_LANGUAGE_WEIGHT:
                left, right = st.columns(2)
                left.metric(f"Weight {DEFAULT_LANGUAGE_WEIGHT:g}", result.text or "(nothing)", delta_color="off")
                right.metric(f"Weight {weight:g}", other.text or "(nothing)", delta_color="off")
            st.caption(
                "Move the weight to decode again. A small weight lets the sounds decide (words that sound right but "
                "make no sense, and a slower search: more word sequences stay close); a large one makes the decoder "
                "prefer likely word sequences, even over what it heard."
            )

# ---- 3. a transformer: Whisper
if tabs["A transformer: Whisper"].open:
    with tabs["A transformer: Whisper"]:
        columns = st.columns(2)
        method = columns[0].segmented_control(
            "Decoding", **ui.bound(P.SPEECH_METHOD), format_func={"greedy": "Greedy", "beam": "Beam search"}.get
        )
        method = method or P.SPEECH_METHOD.default
        width = columns[1].slider("Beam width", **ui.bound(P.SPEECH_WIDTH), disabled=method == "greedy")
        transcript = whisper_transcript(method, width if method == "beam" else 1, watch=True)
        greedy = whisper_transcript("greedy", 1) if transcript is not None and method == "beam" else transcript
        if transcript is not None:
            steps = [
                Step(token, text, text.strip() or "·", prob, (), False)
                for token, text, prob in zip(
                    transcript.tokens, transcript.token_texts, transcript.token_probs, strict=True
                )
            ]
            st.html(coloured_html(steps))
            ui.colour_legend(
                "unlikely",
                "likely",
                [display.probability_colour(p / 4) for p in range(5)],
                "Probability of each token:",
            )
            st.caption(
                f"{len(steps)} tokens, log P {transcript.log_prob:.2f}. Whisper's probability that nobody speaks: "
                f"{transcript.no_speech_prob:.0%}"
                + (" (high: the words may be invented)." if transcript.no_speech_prob > 0.5 else ".")
            )
            if greedy is not None and method == "beam" and greedy.text != transcript.text:
                left, right = st.columns(2)
                left.metric("Greedy", greedy.text or "(empty)", f"log P {greedy.log_prob:.2f}", delta_color="off")
                right.metric(
                    f"Beam {width}", transcript.text or "(empty)", f"log P {transcript.log_prob:.2f}", delta_color="off"
                )
            elif method == "beam":
                st.caption("Greedy decoding writes the same transcript here.")
            st.plotly_chart(
                plots.waveform(audio, words=[(w.text, w.start, w.end, w.probability) for w in transcript.words]),
                width="stretch",
                key="speech_whisper_words",
            )
            st.caption(
                "Word times read off the cross-attention below (darker: the word's least likely token was likelier)."
            )
            st.markdown("**Cross-attention of the alignment heads**")
            st.plotly_chart(plots.cross_attention(transcript.attention, transcript.token_texts), width="stretch")
            st.caption(
                "Row t: where in the audio the decoder looked (averaged over the 8 heads known to follow the speech) "
                "while writing token t. The path through the bright cells, found by dynamic time warping, gives each "
                "word its start and end."
            )
            st.markdown("**The search, step by step**")
            st.dataframe(
                pd.DataFrame(
                    {
                        "rank": range(1, len(transcript.candidates) + 1),
                        "transcript": [c[0] for c in transcript.candidates],
                        "log P": [round(c[1], 3) for c in transcript.candidates],
                        "score (log P / length)": [round(c[2], 3) for c in transcript.candidates],
                    }
                ),
                hide_index=True,
                width="stretch",
            )

            def draw_search_step(step: int) -> None:
                live, finished = beams_at(transcript.search, step, 1.0)
                last = step == steps_taken(transcript.search)
                chosen = transcript.search.path(transcript.search.best) if last else []
                figure = beam_tree(
                    transcript.search, transcript.token_labels, chosen, upto=step, live=[r.node for r in live]
                )
                st.plotly_chart(figure, width="stretch", key="speech_replay_tree")
                rows = live or finished
                st.dataframe(
                    pd.DataFrame(
                        {
                            "prefix": [transcript.prefix_texts.get(r.node, "") or "·" for r in rows],
                            "log P": [round(r.log_prob, 3) for r in rows],
                        }
                    ),
                    hide_index=True,
                    width="stretch",
                )

            ui.replay(
                "speech_replay",
                steps_taken(transcript.search),
                draw_search_step,
                "Decoding step",
                start_at_end=True,
                identity=(digest, method, width),
            )

# ---- 4. side by side
if tabs["Side by side"].open:
    with tabs["Side by side"]:
        typed = st.text_input(
            "Reference: what was said" + (" (empty: the sample's own text)" if reference_text else ""),
            **ui.bound(P.SPEECH_REFERENCE),
            placeholder=reference_text or "Type what you said",
        )
        reference = typed.strip() or reference_text
        if not reference:
            st.info("Type what was said to score both transcripts against it.", icon=":material/edit:")
        else:
            hypotheses = {"pocketsphinx": sphinx_result(), "Whisper (beam 5)": whisper_transcript()}
            columns = st.columns(2)
            for column, (label, result) in zip(columns, hypotheses.items(), strict=True):
                if result is None:
                    continue
                errors = ui.run_or_report(lambda text=result.text: word_errors(reference, text))
                if errors is None:
                    continue
                column.metric(f"{label}: word error rate", f"{errors.wer:.0%}")
                column.html(plots.edits_html(errors.edits))
                column.caption(
                    f"{errors.substitutions} substituted, {errors.deletions} deleted, {errors.insertions} inserted "
                    f"of {errors.reference_words} words."
                )
            ui.colour_legend(
                "substituted: heard (said)", "inserted: +word", ["#F0E442", "#E69F00", "#56B4E9"], "Edits:"
            )
            st.caption(
                "Both texts are lower-cased and stripped of punctuation first; '4' and 'four' still differ. Yellow: "
                "a word heard as another (what was said in brackets); orange, struck through: a word not heard; "
                "blue: a word heard that was not said."
            )
        scores = json.loads((ASSETS / "speech" / "scores.json").read_text(encoding="utf-8"))
        st.markdown("**On the project's test clips**")
        table = pd.DataFrame(
            [
                {
                    "clip": row["clip"],
                    "reference": row["reference"],
                    "pocketsphinx": row[SPHINX]["text"],
                    "WER pocketsphinx": f"{row[SPHINX]['wer']:.0%}",
                    "Whisper tiny.en": row[WHISPER]["text"],
                    "WER Whisper": f"{row[WHISPER]['wer']:.0%}",
                }
                for row in scores["clips"]
            ]
        )
        st.dataframe(table, hide_index=True, width="stretch")
        summary = scores["summary"]
        st.caption(
            f"Over all clips: pocketsphinx {summary[SPHINX]['wer_all_clips']:.0%}, Whisper tiny.en (beam 5) "
            f"{summary[WHISPER]['wer_all_clips']:.0%} of the words wrong (training/speech_convert_whisper.py)."
        )

# ---- 5. trigger word
if tabs["Trigger word"].open:
    with tabs["Trigger word"]:
        left, middle, right = st.columns(3)
        keyword = left.text_input("Keyword", **ui.bound(P.SPEECH_KEYWORD))
        exponent = middle.slider(
            "pocketsphinx threshold (10^x)",
            **ui.bound(P.SPEECH_KWS_EXPONENT),
            help="Smaller: more detections, false ones too.",
        )
        trigger = right.slider("Whisper threshold (probability)", **ui.bound(P.SPEECH_TRIGGER))
        detections = remembered(
            ("spot", digest, keyword, exponent),
            lambda: ui.infer(SPHINX, as_recognizer, lambda model: model.spot(audio.samples, keyword, 10.0**exponent)),
        )
        transcript = whisper_transcript("greedy", 1)
        curve = None
        if transcript is not None:
            curve = remembered(
                ("keyword", digest, keyword),
                lambda: ui.infer(
                    WHISPER, as_recognizer, lambda model: model.keyword_curve(audio.samples, transcript, keyword)
                ),
            )
        if detections is not None and curve is not None:
            spans = [(d.start, d.end) for d in detections]
            st.plotly_chart(plots.keyword_detection(curve, spans, trigger, audio.seconds), width="stretch")
            peak = max(range(len(curve.probabilities)), key=curve.probabilities.__getitem__)
            left, right = st.columns(2)
            left.metric(
                "pocketsphinx",
                f"detected {len(detections)}×" if detections else "not detected",
                ", ".join(f"at {d.start:.2f} s" for d in detections) or None,
                delta_color="off",
            )
            fired = curve.probabilities[peak] >= trigger
            right.metric(
                "Whisper",
                "detected" if fired else "not detected",
                f"P {curve.probabilities[peak]:.0%} at {curve.times[peak]:.2f} s",
                delta_color="off",
            )
            st.caption(
                "pocketsphinx searches for the keyword's phones against a loop of all other phones and fires where "
                "the keyword wins by the threshold. Whisper's line: at the start of each word it wrote (greedy), "
                "the probability it gives to the keyword being the next word(s), lower case or capitalised."
            )

# ---- 6. then translate
if tabs["Then translate"].open:
    with tabs["Then translate"]:
        transcript = whisper_transcript()
        if transcript is not None and transcript.text:
            st.markdown(f"**Transcript** (Whisper, beam 5): {transcript.text}")
            query = urlencode(
                {P.TR_MODEL.key: "translation-enes", P.translation_text("translation-enes").key: transcript.text}
            )
            st.link_button("Open it on the Translation page", f"translation?{query}", icon=":material/translate:")
            if st.button("Translate here (English → Spanish)", key="speech_translate"):
                translation = ui.infer(
                    "translation-enes", as_translator, lambda model: model.translate(transcript.text, "beam", 5)
                )
                if translation is not None:
                    for notice in translation.notices:
                        st.info(notice, icon=":material/info:")
                    st.markdown(f"#### {translation.best.text or '(empty output)'}")
                    st.caption("The project's English→Spanish transformer, trained on Bible verses: expect its style.")
        elif transcript is not None:
            st.info("Whisper heard no words to translate.", icon=":material/info:")

ui.how_it_works(
    """
**From sound to numbers.** A microphone gives air pressure 16,000 times a second. Both recognizers cut it into
25 ms windows every 10 ms and measure each window's frequencies; speech is a pattern in that picture.

**Statistics (pocketsphinx).** Each phone (the 39 sounds of American English) is a hidden Markov model: three
states, each a mixture of Gaussians over the MFCCs. A dictionary spells every word in phones; a trigram model
gives P(word | the two before). The decoder searches for the word sequence with the best acoustic score plus
weighted language score (Viterbi beam search), and keeps a lattice of alternatives: the n-best list and the
posteriors come from it. Keyphrase spotting runs the keyword's phones against a loop of every phone.

**A transformer (Whisper).** The encoder reads 30 s of log-mel frames (two convolutions, then 4 transformer
layers with self-attention over 1,500 time steps); the decoder writes word pieces one at a time, attending to
its own text and, through cross-attention, to the audio. It learned all of this end to end from 680,000 hours
of transcribed web audio, punctuation and numerals included. Greedy search takes the likeliest token each
step; beam search keeps several drafts. Some cross-attention heads follow the speech in time: dynamic time
warping through them gives word timestamps.

**Word error rate** = (substitutions + deletions + insertions) / words said, from the cheapest alignment of the
two word sequences (Levenshtein distance on words).
""",
    [WHISPER, SPHINX],
)
with st.expander("Sample clips: sources and licences", icon=":material/library_music:"):
    st.markdown((ASSETS / "speech" / "clips.md").read_text(encoding="utf-8"))
ui.sync_url()
