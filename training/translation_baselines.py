"""The comparison the translation page shows: writes the 1,000 English -> Spanish test verses to
assets/ (so any model can be scored on them without the Bibles installed) and Apertium's scores on them.

    python -m training.translation_baselines     # needs Debian's apertium-eng-spa; a minute or two
"""

import datetime
import json
import subprocess

from models.translation.baselines import METRICS, TEST_VERSES, apertium_translate
from models.translation.scores import corpus_scores
from training.translation_bible import load_split


def main() -> None:
    test = load_split("test")
    TEST_VERSES.write_text("".join(f"{en}\t{es}\n" for en, es in test), encoding="utf-8")
    sources, references = [en for en, _ in test], [es for _, es in test]
    # One Apertium process for all verses: one line in, one line out.
    hypotheses = apertium_translate("\n".join(sources), mark_unknown=False).split("\n")
    assert len(hypotheses) == len(sources), "Apertium changed the number of lines"
    version = subprocess.run(["dpkg-query", "-W", "apertium-eng-spa"], capture_output=True, text=True).stdout.strip()
    metrics = {
        "test": corpus_scores(hypotheses, references),
        "test verses": len(sources),
        "package": version,
        "options": "apertium -u eng-spa (unknown words unmarked)",
        "date": datetime.date.today().isoformat(),
        "samples": [[s, r, h] for s, r, h in zip(sources[:10], references[:10], hypotheses[:10], strict=True)],
    }
    print(json.dumps(metrics, indent=2, ensure_ascii=False))
    METRICS["apertium"].write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
