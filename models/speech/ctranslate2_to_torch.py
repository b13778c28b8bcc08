"""Read a CTranslate2 Whisper model (`model.bin`) into the state dict of models/speech/whisper.py, and store
it as safetensors so the app loads it like any other checkpoint.

`model.bin` (CTranslate2's binary format, version 6) is a flat list of named arrays: a header (format
version, spec name, spec revision, count), then per array its name, rank, dimensions, dtype id, byte count
and raw little-endian bytes, then aliases (name -> another array's name). It is read with `struct` and
`numpy.frombuffer`: nothing in it is executed or unpickled.

CTranslate2 fuses projections that Whisper keeps apart: a self-attention's `linear_0` is q, k and v stacked
(k's bias stored as zeros), a cross-attention's `linear_0` is q and its `linear_1` k and v stacked.
"""

import struct
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from models.core.errors import ModelLoadError
from models.speech.whisper import Whisper, WhisperDims

DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}  # CTranslate2's DType ids
FORMAT_VERSION = 6


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise ModelLoadError("The CTranslate2 model file ends early: it is truncated.")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def number(self, fmt: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.take(self.number("H"))[:-1].decode("utf-8")  # stored with its NUL terminator


def read_ctranslate2(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """(spec name, name -> array) of a CTranslate2 `model.bin`, aliases resolved."""
    reader = _Reader(Path(path).read_bytes())
    version = reader.number("I")
    if version != FORMAT_VERSION:
        raise ModelLoadError(f"{path} is CTranslate2 format version {version}; version {FORMAT_VERSION} is read.")
    spec, _revision, count = reader.string(), reader.number("I"), reader.number("I")
    arrays: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = reader.string()
        shape = [reader.number("I") for _ in range(reader.number("B"))]
        dtype_id, size = reader.number("B"), reader.number("I")
        if dtype_id not in DTYPES:
            raise ModelLoadError(f"{path}: array {name} has the unsupported dtype id {dtype_id}.")
        arrays[name] = np.frombuffer(reader.take(size), dtype=DTYPES[dtype_id]).reshape(shape)
    for _ in range(reader.number("I")):
        alias, target = reader.string(), reader.string()
        arrays[alias] = arrays[target]
    return spec, arrays


def _attention(prefix: str, arrays: dict[str, np.ndarray], cross: bool) -> dict[str, np.ndarray]:
    """One attention's q, k, v and output projections from CTranslate2's fused ones."""
    weight, bias = (arrays[f"{prefix}/linear_0/{p}"] for p in ("weight", "bias"))
    if cross:  # linear_0 = q; linear_1 = k and v
        kv_weight, kv_bias = arrays[f"{prefix}/linear_1/weight"], arrays[f"{prefix}/linear_1/bias"]
        weight, bias = np.concatenate([weight, kv_weight]), np.concatenate([bias, kv_bias])
    q, k, v = np.split(weight, 3)
    q_bias, _k_bias, v_bias = np.split(bias, 3)  # k has no bias in Whisper (stored as zeros)
    out = f"{prefix}/linear_{2 if cross else 1}"
    return {
        "query.weight": q,
        "query.bias": q_bias,
        "key.weight": k,
        "value.weight": v,
        "value.bias": v_bias,
        "out.weight": arrays[f"{out}/weight"],
        "out.bias": arrays[f"{out}/bias"],
    }


def _norm(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"weight": arrays[f"{prefix}/gamma"], "bias": arrays[f"{prefix}/beta"]}


def _block(prefix: str, arrays: dict[str, np.ndarray], cross: bool) -> dict[str, np.ndarray]:
    parts = {
        "attn": _attention(f"{prefix}/self_attention", arrays, cross=False),
        "attn_ln": _norm(f"{prefix}/self_attention/layer_norm", arrays),
        "mlp_ln": _norm(f"{prefix}/ffn/layer_norm", arrays),
        "mlp.0": {p: arrays[f"{prefix}/ffn/linear_0/{p}"] for p in ("weight", "bias")},
        "mlp.2": {p: arrays[f"{prefix}/ffn/linear_1/{p}"] for p in ("weight", "bias")},
    }
    if cross:
        parts["cross_attn"] = _attention(f"{prefix}/attention", arrays, cross=True)
        parts["cross_attn_ln"] = _norm(f"{prefix}/attention/layer_norm", arrays)
    return {f"{module}.{name}": value for module, params in parts.items() for name, value in params.items()}


def whisper_state_dict(arrays: dict[str, np.ndarray], dims: WhisperDims) -> dict[str, torch.Tensor]:
    """CTranslate2's WhisperSpec arrays -> models/speech/whisper.py's state dict (same dtype, fp16 here)."""
    state = {
        "encoder.conv1.weight": arrays["encoder/conv1/weight"],
        "encoder.conv1.bias": arrays["encoder/conv1/bias"],
        "encoder.conv2.weight": arrays["encoder/conv2/weight"],
        "encoder.conv2.bias": arrays["encoder/conv2/bias"],
        "encoder.positions": arrays["encoder/position_encodings/encodings"],
        "decoder.token_embedding.weight": arrays["decoder/embeddings/weight"],
        "decoder.positions": arrays["decoder/position_encodings/encodings"],
    }
    state |= {f"encoder.ln_post.{k}": v for k, v in _norm("encoder/layer_norm", arrays).items()}
    state |= {f"decoder.ln.{k}": v for k, v in _norm("decoder/layer_norm", arrays).items()}
    for i in range(dims.encoder_layers):
        state |= {f"encoder.blocks.{i}.{k}": v for k, v in _block(f"encoder/layer_{i}", arrays, False).items()}
    for i in range(dims.decoder_layers):
        state |= {f"decoder.blocks.{i}.{k}": v for k, v in _block(f"decoder/layer_{i}", arrays, True).items()}
    return {name: torch.from_numpy(np.array(value)) for name, value in state.items()}


def dims_of(arrays: dict[str, np.ndarray]) -> WhisperDims:
    """The model's sizes, read from its arrays' shapes."""
    vocab, width = arrays["decoder/embeddings/weight"].shape
    count = {
        stack: sum(1 for n in arrays if n.startswith(f"{stack}/layer_") and n.endswith("ffn/linear_0/bias"))
        for stack in ("encoder", "decoder")
    }
    return WhisperDims(
        n_mels=arrays["encoder/conv1/weight"].shape[1],
        n_audio_ctx=arrays["encoder/position_encodings/encodings"].shape[0],
        n_text_ctx=arrays["decoder/position_encodings/encodings"].shape[0],
        n_vocab=vocab,
        width=width,
        heads=int(arrays["encoder/num_heads"]),
        encoder_layers=count["encoder"],
        decoder_layers=count["decoder"],
    )


def convert(model_bin: Path) -> Whisper:
    """A Whisper module (fp16 weights, as stored) from a CTranslate2 Whisper `model.bin`."""
    spec, arrays = read_ctranslate2(model_bin)
    if spec != "WhisperSpec":
        raise ModelLoadError(f"{model_bin} holds a CTranslate2 {spec}, not a Whisper model.")
    dims = dims_of(arrays)
    model = Whisper(dims)
    state = whisper_state_dict(arrays, dims)
    model.load_state_dict(state)
    return model.to(state["decoder.token_embedding.weight"].dtype)


def save_whisper(model: Whisper, path: Path) -> None:
    metadata = {field: str(value) for field, value in vars(model.dims).items()}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path), metadata=metadata)


def load_whisper(path: Path) -> Whisper:
    """A Whisper module from safetensors written by `save_whisper` (sizes in the metadata)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as file:
        dims = WhisperDims(**{k: int(v) for k, v in file.metadata().items()})
    state = load_file(str(path))
    model = Whisper(dims)
    model.load_state_dict(state)
    return model.to(state["decoder.token_embedding.weight"].dtype)
