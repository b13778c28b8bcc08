"""Write the fixed stratified 80/10/10 split of the Rotten Tomatoes snippets as row ids.

python -m training.sentiment_split    (writes assets/sentiment/split.json)
"""

import json

from models.sentiment import SPLIT_FILE, SPLIT_SEED, load_corpus, make_split


def main() -> None:
    corpus = load_corpus()
    split = make_split(corpus, SPLIT_SEED)
    SPLIT_FILE.parent.mkdir(parents=True, exist_ok=True)
    SPLIT_FILE.write_text(json.dumps(split, separators=(",", ":")) + "\n")
    labels = dict(zip(corpus["id"], corpus["label"], strict=True))
    for part, ids in split.items():
        positive = sum(labels[i] for i in ids)
        print(f"{part:<10} {len(ids):>6} snippets, {positive / len(ids):.1%} positive")


if __name__ == "__main__":
    main()
