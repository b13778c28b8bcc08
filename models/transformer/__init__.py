"""Inside a transformer: the model side of the page that opens up the studio's three transformers.

Inside: `opened.py` (the `OpenedTransformer` interface and the text limits), `trace.py` (what one forward pass
showed: attention blocks with q, k, v and weights, the position signal; one head worked out), `hooks.py`
(recording module outputs), `decoder.py` (SmolLM2 and Llama-style causal LMs), `encoder.py` (MiniLM and
BERT-style encoders), `seq2seq.py` (the English->Spanish encoder-decoder), `patterns.py` (what each head does:
previous-token, first-token, broad and induction scores), `lens.py` (the logit lens), `ablation.py` (switching
heads, attention and MLPs off), `context.py` (one word's contextual vectors across sentences), `attribution.py`
(input x gradient and integrated gradients, with Captum), `catalog.py` (the registry entries), `plots.py`
(the page's figures).
"""
