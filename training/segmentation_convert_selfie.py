"""Convert MediaPipe's selfie segmentation models from TFLite to the safetensors the app loads.

    python -m training.segmentation_convert_selfie      (or: make train-segmentation_convert_selfie)

Reads selfie_segmentation.tflite and selfie_segmentation_landscape.tflite (extracted from the
mediapipe==0.10.21 wheel by tools/fetch_extras.py), converts each graph with
models/segmentation/tflite_to_torch.py, checks the saved file gives the same output as the fresh conversion,
and writes assets/segmentation/<name>.safetensors.
"""

import torch

from models.core.paths import ASSETS, extra_file
from models.segmentation.tflite_to_torch import convert, load_graph, save_graph

NAMES = ["selfie_segmentation", "selfie_segmentation_landscape"]


def main() -> None:
    folder = ASSETS / "segmentation"
    folder.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        module = convert(extra_file(f"{name}.tflite"))
        target = folder / f"{name}.safetensors"
        save_graph(module, target)
        height, width = module.input_size
        x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            difference = (load_graph(target)(x) - module(x)).abs().max().item()
        print(
            f"{target.relative_to(ASSETS.parent)}: {len(module.ops)} ops, {target.stat().st_size / 1e3:.0f} kB, "
            f"input {height}x{width}, max difference after saving {difference:.2e}"
        )


if __name__ == "__main__":
    main()
