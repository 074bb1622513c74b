"""Face quality: how much a face can be trusted to shape a person's encoding.

Four cues, each mapped to 0..1 and averaged with weights:
  size        box height, from QUALITY.min_size (0) to QUALITY.good_size (1) pixels;
  sharpness   variance of the Laplacian of the face resized to 64×64 grey, so
              that it does not grow with face size (0 at 0, 1 at good_sharpness);
  confidence  the detector's score (HOG: SVM margin; CNN: its confidence);
  frontal     from the 5-point landmarks: 1 when the nose sits midway between
              the eyes, 0 for a profile.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QualityScale:
    """Where each cue saturates, and its weight in the score."""

    min_size: float = 20.0
    good_size: float = 80.0
    good_sharpness: float = 400.0
    good_confidence: float = 1.0
    weights: tuple[float, float, float, float] = (0.3, 0.3, 0.2, 0.2)


QUALITY = QualityScale()
"""The default scale."""

_PATCH = 64


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def sharpness(gray_face: np.ndarray) -> float:
    """Variance of the Laplacian of a grey face patch resized to 64×64."""
    import cv2

    if gray_face.size == 0:
        return 0.0
    patch = cv2.resize(gray_face, (_PATCH, _PATCH), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(patch, cv2.CV_64F).var())


def frontalness(points: np.ndarray) -> float:
    """0..1 from dlib's 5 landmarks (two corners per eye, then the nose base)."""
    eye_a, eye_b, nose = points[0:2].mean(0), points[2:4].mean(0), points[4]
    span = np.linalg.norm(eye_a - eye_b)
    if span < 1e-6:
        return 0.0
    axis = (eye_b - eye_a) / span
    offset = abs(float((nose - (eye_a + eye_b) / 2) @ axis)) / span  # 0 frontal, ~0.5 profile
    return float(np.clip(1.0 - 2.0 * offset, 0.0, 1.0))


def quality_score(height: float, sharp: float, confidence: float, frontal: float,
                  scale: QualityScale = QUALITY) -> float:
    """The combined 0..1 quality of one face."""
    cues = (_ramp(height, scale.min_size, scale.good_size), _ramp(sharp, 0.0, scale.good_sharpness),
            _ramp(confidence, 0.0, scale.good_confidence), frontal)
    return float(np.dot(cues, scale.weights) / sum(scale.weights))
