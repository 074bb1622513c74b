"""Face detection and 128-d face encodings with dlib's models.

Encodings are computed as `face_recognition.face_encodings(image,
face_recognition.face_locations(image))` computes them (RGB image, boxes
trimmed to the frame, 5-point landmarks, one jitter): byte for byte with
encoder="dlib", to within float rounding with the default "torch" (the same
network run by torch, see encoder.py), so they are interchangeable with
face_recognition's and its 0.6 tolerance applies. The exception is a dark or
faded face (exposure.py): its landmarks and chip are read corrected.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import models
from ..settings import MIN_FACE_FLOOR, check, default
from . import exposure
from .detectors import Detections, Detector, make_detector
from .encoder import FaceEncoder, make_encoder
from .quality import frontalness, quality_score, sharpness
from ..geometry import BoxXYXY, box_iou, crop_box, encode_jpeg  # noqa: F401 (box_iou: re-exported)
from ..types import ENCODING_DIM, Face, SampledFrame


ROI_MARGIN = 1.0
"""A tracked face's search region extends this many face sizes around its last box."""



@dataclass(frozen=True, eq=False)
class Candidate:
    """A detection before encoding: its box, detector score, dlib landmarks
    (a full_object_detection in the frame's pixels, reused for the encoding),
    quality, and the levels its landmarks, quality and chip were read at
    (exposure.py: as it is unless the face is dark or faded)."""

    box_xyxy: BoxXYXY
    score: float
    shape: object = field(repr=False)
    quality: float
    levels: exposure.Levels = exposure.AS_IT_IS


def _trim(box, width: int, height: int) -> BoxXYXY:
    """A float box → integer pixels clipped to the image (face_recognition's
    _trim_css_to_bounds; dlib's own boxes are already integers)."""
    l, t, r, b = (int(round(float(v))) for v in box)
    return (max(l, 0), max(t, 0), min(r, width), min(b, height))


class FaceAnalyzer:
    """Detects faces in RGB frames and encodes them. Models load on first use.

    detector: one of detectors.NAMES; upsample: dlib's
    number_of_times_to_upsample (HOG and CNN); min_face: smallest face, in
    pixels (MTCNN searches no smaller, so it sets MTCNN's cost; every
    detector's smaller boxes are dropped; None: MIN_FACE_FLOOR, as the
    frames' size is not known here: a video's run passes settings.min_face_px's);
    encoder: "torch" or "dlib" (encoder.py); device: where the torch models run.
    """

    def __init__(self, *, detector: str = default("detector"), upsample: int = default("upsample"),
                 min_face: int | None = default("min_face"), encoder: str = default("encoder"),
                 device: str = default("device"), track_score: float = default("track_score")):
        check("detector", detector)
        self.min_face = MIN_FACE_FLOOR if min_face is None else check("min_face", min_face)
        self.track_score = check("track_score", track_score)
        self.detector: Detector = make_detector(detector, upsample=upsample, min_face=self.min_face,
                                                track_score=self.track_score, device=device)
        self.encoder: FaceEncoder = make_encoder(encoder, device)

    @property
    def batch_size(self) -> int:
        """Whole frames to search in one call: several on a GPU, where one
        frame leaves it mostly idle; 1 on a CPU, where frames are searched on
        parallel threads instead."""
        return self.detector.batch_size

    @property
    def uses_torch(self) -> bool:
        """Whether detection or encoding runs torch (so its threads need setting)."""
        return self.detector.uses_torch or self.encoder.name == "torch"

    def _kept(self, found: Detections, w: int, h: int, dx: int = 0, dy: int = 0) -> list[tuple[BoxXYXY, float]]:
        """Boxes (moved by dx, dy, trimmed to a w×h image) of at least min_face height, with scores."""
        out = []
        for box, score in zip(found.box_xyxy, found.score):
            b = _trim((box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy), w, h)
            if b[3] - b[1] >= self.min_face and b[2] > b[0]:
                out.append((b, float(score)))
        return out

    def detect(self, rgb: np.ndarray, weak: bool = False) -> list[tuple[BoxXYXY, float]]:
        """Boxes (trimmed to the image) and detector scores, largest first;
        with `weak`, also scores under 0, down to track_score."""
        return self.detect_batch([rgb], weak)[0]

    def detect_batch(self, rgbs: Sequence[np.ndarray], weak: bool = False,
                     smallest: float | None = None) -> list[list[tuple[BoxXYXY, float]]]:
        """detect() of several frames in one call of the detector (MTCNN batches
        them); smallest: faces under this many pixels are not wanted (the
        detector may skip looking for them)."""
        out = []
        for rgb, found in zip(rgbs, self.detector.detect(list(rgbs), weak=weak, smallest=smallest)):
            kept = self._kept(found, rgb.shape[1], rgb.shape[0])
            out.append(sorted(kept, key=lambda bs: -(bs[0][2] - bs[0][0]) * (bs[0][3] - bs[0][1])))
        return out

    def detect_near(self, rgb: np.ndarray, boxes: Sequence[BoxXYXY], weak: bool = False) -> list[tuple[BoxXYXY, float]]:
        """Detections in regions around `boxes` (where tracked faces were last
        seen), each ROI_MARGIN face sizes around its box: the same detector as
        a whole-frame search, on a small part of it (MTCNN only at the
        whole-frame pyramid's levels for faces of half to twice the tracked
        face's size; regions of one face size in one batch). Overlapping finds
        merge (the higher score kept)."""
        h, w = rgb.shape[:2]
        regions, origins = [], []
        for l, t, r, b in boxes:
            fw, fh = r - l, b - t
            x0, y0 = max(0, int(l - ROI_MARGIN * fw)), max(0, int(t - ROI_MARGIN * fh))
            x1, y1 = min(w, int(r + ROI_MARGIN * fw)), min(h, int(b + ROI_MARGIN * fh))
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            regions.append(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
            origins.append((x0, y0, fh))
        found: list[tuple[BoxXYXY, float]] = []
        # regions of one face size share a call, so MTCNN batches them
        for size in sorted({o[2] for o in origins}):
            idx = [k for k, o in enumerate(origins) if o[2] == size]
            dets = self.detector.detect([regions[k] for k in idx], weak=weak, face_size=size)
            for k, d in zip(idx, dets):
                found.extend(self._kept(d, w, h, origins[k][0], origins[k][1]))
        kept: list[tuple[BoxXYXY, float]] = []
        for box, score in sorted(found, key=lambda bs: -bs[1]):
            if all(box_iou(box, k) < 0.5 for k, _ in kept):
                kept.append((box, score))
        return sorted(kept, key=lambda bs: -(bs[0][2] - bs[0][0]) * (bs[0][3] - bs[0][1]))

    def candidates(self, rgb: np.ndarray, near: Sequence[BoxXYXY] | None = None,
                   weak: bool = False) -> list[Candidate]:
        """Detections of one RGB frame (or only near the given boxes) with their
        5-point landmarks and quality; with `weak`, also those scoring down to
        track_score, for the caller to keep only where they continue a track."""
        return self._describe(rgb, self.detect(rgb, weak) if near is None else self.detect_near(rgb, near, weak))

    def candidates_batch(self, rgbs: Sequence[np.ndarray], weak: bool = False,
                         smallest: float | None = None) -> list[list[Candidate]]:
        """candidates() of several whole frames, detected in one batch (smallest: see detect_batch)."""
        return [self._describe(rgb, found) for rgb, found in zip(rgbs, self.detect_batch(rgbs, weak, smallest))]

    def _describe(self, rgb: np.ndarray, found: list[tuple[BoxXYXY, float]]) -> list[Candidate]:
        """Landmarks (dlib's 5-point model on the dlib-convention box) and
        quality of each detection; a dark or faded face's (exposure.py) read on
        its surroundings corrected, as the landmark model misplaces points there."""
        import cv2
        import dlib

        predictor = models.load("landmarks_5")
        h, w = rgb.shape[:2]
        out = []
        for box, score in found:
            l, t, r, b = box
            lc, tc = max(l, 0), max(t, 0)  # (a box given to encode() may reach past the frame)
            lv = exposure.levels(rgb[tc:b, lc:r])
            if lv.identity:
                shape = predictor(rgb, dlib.rectangle(*box))
                patch = rgb[tc:b, lc:r]
            else:
                x0, y0 = max(0, l - (r - l)), max(0, t - (b - t))
                x1, y1 = min(w, r + (r - l)), min(h, b + (b - t))
                near = lv.apply(rgb[y0:y1, x0:x1])
                moved = predictor(near, dlib.rectangle(l - x0, t - y0, r - x0, b - y0))
                shape = dlib.full_object_detection(
                    dlib.rectangle(*box), [dlib.point(p.x + x0, p.y + y0) for p in moved.parts()])
                patch = near[tc - y0:b - y0, lc - x0:r - x0]
            pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=float)
            # grey only the face patch: the frame itself is never needed in grey
            gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY) if patch.size else patch[..., 0]
            q = quality_score(b - t, sharpness(gray), score, frontalness(pts))
            out.append(Candidate(box, score, shape, q, lv))
        return out

    def encode_candidates(self, rgb: np.ndarray, cands: Sequence[Candidate]) -> np.ndarray:
        """(n, 128) encodings of the candidates' faces, in one batch."""
        return self.encoder.encode(rgb, [c.shape for c in cands], [c.levels for c in cands])

    def load_encoder(self) -> None:
        """Load the face network now, for the calling thread (else on its first face)."""
        self.encoder.load()

    @property
    def batches_chips(self) -> bool:
        """Whether the encoder takes aligned chips in batches (chips,
        encode_chips): torch's runs several times cheaper per face in a batch
        of 16 than one face at a time; dlib's encodes a face at a time."""
        return hasattr(self.encoder, "encode_chips")

    def chips(self, rgb: np.ndarray, cands: Sequence[Candidate]) -> np.ndarray:
        """(n, 150, 150, 3) aligned face chips of the candidates, to encode later in one batch."""
        return self.encoder.chips(rgb, [c.shape for c in cands], [c.levels for c in cands])

    def encode_chips(self, chips: np.ndarray) -> np.ndarray:
        """(n, 128) encodings of aligned face chips."""
        return self.encoder.encode_chips(chips)

    def encode(self, rgb: np.ndarray, boxes: Sequence[BoxXYXY]) -> np.ndarray:
        """(n, 128) float64 encodings of the faces at `boxes` in `rgb`."""
        if not boxes:
            return np.zeros((0, ENCODING_DIM))
        return self.encode_candidates(rgb, self._describe(rgb, [(tuple(b), 0.0) for b in boxes]))

    def analyze(self, frame: SampledFrame, *, crop_margin: float = default("crop_margin")) -> list[Face]:
        """Detect, encode and crop every face of one sampled frame."""
        import cv2

        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        cands = self.candidates(rgb)
        encs = self.encode_candidates(rgb, cands)
        return [make_face(frame, c, e, crop_margin) for c, e in zip(cands, encs)]


def make_face(frame: SampledFrame, c: Candidate, encoding: np.ndarray | None, crop_margin: float) -> Face:
    """The Face record of a candidate, with its crop; a dark or faded face's
    crop corrected as the encoder read it, so that a person's folder of a night
    scene can be told at a glance (the levels are the same for every channel,
    so they apply to the BGR frame as they were read on the RGB one)."""
    return Face(frame.index, frame.time, c.box_xyxy, c.score, encoding,
                encode_jpeg(c.levels.apply(crop_box(frame.image, c.box_xyxy, crop_margin))), round(c.quality, 4))


