"""Face detection and 128-d face encodings with dlib's models.

Encodings are computed as `face_recognition.face_encodings(image,
face_recognition.face_locations(image))` computes them (RGB image, boxes
trimmed to the frame, 5-point landmarks, one jitter): byte for byte with
encoder="dlib", to within float rounding with the default "torch" (the same
network run by torch, see encoder.py), so they are interchangeable with
face_recognition's and its 0.6 tolerance applies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import models
from .defaults import check, default
from .encoder import DIM as ENCODING_DIM, FaceEncoder, make_encoder
from .quality import frontalness, quality_score, sharpness
from .sampling import SampledFrame

BoxXYXY = tuple[int, int, int, int]
"""A box as (left, top, right, bottom) in pixels of the original frame."""

ROI_MARGIN = 1.0
"""A tracked face's search region extends this many face sizes around its last box."""

JPEG_QUALITY = 90
"""Quality of the face and clothing crops kept in memory and exported."""


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face: where and when, its detector score and quality (0..1),
    its encoding (None when tracking decided it was not needed) and a JPEG
    crop for export."""

    frame: int
    time: float
    box_xyxy: BoxXYXY
    score: float
    encoding: np.ndarray | None = field(repr=False)
    crop_jpeg: bytes = field(repr=False, default=b"")
    quality: float = 1.0

    def __post_init__(self):
        if self.encoding is not None and self.encoding.shape != (ENCODING_DIM,):
            raise ValueError(f"encoding must have shape ({ENCODING_DIM},), got {self.encoding.shape}")


@dataclass(frozen=True, eq=False)
class Candidate:
    """A detection before encoding: its box, detector score, dlib landmarks
    (a full_object_detection, reused for the encoding) and quality."""

    box_xyxy: BoxXYXY
    score: float
    shape: object = field(repr=False)
    quality: float


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    l, t, r, btm = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, r - l) * max(0, btm - t)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _trim(rect, width: int, height: int) -> BoxXYXY:
    """dlib rectangle → box clipped to the image (face_recognition's _trim_css_to_bounds)."""
    return (max(rect.left(), 0), max(rect.top(), 0), min(rect.right(), width), min(rect.bottom(), height))


class FaceAnalyzer:
    """Detects faces in RGB frames and encodes them. Models load on first use.

    detector: "hog" or "cnn"; upsample: dlib's number_of_times_to_upsample;
    min_face: smallest box height kept, in pixels; encoder: "torch" or
    "dlib" (encoder.py); device: where the torch encoder runs.
    """

    def __init__(self, *, detector: str = default("detector"), upsample: int = default("upsample"),
                 min_face: int = default("min_face"), encoder: str = default("encoder"),
                 device: str = default("device"), track_score: float = default("track_score")):
        if detector not in ("hog", "cnn"):
            raise ValueError(f"detector must be 'hog' or 'cnn', got {detector!r}")
        self.detector = detector
        self.upsample = upsample
        self.min_face = min_face
        self.track_score = check("track_score", track_score)
        self.encoder: FaceEncoder = make_encoder(encoder, device)

    def _run(self, rgb: np.ndarray, weak: bool = False) -> list[tuple[BoxXYXY, float]]:
        """The detector on one image: boxes trimmed to it, and scores; with
        `weak`, HOG detections down to track_score too (dlib's adjust_threshold:
        the same scan, a lower cut-off)."""
        h, w = rgb.shape[:2]
        if self.detector == "hog":
            rects, scores, _ = models.load("hog_detector").run(rgb, self.upsample, self.track_score if weak else 0.0)
            return [(_trim(r, w, h), float(s)) for r, s in zip(rects, scores)]
        return [(_trim(d.rect, w, h), float(d.confidence)) for d in models.load("cnn_detector")(rgb, self.upsample)]

    def detect(self, rgb: np.ndarray, weak: bool = False) -> list[tuple[BoxXYXY, float]]:
        """Boxes (trimmed to the image) and detector scores, largest first
        (with `weak`, HOG scores down to track_score: see _run)."""
        found = [(b, s) for b, s in self._run(rgb, weak) if b[3] - b[1] >= self.min_face and b[2] > b[0]]
        return sorted(found, key=lambda bs: -(bs[0][2] - bs[0][0]) * (bs[0][3] - bs[0][1]))

    def detect_near(self, rgb: np.ndarray, boxes: Sequence[BoxXYXY], weak: bool = False) -> list[tuple[BoxXYXY, float]]:
        """Detections in regions around `boxes` (where tracked faces were last
        seen), each ROI_MARGIN face sizes around its box: the same detector at
        the same upsampling as a whole-frame search, on a small part of it, so
        boxes match a whole-frame search's to within a HOG cell (a few pixels).
        Overlapping finds merge (the higher score kept)."""
        h, w = rgb.shape[:2]
        found: list[tuple[BoxXYXY, float]] = []
        for l, t, r, b in boxes:
            fw, fh = r - l, b - t
            x0, y0 = max(0, int(l - ROI_MARGIN * fw)), max(0, int(t - ROI_MARGIN * fh))
            x1, y1 = min(w, int(r + ROI_MARGIN * fw)), min(h, int(b + ROI_MARGIN * fh))
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            for (bl, bt, br, bb), score in self._run(np.ascontiguousarray(rgb[y0:y1, x0:x1]), weak):
                found.append(((max(bl + x0, 0), max(bt + y0, 0), min(br + x0, w), min(bb + y0, h)), score))
        kept: list[tuple[BoxXYXY, float]] = []
        for box, score in sorted(found, key=lambda bs: -bs[1]):
            if all(box_iou(box, k) < 0.5 for k, _ in kept) and box[3] - box[1] >= self.min_face and box[2] > box[0]:
                kept.append((box, score))
        return sorted(kept, key=lambda bs: -(bs[0][2] - bs[0][0]) * (bs[0][3] - bs[0][1]))

    def candidates(self, rgb: np.ndarray, near: Sequence[BoxXYXY] | None = None,
                   weak: bool = False) -> list[Candidate]:
        """Detections of one RGB frame (or only near the given boxes) with their
        5-point landmarks and quality; with `weak`, also those scoring down to
        track_score, for the caller to keep only where they continue a track."""
        import cv2
        import dlib

        predictor = models.load("landmarks_5")
        out = []
        for box, score in (self.detect(rgb, weak) if near is None else self.detect_near(rgb, near, weak)):
            shape = predictor(rgb, dlib.rectangle(*box))
            pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=float)
            l, t, r, b = box
            # grey only the face patch: the frame itself is never needed in grey
            patch = rgb[t:b, l:r]
            gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY) if patch.size else patch[..., 0]
            q = quality_score(b - t, sharpness(gray), score, frontalness(pts))
            out.append(Candidate(box, score, shape, q))
        return out

    def encode_shapes(self, rgb: np.ndarray, shapes: Sequence) -> np.ndarray:
        """(n, 128) encodings of the faces given by their landmarks, in one batch."""
        return self.encoder.encode(rgb, shapes)

    def encode(self, rgb: np.ndarray, boxes: Sequence[BoxXYXY]) -> np.ndarray:
        """(n, 128) float64 encodings of the faces at `boxes` in `rgb`."""
        import dlib

        if not boxes:
            return np.zeros((0, ENCODING_DIM))
        predictor = models.load("landmarks_5")
        return self.encode_shapes(rgb, [predictor(rgb, dlib.rectangle(*b)) for b in boxes])

    def analyze(self, frame: SampledFrame, *, crop_margin: float = default("crop_margin")) -> list[Face]:
        """Detect, encode and crop every face of one sampled frame."""
        import cv2

        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        cands = self.candidates(rgb)
        encs = self.encode_shapes(rgb, [c.shape for c in cands])
        return [make_face(frame, c, e, crop_margin) for c, e in zip(cands, encs)]


def make_face(frame: SampledFrame, c: Candidate, encoding: np.ndarray | None, crop_margin: float) -> Face:
    """The Face record of a candidate, with its crop."""
    return Face(frame.index, frame.time, c.box_xyxy, c.score, encoding,
                encode_jpeg(crop_box(frame.image, c.box_xyxy, crop_margin)), round(c.quality, 4))


def crop_box(image: np.ndarray, box: BoxXYXY, margin: float) -> np.ndarray:
    """The part of `image` inside `box` grown by `margin` × its size on each side."""
    h, w = image.shape[:2]
    l, t, r, b = box
    mx, my = int(round((r - l) * margin)), int(round((b - t) * margin))
    return image[max(0, t - my):min(h, b + my), max(0, l - mx):min(w, r + mx)]


def encode_jpeg(image: np.ndarray) -> bytes:
    """JPEG bytes of a BGR image (empty for an empty image)."""
    import cv2

    if image.size == 0:
        return b""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return buf.tobytes() if ok else b""
