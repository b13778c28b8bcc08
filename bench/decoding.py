"""What one decoding step costs the host: operators, reads back to the host and small uploads, per step of
every decoder (the English->Spanish and date translators, greedy and beam 5; the character LSTM and
SmolLM2, greedy and sampling). Counted on any device, the CPU included, so the limits can be tested where
there is no GPU.

On a GPU each host read (`.item()`, `.tolist()`, `.cpu()`, `int(tensor)`...) waits until every kernel
queued before it has run, so a step with several of them keeps the GPU idle between tiny kernels. The
decoders read back once per step (one packed copy); their uploads (`models.core.device.upload`: the
chosen tokens and rows) are counted too, since each is a small copy.

    python -m bench decoding
"""

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.profiler import ProfilerActivity, profile

# Tensor methods and conversions that copy a value back to the host (a GPU synchronisation there).
HOST_READS = frozenset({"item", "tolist", "cpu", "numpy", "__bool__", "__int__", "__float__", "__index__", "nonzero"})
# Tensors made from host values (an upload when they go to a GPU).
UPLOADS = frozenset({"tensor", "as_tensor"})


class HostTraffic(TorchFunctionMode):
    """Counts, while active, the torch calls that read a value back to the host and those that make a tensor
    from host values."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in HOST_READS or name in UPLOADS:
            self.calls[name] += 1
        return func(*args, **(kwargs or {}))

    @property
    def reads(self) -> int:
        return sum(n for name, n in self.calls.items() if name in HOST_READS)

    @property
    def uploads(self) -> int:
        return sum(n for name, n in self.calls.items() if name in UPLOADS)


@dataclass(frozen=True)
class StepCost:
    steps: int
    operators: float  # aten operators per step
    host_reads: float  # per step
    uploads: float  # per step


def step_cost(decode: Callable[[], int]) -> StepCost:
    """`decode()` runs one whole decoding and returns its number of steps; the counts are per step (the
    set-up before the first step, e.g. encoding the source, is included and spread over the steps)."""
    decode()  # warm: lazy initialisation is not a step's cost
    with profile(activities=[ProfilerActivity.CPU]) as prof, HostTraffic() as traffic:
        steps = decode()
    operators = sum(event.count for event in prof.key_averages() if event.key.startswith("aten::"))
    return StepCost(steps, operators / steps, traffic.reads / steps, traffic.uploads / steps)


SENTENCE = "Then the king sent his servants to the city, and they gathered all the people who were living there."


@contextmanager
def in_this_thread(model: Any) -> Iterator[None]:
    """The model's batching worker off while decoding: the decoding runs in the caller's thread, where the
    counters see it (a model loaded earlier in the process, by another benchmark, has its worker on)."""
    batcher = getattr(model, "batcher", None)
    enabled = batcher is not None and batcher.enabled
    if enabled:
        batcher.enabled = False
    try:
        yield
    finally:
        if enabled:
            batcher.enabled = True


def decoders() -> dict[str, Callable[[], int]]:
    """Each decoder as a function that decodes once and returns its steps. One thread, no micro-batching
    thread: the counts are the decoder's own."""
    from models import generation as gen
    from models.core.registry import get_registry
    from models.translation.translator import as_translator

    registry = get_registry()
    enes = as_translator(registry.load("translation-enes"))
    dates = as_translator(registry.load("translation-dates"))
    charlm = gen.as_language_model(registry.load("charlm-hamlet-lstm"))
    smollm2 = gen.as_language_model(registry.load("smollm2-135m-instruct"))

    def translate(translator: Any, text: str, method: str) -> Callable[[], int]:
        def run() -> int:
            with in_this_thread(translator):
                result = translator.translate(text, method, beam_width=5)
            return max(node.step for node in result.search.tree)

        return run

    def write(lm: Any, prompt: str, decoding: Any) -> Callable[[], int]:
        def run() -> int:
            with in_this_thread(lm):
                return sum(1 for _ in gen.generate(lm, prompt, decoding))

        return run

    def greedy(length: int) -> Any:
        return gen.Decoding("greedy", max_new_tokens=length)

    def sample(length: int) -> Any:
        return gen.Decoding("sample", temperature=0.8, top_p=0.9, max_new_tokens=length)

    hamlet, story = "To be, or not to be", "Once upon a time, in a small village by the sea,"

    return {
        "en->es greedy": translate(enes, SENTENCE, "greedy"),
        "en->es beam 5": translate(enes, SENTENCE, "beam"),
        "dates greedy": translate(dates, "Thursday, 14 March 2041", "greedy"),
        "dates beam 5": translate(dates, "Thursday, 14 March 2041", "beam"),
        "char LSTM greedy": write(charlm, hamlet, greedy(60)),
        "char LSTM sampling": write(charlm, hamlet, sample(60)),
        # SmolLM2's steps cost about 30 ms here: 20 of them show the per-step counts.
        "SmolLM2 greedy": write(smollm2, story, greedy(20)),
        "SmolLM2 sampling": write(smollm2, story, sample(20)),
    }


def ms_per_step(decode: Callable[[], int], repeats: int = 3) -> float:
    """Median wall time of one step over `repeats` whole decodings (after one to warm up)."""
    decode()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        steps = decode()
        times.append((time.perf_counter() - started) / steps)
    return 1000 * statistics.median(times)


def print_profile(decode: Callable[[], int]) -> None:
    """On a GPU: where a decoding's time goes, host and device (the top operators by their own host time)."""
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        decode()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def run() -> dict[str, float]:
    torch.set_num_threads(1)
    figures: dict[str, float] = {}
    for name, decode in decoders().items():
        cost = step_cost(decode)
        figures[f"{name}: operators per step"] = round(cost.operators, 1)
        figures[f"{name}: host reads per step"] = round(cost.host_reads, 2)
        figures[f"{name}: uploads per step"] = round(cost.uploads, 2)
        figures[f"{name}: ms per step"] = round(ms_per_step(decode), 3)
        if torch.cuda.is_available() and name == "en->es greedy":
            print_profile(decode)
    return figures
