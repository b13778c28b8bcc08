"""Train the English -> Spanish transformer on Bible verse pairs (see training/translation_bible.py), or with
`--corpus general` on Bible, software and everyday pairs (issue 25; see training/translation_general.py).

    python -m training.translation_enes                          # the CPU recipe, 2 hours on 2 cores
    python -m training.translation_enes --resume --minutes 30     # 30 more minutes from where it stopped
    python -m training.translation_enes --finish                  # average, evaluate, write assets/ only

On a GPU (the bigger variant; the GPU machine has no Bibles, so the training pairs travel as xz-compressed
text with the tokenizer, and are tokenized there):

    make gpu-data-enes                            # here: gpu-carry/enes (about 3 MB)
    bash tools/gpu_session.sh "$OUT"              # there: trains it (while the GPU check runs), no test decoding
    python -m training.translation_enes --score <its enes folder>      # here: test BLEU on the CPU, assets/

The recipe follows what works for low-resource NMT (Sennrich & Zhang 2019; Araabi & Monz 2020): one
joint English+Spanish BPE vocabulary trained on the training split only; every embedding tied (encoder,
decoder, output layer); dropout and label smoothing; batches of about 4,000 tokens of similar length;
linear warm-up then inverse-square-root decay; validation BLEU (greedy, 500 verses) at intervals, the
best weights kept; at the end the last few validation snapshots are averaged, and whichever of
"best" and "average" scores higher on validation is evaluated once on the 1,000 test verses
(greedy and beam 5, sacreBLEU and chrF) and written to assets/ in fp16 with its metrics.

The general corpus (`--corpus general`, files named `enes_general*`, so the Bible-only `enes*` stay) trains
one model on three domains, the source prefixed with a domain tag (`<2bible>`, `<2soft>`, `<2daily>`, special
tokens of the rebuilt joint BPE); the Reina-Valera targets are in modern spelling; the small everyday set is
repeated (`--daily-weight`) and the software set too (`--soft-weight`). The page translates a visitor's text
with `<2daily>`. Validation decodes all three validation sets and keeps the weights with the best mean
greedy BLEU; `--score` tests the three test sets and Apertium (training/translation_general_eval.py):

    make gpu-data-enes-general                                        # here: gpu-carry/enes_general
    bash tools/gpu_session_enes.sh "$OUT"                             # there: trains it, no test decoding
    python -m training.translation_enes --corpus general --score <its enes_general folder>   # here: tests

Everything a run needs to continue sits in `--work` (default: the cache directory): the tokenizer,
the pre-tokenized data, the optimiser state, the snapshots. A run that is killed resumes from its
last validation point with `--resume`.
"""

import argparse
import dataclasses
import datetime
import itertools
import json
import lzma
import math
import platform
import random
import shutil
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from models.core.paths import ASSETS, cache_dir
from models.translation.scores import corpus_scores
from models.translation.transformer import Seq2SeqTransformer, TransformerConfig

OUT = ASSETS / "translation"
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
MAX_TOKENS = 150  # longer verses are left out of training (the model's positions stop at 160)
# The general corpus's domain tags: special tokens, the first token of every source.
TAGS = {"bible": "<2bible>", "soft": "<2soft>", "daily": "<2daily>"}
SEED = 2026
SIZES = {  # d_model, heads, layers (each side), feed-forward
    "cpu": {"d_model": 256, "heads": 4, "layers": 3, "ffn": 1024},
    # One layer more on each side and many more passes over the data; 9.4 M parameters keep the fp16
    # checkpoint under the project's 20 MB (d_model 512 would be 80 MB).
    "gpu": {"d_model": 256, "heads": 4, "layers": 4, "ffn": 1024},
}


def train_tokenizer(texts: list[str], vocab: int, tags: tuple[str, ...] = ()) -> Tokenizer:
    """A BPE tokenizer over both languages; words start with ▁ (Metaspace) so decoding restores spaces.
    `tags` become special tokens (never split, never merged with the text after them)."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.NFKC()
    # Punctuation gets tokens of its own ("darkness" + "," rather than "ness,"); decoding still restores
    # the text exactly, since only Metaspace's ▁ stands for a space.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[*SPECIALS, *tags], min_frequency=2)
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def prepare(work: Path, vocab: int, carry: bool = False, corpus: str = "bible", weights: dict | None = None) -> None:
    """Tokenizer, the held-out texts, and the training pairs: pre-tokenized (flat id tensors + lengths), or
    for the GPU machine (`carry`) as xz-compressed text, which is smaller than the ids."""
    from training.translation_bible import load_split

    if corpus == "general":
        return prepare_general(work, vocab, carry, weights or {})
    train = load_split("train")
    tokenizer = train_tokenizer([text for pair in train for text in pair], vocab)
    tokenizer.save(str(work / "tokenizer.json"))
    held_out = {name: load_split(name) for name in ("valid", "test")}
    (work / "held_out.json").write_text(json.dumps(held_out, ensure_ascii=False), encoding="utf-8")
    if carry:
        with lzma.open(work / "train.tsv.xz", "wt", encoding="utf-8", preset=9) as rows:
            rows.writelines(f"{en}\t{es}\n" for en, es in train)
        print(f"wrote {len(train):,} training pairs as text to {work}")
    else:
        encode_pairs(work, tokenizer, train)


def prepare_general(work: Path, vocab: int, carry: bool, weights: dict[str, int]) -> None:
    """prepare() for the general corpus: the tokenizer learns every domain's training text once (the
    repeats would only skew its merges); the carried text keeps each pair's domain, so that the domain
    weights are applied where the pairs are encoded."""
    from training.translation_general import counts, general_splits

    splits = general_splits()
    texts = [text for pairs in splits["train"].values() for pair in pairs for text in pair]
    tokenizer = train_tokenizer(texts, vocab, tuple(TAGS.values()))
    tokenizer.save(str(work / "tokenizer.json"))
    held_out = {name: splits[name] for name in ("valid", "test")}
    (work / "held_out.json").write_text(json.dumps(held_out, ensure_ascii=False), encoding="utf-8")
    rows = [(domain, en, es) for domain, pairs in splits["train"].items() for en, es in pairs]
    print(json.dumps(counts(splits)))
    if carry:
        with lzma.open(work / "train.tsv.xz", "wt", encoding="utf-8", preset=9) as out:
            out.writelines("\t".join(row) + "\n" for row in rows)
        print(f"wrote {len(rows):,} training pairs as text to {work}")
    else:
        encode_pairs(work, tokenizer, tagged_pairs(rows, weights))


def tagged_pairs(rows: list[tuple[str, str, str]], weights: dict[str, int]) -> list[tuple[str, str]]:
    """(domain, english, spanish) rows -> (tagged english, spanish) pairs, each domain's pairs repeated
    `weights[domain]` times (1 when absent)."""
    return [(f"{TAGS[domain]} {en}", es) for domain, en, es in rows for _ in range(weights.get(domain, 1))]


def carried_pairs(work: Path, weights: dict[str, int]) -> list[tuple[str, str]]:
    """The carried training text: (english, spanish) rows, or tagged and weighted (domain, english, spanish)."""
    with lzma.open(work / "train.tsv.xz", "rt", encoding="utf-8") as handle:
        rows = [tuple(row.rstrip("\n").split("\t")) for row in handle]
    return tagged_pairs(rows, weights) if rows and len(rows[0]) == 3 else rows  # type: ignore[arg-type]


def validation_sets(held_out: dict, limit: int | None = None) -> dict[str, tuple[list[str], list[str]]]:
    """name -> (sources, references) to validate on: the Bible verses, or for the general corpus each
    domain's set with its tag on the sources; the first `limit` of each (all when None)."""
    valid = held_out["valid"]
    sets = {"bible": valid} if isinstance(valid, list) else valid
    tagged = not isinstance(valid, list)
    return {
        name: ([f"{TAGS[name]} {en}" if tagged else en for en, _ in pairs[:limit]], [es for _, es in pairs[:limit]])
        for name, pairs in sets.items()
    }


def validate(model, tokenizer: Tokenizer, sets: dict, device) -> dict[str, float]:
    """Greedy BLEU on each validation set and their mean (the figure that chooses weights)."""
    bleu = {
        name: corpus_scores(greedy_translate(model, tokenizer, src, device), ref)["BLEU"]
        for name, (src, ref) in sets.items()
    }
    return {"valid BLEU": round(sum(bleu.values()) / len(bleu), 2), **({} if len(bleu) == 1 else bleu)}


def encode_pairs(work: Path, tokenizer: Tokenizer, train: list[tuple[str, str]]) -> None:
    """train.safetensors: the pairs as flat token-id tensors and their lengths."""
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    sources = [[*e.ids, eos] for e in tokenizer.encode_batch([en for en, _ in train])]
    targets = [[bos, *e.ids, eos] for e in tokenizer.encode_batch([es for _, es in train])]
    kept = [(s, t) for s, t in zip(sources, targets, strict=True) if max(len(s), len(t)) <= MAX_TOKENS]
    tensors = {}
    for side, rows in (("source", [s for s, _ in kept]), ("target", [t for _, t in kept])):
        tensors[f"{side}_ids"] = torch.tensor([i for row in rows for i in row], dtype=torch.int32)
        tensors[f"{side}_lengths"] = torch.tensor([len(row) for row in rows], dtype=torch.int32)
    save_file(tensors, work / "train.safetensors")
    print(f"prepared {len(kept):,} of {len(train):,} training pairs, vocabulary {tokenizer.get_vocab_size():,}")


def load_pairs(work: Path) -> list[tuple[list[int], list[int]]]:
    tensors = load_file(work / "train.safetensors")
    sides = []
    for side in ("source", "target"):
        ids, lengths = tensors[f"{side}_ids"].tolist(), tensors[f"{side}_lengths"].tolist()
        starts = [0, *torch.tensor(lengths).cumsum(0).tolist()]
        sides.append([ids[a:b] for a, b in itertools.pairwise(starts)])
    return list(zip(*sides, strict=True))


def batches(pairs, tokens_per_batch: int, rng: random.Random):
    """Batches of similar-length pairs (little padding), in random order. -> (source (B, S), target (B, T))"""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][1]), len(pairs[i][0]), rng.random()))
    groups, current, longest = [], [], 0
    for i in order:
        longest = max(longest, len(pairs[i][0]), len(pairs[i][1]))
        if current and longest * (len(current) + 1) > tokens_per_batch:
            groups.append(current)
            current, longest = [], max(len(pairs[i][0]), len(pairs[i][1]))
        current.append(i)
    groups.append(current)
    rng.shuffle(groups)
    for group in groups:
        yield pad([pairs[i][0] for i in group]), pad([pairs[i][1] for i in group])


def pad(rows: list[list[int]]) -> torch.Tensor:
    width = max(map(len, rows))
    return torch.tensor([row + [0] * (width - len(row)) for row in rows])


@torch.inference_mode()
def greedy_translate(model: Seq2SeqTransformer, tokenizer: Tokenizer, sentences: list[str], device) -> list[str]:
    """Batched greedy decoding with the incremental decoder (validation BLEU during training)."""
    was_training = model.training
    model.eval()
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))  # similar lengths share a batch
    outputs: dict[int, str] = {}
    for i in range(0, len(order), 100):
        chunk = order[i : i + 100]
        ids = [[*e.ids[: MAX_TOKENS - 1], eos] for e in tokenizer.encode_batch([sentences[j] for j in chunk])]
        source = pad(ids).to(device)
        state = model.start_decoding(source)
        token = torch.full((len(ids),), bos, device=device)
        generated, done = [], torch.zeros(len(ids), dtype=torch.bool, device=device)
        for _ in range(min(int(source.size(1) * 1.5) + 10, model.config.max_len)):
            log_probs, _, state = model.decode_step(token, state, need_weights=False)
            token = log_probs.argmax(-1)
            generated.append(token)
            done |= token == eos
            if done.all():
                break
        for j, row in zip(chunk, torch.stack(generated, 1).tolist(), strict=True):
            outputs[j] = tokenizer.decode(row[: row.index(eos)] if eos in row else row)
    model.train(was_training)
    return [outputs[j] for j in range(len(sentences))]


def fp16_weights(model: Seq2SeqTransformer) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120.0, help="wall-clock training budget of this run")
    parser.add_argument("--resume", action="store_true", help="continue the last run in --work")
    parser.add_argument("--finish", action="store_true", help="no training: average, evaluate, write assets")
    parser.add_argument("--prepare-only", action="store_true", help="write the tokenizer and data, then stop")
    parser.add_argument("--carry", action="store_true", help="--prepare-only for a GPU machine: pairs as text")
    parser.add_argument("--skip-test", action="store_true", help="write the weights without decoding the test verses")
    parser.add_argument("--score", type=Path, help="no training: test the weights in this folder")
    parser.add_argument("--work", type=Path, default=None, help="run folder (default: the cache directory)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the shipped files go (default: assets/)")
    parser.add_argument("--corpus", choices=("bible", "general"), default="bible", help="general: issue 25's model")
    parser.add_argument("--daily-weight", type=int, default=6, help="general: repeats of each everyday pair")
    parser.add_argument("--soft-weight", type=int, default=2, help="general: repeats of each software pair")
    parser.add_argument("--valid-limit", type=int, default=None, help="validate on the first N of each set")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", choices=sorted(SIZES), default="cpu")
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--tokens-per-batch", type=int, default=4000)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--warmup", type=int, default=500, help="steps of linear learning-rate warm-up")
    parser.add_argument("--eval-minutes", type=float, default=10.0, help="validation BLEU every this many minutes")
    parser.add_argument("--average", type=int, default=4, help="validation snapshots averaged at the end")
    parser.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bf16 autocast (1.35x faster on a CPU with AVX-512 BF16; slower on a CPU without it)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    device = torch.device(args.device)
    args.prefix = "enes_general" if args.corpus == "general" else "enes"
    args.weights = {"daily": args.daily_weight, "soft": args.soft_weight} if args.corpus == "general" else {}
    work = args.work or cache_dir() / "translation" / f"{args.prefix}_run"
    if args.score:
        if args.corpus == "general":
            from training.translation_general_eval import score_general

            return score_general(args.score, args.out)
        return score(args.score, args.out)
    work.mkdir(parents=True, exist_ok=True)
    if args.prepare_only and not args.resume:
        prepare(work, args.vocab, carry=args.carry, corpus=args.corpus, weights=args.weights)
        return
    if not (work / "train.safetensors").exists():
        if (work / "train.tsv.xz").exists():  # carried to a GPU machine
            tokenizer = Tokenizer.from_file(str(work / "tokenizer.json"))
            encode_pairs(work, tokenizer, carried_pairs(work, args.weights))
        else:
            prepare(work, args.vocab, corpus=args.corpus, weights=args.weights)
    tokenizer = Tokenizer.from_file(str(work / "tokenizer.json"))
    held_out = json.loads((work / "held_out.json").read_text(encoding="utf-8"))
    valid_sets = validation_sets(held_out, args.valid_limit)

    if args.resume or args.finish:
        saved = torch.load(work / "run.pt", weights_only=True, map_location=device)
        config = TransformerConfig(**saved["config"])
    else:
        size = SIZES[args.size]
        config = TransformerConfig(
            vocab=tokenizer.get_vocab_size(),
            d_model=size["d_model"],
            heads=size["heads"],
            encoder_layers=size["layers"],
            decoder_layers=size["layers"],
            ffn=size["ffn"],
            dropout=args.dropout,
        )
        saved = {"step": 0, "seconds": 0.0, "log": [], "best_bleu": -1.0, "snapshots": []}
    if device.type == "cuda":
        # Hold 8 GiB in PyTorch's cache from the start: the GPU check that runs beside this training
        # (tools/gpu_session.sh) fills the GPU on purpose, and must not starve it.
        torch.empty(8 << 30, dtype=torch.uint8, device=device)
    model = Seq2SeqTransformer(config).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.0)
    if "model" in saved:
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
    step, seconds_before, log = saved["step"], saved["seconds"], saved["log"]
    best_bleu, snapshots = saved["best_bleu"], saved["snapshots"]

    def checkpoint(seconds: float) -> None:
        """Validation BLEU, a snapshot for averaging, the best weights, and everything --resume needs."""
        nonlocal best_bleu
        validation = validate(model, tokenizer, valid_sets, device)
        bleu = validation["valid BLEU"]
        entry = {"step": step, "minutes": round(seconds / 60, 1), **validation, "loss": round(mean_loss(), 3)}
        entry["tokens/s"] = round(tokens_seen / max(time.time() - start, 1e-9))  # this run's training throughput
        log.append(entry)
        print(json.dumps(entry), flush=True)
        name = f"snapshot_{step}.safetensors"
        save_file(fp16_weights(model), work / name)
        snapshots.append(name)
        for old in snapshots[: -args.average]:
            (work / old).unlink(missing_ok=True)
        del snapshots[: -args.average]
        if bleu > best_bleu:
            best_bleu = bleu
            save_file(fp16_weights(model), work / "best.safetensors")
        state = {
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "config": dataclasses.asdict(config),
            "step": step,
            "seconds": seconds,
            "log": log,
            "best_bleu": best_bleu,
            "snapshots": snapshots,
        }
        torch.save(state, work / "run.tmp")
        (work / "run.tmp").replace(work / "run.pt")

    losses: list[float] = []

    def mean_loss() -> float:
        return sum(losses[-100:]) / max(len(losses[-100:]), 1)

    if not args.finish:
        pairs = load_pairs(work)
        print(f"{len(pairs):,} pairs, {sum(p.numel() for p in model.parameters()):,} parameters, step {step}")
        rng = random.Random(SEED + step)
        start = last_eval = time.time()
        deadline = start + args.minutes * 60
        tokens_seen = 0
        model.train()
        while time.time() < deadline:
            for source, target in batches(pairs, args.tokens_per_batch, rng):
                step += 1
                # Warm up, then decay with 1/sqrt(step): resuming continues the same schedule.
                lr = args.lr * min(step / args.warmup, math.sqrt(args.warmup / step))
                for group in optimiser.param_groups:
                    group["lr"] = lr
                source, target = source.to(device), target.to(device)
                optimiser.zero_grad(set_to_none=True)
                try:
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
                        logits = model(source, target[:, :-1])  # (B, T, V)
                    loss = F.cross_entropy(
                        logits.float().reshape(-1, logits.size(-1)),
                        target[:, 1:].reshape(-1),
                        ignore_index=config.pad_id,
                        label_smoothing=args.label_smoothing,
                    )
                    loss.backward()
                except torch.OutOfMemoryError:  # another program holds the GPU's memory: skip this batch
                    print(f"step {step}: out of GPU memory, batch skipped", flush=True)
                    logits = loss = None
                    optimiser.zero_grad(set_to_none=True)
                    time.sleep(1)
                    continue
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimiser.step()
                losses.append(loss.item())
                tokens_seen += int((source != 0).sum() + (target != 0).sum())
                if step % 50 == 0:
                    elapsed = time.time() - start
                    print(
                        f"step {step} loss {mean_loss():.3f} lr {lr:.2e} "
                        f"{tokens_seen / elapsed:,.0f} tokens/s ({elapsed / 60:.1f} min)",
                        flush=True,
                    )
                now = time.time()
                if now >= deadline or now - last_eval >= args.eval_minutes * 60:
                    checkpoint(seconds_before + now - start)
                    last_eval = time.time()
                if now >= deadline:
                    break
        seconds_before += time.time() - start

    finish(model, tokenizer, work, valid_sets, log, snapshots, step, seconds_before, args, device)


def finish(model, tokenizer, work, valid_sets, log, snapshots, step, seconds, args, device) -> None:
    """Average the last snapshots, keep the better of "average" and "best" on validation, write the weights,
    tokenizer and metrics to --out, and score them on the test verses (unless --skip-test)."""
    stacks = [load_file(work / name) for name in snapshots]
    averaged = {k: torch.stack([s[k].float() for s in stacks]).mean(0) for k in stacks[0]}
    candidates = {"best": load_file(work / "best.safetensors"), f"average of last {len(stacks)}": averaged}
    chosen, chosen_bleu, chosen_validation = None, -1.0, {}
    for name, weights in candidates.items():
        model.load_state_dict({k: v.float() for k, v in weights.items()})
        validation = validate(model, tokenizer, valid_sets, device)
        print(f"validation of {name}: {json.dumps(validation)}", flush=True)
        if validation["valid BLEU"] > chosen_bleu:
            chosen, chosen_bleu, chosen_validation = name, validation["valid BLEU"], validation
    model.load_state_dict({k: v.float() for k, v in candidates[chosen].items()})
    model = model.float().to("cpu")
    config = model.config
    hardware = (
        f"{torch.cuda.get_device_name(device)}, bf16 autocast"
        if device.type == "cuda"
        else f"{platform.processor() or platform.machine()} CPU, {args.threads} threads"
    )
    metrics = {
        "valid BLEU (greedy)": chosen_bleu,
        **({"valid BLEU per domain (greedy)": chosen_validation} if len(valid_sets) > 1 else {}),
        **({"domain tags": TAGS, "domain weights": args.weights} if args.corpus == "general" else {}),
        "weights": chosen,
        "sacreBLEU": "BLEU nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp; chrF nrefs:1|case:mixed|nc:6|nw:0",
        "steps": step,
        "training seconds": round(seconds),
        "training pairs": int(load_file(work / "train.safetensors")["source_lengths"].numel()),
        "parameters": sum(p.numel() for p in model.parameters()),
        "config": dataclasses.asdict(config),
        "hardware": hardware,
        "date": datetime.date.today().isoformat(),
        "validation log": log,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(
        fp16_weights(model),
        args.out / f"{args.prefix}.safetensors",
        metadata={"config": json.dumps(dataclasses.asdict(config))},
    )
    tokenizer.save(str(args.out / f"{args.prefix}_tokenizer.json"))
    write_metrics(args.out, metrics, args.prefix)
    if not args.skip_test:
        if args.corpus == "general":
            from training.translation_general_eval import score_general

            return score_general(args.out, args.out)
        score(args.out, args.out)


def write_metrics(out: Path, metrics: dict, prefix: str = "enes") -> None:
    print(json.dumps({k: v for k, v in metrics.items() if k != "validation log"}, indent=2))
    path = out / f"{prefix}_metrics.json"
    path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def score(weights: Path, out: Path) -> None:
    """Decode the 1,000 test verses once, greedy and beam 5, with the translator the app loads from these
    weights (on the CPU); the figures join the metrics in `out`, with 30 samples."""
    from models.translation.translator import load_enes
    from training.translation_bible import load_split

    cpu = torch.device("cpu")
    translator = load_enes(str(weights / "enes.safetensors"), cpu)  # as the app loads it
    metrics = json.loads((weights / "enes_metrics.json").read_text(encoding="utf-8"))
    test_en, test_es = (list(x) for x in zip(*load_split("test"), strict=True))
    greedy = greedy_translate(translator.model, translator.tokenizer, test_en, cpu)
    beam = [translator.translate(text, "beam", beam_width=5).best.text for text in test_en]  # the page's search
    tested = {
        "test verses": len(test_en),
        "greedy (test)": corpus_scores(greedy, test_es),
        "beam 5 (test)": corpus_scores(beam, test_es),
    }
    out.mkdir(parents=True, exist_ok=True)
    if weights.resolve() != out.resolve():
        for name in ("enes.safetensors", "enes_tokenizer.json"):
            shutil.copy(weights / name, out / name)
    write_metrics(out, tested | {k: v for k, v in metrics.items() if k not in tested})
    (out / "enes_test_samples.tsv").write_text(
        "".join(f"{s}\t{r}\t{h}\n" for s, r, h in zip(test_en[:30], test_es[:30], beam[:30], strict=True)),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
