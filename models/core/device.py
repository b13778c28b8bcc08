"""Which device models run on: CUDA when present, else CPU."""

import os
import platform
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TypeVar

import torch

T = TypeVar("T")
CPU = torch.device("cpu")

_forced_half_dtype: torch.dtype | None = None  # set only by `forced_half_dtype`, for tests


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
    (CPU half precision is slower than fp32 on most laptops). Loaders call it once, at load time."""
    if _forced_half_dtype is not None:
        return _forced_half_dtype
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextmanager
def forced_half_dtype(dtype: torch.dtype) -> Iterator[None]:
    """For tests and tools/gpu_check.py only: models loaded inside the block get `dtype` from
    `half_dtype` on every device. bf16 runs on CPU torch, so the reduced-precision path a GPU takes,
    and its dtype mismatches, show on a machine without one; on a GPU with bf16, fp16 can be forced
    to check the path of GPUs without it. Process-wide while the block runs: never used by the app."""
    global _forced_half_dtype
    previous, _forced_half_dtype = _forced_half_dtype, dtype
    try:
        yield
    finally:
        _forced_half_dtype = previous


def on_cpu_after_gpu_oom(
    run: Callable[[torch.device | None], T], notice: Callable[[], AbstractContextManager] = nullcontext
) -> T:
    """`run(None)`: a request on the shared copy of a model (on the registry's device). If the GPU runs
    out of memory, free CUDA's cached blocks and answer with `run(CPU)` (a CPU copy of the model: see
    `Registry.load`) inside `notice()`, which lets a page say so while it runs."""
    try:
        return run(None)
    except torch.OutOfMemoryError:
        pass  # leave the except block first: its traceback holds the failed attempt's tensors
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    with notice():
        return run(CPU)


def environment_report() -> dict[str, str]:
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


def half_linear_weights(model: torch.nn.Module) -> None:
    """On the CPU, store every Linear layer's weights in fp16 (activations and outputs stay fp32). Decoding
    one token reads all the weights from memory, so halving their bytes makes SmolLM2 about 1.8x faster
    (probabilities within 0.002 of fp32) and the English->Spanish transformer's beam search 1.3x (its
    checkpoint is fp16 already: the same numbers). Only for an fp32 model on the CPU: these layers do not run
    on CUDA, and a model already in half precision (a test forcing bf16) stays as it is."""
    weight = next(model.parameters())
    if weight.device.type != "cpu" or weight.dtype != torch.float32:
        return
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:  # a future torch without it (it is marked deprecated): stay in fp32
        return
    quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.float16, inplace=True)
    # The fp32 weights left (embedding, norms) may still point into a memory-mapped checkpoint, which
    # keeps all of it resident; copies of them let it go (about 0.4 GB less for SmolLM2).
    for parameter in model.parameters():
        parameter.data = parameter.data.clone()


def upload(values: list, device: torch.device, dtype: torch.dtype = torch.long) -> torch.Tensor:
    """A small host list as a tensor on `device`, made there directly. (Through pinned memory without
    waiting was slower on an H200 for these few values: 19 µs a copy against 13, and decoding slower.)"""
    return torch.tensor(values, dtype=dtype, device=device)
