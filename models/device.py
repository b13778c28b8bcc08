"""Which device models run on: CUDA when present, else CPU."""

import os
import platform

import torch


def best_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def use_app_thread_policy() -> int:
    """CPU threads per forward pass in the app: 1 by default (`STUDIO_TORCH_THREADS` to change it).
    The app runs every forward pass off Python's main thread (Streamlit's script threads, the batch
    workers), where a second OpenMP thread made small forward passes slower, not faster (SmolLM2
    22 -> 34 tokens/s with one thread); and with many sessions at once, one thread per request
    lets requests use the cores side by side instead of fighting over them. Returns the count."""
    threads = max(1, int(os.environ.get("STUDIO_TORCH_THREADS", "1")))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


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
