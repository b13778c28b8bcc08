"""Train IBM Model 1 word alignments (models/translation/ibm1.py) on the English -> Spanish training verses,
the same pairs the neural model reads (training/translation_bible.py), and write the translation table.

    python -m training.translation_ibm1        # or: make train-translation_ibm1  (about a minute)

Writes assets/translation/ibm1.safetensors (entries with t(f | e) >= 0.01, fp16) and ibm1_metrics.json:
the corpus log-likelihood before each EM iteration (it never falls) and the likeliest Spanish words for
a few English ones.
"""

import json
import time

from models.core.paths import ASSETS
from models.translation.ibm1 import train, words
from training.translation_bible import load_split

OUT = ASSETS / "translation"
MAX_WORDS = 80  # longer verses are left out: the E-step's rows grow with the product of the lengths
ITERATIONS = 10
PROBES = ["god", "light", "darkness", "water", "king", "said", "house", "love", "neighbor", "the"]


def main() -> None:
    start = time.time()
    pairs = [(words(en), words(es)) for en, es in load_split("train")]
    pairs = [(e, f) for e, f in pairs if e and f and len(e) <= MAX_WORDS and len(f) <= MAX_WORDS]
    model, log_likelihoods = train(pairs, iterations=ITERATIONS)
    metrics = {
        "training pairs": len(pairs),
        "EM iterations": ITERATIONS,
        "log-likelihood before each iteration": [round(x) for x in log_likelihoods],
        "English words": len(model.english) - 1,
        "Spanish words": len(model.spanish),
        "table entries (t >= 0.01)": len(model.table),
        "seconds": round(time.time() - start),
        "likeliest translations": {w: [[f, round(p, 3)] for f, p in model.translations(w, 3)] for w in PROBES},
    }
    print(json.dumps(metrics, indent=2, ensure_ascii=False))
    model.save(OUT / "ibm1.safetensors")
    (OUT / "ibm1_metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
