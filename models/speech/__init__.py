"""Speech: from a waveform to words, by statistics (pocketsphinx) and by a transformer (Whisper tiny.en).

audio.py reads any upload into 16 kHz mono; features.py computes what the models hear (spectrogram,
Whisper's log-mel, MFCCs); vad.py finds speech by energy, by WebRTC's statistics and by Silero VAD, the
neural network in silero.py; sphinx.py wraps pocketsphinx (words with time
spans, n-best, phonemes, keyphrase spotting); whisper.py is Whisper as a plain PyTorch module, read from
the CTranslate2 weights by ctranslate2_to_torch.py; transcriber.py decodes it (greedy or beam, token
probabilities, word timestamps from cross-attention); scoring.py aligns transcripts with a reference (WER);
catalog.py registers both recognizers and Silero VAD; plots.py draws the page's figures.
"""
