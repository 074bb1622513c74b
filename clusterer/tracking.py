"""Face tracks: the same face followed through consecutive sampled frames of one scene.

Detections of consecutive samples link by box overlap (IoU), one-to-one
(Hungarian assignment). A detection that overlaps two tracks, or none, is
checked by its face: it joins a recent track of the scene only if its face
distance to that track is under LINK_FACE. A face distance of BREAK_FACE or
more always breaks a link, so two people who cross are not
merged. Tracks never cross a scene cut, and end after `max_gap` samples
without a detection.

A face linked by overlap alone (one track, no rival box) needs its encoding
only for that check and the track's mean, so its encoding may come later
(`deferrable`, `resolve`): the caller encodes such faces in batches, several
times cheaper per face than one or two at a time. A late face found to be
another person's splits its track there: it and the faces after it form a
new track, and the track before it ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .settings import default
from .geometry import BoxXYXY, box_iou as iou
from .types import FrameFaces, Track


LINK_FACE = default("threshold")
"""Face distance under which a detection joins a track without box overlap
(a face that left and came back) or despite overlapping several tracks
(people crossing): face_recognition-scale, the strict clustering default
(--threshold's default, not its value: tracks do not change with it)."""

BREAK_FACE = 0.6
"""Face distance at or over which an overlapping detection never joins a track
(face_recognition's tolerance): another person stepped into the box."""


def assign(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one-to-one pairs (rows, cols) of least total cost of a finite n × m
    matrix, min(n, m) of them, rows ascending: what
    scipy.optimize.linear_sum_assignment returns. Hungarian method with
    potentials (shortest augmenting paths, O(n² m)). Written here because a
    frame's boxes and tracks are a handful, and importing scipy.optimize cost
    each run 0.4 s of CPU on the main thread (benchmarks/RESULTS.md,
    "Session 11: the tracker's assignment without scipy")."""
    c = np.asarray(cost, dtype=np.float64)
    flip = c.shape[0] > c.shape[1]
    if flip:
        c = c.T
    n, m = c.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)  # owner[j]: the row (1-based) holding column j (1-based); 0: free
    for i in range(1, n + 1):
        owner[0], j0 = i, 0
        slack, prev = np.full(m + 1, np.inf), np.zeros(m + 1, dtype=np.int64)
        used = np.zeros(m + 1, dtype=bool)
        while owner[j0]:  # grow the tree of tight edges until it reaches a free column
            used[j0] = True
            i0 = owner[j0]
            free = np.flatnonzero(~used)
            reduced = c[i0 - 1, free - 1] - u[i0] - v[free]
            better = reduced < slack[free]
            slack[free[better]], prev[free[better]] = reduced[better], j0
            j1 = free[np.argmin(slack[free])]
            delta = slack[j1]
            done = np.flatnonzero(used)
            u[owner[done]] += delta
            v[done] -= delta
            slack[free] -= delta
            j0 = j1
        while j0:  # flip the path back to the root
            j1 = prev[j0]
            owner[j0] = owner[j1]
            j0 = j1
    cols = np.flatnonzero(owner[1:])
    rows = owner[1:][cols] - 1
    if flip:
        rows, cols = cols, rows
    order = np.argsort(rows)
    return rows[order], cols[order]


@dataclass
class _Open:
    """A track still being extended (mutable, private to the tracker)."""

    id: int
    scene: int
    items: list[int] = field(default_factory=list)
    last_box: BoxXYXY = (0, 0, 0, 0)
    last_step: int = 0
    encodings: list[np.ndarray] = field(default_factory=list)
    qualities: dict[int, float] = field(default_factory=dict)  # item → quality of the encoded faces, waiting ones too
    waiting: list[int] = field(default_factory=list)  # items linked before their encodings came (in order)

    def mean(self) -> np.ndarray | None:
        return np.mean(self.encodings, axis=0) if self.encodings else None

    def done(self) -> Track:
        return Track(self.id, self.scene, tuple(self.items))


class FaceTracker:
    """Online tracker. Call `step` once per sampled frame, in order, then `finish`.

    step(scene, faces) links one frame's detections (a FrameFaces) and
    returns the track id of each. Faces not encoded are linked by overlap
    alone; wants_encoding says which faces to encode before calling step.
    """

    def __init__(self, *, min_iou: float = default("track_iou"), max_gap: int = default("track_gap")):
        self.min_iou = min_iou
        self.max_gap = max_gap
        self._open: list[_Open] = []
        self._done: list[Track] = []
        self._settling: list[_Open] = []  # closed, some encodings still to come (resolve)
        self._next = 0
        self._step = -1

    def _close(self, keep) -> None:
        still = []
        for t in self._open:
            if keep(t):
                still.append(t)
            elif t.waiting:
                self._settling.append(t)
            else:
                self._done.append(t.done())
        self._open = still

    def _live(self, scene: int) -> list[_Open]:
        """The tracks that the next step of `scene` may still extend."""
        return [t for t in self._open if t.scene == scene and self._step + 1 - t.last_step <= self.max_gap + 1]

    def open_boxes(self, scene: int) -> list[BoxXYXY]:
        """Last boxes of the tracks that the next step of `scene` may still extend."""
        return [t.last_box for t in self._live(scene)]

    def boxes_after(self, scene: int, boxes: list[BoxXYXY]) -> list[BoxXYXY]:
        """What open_boxes(scene) will return after step(scene, boxes, …), were
        every detection linked by overlap alone (no face compared): extended
        and new tracks at their new boxes, the others at their last, while
        within max_gap. The next sample's search regions, known before this
        sample's faces are encoded, so that search can run meanwhile."""
        now = self._step + 1
        live = self._live(scene)
        extended: set[int] = set()
        if live and boxes:
            ov = np.array([[iou(b, t.last_box) for t in live] for b in boxes])
            extended = {c for r, c in zip(*assign(-ov)) if ov[r, c] >= self.min_iou}
        kept = [t.last_box for c, t in enumerate(live)
                if c not in extended and now + 1 - t.last_step <= self.max_gap + 1]
        return list(boxes) + kept

    def wants_encoding(self, scene: int, boxes: list[BoxXYXY], qualities: list[float],
                       budget: int = default("track_encodings"), doubt: bool = False) -> list[bool]:
        """Which detections of the next step to encode: those whose link is in
        doubt (they overlap no open track, or several; every one on a sample
        in `doubt`, see step), and those that would be among the `budget` best
        faces of the one track they overlap."""
        if doubt:
            return [True] * len(boxes)
        live = self._live(scene)
        out = []
        for b, q in zip(boxes, qualities):
            hits = [t for t in live if iou(b, t.last_box) >= self.min_iou]
            if len(hits) != 1:
                out.append(True)
                continue
            best = sorted(hits[0].qualities.values(), reverse=True)[:budget]
            out.append(len(best) < budget or q > best[-1])
        return out

    def deferrable(self, scene: int, boxes: list[BoxXYXY], doubt: bool = False) -> list[bool]:
        """Which detections of the next step overlap exactly one live track,
        which no other of the boxes overlaps: the step links them by overlap,
        so their encodings may be given later, to `resolve` (none on a sample
        in `doubt`: there the step compares every face)."""
        live = self._live(scene)
        if doubt or not live or not boxes:
            return [False] * len(boxes)
        ov = np.array([[iou(b, t.last_box) >= self.min_iou for t in live] for b in boxes])
        return [bool(row.sum() == 1 and ov[:, row.argmax()].sum() == 1) for row in ov]

    def resolve(self, encodings: dict[int, np.ndarray]) -> None:
        """Encodings of faces that step took as `later` (FrameFaces.later), by
        item; every face waiting must be given before the next step that
        compares faces. Each is checked against its track's mean as it stood
        then: at BREAK_FACE or more, the track splits there (the face and
        those after it start a new track, as that step would have started
        one), else it joins the mean."""
        for t in [t for t in self._open + self._settling if t.waiting]:
            while t.waiting:
                item = t.waiting.pop(0)
                enc = encodings[item]
                m = t.mean()
                if m is not None and np.linalg.norm(enc - m) >= BREAK_FACE:
                    t = self._split(t, item)
                t.encodings.append(enc)
        self._done.extend(t.done() for t in self._settling if not t.waiting)
        self._settling = [t for t in self._settling if t.waiting]

    def _split(self, t: _Open, item: int) -> _Open:
        """`t` ends before `item`; a new track, open where `t` was, holds the rest."""
        k = t.items.index(item)
        rest = _Open(self._next, t.scene, t.items[k:], t.last_box, t.last_step,
                     qualities={i: q for i, q in t.qualities.items() if i >= item}, waiting=t.waiting)
        self._next += 1
        t.items, t.waiting = t.items[:k], []
        self._done.append(t.done())
        for group in (self._open, self._settling):
            if t in group:
                group[group.index(t)] = rest
        return rest

    def step(self, scene: int, faces: FrameFaces, doubt: bool = False) -> list[int | None]:
        """Link one frame's detections; the track id of each. A weak detection
        may only extend an existing track: one that links to none is dropped,
        its id None, and the items go to the kept detections in order. A face
        marked `later` waits in its track for `resolve`. On a sample in
        `doubt` (it may follow a cut the scenes did not call one:
        video.scenes.DOUBT) overlap is no evidence: a face extends a track
        only when its face agrees (under LINK_FACE), as where people cross."""
        boxes, encodings, qualities, weak = list(faces.box_xyxy), faces.encoding, faces.quality, faces.weak
        later = faces.later or (False,) * len(boxes)
        if any(e is not None for e in encodings) and any(t.waiting for t in self._open if t.scene == scene):
            raise RuntimeError("FaceTracker.step: resolve the faces waiting before comparing faces")

        self._step += 1
        now = self._step
        self._close(lambda t: t.scene == scene and now - t.last_step <= self.max_gap + 1)
        tracks = self._open
        assigned: list[_Open | None] = [None] * len(boxes)
        if tracks and boxes:
            ov = np.array([[iou(b, t.last_box) for t in tracks] for b in boxes])
            rows, cols = assign(-ov)
            for r, c in zip(rows, cols):
                if ov[r, c] < self.min_iou:
                    continue
                m = tracks[c].mean()
                if encodings[r] is not None and m is not None and \
                        np.linalg.norm(encodings[r] - m) >= BREAK_FACE:
                    continue  # overlapping, but another person's face
                if doubt or (ov[r] >= self.min_iou).sum() > 1 or (ov[:, c] >= self.min_iou).sum() > 1:
                    # two boxes and tracks overlap (people crossing), or a cut may lie before this
                    # sample: trust only a face that agrees
                    if encodings[r] is None or m is None or np.linalg.norm(encodings[r] - m) >= LINK_FACE:
                        continue
                assigned[r] = tracks[c]
        taken = {id(t) for t in assigned if t is not None}
        for r, b in enumerate(boxes):
            if assigned[r] is None and encodings[r] is not None:
                # no overlap: a face that left and came back, or moved fast: link by face only
                cands = [(np.linalg.norm(encodings[r] - t.mean()), t.id, t) for t in tracks
                         if id(t) not in taken and t.last_step < now and t.mean() is not None]
                cands = [c for c in cands if c[0] < LINK_FACE]
                if cands:
                    assigned[r] = min(cands, key=lambda c: (c[0], c[1]))[2]
                    taken.add(id(assigned[r]))
        out: list[int | None] = []
        ids = iter(faces.item)
        for r, b in enumerate(boxes):
            t = assigned[r]
            if t is None:
                if weak[r]:
                    out.append(None)
                    continue
                t = _Open(self._next, scene)
                self._next += 1
                self._open.append(t)
            t.items.append(next(ids))
            t.last_box = b
            t.last_step = now
            if encodings[r] is not None:
                t.encodings.append(encodings[r])
                t.qualities[t.items[-1]] = qualities[r]
            elif later[r]:
                t.waiting.append(t.items[-1])
                t.qualities[t.items[-1]] = qualities[r]
            out.append(t.id)
        return out

    def finish(self) -> list[Track]:
        """Close every open track; all tracks, ordered by id. Every face
        waiting must have been resolved."""
        self._close(lambda t: False)
        if self._settling:
            raise RuntimeError("FaceTracker.finish: encodings still waiting (resolve them first)")
        return sorted(self._done, key=lambda t: t.id)
