"""Reference person masks from the MediaPipe runtime, for the converter's parity test.

    python -m training.segmentation_reference_masks [--mediapipe-python /tmp/mpvenv/bin/python]

Run once by hand (never by the tests). Step 1, in the project's venv: write five test photos from
packaged samples to tests/fixtures/segmentation/inputs/. Step 2, in a throwaway venv with
`mediapipe==0.10.21` from PyPI (created if missing): run MediaPipe's own SelfieSegmentation
solution (its TFLite runtime with the custom transpose-convolution op) on each photo with both
models and save the masks as 8-bit PNGs (probability * 255) in tests/fixtures/segmentation/masks/.
"""

import argparse
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "segmentation"
MODELS = {"general": 0, "landscape": 1}  # MediaPipe's model_selection values
MAX_SIDE = 320  # keeps the fixtures small


def write_inputs() -> list[Path]:
    """Five photos with people, from scikit-image and matplotlib, in different sizes and shapes."""
    import numpy as np
    import skimage.data
    from PIL import Image

    from models.core.images import sample_image

    astronaut = sample_image("astronaut")
    hopper = sample_image("Grace Hopper")
    cameraman = Image.fromarray(skimage.data.camera()).convert("RGB")
    photos = {
        "astronaut": astronaut,
        "hopper": hopper,
        "cameraman": cameraman,
        "astronaut_wide": astronaut.crop((0, 40, 512, 328)),  # landscape framing
        "hopper_mirrored_wide": Image.fromarray(np.asarray(hopper)[100:430, ::-1]),
    }
    folder = FIXTURES / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, photo in photos.items():
        photo.thumbnail((MAX_SIDE, MAX_SIDE))
        path = folder / f"{name}.jpg"
        photo.save(path, quality=92)
        paths.append(path)
    return paths


def reference_masks(paths: list[str]) -> None:
    """Step 2, runs inside the mediapipe venv: imports nothing from the project."""
    import mediapipe as mp
    import numpy as np
    from PIL import Image

    folder = FIXTURES / "masks"
    folder.mkdir(parents=True, exist_ok=True)
    for path in map(Path, paths):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        for model, selection in MODELS.items():
            # A fresh solution per image: nothing carries over from a previous frame.
            with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=selection) as solution:
                mask = solution.process(rgb).segmentation_mask
            pixels = np.clip(np.rint(mask * 255), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{path.stem}_{model}.png")
            print(f"{path.name} {model}: {mask.shape}, person share {(mask > 0.5).mean():.3f}")


def ensure_mediapipe(python: Path) -> None:
    if python.exists():
        return
    venv = python.parent.parent
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "mediapipe==0.10.21"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mediapipe-python", type=Path, default=Path("/tmp/mpvenv/bin/python"))
    parser.add_argument("--reference", nargs="+", help=argparse.SUPPRESS)  # step 2, inside the mediapipe venv
    args = parser.parse_args()
    if args.reference:
        reference_masks(args.reference)
        return
    paths = write_inputs()
    ensure_mediapipe(args.mediapipe_python)
    subprocess.run([str(args.mediapipe_python), __file__, "--reference", *map(str, paths)], check=True)


if __name__ == "__main__":
    main()
