"""Convert a TensorFlow Lite graph (a .tflite flatbuffer) into a plain PyTorch module.

`read_tflite(path)` parses the flatbuffer into a `Graph`: a list of `Op`s in execution order and
the constant weights they use. `GraphModule(graph)` is the torch module that runs it: one small
layer per operator, activations kept in NCHW. `save_graph` / `load_graph` store a converted graph
as safetensors (weights as tensors, the op list as JSON metadata), so the app never needs the
.tflite file or a TFLite runtime.

Covered operators are the ones of MediaPipe's selfie segmentation models and their common
neighbours: CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, ADD, MUL,
CONCATENATION, RESIZE_BILINEAR, LOGISTIC, RELU, RELU6, HARD_SWISH, DEQUANTIZE (of constants) and
MediaPipe's custom Convolution2DTransposeBias. Anything else raises ModelLoadError.
"""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file
from torch import nn

from models.core.errors import ModelLoadError

# NHWC axis -> NCHW axis, for 4-D tensors (TFLite is channels-last, torch channels-first).
NHWC_TO_NCHW = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2, -4: 0}
ACTIVATIONS = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6", 4: "tanh"}  # TFLite ActivationFunctionType
CUSTOM_PADDING = {1: "same", 2: "valid"}  # TfLitePadding enum, used by MediaPipe's custom op options


@dataclass
class Op:
    """One operator: its kind, the tensor ids it reads and writes, and its options."""

    kind: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """A converted TFLite subgraph: ops in execution order, their weights already in torch layout
    (keyed like the GraphModule's state dict), the input and output tensor ids and the input's
    NHWC shape."""

    ops: list[Op]
    weights: dict[str, np.ndarray]
    input_id: int
    output_id: int
    input_shape: list[int]


WEIGHTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "Convolution2DTransposeBias"}
ELEMENTWISE = {"ADD", "MUL", "CONCATENATION", "LOGISTIC", "HARD_SWISH", "RELU", "RELU6"}
SUPPORTED = WEIGHTED | ELEMENTWISE | {"AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "RESIZE_BILINEAR"}


def read_tflite(path: str | Path) -> Graph:
    """Parse a .tflite flatbuffer. DEQUANTIZE of a constant is folded away; constant operands
    (kernels, biases, resize sizes, reduction axes) move into the weights or the op's options."""
    import tflite

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"Could not read '{path}': {exc}") from exc
    if not tflite.Model.ModelBufferHasIdentifier(data, 0):  # bytes 4-8 of every TFLite file are "TFL3"
        raise ModelLoadError(f"'{path}' is not a TFLite model.")
    model = tflite.Model.GetRootAsModel(data, 0)
    subgraph = model.Subgraphs(0)
    builtin_names = {value: name for name, value in vars(tflite.BuiltinOperator).items() if not name.startswith("_")}
    dtypes = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16}
    dtypes |= {tflite.TensorType.INT32: np.int32, tflite.TensorType.INT64: np.int64}

    constants: dict[int, np.ndarray] = {}
    for tensor_id in range(subgraph.TensorsLength()):
        tensor = subgraph.Tensors(tensor_id)
        data = model.Buffers(tensor.Buffer()).DataAsNumpy()
        if isinstance(data, np.ndarray) and data.size and tensor.Type() in dtypes:
            shape = tensor.ShapeAsNumpy() if tensor.ShapeLength() else []
            constants[tensor_id] = np.frombuffer(data.tobytes(), dtype=dtypes[tensor.Type()]).reshape(shape)

    ops: list[Op] = []
    weights: dict[str, np.ndarray] = {}
    for index in range(subgraph.OperatorsLength()):
        raw = subgraph.Operators(index)
        code = model.OperatorCodes(raw.OpcodeIndex())
        if code.BuiltinCode() == tflite.BuiltinOperator.CUSTOM:
            kind = code.CustomCode().decode()
        else:  # old files keep the builtin code in the deprecated 8-bit field
            kind = builtin_names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        inputs, outputs = raw.InputsAsNumpy().tolist(), raw.OutputsAsNumpy().tolist()
        if kind == "DEQUANTIZE" and inputs[0] in constants:
            constants[outputs[0]] = constants[inputs[0]].astype(np.float32)
            continue
        if kind not in SUPPORTED:
            raise ModelLoadError(f"The TFLite operator {kind} is not supported by the converter.")
        options = _options(tflite, raw, kind)
        if kind in WEIGHTED:
            prefix = f"layers.{len(ops)}."
            weights[prefix + "weight"] = _torch_kernel(kind, constants[inputs[1]])
            has_bias = len(inputs) > 2 and inputs[2] in constants  # an absent optional input is -1
            bias = constants[inputs[2]] if has_bias else np.zeros(weights[prefix + "weight"].shape[0], np.float32)
            weights[prefix + "bias"] = bias.astype(np.float32)
        elif kind == "RESIZE_BILINEAR":
            options["size"] = constants[inputs[1]].tolist()
        elif kind == "MEAN":
            options["axes"] = np.atleast_1d(constants[inputs[1]]).tolist()
        elif any(i in constants for i in inputs):
            raise ModelLoadError(f"{kind} with a constant operand is not supported by the converter.")
        reads = inputs if kind in ELEMENTWISE else inputs[:1]
        ops.append(Op(kind, reads, outputs[:1], options))
    input_id, output_id = subgraph.Inputs(0), subgraph.Outputs(0)
    input_shape = subgraph.Tensors(input_id).ShapeAsNumpy().tolist()
    return Graph(ops, weights, input_id, output_id, input_shape)


def _torch_kernel(kind: str, kernel: np.ndarray) -> np.ndarray:
    """TFLite kernel layout -> torch's. CONV_2D (out, kh, kw, in) -> (out, in, kh, kw); depthwise
    (1, kh, kw, C) -> (C, 1, kh, kw); transposed (out, kh, kw, in) -> (in, out, kh, kw)."""
    order = (0, 3, 1, 2) if kind == "CONV_2D" else (3, 0, 1, 2)
    return np.ascontiguousarray(kernel.transpose(order), dtype=np.float32)


def _options(tflite: Any, raw: Any, kind: str) -> dict[str, Any]:
    """The options of one operator as a plain dict."""

    def table(options_class: Any) -> Any:
        options, buffer = options_class(), raw.BuiltinOptions()
        options.Init(buffer.Bytes, buffer.Pos)
        return options

    padding = {tflite.Padding.SAME: "same", tflite.Padding.VALID: "valid"}
    if kind in {"CONV_2D", "DEPTHWISE_CONV_2D"}:
        options = table(tflite.Conv2DOptions if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions)
        return {
            "padding": padding[options.Padding()],
            "stride": [options.StrideH(), options.StrideW()],
            "dilation": [options.DilationHFactor(), options.DilationWFactor()],
            "activation": ACTIVATIONS[options.FusedActivationFunction()],
        }
    if kind in {"AVERAGE_POOL_2D", "MAX_POOL_2D"}:
        options = table(tflite.Pool2DOptions)
        return {
            "padding": padding[options.Padding()],
            "stride": [options.StrideH(), options.StrideW()],
            "kernel": [options.FilterHeight(), options.FilterWidth()],
            "activation": ACTIVATIONS[options.FusedActivationFunction()],
        }
    if kind in {"ADD", "MUL"}:
        options = table(tflite.AddOptions if kind == "ADD" else tflite.MulOptions)
        return {"activation": ACTIVATIONS[options.FusedActivationFunction()]}
    if kind == "CONCATENATION":
        options = table(tflite.ConcatenationOptions)
        return {"axis": options.Axis(), "activation": ACTIVATIONS[options.FusedActivationFunction()]}
    if kind == "RESIZE_BILINEAR":
        options = table(tflite.ResizeBilinearOptions)
        return {"align_corners": bool(options.AlignCorners()), "half_pixel_centers": bool(options.HalfPixelCenters())}
    if kind == "MEAN":
        return {"keep_dims": bool(table(tflite.ReducerOptions).KeepDims())}
    if kind == "Convolution2DTransposeBias":
        # MediaPipe stores a TfLiteTransposeConvParams struct: int32 padding, stride_width, stride_height.
        pad, stride_w, stride_h = np.frombuffer(raw.CustomOptionsAsNumpy().tobytes()[:12], dtype=np.int32).tolist()
        return {"padding": CUSTOM_PADDING[pad], "stride": [stride_h, stride_w]}
    return {}


def activate(x: torch.Tensor, activation: str) -> torch.Tensor:
    """A TFLite fused activation."""
    if activation == "relu":
        return F.relu(x)
    if activation == "relu6":
        return F.relu6(x)
    if activation == "relu_n1_to_1":
        return x.clamp(-1.0, 1.0)
    if activation == "tanh":
        return torch.tanh(x)
    return x


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF 'SAME' padding along one axis: output = ceil(size / stride), any odd pixel goes after."""
    effective_kernel = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective_kernel - size, 0)
    return total // 2, total - total // 2


class Conv(nn.Module):
    """CONV_2D and DEPTHWISE_CONV_2D (groups = channels) with TF 'SAME' or 'VALID' padding."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, options: dict[str, Any], depthwise: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.from_numpy(weight))  # (out, in / groups, kh, kw)
        self.bias = nn.Parameter(torch.from_numpy(bias))  # (out,)
        self.groups = weight.shape[0] if depthwise else 1
        self.stride, self.dilation = options["stride"], options["dilation"]
        self.padding, self.activation = options["padding"], options["activation"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = (0, 0)
        if self.padding == "same":
            kh, kw = self.weight.shape[2:]
            top, bottom = same_padding(x.shape[2], kh, self.stride[0], self.dilation[0])
            left, right = same_padding(x.shape[3], kw, self.stride[1], self.dilation[1])
            if (top, left) == (bottom, right):
                padding = (top, left)  # symmetric: let the convolution pad, saving a copy
            else:
                x = F.pad(x, (left, right, top, bottom))
        x = F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)
        return activate(x, self.activation)


class TransposeConv(nn.Module):
    """MediaPipe's Convolution2DTransposeBias: a transposed convolution plus bias. With 'SAME'
    the output is input * stride, cropped from the full transposed output the way TF crops it."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, options: dict[str, Any]):
        super().__init__()
        self.weight = nn.Parameter(torch.from_numpy(weight))  # (in, out, kh, kw)
        self.bias = nn.Parameter(torch.from_numpy(bias))  # (out,)
        self.stride, self.padding = options["stride"], options["padding"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        full = F.conv_transpose2d(x, self.weight, self.bias, self.stride)  # (B, out, (H-1)*s+kh, (W-1)*s+kw)
        if self.padding == "valid":
            return full
        height, width = x.shape[2] * self.stride[0], x.shape[3] * self.stride[1]
        top, left = (full.shape[2] - height) // 2, (full.shape[3] - width) // 2
        return full[:, :, top : top + height, left : left + width]


class Pool(nn.Module):
    """AVERAGE_POOL_2D / MAX_POOL_2D. With 'SAME' padding TF averages only over real pixels."""

    def __init__(self, kind: str, options: dict[str, Any]):
        super().__init__()
        self.kind, self.kernel, self.stride = kind, options["kernel"], options["stride"]
        self.padding, self.activation = options["padding"], options["activation"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = (0, 0, 0, 0)
        if self.padding == "same":
            top, bottom = same_padding(x.shape[2], self.kernel[0], self.stride[0])
            left, right = same_padding(x.shape[3], self.kernel[1], self.stride[1])
            pad = (left, right, top, bottom)
        if self.kind == "MAX_POOL_2D":
            pooled = F.max_pool2d(F.pad(x, pad, value=-math.inf), self.kernel, self.stride)
        else:
            total = F.avg_pool2d(F.pad(x, pad), self.kernel, self.stride, divisor_override=1)
            real_pixels = F.avg_pool2d(
                F.pad(torch.ones_like(x[:1, :1]), pad), self.kernel, self.stride, divisor_override=1
            )
            pooled = total / real_pixels
        return activate(pooled, self.activation)


class Mean(nn.Module):
    """MEAN over NHWC axes (mapped to NCHW)."""

    def __init__(self, options: dict[str, Any]):
        super().__init__()
        self.axes = sorted(NHWC_TO_NCHW[axis] for axis in options["axes"])
        self.keep_dims = options["keep_dims"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.axes, keepdim=self.keep_dims)


def interpolation_matrix(
    in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool, device: torch.device
) -> torch.Tensor:
    """(out_size, in_size) weights of TFLite's 1-D bilinear resampling: each output pixel mixes its
    two neighbouring source pixels. Sources follow TFLite's three conventions; the default
    (source = destination * scale) is MediaPipe's image-to-tensor mapping too, and has no
    equivalent in torch's interpolate."""
    destination = torch.arange(out_size, dtype=torch.float32, device=device)
    if align_corners and out_size > 1:
        source = destination * ((in_size - 1) / (out_size - 1))
    elif half_pixel_centers:
        source = ((destination + 0.5) * (in_size / out_size) - 0.5).clamp(min=0)  # edge pixels repeat
    else:
        source = destination * (in_size / out_size)
    low = source.floor().clamp(max=in_size - 1)
    high = (low + 1).clamp(max=in_size - 1)
    weight_high = source - low
    matrix = torch.zeros(out_size, in_size, device=device)
    rows = torch.arange(out_size, device=device)
    matrix.index_put_((rows, low.long()), 1 - weight_high, accumulate=True)
    matrix.index_put_((rows, high.long()), weight_high, accumulate=True)
    return matrix


def resize_bilinear(
    x: torch.Tensor, size: tuple[int, int], align_corners: bool = False, half_pixel_centers: bool = False
) -> torch.Tensor:
    """Bilinear resize of (B, C, H, W) to (B, C, *size) with TFLite's coordinate conventions."""
    rows = interpolation_matrix(x.shape[2], size[0], align_corners, half_pixel_centers, x.device).to(x.dtype)
    cols = interpolation_matrix(x.shape[3], size[1], align_corners, half_pixel_centers, x.device).to(x.dtype)
    return rows @ x @ cols.T  # (out_h, H) @ (B, C, H, W) @ (W, out_w) -> (B, C, out_h, out_w)


class ResizeBilinear(nn.Module):
    """RESIZE_BILINEAR to a constant size."""

    def __init__(self, options: dict[str, Any]):
        super().__init__()
        self.size = options["size"]  # (out_h, out_w)
        self.align_corners, self.half_pixel_centers = options["align_corners"], options["half_pixel_centers"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return resize_bilinear(x, self.size, self.align_corners, self.half_pixel_centers)


class Elementwise(nn.Module):
    """ADD, MUL, CONCATENATION and the unary activations."""

    def __init__(self, kind: str, options: dict[str, Any]):
        super().__init__()
        self.kind = kind
        self.activation = options.get("activation", "none")
        self.axis = NHWC_TO_NCHW[options["axis"]] if kind == "CONCATENATION" else 0

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.kind == "ADD":
            x = inputs[0] + inputs[1]
        elif self.kind == "MUL":
            x = inputs[0] * inputs[1]
        elif self.kind == "CONCATENATION":
            x = torch.cat(inputs, dim=self.axis)
        elif self.kind == "LOGISTIC":
            x = torch.sigmoid(inputs[0])
        elif self.kind == "HARD_SWISH":
            x = F.hardswish(inputs[0])
        elif self.kind == "RELU":
            x = F.relu(inputs[0])
        else:  # RELU6
            x = F.relu6(inputs[0])
        return activate(x, self.activation)


def build_layer(index: int, op: Op, weights: dict[str, np.ndarray]) -> nn.Module:
    """The torch layer that runs `op`, the `index`-th op of its graph."""
    if op.kind in WEIGHTED:
        weight, bias = weights[f"layers.{index}.weight"], weights[f"layers.{index}.bias"]
        if op.kind == "Convolution2DTransposeBias":
            return TransposeConv(weight, bias, op.options)
        return Conv(weight, bias, op.options, depthwise=op.kind == "DEPTHWISE_CONV_2D")
    if op.kind in {"AVERAGE_POOL_2D", "MAX_POOL_2D"}:
        return Pool(op.kind, op.options)
    if op.kind == "MEAN":
        return Mean(op.options)
    if op.kind == "RESIZE_BILINEAR":
        return ResizeBilinear(op.options)
    return Elementwise(op.kind, op.options)


class GraphModule(nn.Module):
    """Runs a converted graph: input (B, C, H, W) in the model's value range, output (B, C', H', W')."""

    def __init__(self, graph: Graph):
        super().__init__()
        self.ops = graph.ops
        self.layers = nn.ModuleList(build_layer(i, op, graph.weights) for i, op in enumerate(graph.ops))
        self.input_id, self.output_id, self.input_shape = graph.input_id, graph.output_id, graph.input_shape

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) the model expects."""
        return self.input_shape[1], self.input_shape[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {self.input_id: x}  # activations by TFLite tensor id
        for layer, op in zip(self.layers, self.ops, strict=True):
            values[op.outputs[0]] = layer(*(values[i] for i in op.inputs))
        return values[self.output_id]


def convert(path: str | Path) -> GraphModule:
    """A .tflite file as a torch module (fp32, CPU, eval mode)."""
    return GraphModule(read_tflite(path)).eval()


def save_graph(module: GraphModule, path: str | Path) -> None:
    """Store a converted graph as safetensors: fp16 weights (the TFLite files hold fp16 already,
    so nothing is lost) and the op list and input/output description as JSON metadata."""
    tensors = {name: p.detach().cpu().numpy().astype(np.float16) for name, p in module.state_dict().items()}
    metadata = {
        "ops": json.dumps([asdict(op) for op in module.ops]),
        "io": json.dumps({"input_id": module.input_id, "output_id": module.output_id, "shape": module.input_shape}),
    }
    save_file(tensors, str(path), metadata=metadata)


def load_graph(path: str | Path) -> GraphModule:
    """Rebuild a GraphModule saved by `save_graph` (fp32, CPU, eval mode)."""
    try:
        with safe_open(str(path), framework="np") as handle:
            metadata = handle.metadata()
            weights = {name: handle.get_tensor(name).astype(np.float32) for name in handle.keys()}  # noqa: SIM118
        ops = [Op(**op) for op in json.loads(metadata["ops"])]
        io = json.loads(metadata["io"])
        graph = Graph(ops, weights, io["input_id"], io["output_id"], io["shape"])
        return GraphModule(graph).eval()
    except (SafetensorError, OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"'{path}' is not a converted TFLite graph: {exc}") from exc
