"""Translation, from rules to statistics to neural networks. The translation page's model side.

Inside: `translator.py` (the `Translator` API: text in, n-best `Translation` out with the beam tree
and cross-attention; the English->Spanish and date models and any transformers seq2seq model; the
registry entries), `transformer.py` (the encoder-decoder transformer), `dates.py` (the date model:
BiGRU + attention), `beam_search.py` (greedy and beam search for any decoder, keeping the tree),
`replay.py` (the search replayed step by step), `ibm1.py` (IBM Model 1 alignments),
`baselines.py` (Apertium and corpus scores of every method), `plots.py` (beam tree, attention).
"""
