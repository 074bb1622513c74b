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

Both compare samples within the picture (Picture): the bars of letterboxed
or pillarboxed footage (common in film) are the same in every sample, so
they would dilute every difference by their share of the frame and hide
cuts. avengers is letterboxed: its third cut is found only within its
picture; with bars a sixth of the height added above and below, two of the
three went unfound and thor's longest track joined steve's person
(benchmarks/RESULTS.md, "Session 25").
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


_BAR_STRIDE = 16
"""The bars are found at every 16th pixel each way (0.05 ms a 720p frame;
every 4th pixel took 1.1 ms, twice the cut test itself)."""

BAR_LEVEL = 24
"""A border row or column is a bar (letterbox, pillarbox) while no pixel of
it has reached this brightness (0–255, the brightest channel) in any sample
so far: avengers' bars stay at 0–2 over the clip, while every border row of
the benchmark's darkened copies (× 0.3) reaches 77 or more. Per sample, a
dark scene's edge would pass for a bar: cut out, it raised the distances
within shots of the dark copies into false cuts."""


class Picture:
    """The part of a video's frames (of one size) inside its bars: the border
    rows and columns that stay black (BAR_LEVEL) in every sample fed so far;
    it only grows, and is the whole frame while every sample was black."""

    def __init__(self) -> None:
        self._rows: np.ndarray | None = None  # each row's brightest value so far
        self._cols: np.ndarray | None = None

    def feed(self, image: np.ndarray) -> tuple[slice, slice]:
        """Take in a sample (grey, or colour with channels last); return the picture's rows and columns."""
        bright = image.max(axis=2) if image.ndim == 3 else image
        rows, cols = bright.max(axis=1), bright.max(axis=0)
        if self._rows is None or self._rows.shape != rows.shape or self._cols.shape != cols.shape:
            self._rows, self._cols = rows, cols
        else:
            self._rows, self._cols = np.maximum(self._rows, rows), np.maximum(self._cols, cols)
        r, c = np.flatnonzero(self._rows >= BAR_LEVEL), np.flatnonzero(self._cols >= BAR_LEVEL)
        if not len(r):
            return slice(0, len(rows)), slice(0, len(cols))
        return slice(int(r[0]), int(r[-1]) + 1), slice(int(c[0]), int(c[-1]) + 1)


def _histogram(image: np.ndarray) -> np.ndarray:
    import cv2

    small = cv2.resize(image, _SMALL, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, _BINS, [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, None).ravel()


DOUBT = 0.3
"""A sample this far (Bhattacharyya) from the one before, but under the cut
threshold, may follow a cut between two shots of one set: the tracks do not
trust overlap across it (tracking.FaceTracker.step). On the real clips, 6 of
the 7 sample pairs at 0.35-0.4 are such cuts (close-ups of two people at one
table, at one place on screen); motion within a shot reaches 0.25-0.35; the
composites' shots stay under 0.17 (benchmarks/RESULTS.md, "Session 24: scene
cuts on real footage", "Session 25")."""


class CutDetector:
    """Feed sampled frames in order; `update` returns the scene number of
    each; `doubtful` says whether the last one lay DOUBT or more from the one
    before without a cut."""

    def __init__(self, threshold: float = default("cut_threshold")):
        self.threshold = threshold
        self._picture = Picture()
        self._prev: np.ndarray | None = None  # the last sample, every _STRIDE-th pixel
        self._hist: tuple[tuple, np.ndarray] | None = None  # its histogram, and over which part
        self.scene = 0
        self.doubtful = False

    def update(self, image: np.ndarray) -> int:
        import cv2

        cur = image[::_STRIDE, ::_STRIDE]
        rows, cols = self._picture.feed(image[::_BAR_STRIDE, ::_BAR_STRIDE])
        k = _BAR_STRIDE // _STRIDE  # in cur's pixels; the unread rows next to the picture count as picture
        part = slice(max(0, k * rows.start - k + 1), k * rows.stop), slice(max(0, k * cols.start - k + 1), k * cols.stop)
        key = (part, cur.shape)
        hist = _histogram(cur[part])
        self.doubtful = False
        if self._prev is not None and self._prev.shape == cur.shape:
            before = self._hist[1] if self._hist[0] == key else _histogram(self._prev[part])
            distance = cv2.compareHist(before, hist, cv2.HISTCMP_BHATTACHARYYA)
            if distance > self.threshold:
                self.scene += 1
            else:
                self.doubtful = distance >= DOUBT
        self._prev, self._hist = cur, (key, hist)
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
        self._picture = Picture()
        self._ref: np.ndarray | None = None
        self._last: np.ndarray | None = None

    def changed(self, image: np.ndarray) -> bool:
        """Whether `image` (BGR) differs from the reference by the threshold (False without one)."""
        import cv2

        grey = cv2.cvtColor(image[::_STRIDE, ::_STRIDE], cv2.COLOR_BGR2GRAY)
        self._last = cv2.resize(grey, _GREY, interpolation=cv2.INTER_AREA).astype(np.float32)
        part = self._picture.feed(self._last)
        if self._ref is None:
            return False
        return float(np.abs(self._last[part] - self._ref[part]).mean()) >= self.threshold

    def mark(self) -> None:
        """The sample last given to `changed` becomes the reference."""
        self._ref = self._last
