"""Word vectors and what they can do: the word-analogies page's model side.

Inside: `vectors.py` (`WordVectors` over any gensim KeyedVectors: analogies by 3CosAdd/3CosMul,
neighbours, similarity, the odd one out, projections, the Google analogy test set; GloVe 6B 50d is the
default), `bias.py` (the he-she direction, Bolukbasi et al.'s neutralize and equalize), `train.py`
(word2vec / FastText trained on a user's text), `plots.py` (the plotly figures).
Public face: `vectors.WordVectors`, `vectors.as_word_vectors`, `train.train_word_vectors`.
"""
