"""Which device models run on: CUDA when present, else CPU."""

import platform

import torch


def best_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def half_dtype(device: torch.device) -> torch.dtype:
    """The reduced precision that is safe on `device`: bf16/fp16 on CUDA, fp32 on CPU
    (CPU half precision is slower than fp32 on most laptops)."""
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def describe() -> dict[str, str]:
    """Versions and hardware, for the Models & device page and the benchmarks."""
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none (CPU build)",
        "device": str(best_device()),
        "cpu threads": str(torch.get_num_threads()),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
