"""Forward hooks that record what modules output during one forward pass, removed afterwards."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn


@contextmanager
def recording(modules: dict[Any, nn.Module]) -> Iterator[dict[Any, Any]]:
    """Inside the block, every module's output lands in the yielded dict under its key (the first element when a
    module returns a tuple)."""
    outputs: dict[Any, Any] = {}

    def keep(key: Any) -> Callable:
        def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
            outputs[key] = output[0] if isinstance(output, tuple) else output

        return hook

    handles = [module.register_forward_hook(keep(key)) for key, module in modules.items()]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def hooked(module: nn.Module, hook: Callable, pre: bool = False) -> Iterator[None]:
    """`hook` on `module` inside the block: a forward pre-hook (it may return new inputs) with `pre`, else a
    forward hook (it may return a new output)."""
    handle = module.register_forward_pre_hook(hook) if pre else module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()
