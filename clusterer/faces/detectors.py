"""Face detectors behind one interface: frames in; boxes, scores and (where
the detector has them) five landmarks out, per frame.

- "mtcnn" (the default): MTCNN run by torch (mtcnn.py), batched across
  frames; finds side views, tilted and small faces; on CUDA with --device.
- "hog": dlib's HOG + linear SVM (frontal faces only), face_recognition's
  default.
- "cnn": dlib's MMOD CNN (face_recognition's model="cnn"), slow on a CPU.

Every detector reports boxes in dlib's convention (the boxes dlib's 5-point
landmark model was trained on, and so what the face encoder expects) and a
score whose 0 is the detector's own cut-off: a detection scoring under 0 is
"weak", kept only where it continues a track or starts a track of weak
detections, which grouping keeps only where it matches a person's face
(extraction.continuing, grouping.persons.cluster).
"""
from __future__ import annotations

import math
from typing import Protocol, Sequence

import numpy as np

from .. import models
from ..devices import check_early, resolve_device
from ..settings import MIN_FACE_FLOOR, SETTINGS, check, default
from ..types import Detections, DetectorName
from . import exposure
from .mtcnn import MTCNN, nms

NAMES: tuple[DetectorName, ...] = tuple(DetectorName(n) for n in SETTINGS["detector"].choices)
"""The detectors, default first (in the setting's order)."""


class Detector(Protocol):
    """Finds faces in RGB uint8 frames."""

    name: str
    uses_torch: bool
    batch_size: int

    def detect(self, frames: Sequence[np.ndarray], *, weak: bool = False,
               face_size: float | None = None, smallest: float | None = None) -> list[Detections]:
        """One Detections per frame. weak: also detections under the cut-off
        (down to the tracking score); face_size: the caller expects a face of
        about this height (a tracked face's region), so a detector may search
        only nearby scales; smallest: faces smaller than this (pixels) are not
        wanted, so a detector may skip the scales that find them."""
        ...


class HogDetector:
    """dlib's HOG detector at `upsample`; weak detections by dlib's
    adjust_threshold (the same scan with a lower cut-off)."""

    name = DetectorName.HOG
    uses_torch = False
    batch_size = 1

    def __init__(self, upsample: int = default("upsample"), track_score: float = default("track_score")):
        self.upsample, self.track_score = upsample, track_score

    def detect(self, frames, *, weak=False, face_size=None, smallest=None):
        out = []  # every scale is scanned: face_size and smallest only say what is wanted
        for rgb in frames:
            rects, scores, _ = models.load("hog_detector").run(rgb, self.upsample,
                                                               self.track_score if weak else 0.0)
            out.append(Detections.of([(r.left(), r.top(), r.right(), r.bottom()) for r in rects], scores))
        return out


class DlibCnnDetector:
    """dlib's MMOD CNN at `upsample`; its score is its confidence (cut-off 0)."""

    name = DetectorName.CNN
    uses_torch = False
    batch_size = 1

    def __init__(self, upsample: int = default("upsample")):
        self.upsample = upsample

    def detect(self, frames, *, weak=False, face_size=None, smallest=None):
        out = []  # every scale is scanned: face_size and smallest only say what is wanted
        for rgb in frames:
            found = models.load("cnn_detector")(rgb, self.upsample)
            out.append(Detections.of([(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom())
                                      for d in found], [d.confidence for d in found]))
        return out


TO_DLIB_BOX = (0.038, 0.071, 1.120, 0.856)
"""MTCNN box → dlib box: (dx, dy, width ×, height ×), the centre moved by
dx, dy of the MTCNN box's size. dlib's boxes sit lower on the face (brows to
chin) and are wider. Fitted on faces both found (benchmarks/RESULTS.md,
"MTCNN boxes in dlib's convention")."""

CUTOFF = 0.9
"""O-Net's face probability a detection needs to count on its own (score 0).
The paper's 0.7 lets through necklaces, bags and hands in real footage;
0.9 drops most of them for a few faces, which tracks then recover as weak
detections (benchmarks/RESULTS.md, "MTCNN's cut-off")."""

SCORE_SCALE = 7.5
"""MTCNN's score = (logit(probability) − logit(CUTOFF)) / SCORE_SCALE: 0 at
the cut-off like dlib's scores; the default --track-score (-0.3) then admits
probabilities down to about 0.5, --min-confidence (0.3) asks 0.99 of a face
seen once, and a sure face (0.9999) scores about 1, where HOG's sure faces
lie, so the quality score reads both alike."""


REGION_SIZES = (0.5, 2.0)
"""Around a tracked face, MTCNN looks for faces of these multiples of its
height (a face changes size little between samples)."""

MERGE_IOU = 0.5
"""A face found in two views of one frame (a dark frame and its corrected
copy): boxes that overlap by this much (intersection over union) are one face."""

GPU_BATCH = 8
"""Whole frames MTCNN searches in one call on a GPU."""

def to_dlib_boxes(boxes: np.ndarray, mapping: tuple[float, float, float, float] = TO_DLIB_BOX) -> np.ndarray:
    """MTCNN boxes (n, 4) moved and scaled into dlib's convention."""
    dx, dy, sw, sh = mapping
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2 + dx * w, (boxes[:, 1] + boxes[:, 3]) / 2 + dy * h
    return np.stack([cx - sw * w / 2, cy - sh * h / 2, cx + sw * w / 2, cy + sh * h / 2], axis=1)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class MtcnnDetector:
    """MTCNN (mtcnn.py) with dlib-convention boxes and dlib-like scores.

    min_face: smallest face searched for (sets the pyramid, so the cost);
    track_score: weak detections go down to this score (O-Net's threshold
    lowered to the matching probability); device: torch device.
    """

    name = DetectorName.MTCNN
    uses_torch = True

    def __init__(self, min_face: int = MIN_FACE_FLOOR, track_score: float = default("track_score"),
                 device: str = "cpu"):

        # 'auto' is resolved on first use: resolving it imports torch
        self.net = MTCNN(min_face=max(min_face, 8), device=check_early(device))
        self._device_known = False
        self.cutoff = CUTOFF
        self.track_score = track_score
        self.weak_prob = self.probability(track_score)

    def _resolved(self):
        """The network with its device resolved ('auto' on first use: that imports torch)."""
        if not self._device_known:

            self.net.device = resolve_device(self.net.device)
            self._device_known = True
        return self.net

    @property
    def batch_size(self) -> int:
        """Frames per call: GPU_BATCH on CUDA, 1 on the CPU."""
        return GPU_BATCH if self._resolved().device.startswith("cuda") else 1

    def score(self, prob: np.ndarray) -> np.ndarray:
        """O-Net's probability → score (0 at its threshold)."""
        p = np.clip(prob.astype(np.float64), 1e-7, 1 - 1e-7)
        return ((np.log(p / (1 - p)) - _logit(self.cutoff)) / SCORE_SCALE).astype(np.float32)

    def probability(self, score: float) -> float:
        """The probability whose score is `score`."""
        return 1.0 / (1.0 + math.exp(-(score * SCORE_SCALE + _logit(self.cutoff))))

    def detect(self, frames, *, weak=False, face_size=None, smallest=None):
        lo, hi = REGION_SIZES
        sizes = None if face_size is None else (lo * face_size, hi * face_size)
        if sizes is None and smallest:
            sizes = (float(smallest), math.inf)
        # what the search reads of each frame or region (exposure.views):
        # corrected when dark or faded, tinted when colourless
        views = [(k, v) for k, f in enumerate(frames) for v in exposure.views(f)]
        net, last = self._resolved(), self.weak_prob if weak else self.cutoff
        found = net.detect([v.searched for _, v in views], last=last, sizes=sizes)
        if any(v.checked is not None for _, v in views):
            found = self._confirmed(net, [v.checked for _, v in views], found, last)
        merged = [merge([d for (k, _), d in zip(views, found) if k == j]) for j in range(len(frames))]
        return [Detections(to_dlib_boxes(d.box_xyxy).astype(np.float32), self.score(d.score), d.landmarks)
                for d in merged]

    @staticmethod
    def _confirmed(net: MTCNN, checked: list, found: list, last: float) -> list:
        """The detections of the views that have a picture to be checked on (a
        tinted view: exposure.GREY_TINT) with O-Net's probability the geometric
        mean of the searched picture's and that one's; those under `last` dropped."""
        idx = [k for k, c in enumerate(checked) if c is not None]
        own = net.probability([checked[k] for k in idx], [found[k].box_xyxy for k in idx])
        out = list(found)
        for k, p in zip(idx, own):
            d = found[k]
            prob = np.sqrt(d.score.astype(np.float64) * p).astype(np.float32)
            keep = prob >= last
            out[k] = Detections(d.box_xyxy[keep], prob[keep], d.landmarks[keep])
        return out


def merge(found: list[Detections]) -> Detections:
    """One frame's detections from several views of it as one set: of boxes
    overlapping by MERGE_IOU, the likelier kept."""
    if len(found) == 1:
        return found[0]
    boxes = np.concatenate([d.box_xyxy for d in found])
    prob = np.concatenate([d.score for d in found])
    keep = nms(boxes, prob, MERGE_IOU)
    return Detections(boxes[keep], prob[keep], np.concatenate([d.landmarks for d in found])[keep])


def make_detector(name: str, *, upsample: int = default("upsample"), min_face: int = MIN_FACE_FLOOR,
                  track_score: float = default("track_score"), device: str = "cpu") -> Detector:
    """The detector called `name` (one of NAMES; else SettingsError)."""
    name = DetectorName(check("detector", name))
    if name == DetectorName.MTCNN:
        return MtcnnDetector(min_face, track_score, device)
    if name == DetectorName.HOG:
        return HogDetector(upsample, track_score)
    return DlibCnnDetector(upsample)
