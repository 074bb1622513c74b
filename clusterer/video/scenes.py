"""Shot cuts, and how much a sample changed, from the frames the sampler already decodes.

Consecutive sampled frames are compared by their colour histograms (HSV,
on a small copy); a Bhattacharyya distance over the threshold is a cut. This
finds the cut between two samples, which is all tracks and clothing need:
a track never crosses a cut, and clothing compares sightings of one scene
and its neighbours. ChangeDetector is a lower bar that is not a cut: it
says when the whole frame is worth searching for faces again.

The threshold (--cut-threshold, 0.4): on the composites, samples of one shot
lie at most 0.16 apart and cuts at least 0.50 (40 videos); on real footage cuts
between two shots of one set lie lower: fotb_dinner's shot / reverse shot at
its table 0.36–0.48, avengers' three cuts 0.37–0.47 (none found at 0.5), while
motion within a shot (someone leaving, a silhouette, a foreground passing)
reaches 0.29–0.35, and an occluder crossing the lens 0.46. At 0.5 a track ran
across an unfound cut from jessica's close-up into evan's at the same place
on screen, the only track of 1890 on 46 videos holding two people
(benchmarks/RESULTS.md, "Session 24").
"""
from __future__ import annotations

import numpy as np

from ..settings import default

_SMALL = (96, 54)
_BINS = [16, 8, 8]
_STRIDE = 4
"""Every 4th pixel each way is read before the area resize: 6× cheaper (0.5
instead of 2.8 ms a 720p frame); the cut tests and the benchmark's cut audit
(every true cut found, none false, three videos) are unchanged."""


class CutDetector:
    """Feed sampled frames in order; `update` returns the scene number of each."""

    def __init__(self, threshold: float = default("cut_threshold")):
        self.threshold = threshold
        self._prev: np.ndarray | None = None
        self.scene = 0

    def update(self, image: np.ndarray) -> int:
        import cv2

        small = cv2.resize(image[::_STRIDE, ::_STRIDE], _SMALL, interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, _BINS, [0, 180, 0, 256, 0, 256])
        hist = cv2.normalize(hist, None).ravel()
        if self._prev is not None:
            if cv2.compareHist(self._prev, hist, cv2.HISTCMP_BHATTACHARYYA) > self.threshold:
                self.scene += 1
        self._prev = hist
        return self.scene


_GREY = (64, 36)
"""The small grey copy ChangeDetector compares (width, height): enough to see a
person walk in, too coarse for noise and compression to count."""


class ChangeDetector:
    """Whether a sample changed since a reference sample (the last one searched
    whole for faces): the mean absolute difference of small grey copies
    (0–255) at or over `threshold`. It sees what colour histograms do not: a
    person walking in, a cut between two shots of one set. A static shot
    never changes; `mark` makes the last sample given the reference."""

    def __init__(self, threshold: float = default("search_change")):
        self.threshold = threshold
        self._ref: np.ndarray | None = None
        self._last: np.ndarray | None = None

    def changed(self, image: np.ndarray) -> bool:
        """Whether `image` (BGR) differs from the reference by the threshold (False without one)."""
        import cv2

        grey = cv2.cvtColor(image[::_STRIDE, ::_STRIDE], cv2.COLOR_BGR2GRAY)
        self._last = cv2.resize(grey, _GREY, interpolation=cv2.INTER_AREA).astype(np.float32)
        return self._ref is not None and float(np.abs(self._last - self._ref).mean()) >= self.threshold

    def mark(self) -> None:
        """The sample last given to `changed` becomes the reference."""
        self._ref = self._last
