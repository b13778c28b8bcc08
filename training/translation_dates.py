"""Train the date translator (human-readable date -> ISO 8601) on synthetic pairs.

    python -m training.translation_dates        # or: make train-translation_dates

Pairs come from CLDR date formats (PyPI `babel`) in eight locales, with typos, odd spacing and
dropped punctuation; some with a two-digit year ("5 April 09"), whose century follows strptime's %y
pivot (models/translation/dates.py: `widen_year`). Some formats and some years are kept out of
training; the held-out sets use only those years (and, for one set, only those formats), so the card's
accuracy measures generalisation to dates the model has never seen written that way. Runs on one CPU
thread in minutes.
"""

import dataclasses
import datetime as dt
import json
import random
import re
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from babel import Locale, dates
from safetensors.torch import save_file

from models.core.paths import ASSETS
from models.translation.dates import (
    BOS,
    EOS,
    SOURCE_VOCAB,
    TARGET_VOCAB,
    DateModelConfig,
    DateSeq2Seq,
    normalise,
    two_digit_years,
)

OUT = ASSETS / "translation"
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL"]
SKELETONS = ["yMMMd", "yMMMMd", "yMMMEd", "GyMMMEEEEd"]
# Numbers only: slashes are read month-first (US), dots and dashes day-first, a leading year is ISO order.
NUMERIC_TRAIN = [
    "M/d/y",
    "MM/dd/y",
    "d.M.y",
    "d.MM.y",
    "dd-MM-y",
    "y-MM-dd",
    "y-M-d",
    "y.MM.dd",
    "y.M.d",
    "y/M/d",
    "y MM dd",
]
NUMERIC_HELD_OUT = ["dd.MM.y", "y/MM/dd", "d-M-y"]
FIRST_YEAR, LAST_YEAR = 1800, 2199
TWO_DIGIT_SHARE = 0.15  # of training pairs, written with a two-digit year
SEED = 2026


def textual_patterns(locale: str) -> tuple[list[str], list[str]]:
    """(training, held-out) CLDR patterns of `locale` that spell the month out.
    Held out: the full style with an abbreviated month ("EEEE d MMM y"), a combination the
    training formats only show in parts."""
    loc = Locale.parse(locale)
    patterns = [dates.get_date_format(style, locale=locale).pattern for style in ("medium", "long", "full")]
    patterns += [loc.datetime_skeletons[s].pattern for s in SKELETONS if s in loc.datetime_skeletons]
    # Four-digit years here (`with_two_digit_year` makes the short variants). Era markers are dropped.
    patterns = [re.sub(r"y+", "y", p.replace(" G", "")) for p in patterns]
    train = sorted({p for p in patterns if "MMM" in p or "LLL" in p})
    full = re.sub(r"y+", "y", dates.get_date_format("full", locale=locale).pattern)
    held_out = [full.replace("MMMM", "MMM")]
    return [p for p in train if p not in held_out], held_out


def formats(held_out: bool) -> list[tuple[str, str]]:
    """(locale, pattern) pairs of the training or the held-out formats."""
    pairs = []
    for locale in LOCALES:
        train, other = textual_patterns(locale)
        pairs += [(locale, p) for p in (other if held_out else train)]
    numeric = NUMERIC_HELD_OUT if held_out else NUMERIC_TRAIN
    return pairs + [("en_US", p) for p in numeric]


def held_out_years() -> set[int]:
    return set(random.Random(SEED).sample(range(FIRST_YEAR, LAST_YEAR + 1), 40))


def random_date(rng: random.Random, years: list[int]) -> dt.date:
    year = rng.choice(years)
    start = dt.date(year, 1, 1)
    return start + dt.timedelta(days=rng.randrange((dt.date(year + 1, 1, 1) - start).days))


def add_noise(text: str, rng: random.Random) -> str:
    """What people do to dates: case, squeezed or doubled spaces, dropped dots and commas, a typo."""
    if rng.random() < 0.3:
        text = rng.choice([str.upper, str.lower, str.title])(text)
    if rng.random() < 0.3:
        text = text.replace(", ", ",") if rng.random() < 0.5 else text.replace(" ", "  ")
    if rng.random() < 0.2:
        text = text.replace(rng.choice(".,"), "")
    words = [w for w in re.findall(r"[^\W\d_]{5,}", text)]
    if words and rng.random() < 0.3:
        word = rng.choice(words)
        i = rng.randrange(1, len(word) - 1)
        typo = rng.choice(
            [
                word[:i] + word[i + 1 :],
                word[:i] + word[i] + word[i:],
                word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :],
            ]
        )
        text = text.replace(word, typo, 1)
    return rng.choice(["", " "]) + text if rng.random() < 0.1 else text


def with_two_digit_year(pattern: str) -> str | None:
    """The pattern with a two-digit year ("d.M.y" -> "d.M.yy"), or None where that would be ambiguous:
    a leading year ("09-04-05" reads as day-month-year too)."""
    return None if pattern.lstrip("'").startswith("y") else pattern.replace("y", "yy")


def make_pairs(
    n: int,
    years: list[int],
    fmts: list[tuple[str, str]],
    rng: random.Random,
    noise: bool,
    two_digit_share: float = TWO_DIGIT_SHARE,
):
    """n (text, ISO) pairs; a third of them numeric (digits are where the model must copy with care),
    `two_digit_share` of them with a two-digit year (and then a year of 1969-2068)."""
    numeric = [f for f in fmts if "M" in f[1] and "MMM" not in f[1]]
    textual = [f for f in fmts if f not in numeric]
    short_years = [y for y in years if y in two_digit_years()]
    pairs = []
    while len(pairs) < n:
        locale, pattern = rng.choice(numeric if rng.random() < 0.35 else textual)
        if rng.random() < two_digit_share:
            pattern = with_two_digit_year(pattern)
            if pattern is None:
                continue
            date = random_date(rng, short_years)
        else:
            date = random_date(rng, years)
        text = dates.format_date(date, pattern, locale=locale)
        pairs.append((add_noise(text, rng) if noise else text, date.isoformat()))
    return pairs


def batch(pairs: list[tuple[str, str]]) -> tuple[torch.Tensor, torch.Tensor]:
    """-> source (B, S) and target (B, 12) = <s> YYYY-MM-DD </s>, both padded with 0."""
    sources = [SOURCE_VOCAB.encode(normalise(s)) for s, _ in pairs]
    width = max(map(len, sources))
    source = torch.tensor([s + [0] * (width - len(s)) for s, _ in zip(sources, pairs, strict=True)])
    bos, eos = TARGET_VOCAB.id(BOS), TARGET_VOCAB.id(EOS)
    target = torch.tensor([[bos, *TARGET_VOCAB.encode(iso), eos] for _, iso in pairs])
    return source, target


@torch.inference_mode()
def exact_match(model: DateSeq2Seq, pairs: list[tuple[str, str]]) -> float:
    """Greedy decoding of 10 characters; the share written exactly right."""
    model.eval()
    correct = 0
    for i in range(0, len(pairs), 500):
        chunk = pairs[i : i + 500]
        source, _ = batch(chunk)
        state = model.encode(source)
        token = torch.full((len(chunk),), TARGET_VOCAB.id(BOS))
        out = []
        for _ in range(10):
            logits, state = model.step(token, state)
            token = logits.argmax(-1)
            out.append(token)
        decoded = [TARGET_VOCAB.decode(row) for row in torch.stack(out, 1).tolist()]
        correct += sum(d == iso for d, (_, iso) in zip(decoded, chunk, strict=True))
    model.train()
    return correct / len(pairs)


def main(steps: int = 3000, batch_size: int = 128) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    unseen = held_out_years()
    train_years = [y for y in range(FIRST_YEAR, LAST_YEAR + 1) if y not in unseen]
    test_years = sorted(unseen)
    train_formats, test_formats = formats(held_out=False), formats(held_out=True)
    eval_rng = random.Random(SEED + 1)
    # Every held-out numeric layout for every held-out year, 12 months and 5 days: copying digits to the
    # right place is the hard part, and a random sample hides the rare confusions.
    grid = [
        (dates.format_date(dt.date(year, month, day), pattern, locale="en_US"), dt.date(year, month, day).isoformat())
        for year in test_years
        for month in range(1, 13)
        for day in (1, 5, 11, 22, 28)
        for pattern in NUMERIC_HELD_OUT
    ]
    held_out = {
        "unseen years, unseen numeric layouts, grid": grid,
        "unseen years, training formats": make_pairs(2000, test_years, train_formats, eval_rng, noise=False),
        "unseen years, unseen formats": make_pairs(2000, test_years, test_formats, eval_rng, noise=False),
        "unseen years, unseen formats, noisy": make_pairs(2000, test_years, test_formats, eval_rng, noise=True),
        "unseen years, two-digit years, every format": make_pairs(
            2000, test_years, train_formats + test_formats, eval_rng, noise=False, two_digit_share=1.0
        ),
    }
    config = DateModelConfig()
    model = DateSeq2Seq(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps, pct_start=0.05)
    start = time.time()
    for step in range(1, steps + 1):
        source, target = batch(make_pairs(batch_size, train_years, train_formats, rng, noise=rng.random() < 0.7))
        logits = model(source, target[:, :-1])  # (B, 11, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target[:, 1:].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        if step % 500 == 0:
            accuracy = exact_match(model, held_out["unseen years, unseen formats"][:500])
            print(
                f"step {step} loss {loss.item():.4f} held-out {accuracy:.3f} ({time.time() - start:.0f} s)", flush=True
            )
    metrics = {name: exact_match(model, pairs) for name, pairs in held_out.items()}
    metrics |= {"steps": steps, "batch_size": batch_size, "seconds": round(time.time() - start)}
    metrics["parameters"] = sum(p.numel() for p in model.parameters())
    print(json.dumps(metrics, indent=2))
    OUT.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, OUT / "dates.safetensors", metadata={"config": json.dumps(dataclasses.asdict(config))})
    (OUT / "dates_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    samples = Path(OUT / "dates_held_out_samples.txt")
    samples.write_text("".join(f"{s}\t{iso}\n" for s, iso in held_out["unseen years, unseen formats, noisy"][:50]))


if __name__ == "__main__":
    main()
