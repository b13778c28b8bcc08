"""Text basics: what a text looks like to the rest of NLP. The text-basics page's model side.

Inside: `pipeline.py` (the spaCy pipeline, the input limits, stems and lemmas, part-of-speech chips,
sentences three ways, dependency parses), `tokens.py` (eight tokenizers side by side, and a byte-level
BPE trained live), `taggers.py` (rule, n-gram, HMM and perceptron taggers trained on silver tags),
`entities.py` (a rule-based recognizer beside spaCy's statistical NER).
"""
