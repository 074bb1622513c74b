"""MTCNN face detector (Zhang et al., "Joint Face Detection and Alignment
using Multi-task Cascaded Convolutional Networks", 2016), run by torch.

Three small CNNs in cascade: P-Net slides over an image pyramid and proposes
boxes, R-Net rejects most of them on 24×24 crops, O-Net scores 48×48 crops
and gives five landmarks. It finds side views, tilted and small faces that
dlib's HOG (frontal only) misses, at a fraction of HOG's cost per frame.

Weights: the three networks' state dicts that the `facenet-pytorch` wheel
ships (`facenet_pytorch/data/{pnet,rnet,onet}.pt`, MIT licence; converted
from the original authors' release). The package itself is never imported
(its code pins torch < 2.3 and imports `requests`): its folder is found with
importlib.util.find_spec and the files are read with torch.load. The networks
below are written from the paper's architecture; their parameter names match
the files so that the state dicts load strictly.

Frames in (RGB uint8, any mix of sizes), per frame a detectors.Detections out:
MTCNN's own boxes, O-Net's face probability as the score, and five landmarks
(x, y of the eye on the image's left, the other eye, the nose tip, the mouth
corner on the image's left, the other corner). P-Net runs on all frames of one size at once per pyramid
level; R-Net and O-Net take the candidates of every frame in one batch.
"""
from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import models
from ..devices import import_torch
from ..errors import ModelNotFound
from ..types import Detections

WEIGHT_FILES = ("pnet.pt", "rnet.pt", "onet.pt")
"""The state dicts inside facenet_pytorch/data/."""

THRESHOLDS = (0.6, 0.7, 0.7)
"""Face probability each stage needs (P-Net, R-Net, O-Net): the paper's values."""

PYRAMID_FACTOR = 0.709
"""Scale between pyramid levels (√0.5: each level halves the pixel count)."""

CELL = 12
"""P-Net's window: a face of `min_face` pixels is scaled to this size."""

NMS_IOU = (0.5, 0.7, 0.7, 0.7)
"""Overlap above which a weaker box is dropped: within one pyramid level, across
levels, after R-Net, after O-Net (the last by intersection over the smaller box)."""


def weights_dir() -> Path:
    """facenet_pytorch/data, found without importing the package."""
    try:
        folder = models.package_dir("facenet_pytorch") / "data"
    except ModelNotFound:
        raise ModelNotFound("the MTCNN detector's weights come with the facenet-pytorch wheel: "
                            "pip install --no-deps facenet-pytorch==2.6.0") from None
    missing = [f for f in WEIGHT_FILES if not (folder / f).is_file()]
    if missing:
        raise ModelNotFound(f"MTCNN weights missing in {folder}: {', '.join(missing)}")
    return folder


def _networks():
    """The three torch modules (classes built here so that importing this
    module does not import torch)."""
    torch = import_torch()
    from torch import nn

    class PNet(nn.Module):
        """Fully convolutional 12×12 window: face probability and box offsets per cell (stride 2)."""

        def __init__(self):
            super().__init__()
            self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
            self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
            self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
            self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
            return torch.softmax(self.conv4_1(x), dim=1)[:, 1], self.conv4_2(x)

    class RNet(nn.Module):
        """24×24 crops: face probability and box offsets."""

        def __init__(self):
            super().__init__()
            self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
            self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
            self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.prelu3(self.conv3(x))
            # the dense weights were trained on width-major, channel-last
            # features (the original Caffe model read images transposed)
            x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).reshape(len(x), -1)))
            return torch.softmax(self.dense5_1(x), dim=1)[:, 1], self.dense5_2(x)

    class ONet(nn.Module):
        """48×48 crops: face probability, box offsets and five landmarks."""

        def __init__(self):
            super().__init__()
            self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
            self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
            self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
            self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.pool3(self.prelu3(self.conv3(x)))
            x = self.prelu4(self.conv4(x))
            x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).reshape(len(x), -1)))
            return torch.softmax(self.dense6_1(x), dim=1)[:, 1], self.dense6_2(x), self.dense6_3(x)

    return PNet, RNet, ONet


_shared: dict[tuple[str, str], tuple] = {}
_shared_lock = threading.Lock()


def load_networks(device: str = "cpu") -> tuple:
    """(P-Net, R-Net, O-Net) on `device`, in eval mode; built once per process
    and device and shared by every thread (inference keeps no state in them)."""
    torch = import_torch()

    key = (str(weights_dir()), device)
    with _shared_lock:
        if key not in _shared:
            nets = []
            for cls, fname in zip(_networks(), WEIGHT_FILES):
                net = cls()
                try:
                    state = torch.load(Path(key[0]) / fname, map_location="cpu", weights_only=True)
                    net.load_state_dict(state, strict=True)
                except Exception as e:  # a damaged or foreign file: say which
                    raise ModelNotFound(f"cannot load MTCNN weights {Path(key[0]) / fname}: {e}") from None
                nets.append(net.to(device).eval())
            _shared[key] = tuple(nets)
        return _shared[key]


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, by_min: bool = False) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first.
    Overlap is intersection over union, or over the smaller box with by_min."""
    if not len(boxes):
        return np.zeros(0, np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while len(order):
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        ih = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = iw * ih
        denom = np.minimum(area[i], area[rest]) if by_min else area[i] + area[rest] - inter
        order = rest[inter <= threshold * np.maximum(denom, 1e-9)]
    return np.asarray(keep, np.int64)


def _calibrate(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Boxes moved by the networks' regression offsets (fractions of the box size)."""
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    return boxes + offsets * np.concatenate([wh, wh], axis=1)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Each box grown to a square on its longer side, about the same centre."""
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)


def _crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(n, size, size, 3) uint8: each box's pixels (zero outside the image), resized."""
    import cv2

    h, w = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(np.round(boxes).astype(int)):
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        patch = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = image[sy1:sy2, sx1:sx2]
        out[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return out


def _pyramid(frames: np.ndarray, scales: Sequence[float]) -> list[np.ndarray]:
    """(n, h, w, 3) frames area-resampled to each scale. Each level is made
    from the one two steps before (twice its size), the first two from the
    frames: area resampling reads every source pixel, so shrinking the full
    frame to each level took most of the pyramid's time. The same levels
    whether all or some are searched, so a search restricted to some sizes
    sees what the whole-frame search sees."""
    h, w = frames.shape[1:3]
    levels: list[np.ndarray] = []
    for j, s in enumerate(scales):
        src = levels[j - 2] if j >= 2 else frames
        levels.append(_shrink(src, int(math.ceil(w * s)), int(math.ceil(h * s))))
    return levels


def _shrink(images: np.ndarray, width: int, height: int) -> np.ndarray:
    """(n, height, width, 3): each image area-resampled (n, h, w, 3) → smaller."""
    import cv2

    return np.stack([cv2.resize(im, (width, height), interpolation=cv2.INTER_AREA) for im in images])


def _to_tensor(images: np.ndarray, device: str):
    """(n, h, w, 3) uint8 → (n, 3, h, w) float32 on device, scaled to about ±1."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    return (t.permute(0, 3, 1, 2).float() - 127.5) * (1.0 / 128.0)


def pyramid_scales(height: int, width: int, min_face: float) -> list[float]:
    """The pyramid's scales: the first maps a `min_face` face to P-Net's 12 px
    window; each next one is PYRAMID_FACTOR smaller, down to a 12 px image."""
    first = CELL / max(float(min_face), 1.0)
    scales, s = [], first
    while min(height, width) * s >= CELL:
        scales.append(s)
        s *= PYRAMID_FACTOR
    return scales


class MTCNN:
    """The cascade, on frames given as RGB uint8 arrays.

    min_face: smallest face searched for, in pixels (sets the pyramid's first
    level, and so most of the cost: halving it about quadruples P-Net's work);
    max_face: largest (None: up to the whole image), used when the region
    searched is known to hold a face of about a given size;
    thresholds: face probability needed at each stage (the last one may be
    lowered per call with `last`, for weak detections that continue a track).
    """

    def __init__(self, *, min_face: float = 20, thresholds: tuple[float, float, float] = THRESHOLDS,
                 device: str = "cpu"):
        self.min_face = float(min_face)
        self.thresholds = tuple(thresholds)
        self.device = device

    def detect(self, frames: Sequence[np.ndarray], *, last: float | None = None,
               sizes: tuple[float, float] | None = None) -> list[Detections]:
        """Detections for each frame (RGB uint8, H×W×3), in order.

        last: O-Net's threshold for this call; sizes: (smallest, largest) face
        to look for, in pixels: only the levels of the whole-frame pyramid
        that find such faces are searched, so a search of part of a frame
        finds what the whole-frame search finds there."""
        import torch

        if not len(frames):
            return []
        pnet, rnet, onet = load_networks(self.device)
        t_last = self.thresholds[2] if last is None else last
        with torch.inference_mode():
            props = self._propose(pnet, frames, sizes)
            props = self._refine(rnet, frames, props, 24, self.thresholds[1])
            return self._output(onet, frames, props, t_last)

    def probability(self, frames: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """O-Net's face probability of each box (x1, y1, x2, y2, squared as
        O-Net sees its candidates) of each frame: a second opinion on boxes
        found in another version of the frame."""
        import torch

        counts = [len(b) for b in boxes]
        if not sum(counts):
            return [np.zeros(0, np.float32) for _ in frames]
        onet = load_networks(self.device)[2]
        crops = np.concatenate([_crops(f, _square(np.asarray(b, np.float64)), 48)
                                for f, b in zip(frames, boxes) if len(b)])
        with torch.inference_mode():
            prob = onet(_to_tensor(crops, self.device))[0].cpu().numpy()
        return np.split(prob, np.cumsum(counts)[:-1])

    def _propose(self, pnet, frames, sizes) -> list[np.ndarray]:
        """Stage 1: per frame, (m, 5) squared boxes with P-Net's probability."""

        per_frame: list[list[np.ndarray]] = [[] for _ in frames]
        by_shape: dict[tuple[int, int], list[int]] = {}
        for k, f in enumerate(frames):
            by_shape.setdefault(f.shape[:2], []).append(k)
        lo, hi = sizes or (0.0, math.inf)
        for (h, w), idx in by_shape.items():
            scales = pyramid_scales(h, w, self.min_face)
            # a level finds faces of about CELL / s pixels
            wanted = [j for j, s in enumerate(scales) if lo <= CELL / s <= hi]
            levels = _pyramid(np.stack([frames[k] for k in idx]), scales[:max(wanted, default=-1) + 1])
            for lv in wanted:
                s = scales[lv]
                prob, reg = pnet(_to_tensor(levels[lv], self.device))
                prob, reg = prob.cpu().numpy(), reg.cpu().numpy()
                for j, k in enumerate(idx):
                    ys, xs = np.nonzero(prob[j] >= self.thresholds[0])
                    if not len(ys):
                        continue
                    # each output cell is a 12×12 window at stride 2 of the scaled image
                    boxes = np.stack([2 * xs, 2 * ys, 2 * xs + CELL, 2 * ys + CELL], axis=1) / s
                    score = prob[j, ys, xs]
                    offs = reg[j][:, ys, xs].T
                    keep = nms(boxes, score, NMS_IOU[0])
                    per_frame[k].append(np.concatenate([boxes[keep], score[keep, None], offs[keep]], axis=1))
        out = []
        for cands in per_frame:
            if not cands:
                out.append(np.zeros((0, 5), np.float32))
                continue
            c = np.concatenate(cands)
            c = c[nms(c[:, :4], c[:, 4], NMS_IOU[1])]
            out.append(np.concatenate([_square(_calibrate(c[:, :4], c[:, 5:9])), c[:, 4:5]], axis=1))
        return out

    def _refine(self, rnet, frames, props, size, threshold) -> list[np.ndarray]:
        """Stage 2: R-Net keeps the proposals it finds faces, re-boxed and squared."""
        counts = [len(p) for p in props]
        if not sum(counts):
            return props
        crops = np.concatenate([_crops(f, p[:, :4], size) for f, p in zip(frames, props) if len(p)])
        prob, reg = (t.cpu().numpy() for t in rnet(_to_tensor(crops, self.device)))
        out, at = [], 0
        for p, n in zip(props, counts):
            pr, rg = prob[at:at + n], reg[at:at + n]
            at += n
            ok = pr >= threshold
            boxes, pr, rg = p[ok, :4], pr[ok], rg[ok]
            keep = nms(boxes, pr, NMS_IOU[2])
            out.append(np.concatenate([_square(_calibrate(boxes[keep], rg[keep])), pr[keep, None]], axis=1))
        return out

    def _output(self, onet, frames, props, threshold) -> list[Detections]:
        """Stage 3: O-Net's probability, final box and landmarks."""
        counts = [len(p) for p in props]
        if not sum(counts):
            return [Detections.empty() for _ in frames]
        crops = np.concatenate([_crops(f, p[:, :4], 48) for f, p in zip(frames, props) if len(p)])
        prob, reg, pts = (t.cpu().numpy() for t in onet(_to_tensor(crops, self.device)))
        out, at = [], 0
        for p, n in zip(props, counts):
            pr, rg, lm = prob[at:at + n], reg[at:at + n], pts[at:at + n]
            at += n
            ok = pr >= threshold
            boxes, pr, rg, lm = p[ok, :4], pr[ok], rg[ok], lm[ok]
            wh = boxes[:, 2:4] - boxes[:, 0:2]
            # landmarks come as five x fractions, then five y fractions, of the input box
            marks = np.stack([boxes[:, None, 0] + wh[:, None, 0] * lm[:, :5],
                              boxes[:, None, 1] + wh[:, None, 1] * lm[:, 5:]], axis=2)
            boxes = _calibrate(boxes, rg)
            keep = nms(boxes, pr, NMS_IOU[3], by_min=True)
            out.append(Detections(boxes[keep].astype(np.float32), pr[keep].astype(np.float32),
                                  marks[keep].astype(np.float32)))
        return out
