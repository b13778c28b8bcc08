"""Train the English -> Spanish transformer on Bible verse pairs (see training/translation_bible.py).

    python -m training.translation_enes                      # 15 minutes on the CPU, from scratch
    python -m training.translation_enes --resume --minutes 15   # 15 more minutes from the last run
    python -m training.translation_enes --device cuda --minutes 30 --d-model 256 --layers 4 --ffn 1024 \
        --tokens-per-batch 12000                                  # bigger and longer, on a GPU

Steps: a joint English+Spanish BPE tokenizer (HF `tokenizers`) trained on the training split only;
a transformer (models/translation_transformer.py) trained with label smoothing for a wall-clock
budget; sacreBLEU of greedy translations of the held-out test split; the weights saved in fp16.
The run's optimiser state is kept in the cache directory so `--resume` continues it.
"""

import argparse
import dataclasses
import json
import math
import random
import time

import torch
import torch.nn.functional as F
from sacrebleu.metrics import BLEU
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from models.paths import ASSETS, cache_dir
from models.translation_transformer import Seq2SeqTransformer, TransformerConfig
from training.translation_bible import load_split

OUT = ASSETS / "translation"
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
MAX_TOKENS = 128  # longer verses are left out of training
SEED = 2026


def train_tokenizer(pairs: list[tuple[str, str]], vocab: int) -> Tokenizer:
    """A BPE tokenizer over both languages; words start with ▁ (Metaspace) so decoding restores spaces."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=SPECIALS, min_frequency=2)
    tokenizer.train_from_iterator((text for pair in pairs for text in pair), trainer)
    return tokenizer


def encode_pairs(tokenizer: Tokenizer, pairs: list[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    sources = tokenizer.encode_batch([en for en, _ in pairs])
    targets = tokenizer.encode_batch([es for _, es in pairs])
    return [
        ([*s.ids, eos], [bos, *t.ids, eos])
        for s, t in zip(sources, targets, strict=True)
        if len(s.ids) < MAX_TOKENS and len(t.ids) < MAX_TOKENS
    ]


def batches(encoded, tokens_per_batch: int, rng: random.Random):
    """Batches of similar-length pairs (little padding), in random order. -> (source (B, S), target (B, T))"""
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i][1]), rng.random()))
    groups, current, longest = [], [], 0
    for i in order:
        longest = max(longest, len(encoded[i][0]), len(encoded[i][1]))
        if current and longest * (len(current) + 1) > tokens_per_batch:
            groups.append(current)
            current, longest = [], max(len(encoded[i][0]), len(encoded[i][1]))
        current.append(i)
    groups.append(current)
    rng.shuffle(groups)
    for group in groups:
        yield pad([encoded[i][0] for i in group]), pad([encoded[i][1] for i in group])


def pad(rows: list[list[int]]) -> torch.Tensor:
    width = max(map(len, rows))
    return torch.tensor([row + [0] * (width - len(row)) for row in rows])


@torch.inference_mode()
def greedy_translate(model: Seq2SeqTransformer, tokenizer: Tokenizer, sentences: list[str], device) -> list[str]:
    """Batched greedy decoding with the incremental decoder (for BLEU during and after training)."""
    model.eval()
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    outputs = []
    for i in range(0, len(sentences), 64):
        chunk = [[*e.ids[: MAX_TOKENS - 1], eos] for e in tokenizer.encode_batch(sentences[i : i + 64])]
        source = pad(chunk).to(device)
        state = model.start_decoding(source)
        token = torch.full((len(chunk),), bos, device=device)
        generated, done = [], torch.zeros(len(chunk), dtype=torch.bool, device=device)
        for _ in range(int(source.size(1) * 1.5) + 10):
            log_probs, _, state = model.decode_step(token, state)
            token = log_probs.argmax(-1)
            generated.append(token)
            done |= token == eos
            if done.all():
                break
        for row in torch.stack(generated, 1).tolist():
            row = row[: row.index(eos)] if eos in row else row
            outputs.append(tokenizer.decode(row))
    model.train()
    return outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15.0, help="wall-clock training budget of this run")
    parser.add_argument("--resume", action="store_true", help="continue the last run's weights and optimiser")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens-per-batch", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100, help="steps of linear learning-rate warm-up")
    parser.add_argument("--vocab", type=int, default=4000)
    # The defaults fit a shared laptop CPU; a GPU affords e.g. --d-model 256 --layers 4 --ffn 1024.
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2, help="encoder layers, and as many decoder layers")
    parser.add_argument("--ffn", type=int, default=512)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    device = torch.device(args.device)
    work = cache_dir() / "translation" / "enes_run"
    work.mkdir(parents=True, exist_ok=True)
    train, test = load_split("train"), load_split("test")

    if args.resume:
        tokenizer = Tokenizer.from_file(str(work / "tokenizer.json"))
        saved = torch.load(work / "run.pt", weights_only=True, map_location=device)
        config = TransformerConfig(**saved["config"])
    else:
        tokenizer = train_tokenizer(train, args.vocab)
        tokenizer.save(str(work / "tokenizer.json"))
        config = TransformerConfig(
            vocab=tokenizer.get_vocab_size(),
            d_model=args.d_model,
            encoder_layers=args.layers,
            decoder_layers=args.layers,
            ffn=args.ffn,
        )
    model = Seq2SeqTransformer(config).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    step, seconds_before = 0, 0.0
    if args.resume:
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        step, seconds_before = saved["step"], saved["seconds"]

    encoded = encode_pairs(tokenizer, train)
    rng = random.Random(SEED + step)
    start = time.time()
    deadline = start + args.minutes * 60
    epoch_losses: list[float] = []
    while time.time() < deadline:
        for source, target in batches(encoded, args.tokens_per_batch, rng):
            step += 1
            # Warm up, then decay with 1/sqrt(step): resuming continues the same schedule.
            lr = args.lr * min(step / args.warmup, math.sqrt(args.warmup / step))
            for group in optimiser.param_groups:
                group["lr"] = lr
            source, target = source.to(device), target.to(device)
            logits = model(source, target[:, :-1])
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)), target[:, 1:].reshape(-1), ignore_index=0, label_smoothing=0.1
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            epoch_losses.append(loss.item())
            if step % 25 == 0:
                recent = sum(epoch_losses[-25:]) / len(epoch_losses[-25:])
                print(f"step {step} loss {recent:.3f} lr {lr:.2e} ({time.time() - start:.0f} s)", flush=True)
            if time.time() >= deadline:
                break
    seconds = seconds_before + time.time() - start
    torch.save(
        {
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "config": dataclasses.asdict(config),
            "step": step,
            "seconds": seconds,
        },
        work / "run.pt",
    )

    sources = [en for en, _ in test]
    references = [es for _, es in test]
    hypotheses = greedy_translate(model, tokenizer, sources, device)
    metric = BLEU()
    bleu = metric.corpus_score(hypotheses, [references])
    metrics = {
        "test sentences": len(test),
        "sacreBLEU greedy (test)": round(bleu.score, 2),
        "sacreBLEU signature": str(metric.get_signature()),
        "steps": step,
        "training seconds": round(seconds),
        "training pairs": len(encoded),
        "parameters": sum(p.numel() for p in model.parameters()),
        "final loss (label-smoothed)": round(sum(epoch_losses[-100:]) / max(len(epoch_losses[-100:]), 1), 3),
    }
    print(json.dumps(metrics, indent=2))
    OUT.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(weights, OUT / "enes.safetensors", metadata={"config": json.dumps(dataclasses.asdict(config))})
    tokenizer.save(str(OUT / "enes_tokenizer.json"))
    (OUT / "enes_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (OUT / "enes_test_samples.tsv").write_text(
        "".join(f"{s}\t{r}\t{h}\n" for s, r, h in zip(sources[:30], references[:30], hypotheses[:30], strict=True)),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
