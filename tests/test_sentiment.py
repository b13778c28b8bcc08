"""Sentiment models: the fixed split, checkpoint accuracy against the cards, attributions, input limits,
the TF-IDF re-implementation, and user transformers classifiers."""

import io
import math

import numpy as np
import pandas as pd
import pytest
import torch

from models import sentiment as sm
from models.core.errors import InputError
from models.core.registry import get_registry

MODEL_IDS = [spec.id for spec in sm.MODELS]
SUBSET = 300


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return sm.load_corpus()


@pytest.fixture(scope="module")
def classifiers() -> dict[str, sm.SentimentClassifier]:
    registry = get_registry()
    return {model_id: sm.as_classifier(registry.load(model_id)) for model_id in MODEL_IDS}


def test_split_is_deterministic_stratified_and_committed(corpus):
    split = sm.make_split(corpus)
    assert split == sm.make_split(corpus) == sm.load_split()
    assert sm.make_split(corpus, seed=1) != split
    parts = [set(ids) for ids in split.values()]
    assert sum(map(len, parts)) == len(corpus) == len(set.union(*parts))
    labels = dict(zip(corpus["id"], corpus["label"], strict=True))
    shares = {name: np.mean([labels[i] for i in ids]) for name, ids in split.items()}
    assert max(shares.values()) - min(shares.values()) < 0.005
    assert len(split["test"]) == len(split["validation"]) == round(0.1 * len(corpus))


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_checkpoint_reaches_its_card_accuracy(model_id, corpus, classifiers):
    card = sm.card_metrics(get_registry().get(model_id).card_markdown())
    test = sm.split_frame("test", corpus)
    assert card["test examples"] == len(test)
    subset = test.sample(SUBSET, random_state=0)
    predicted = classifiers[model_id].predict(subset["text"].tolist()).probs.argmax(1)
    accuracy = float((predicted == subset["label"].to_numpy()).mean())
    # The subset's accuracy scatters around the full test set's: allow three standard errors
    # (with the finite-population correction, since the subset is drawn from that test set).
    p, n, total = card["test accuracy"], SUBSET, len(test)
    tolerance = 3 * math.sqrt(p * (1 - p) / n * (total - n) / (total - 1))
    assert abs(accuracy - p) <= tolerance, f"{model_id}: {accuracy:.3f} on {n} vs card {p:.3f} ± {tolerance:.3f}"


def test_trained_models_meet_their_targets():
    registry = get_registry()
    accuracy = {m: sm.card_metrics(registry.get(m).card_markdown())["test accuracy"] for m in MODEL_IDS}
    assert accuracy["sentiment-bilstm"] >= 0.76
    assert accuracy["sentiment-minilm"] >= 0.80


@pytest.mark.parametrize("model_id", MODEL_IDS)
@pytest.mark.parametrize(("text", "word", "sign"), [("A great film.", "great", 1), ("An awful film.", "awful", -1)])
def test_attributions_have_the_right_sign(model_id, text, word, sign, classifiers):
    explanation = classifiers[model_id].explain(text)
    scores = dict(zip([t.lower() for t in explanation.tokens], explanation.scores, strict=True))
    assert sign * scores[word] > 0
    assert sign * scores[word] == max(sign * s for s in explanation.scores)


def test_clear_cases_are_classified_by_every_model(classifiers):
    for model_id, classifier in classifiers.items():
        labels = classifier.predict(["A wonderful, moving, beautifully acted film.", "A dull, boring mess."]).top()
        assert labels == ["positive", "negative"], model_id


def test_vader_explanation_applies_negation(classifiers):
    explanation = classifiers["sentiment-vader"].explain("Not bad at all")
    assert explanation.tokens == ["Not", "bad", "at", "all"]
    assert explanation.scores[1] > 0  # "bad" after "not" pushes positive


def test_minilm_shows_word_pieces_and_batches_like_single_calls(classifiers):
    minilm = classifiers["sentiment-minilm"]
    assert "##" in "".join(minilm.explain("An unwatchably overwrought melodrama.").tokens)
    texts = ["Fine.", "A long and winding story that never quite finds its feet, but the cast is lovely.", "Bad."]
    batched = minilm.predict(texts).probs
    single = np.concatenate([minilm.predict([t]).probs for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-4)


def test_tfidf_matches_scikit_learn_and_explains_its_logit():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = ["a good film", "a bad film", "not good at all", "good good fun", "bad acting", "a fun film"]
    labels = [1, 0, 0, 1, 0, 1]
    vectorizer = TfidfVectorizer(
        tokenizer=sm.words, lowercase=False, token_pattern=None, ngram_range=(1, 2), sublinear_tf=True
    )
    features = vectorizer.fit_transform(texts)
    logreg = LogisticRegression(C=10).fit(features, labels)
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    ours = sm.TfidfClassifier(terms, vectorizer.idf_, logreg.coef_[0], float(logreg.intercept_[0]))
    queries = ["good film", "a bad bad film", "unknown words only", "not good"]
    expected = logreg.predict_proba(vectorizer.transform(queries))[:, 1]
    np.testing.assert_allclose(ours.predict(queries).positive_prob(), expected, atol=1e-9)
    explanation = ours.explain("a good film")
    assert sum(explanation.scores) == pytest.approx(ours.logit(sm.words("a good film")) - ours.bias)


def test_tfidf_checkpoint_round_trips(tmp_path, classifiers):
    tfidf = classifiers["sentiment-tfidf"]
    tfidf.save(tmp_path / "copy.npz")
    copy = sm.TfidfClassifier.load(tmp_path / "copy.npz")
    texts = ["a sharp, funny script", "tedious"]
    np.testing.assert_array_equal(copy.predict(texts).probs, tfidf.predict(texts).probs)


def test_prepare_text_limits():
    with pytest.raises(InputError):
        sm.prepare_text("  \n\t ")
    with pytest.raises(InputError):
        sm.prepare_text(None)
    long = sm.prepare_text("word " * 5000)
    assert len(long.text) <= sm.MAX_CHARS and "long" in long.notices[0]
    assert sm.prepare_text("Nice\x00 film\u200b!").text == "Nice  film !"
    assert "no words" in sm.prepare_text("😀 🎉 !!").notices[0]
    assert "English" in sm.prepare_text("Esta película es muy aburrida y larga").notices[0]
    assert "English" in sm.prepare_text("这部电影很无聊").notices[0]
    assert sm.prepare_text("I loved this film, every minute of it.").notices == []


def test_every_model_answers_odd_input(classifiers):
    odd = ["", "😀😀😀", "这部电影很无聊", "a" * 3000, "n't n't 's ."]
    for model_id, classifier in classifiers.items():
        prediction = classifier.predict(odd)
        assert prediction.probs.shape == (len(odd), 2), model_id
        np.testing.assert_allclose(prediction.probs.sum(1), 1, atol=1e-5)
        explanation = classifier.explain("😀 great")
        assert len(explanation.tokens) == len(explanation.scores) > 0, model_id


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def test_bad_csv_gives_clear_messages():
    with pytest.raises(InputError, match="empty"):
        sm.read_table(b"")
    with pytest.raises(InputError, match="CSV"):
        sm.read_table(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    table, notice = sm.read_table(csv_bytes(pd.DataFrame({"review": ["good", "bad"], "stars": [5, 1]})))
    assert notice is None and sm.text_columns(table) == ["review"]
    assert sm.column_texts(table, "review") == ["good", "bad"]
    with pytest.raises(InputError, match="no column"):
        sm.column_texts(table, "comment")
    with pytest.raises(InputError, match="does not hold text"):
        sm.column_texts(table, "stars")


def test_huge_csv_is_bounded():
    rows = 100_000
    table, notice = sm.read_table(csv_bytes(pd.DataFrame({"text": ["fine"] * rows, "id": range(rows)})))
    assert len(table) == sm.MAX_ROWS
    assert f"{sm.MAX_ROWS:,}" in notice


def test_pasted_lines_and_chunked_prediction(classifiers):
    with pytest.raises(InputError):
        sm.pasted_lines("\n  \n")
    lines = sm.pasted_lines("good\n\n bad \nfine")
    assert lines == ["good", "bad", "fine"]
    done = [n for n, _ in sm.predict_in_chunks(classifiers["sentiment-tfidf"], lines * 100, chunk=128)]
    assert done == [128, 256, 300]


WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "a", "the", "##s"]


def test_user_transformers_classifier_is_wrapped(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    from models.core.loaders import load_hf

    BertTokenizer(vocab={word: i for i, word in enumerate(WORDS)}).save_pretrained(tmp_path)
    config = BertConfig(
        vocab_size=len(WORDS),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
        id2label={0: "NEG", 1: "POS", 2: "NEUTRAL"},
        label2id={"NEG": 0, "POS": 1, "NEUTRAL": 2},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(tmp_path)
    classifier = sm.as_classifier(load_hf("text-classification", str(tmp_path), torch.device("cpu")))
    assert list(classifier.labels) == ["NEG", "POS", "NEUTRAL"] and classifier.positive == 1
    prediction = classifier.predict(["a good movie", "the bad movies", "zzz"])
    assert prediction.probs.shape == (3, 3)
    assert set(prediction.top()) <= {"NEG", "POS", "NEUTRAL"}
    explanation = classifier.explain("the bad movies")
    assert explanation.tokens == ["the", "bad", "movie", "##s"] and len(explanation.scores) == 4


def test_unknown_objects_are_refused():
    from models.core.errors import ModelLoadError

    with pytest.raises(ModelLoadError):
        sm.as_classifier(object())
