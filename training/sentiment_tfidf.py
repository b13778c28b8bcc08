"""Train the TF-IDF + logistic regression baseline and store it as plain arrays (no pickle).

python -m training.sentiment_tfidf    (writes assets/sentiment/tfidf_logreg.npz + tfidf.md)
"""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from models.sentiment import SENTIMENT_ASSETS, TfidfClassifier, load_corpus, split_frame, words
from training.sentiment_common import evaluate, write_card

CHECKPOINT = SENTIMENT_ASSETS / "tfidf_logreg.npz"
C_VALUES = (0.3, 1.0, 3.0, 10.0, 30.0)


def main() -> None:
    corpus = load_corpus()
    train, validation = split_frame("train", corpus), split_frame("validation", corpus)
    vectorizer = TfidfVectorizer(
        tokenizer=words, lowercase=False, token_pattern=None, ngram_range=(1, 2), min_df=2, sublinear_tf=True
    )
    x_train, x_val = vectorizer.fit_transform(train["text"]), vectorizer.transform(validation["text"])
    fits = {c: LogisticRegression(C=c, max_iter=5000).fit(x_train, train["label"]) for c in C_VALUES}
    scores = {c: fit.score(x_val, validation["label"]) for c, fit in fits.items()}
    best_c = max(scores, key=scores.get)
    print("validation accuracy by C:", {c: round(s, 4) for c, s in scores.items()})
    best = fits[best_c]

    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    classifier = TfidfClassifier(terms, vectorizer.idf_, best.coef_[0], float(best.intercept_[0]))
    # The numpy re-implementation must give scikit-learn's probabilities.
    ours = classifier.predict(validation["text"].tolist()).positive_prob()
    assert np.allclose(ours, best.predict_proba(x_val)[:, 1], atol=1e-9), "numpy TF-IDF differs from scikit-learn"
    classifier.save(CHECKPOINT)

    reloaded = TfidfClassifier.load(CHECKPOINT)
    test, val = evaluate(reloaded, split_frame("test", corpus)), evaluate(reloaded, validation)
    recipe = RECIPE.format(n_terms=len(terms), c=best_c, cs=", ".join(map(str, C_VALUES)))
    title = "TF-IDF + logistic regression"
    write_card(SENTIMENT_ASSETS / "tfidf.md", title, [ABOUT, recipe], test, val, "make train-sentiment_tfidf")


ABOUT = """\
The classic statistical baseline: each snippet becomes a bag of words and word pairs weighted by
TF-IDF, and a logistic regression learns one weight per feature. It has no idea of word order beyond
pairs, and no idea of words it never saw in training. Because it is linear, each word's contribution
is exact: its feature value times its weight (a word pair's share is split between its two words)."""

RECIPE = """\
**Recipe.** scikit-learn `TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)` over the
project's word tokenizer (`models.sentiment.words`), {n_terms:,} terms; `LogisticRegression(C={c})`,
C picked on the validation split from {cs}. Stored without pickle as arrays in
`assets/sentiment/tfidf_logreg.npz` (terms, idf, weights, bias) and applied in numpy; the training
script checks that this gives scikit-learn's probabilities. Weights: trained by the project."""


if __name__ == "__main__":
    main()
