"""Test the general English->Spanish model (issue 25) once, on the CPU, as the app would decode it: the
Bible test verses (references in modern spelling, and in the 1909 spelling for comparison with the
Bible-only model), the software test split and the everyday test set, greedy and beam 5, sacreBLEU and
chrF; Apertium on the everyday and software sets; the share of everyday and Bible outputs that contain
a 1909 spelling (training/spanish_orthography.py's list).

    python -m training.translation_enes --corpus general --score <folder with enes_general.safetensors>
"""

import json
import shutil
from pathlib import Path

import torch

from models.translation.scores import corpus_scores

PREFIX = "enes_general"
PAGE_TAG = "daily"  # the tag the page puts before a visitor's text


def load_general(folder: Path, device: torch.device):
    """The translator the app would build from these weights (fp16 linear weights on the CPU). No source tag:
    the test sets are tagged here, each with its own domain's tag."""
    from models.translation.translator import load_enes

    return load_enes(str(folder / f"{PREFIX}.safetensors"), device)


def test_sets() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """name -> (domain tag it is translated with, (english, spanish) pairs)."""
    from training.translation_bible import load_split as load_bible
    from training.translation_general import bible_split, everyday_test, load_split

    return {
        "everyday": ("daily", everyday_test()),
        "software": ("soft", load_split("test")),
        "bible": ("bible", bible_split("test")),
        "bible (1909 spelling references)": ("bible", load_bible("test")),
    }


def apertium_lines(sentences: list[str]) -> list[str]:
    """Apertium's translation of each sentence (one call, one sentence a line; unknown words unmarked)."""
    from models.translation.baselines import apertium_translate

    lines = apertium_translate("\n".join(sentences), mark_unknown=False).split("\n")
    if len(lines) != len(sentences):  # a sentence that Apertium split: translate them one at a time
        lines = [apertium_translate(text, mark_unknown=False) for text in sentences]
    return [line.strip() for line in lines]


def archaic_share(outputs: list[str]) -> float:
    """Percentage of outputs with at least one 1909 spelling."""
    from training.spanish_orthography import archaic_forms

    return round(100 * sum(bool(archaic_forms(text)) for text in outputs) / max(len(outputs), 1), 2)


def score_general(weights: Path, out: Path) -> None:
    """Decode every test set once and write the figures (with the training metrics) and the everyday
    outputs beside Apertium's to `out`."""
    from training.translation_enes import TAGS, greedy_translate, write_metrics

    cpu = torch.device("cpu")
    translator = load_general(weights, cpu)
    metrics = json.loads((weights / f"{PREFIX}_metrics.json").read_text(encoding="utf-8"))
    tested: dict = {}
    beams: dict[str, list[str]] = {}
    for name, (domain, pairs) in test_sets().items():
        english, references = [en for en, _ in pairs], [es for _, es in pairs]
        sources = [f"{TAGS[domain]} {en}" for en in english]
        greedy = greedy_translate(translator.model, translator.tokenizer, sources, cpu)
        if name not in beams and "1909" not in name:
            beams[name] = [translator.translate(text, "beam", beam_width=5).best.text for text in sources]
        beam = beams.get(name) or beams["bible"]
        tested[name] = {"sentences": len(pairs), "greedy": corpus_scores(greedy, references)}
        tested[name]["beam 5"] = corpus_scores(beam, references)
        if name in ("everyday", "software"):
            tested[name]["Apertium"] = corpus_scores(apertium := apertium_lines(english), references)
            if name == "everyday":
                everyday = (english, references, beam, apertium)
        if name in ("everyday", "bible"):
            tested[name]["outputs with a 1909 spelling (%, beam 5)"] = archaic_share(beam)
    # The page's tag choice: the everyday set with the software tag, for comparison.
    english, references = everyday[0], everyday[1]
    other = greedy_translate(translator.model, translator.tokenizer, [f"{TAGS['soft']} {en}" for en in english], cpu)
    tested["everyday"]["greedy with <2soft>"] = corpus_scores(other, references)
    out.mkdir(parents=True, exist_ok=True)
    if weights.resolve() != out.resolve():
        for name in (f"{PREFIX}.safetensors", f"{PREFIX}_tokenizer.json"):
            shutil.copy(weights / name, out / name)
    test_figures = {"test": tested, "page tag": TAGS[PAGE_TAG]}
    write_metrics(out, test_figures | {k: v for k, v in metrics.items() if k not in test_figures}, PREFIX)
    (out / f"{PREFIX}_everyday_outputs.tsv").write_text(
        "english\treference\tmodel (beam 5)\tApertium\n"
        + "".join("\t".join(row) + "\n" for row in zip(*everyday, strict=True)),
        encoding="utf-8",
    )
