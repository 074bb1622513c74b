"""Bounded image reads: a photo of any size is read into at most a few
megapixels of memory.

The size comes from the file's header first (Pillow reads it without
decoding). A JPEG, the usual large photo, is then decoded at 1/2, 1/4 or
1/8 of its size (libjpeg's DCT scaling, Pillow's `draft`), so a
12000×12000 photo takes about 2 MP of memory, not 144; other formats cannot
be decoded in part, so one over MAX_FULL_DECODE pixels is skipped.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger("clusterer")

MAX_SIDE = 1600
"""Longest side (px) an image is scaled down to: a face in a known photo
needs no more (encodings are computed on 150 px face chips)."""

MAX_FULL_DECODE = 40_000_000
"""Pixels above which an image that cannot be decoded at a reduced size
(anything but JPEG) is skipped: 40 MP is 120 MB of RGB."""


def read_bgr(path: str | Path, max_side: int = MAX_SIDE) -> np.ndarray | None:
    """The image at `path` as a BGR uint8 array whose longer side is at most
    `max_side`, or None when it is not an image this can read (or too large
    to read in bounded memory; then a warning names it)."""
    import cv2
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the bound is ours
            with Image.open(path) as im:
                w, h = im.size
                if im.format == "JPEG":
                    im.draft("RGB", (max(1, w * max_side // max(w, h)), max(1, h * max_side // max(w, h))))
                elif w * h > MAX_FULL_DECODE:
                    log.warning("%s: %d×%d pixels, too large to read (over %d MP): skipped", path, w, h,
                                MAX_FULL_DECODE // 1_000_000)
                    return None
                # upright as the camera meant it, as cv2.imread does
                rgb = np.asarray(ImageOps.exif_transpose(im.convert("RGB")))
    except Image.DecompressionBombError:
        log.warning("%s: too large to read: skipped", path)
        return None
    except (OSError, ValueError, SyntaxError):  # not an image, or a damaged one
        return None
    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    s = max_side / max(img.shape[:2])
    if s < 1:
        img = cv2.resize(img, (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))),
                         interpolation=cv2.INTER_AREA)
    return img
