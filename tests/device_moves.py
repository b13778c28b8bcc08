"""What tensors a piece of code sends to a device, for the tests of where preprocessing runs."""

import torch
from torch.overrides import TorchFunctionMode


class DeviceMoves(TorchFunctionMode):
    """Records the dtype of every tensor sent to a device with `.to(device, ...)` while active."""

    def __init__(self) -> None:
        super().__init__()
        self.dtypes: list[torch.dtype] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") == "to" and any(
            isinstance(a, torch.device) for a in (*args, *kwargs.values())
        ):
            self.dtypes.append(args[0].dtype)
        return func(*args, **kwargs)
