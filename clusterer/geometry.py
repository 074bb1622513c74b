"""Boxes and crops: the box convention every stage shares, overlap, and the crops kept as JPEG."""
from __future__ import annotations

from typing import Sequence

import numpy as np

BoxXYXY = tuple[int, int, int, int]
"""A box as (left, top, right, bottom) in pixels of the original frame."""

JPEG_QUALITY = 90
"""Quality of the face and clothing crops kept in memory and exported."""


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    l, t, r, btm = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, r - l) * max(0, btm - t)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


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
