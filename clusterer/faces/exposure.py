"""Dark pictures brightened before faces are searched, placed and encoded.

MTCNN, dlib's 5-point landmark model and the face network were trained on
well-exposed photos. On copies of the benchmark videos with every channel
× 0.3, the pipeline finds 0.76 of the labelled faces (0.97 in the originals),
the landmark model misplaces the points, and the encodings lie a median 0.32
from the originals' (the grouping threshold is 0.36). A linear gain brings
an image's brightest parts back to a normal level: recall 0.93, encodings a
median 0.085 away, once both the landmarks and the chip are read brightened
(the chip alone: 0.28). A gain, unlike a curve, keeps the contrasts in
proportion (benchmarks/RESULTS.md, "Dark footage").

Only what the networks read is brightened: the exported crops, the clothing
and the report show the frame as it is.
"""
from __future__ import annotations

import numpy as np

DARK_LEVEL = 80.0
"""An image is dark when 95 % of its pixels have their brightest channel
(0–255) under this. The faces of the benchmark's colour videos lie at a
median of 129–210; under 80 lie 19 of the real clips' 502 samples (night
scenes) and 0–39 faces of each composite (photos taken in dim light). At 120,
dim faces of colour footage were brightened too, and friends_episode's
precision fell from 1.000 to 0.811."""

TARGET_LEVEL = 200.0
"""A dark image is brightened until that 95th percentile reaches this."""

BURN_SHARE = 0.001
"""A dark image whose brightened copy has more than this share of its pixels
white is searched as it is too, as what lay in its lit part is lost in the copy."""

MAX_GAIN = 4.0
"""The most a dark image is brightened (a normal frame × 0.3, at level 60, needs
3.3; a near-black one is not stretched to full scale, noise and all)."""

READ_SIDE = 64
"""The level is read at every n-th pixel each way, n = the shorter side // this
(a 720p frame's at every 11th: 0.3 ms; a face's at every 2nd or so)."""


def level(rgb: np.ndarray) -> float:
    """The 95th percentile of the brightest channel (255 for an empty image)."""
    if not rgb.size:
        return 255.0
    step = max(1, min(rgb.shape[:2]) // READ_SIDE)
    return float(np.percentile(rgb[::step, ::step].max(axis=2), 95))


def gain(rgb: np.ndarray) -> float:
    """The factor that brightens a dark image (DARK_LEVEL) to TARGET_LEVEL, at
    most MAX_GAIN; 1.0 for an image that is not dark."""
    m = level(rgb)
    if m >= DARK_LEVEL:
        return 1.0
    return min(TARGET_LEVEL / max(m, 1.0), MAX_GAIN)


def brightened(rgb: np.ndarray, factor: float) -> np.ndarray:
    """`rgb` (uint8) times `factor`, clipped to 255; itself when factor is 1."""
    if factor == 1.0:
        return rgb
    return np.clip(rgb.astype(np.float32) * np.float32(factor), 0, 255).astype(np.uint8)


def views(rgb: np.ndarray) -> tuple[np.ndarray, ...]:
    """What a face search reads of `rgb`: the image, or its brightened copy
    when dark; both when the copy burns more than BURN_SHARE of it white (a lit
    face on a black ground is a dark image by its level)."""
    factor = gain(rgb)
    if factor == 1.0:
        return (rgb,)
    bright = brightened(rgb, factor)
    return (rgb, bright) if burnt(rgb, factor) > BURN_SHARE else (bright,)


def burnt(rgb: np.ndarray, factor: float) -> float:
    """The share of `rgb`'s pixels that `factor` would take to white."""
    step = max(1, min(rgb.shape[:2]) // READ_SIDE)
    return float((rgb[::step, ::step].max(axis=2) * factor >= 255).mean()) if rgb.size else 0.0
