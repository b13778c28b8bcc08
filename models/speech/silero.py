"""Silero VAD (MIT), the neural voice-activity detector, as a plain PyTorch module holding the weights of the
16 kHz network in the `silero-vad` wheel's TorchScript file, the model its own `load_silero_vad()` returns (the
wheel's safetensors file holds an older network). The TorchScript code itself never runs here: its weights are
copied into this module, and the tests compare the two.

Every 32 ms chunk (512 samples at 16 kHz, read with the 64 samples before it) goes through a fixed Fourier
transform written as a convolution, four small convolutions and one LSTM step; the LSTM carries what it heard
from chunk to chunk, and a sigmoid gives the chunk's probability of speech. The convolutions see one chunk
each, so all chunks go through them as one batch and only the LSTM runs along the recording.
"""

from __future__ import annotations

import torch
from torch import nn

from models.core.errors import ModelLoadError

CHUNK = 512  # 32 ms: one probability each
CONTEXT = 64  # samples of the previous chunk read with each chunk
WINDOW = 256  # the Fourier transform's window; 129 frequencies
HOP = 128


class SileroVAD(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cutoff = WINDOW // 2 + 1
        # The real and imaginary parts of a windowed DFT as 2 x 129 fixed filters.
        self.stft_conv = nn.Conv1d(1, 2 * self.cutoff, WINDOW, stride=HOP, bias=False)
        self.conv1 = nn.Conv1d(self.cutoff, 128, 3, padding=1)
        self.conv2 = nn.Conv1d(128, 64, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(64, 64, 3, stride=2, padding=1)
        self.conv4 = nn.Conv1d(64, 128, 3, padding=1)
        self.lstm = nn.LSTM(128, 128, batch_first=True)
        self.final_conv = nn.Conv1d(128, 1, 1)

    def chunk_features(self, chunks: torch.Tensor) -> torch.Tensor:
        """(N, CONTEXT + CHUNK) samples -> (N, 128): what each chunk says before the LSTM."""
        x = nn.functional.pad(chunks, (0, CONTEXT), mode="reflect")[:, None]  # (N, 1, 640)
        x = self.stft_conv(x)  # (N, 258, 4): 4 windows a chunk
        x = (x[:, : self.cutoff] ** 2 + x[:, self.cutoff :] ** 2).sqrt()  # (N, 129, 4) magnitudes
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = conv(x).relu()  # time 4 -> 4 -> 2 -> 1 -> 1
        return x[..., 0]

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        """(n,) samples at 16 kHz -> (ceil(n / CHUNK),) probability of speech in each 32 ms chunk."""
        count = max(1, -(-len(samples) // CHUNK))
        padded = nn.functional.pad(samples, (CONTEXT, count * CHUNK - len(samples)))  # silence before and after
        starts = torch.arange(count, device=samples.device) * CHUNK
        chunks = padded[starts[:, None] + torch.arange(CONTEXT + CHUNK, device=samples.device)]  # (N, 576)
        hidden, _ = self.lstm(self.chunk_features(chunks)[None])  # (1, N, 128), one step a chunk
        return self.final_conv(hidden[0].relu()[..., None]).sigmoid()[:, 0, 0]


def load_silero(location: str, device: torch.device) -> SileroVAD:
    """The model with the weights of the wheel's TorchScript file (its 16 kHz network, `_model`)."""
    try:
        scripted = torch.jit.load(location, map_location="cpu")
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(f"Could not read Silero VAD's weights from {location}: {exc}") from exc
    theirs = scripted._model.state_dict()
    ours = {"stft_conv.weight": theirs["stft.forward_basis_buffer"]}
    for index in range(4):
        for kind in ("weight", "bias"):
            ours[f"conv{index + 1}.{kind}"] = theirs[f"encoder.{index}.reparam_conv.{kind}"]
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        ours[f"lstm.{name}_l0"] = theirs[f"decoder.rnn.{name}"]  # an LSTM cell's weights: a one-layer LSTM's
    for kind in ("weight", "bias"):
        ours[f"final_conv.{kind}"] = theirs[f"decoder.decoder.2.{kind}"]
    model = SileroVAD()
    model.load_state_dict(ours)
    return model.to(device).eval()
