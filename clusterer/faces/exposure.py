"""What the networks read of a frame: dark and faded pictures corrected
before faces are searched, placed and encoded, and black and white ones
tinted for the search (GREY_TINT).

MTCNN, dlib's 5-point landmark model and the face network were trained on
well-exposed photos. On copies of the benchmark videos with every channel
× 0.3, the pipeline finds 0.76 of the labelled faces (0.97 in the originals),
the landmark model misplaces the points, and the encodings lie a median 0.32
from the originals' (the grouping threshold is 0.36). A linear gain brings
an image's brightest parts back to a normal level: recall 0.93, encodings a
median 0.085 away, once both the landmarks and the chip are read brightened
(the chip alone: 0.28). A gain, unlike a curve, keeps the contrasts in
proportion. A faded picture (haze, a washed-out transfer: its blacks raised
to grey) does the same harm, MTCNN finding 0.56 of the faces under a haze
and the encodings lying a median 0.36 away; it is stretched from its black
(benchmarks/RESULTS.md, "Dark and faded footage").

The networks read the corrected pictures, and a dark or faded face's
exported crop is corrected as they read it (a folder of night-scene crops is
otherwise near black); the clothing and the report take the frame as it is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DARK_LEVEL = 80.0
"""An image is dark when 95 % of its pixels have their brightest channel
(0–255) under this. The faces of the benchmark's colour videos lie at a
median of 129–210; under 80 lie 19 of the real clips' 502 samples (night
scenes) and 0–39 faces of each composite (photos taken in dim light). At 120,
dim faces of colour footage were brightened too, and friends_episode's
precision fell from 1.000 to 0.811."""

TARGET_LEVEL = 200.0
"""A dark or faded image is corrected until that 95th percentile (its white) reaches this."""

BURN_SHARE = 0.001
"""A dark image whose brightened copy has more than this share of its pixels
white is searched as it is too, as what lay in its lit part is lost in the copy."""

MAX_GAIN = 4.0
"""The most gain a correction applies (a normal frame × 0.3, at level 60, needs
3.3; a near-black one is not stretched to full scale, noise and all; on the
haze copies 3 or 2.5 found fewer faces than 4)."""

FADED_BLACK = 60.0
"""An image is faded (haze, a washed-out transfer, fog) when its black (the 1st
percentile of each pixel's darkest channel) is at least this and its white
lies under FADED_RANGE above it. Of the 21 benchmark videos' 4,281 faces, 57
have a black over 60 and none with so short a range; of the real clips' 580
frames read, none has a black over 58."""

FADED_RANGE = 120.0
"""See FADED_BLACK. The real clips' faces span a median of 141 from black to
white; a haze (× 0.35 + 120) leaves about 50, a wash (× 0.5 + 110) about 70."""

GREY_SPREAD = 8.0
"""A frame (or region) holds no colour (black and white film) when the spread
of its pixels' red, green and blue (|R − G| + |G − B|, 0–510, read at every 8th
pixel each way) is under this for 98 % of them: a grey video's is 0 to a
codec's few; a colour frame's skin alone passes it, even on a title card that is
mostly black and white (its 98th percentile 13; benchmarks/RESULTS.md, "Black
and white footage")."""

GREY_TINT = (1.22, 0.94, 0.75)
"""A colourless frame is searched by MTCNN tinted with these factors (red,
green, blue) of its grey: the colour an average skin has at that brightness
(sRGB 224, 172, 138 over its luma). MTCNN was trained on colour photos and
finds far fewer faces in grey ones; its thresholds stay the same
(benchmarks/RESULTS.md, "Black and white footage"). Only the
search sees the tint: landmarks, encodings and crops come from the frame itself.
What the tinted search finds is then scored by O-Net on the frame as it is
too: its probability is the geometric mean of the two, as a round thing
(a shield, a necklace) can look like a face only once it is skin-coloured."""

READ_SIDE = 64
"""The levels are read at every n-th pixel each way, n = the shorter side // this
(a 720p frame's at every 11th, under 1 ms; a face's at every 2nd or so)."""


@dataclass(frozen=True)
class Levels:
    """A correction of an image's levels: each value v becomes (v − black) × gain."""

    black: float = 0.0
    gain: float = 1.0

    @property
    def identity(self) -> bool:
        return self.black == 0.0 and self.gain == 1.0

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """`rgb` (uint8) corrected, clipped to 0–255; itself when the correction is none."""
        if self.identity:
            return rgb
        return np.clip((rgb.astype(np.float32) - np.float32(self.black)) * np.float32(self.gain),
                       0, 255).astype(np.uint8)


AS_IT_IS = Levels()
"""No correction."""


def _read(rgb: np.ndarray) -> np.ndarray:
    """The pixels the levels are read from (READ_SIDE)."""
    step = max(1, min(rgb.shape[:2]) // READ_SIDE)
    return rgb[::step, ::step]


def reading(rgb: np.ndarray) -> tuple[float, float]:
    """(black, white) of an image: the 1st percentile of each pixel's darkest
    channel and the 95th of its brightest ((0, 255) for an empty image)."""
    if not rgb.size:
        return 0.0, 255.0
    s = _read(rgb)
    return float(np.percentile(_darkest(s), 1)), float(np.percentile(_brightest(s), 95))


def _darkest(s: np.ndarray) -> np.ndarray:
    """Each pixel's darkest channel: s.min(axis=2), which numpy reduces over
    an axis of three several times slower (0.45 of a 720p frame's 0.52 ms reading)."""
    return np.minimum(np.minimum(s[..., 0], s[..., 1]), s[..., 2])


def _brightest(s: np.ndarray) -> np.ndarray:
    """Each pixel's brightest channel (s.max(axis=2), as _darkest)."""
    return np.maximum(np.maximum(s[..., 0], s[..., 1]), s[..., 2])


def levels(rgb: np.ndarray) -> Levels:
    """The correction a dark or faded image needs (AS_IT_IS for any other):
    a dark one (white under DARK_LEVEL) brightened to TARGET_LEVEL; a faded one
    (FADED_BLACK, FADED_RANGE) stretched from its black to TARGET_LEVEL; at
    most MAX_GAIN either way."""
    black, white = reading(rgb)
    if white < DARK_LEVEL:
        return Levels(0.0, min(TARGET_LEVEL / max(white, 1.0), MAX_GAIN))
    if black >= FADED_BLACK and white - black < FADED_RANGE:
        return Levels(black, min(TARGET_LEVEL / max(white - black, 1.0), MAX_GAIN))
    return AS_IT_IS


@dataclass(frozen=True, eq=False)
class View:
    """A picture a face search reads of a frame, and the picture its finds are
    checked on by O-Net's second opinion (None: not checked)."""

    searched: np.ndarray
    checked: np.ndarray | None = None


def views(rgb: np.ndarray) -> tuple[View, ...]:
    """What a face search reads of `rgb`: the image, or its corrected copy when
    dark or faded; both when the copy burns more than BURN_SHARE of it white (a
    lit face on a black ground is a dark image by its level). A colourless one
    is searched tinted (GREY_TINT) and checked as it is."""
    lv = levels(rgb)
    if lv.identity:
        images: tuple[np.ndarray, ...] = (rgb,)
    else:
        fixed = lv.apply(rgb)
        images = (rgb, fixed) if burnt(rgb, lv) > BURN_SHARE else (fixed,)
    return tuple(View(tinted(im), im) if colourless(im) else View(im) for im in images)


def burnt(rgb: np.ndarray, lv: Levels) -> float:
    """The share of `rgb`'s pixels that the correction would take to white."""
    if not rgb.size:
        return 0.0
    return float(((_brightest(_read(rgb)) - lv.black) * lv.gain >= 255).mean())

def colourless(rgb: np.ndarray) -> bool:
    """Whether an RGB image holds no colour (GREY_SPREAD)."""
    s = rgb[::8, ::8].astype(np.int16)
    if not s.size:
        return False
    spread = np.abs(s[..., 0] - s[..., 1]) + np.abs(s[..., 1] - s[..., 2])
    return float(np.percentile(spread, 98)) < GREY_SPREAD


def tinted(rgb: np.ndarray) -> np.ndarray:
    """A colourless RGB image in an average skin's colours (GREY_TINT)."""
    grey = rgb[..., 1:2].astype(np.float32)
    return np.clip(grey * np.asarray(GREY_TINT, np.float32), 0, 255).astype(np.uint8)
