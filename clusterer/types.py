"""The containers the stages hand each other, in pipeline order.

video: VideoInfo, SampledFrame, Coverage → faces: Detections, Face →
clothing: Clothing → tracking: Track → extraction: Extraction (the feature
cache holds exactly this) → grouping: Sighting, Person → the run: Result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Sequence

import numpy as np

from .geometry import BoxXYXY

ENCODING_DIM = 128
"""Length of a face encoding (dlib's ResNet, face_recognition's scale)."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video (frames may be an estimate)."""

    path: str
    fps: float
    frames: int
    duration: float
    width: int
    height: int


@dataclass(frozen=True, eq=False)
class SampledFrame:
    """One sampled frame: its index in the video, its time in seconds and its
    pixels as an (height, width, 3) uint8 BGR array."""

    index: int
    time: float
    image: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Coverage:
    """How much of the asked span was decoded: from `start` to `until`
    seconds, of `end` (the asked --end, or the video's length). `broken`:
    the stream stopped well before `end` (a damaged or truncated file)."""

    start: float
    until: float
    end: float
    broken: bool = False

    def __str__(self) -> str:
        return f"decoded {self.start:g}–{self.until:.1f} s of {self.end:.1f} s"


@dataclass(frozen=True, eq=False)
class Detections:
    """The faces one detector found in one frame.

    box_xyxy (n, 4) float32: left, top, right, bottom in pixels;
    score (n,) float32: 0 at the detector's cut-off, higher is surer;
    landmarks (n, 5, 2) float32: the detector's own five points (x, y), NaN
    for detectors without them (dlib's HOG and CNN).
    """

    box_xyxy: np.ndarray
    score: np.ndarray
    landmarks: np.ndarray

    def __post_init__(self):
        n = len(self.score)
        if self.box_xyxy.shape != (n, 4) or self.score.shape != (n,) or self.landmarks.shape != (n, 5, 2):
            raise ValueError(f"Detections: expected shapes ({n}, 4), ({n},), ({n}, 5, 2); got "
                             f"{self.box_xyxy.shape}, {self.score.shape}, {self.landmarks.shape}")

    def __len__(self) -> int:
        return len(self.score)

    @staticmethod
    def of(boxes, scores, landmarks=None) -> "Detections":
        """From lists or arrays; landmarks None → NaN."""
        b = np.asarray(boxes, np.float32).reshape(-1, 4)
        lm = np.full((len(b), 5, 2), np.nan, np.float32) if landmarks is None \
            else np.asarray(landmarks, np.float32).reshape(-1, 5, 2)
        return Detections(b, np.asarray(scores, np.float32).reshape(-1), lm)

    @staticmethod
    def empty() -> "Detections":
        return Detections.of(np.zeros((0, 4)), np.zeros(0))


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
class Clothing:
    """The clothing seen under one face: its box and embedding, or None for both
    when the torso is out of frame or too small (missing, never a zero vector);
    layout: where its colours are (clothing.embedders.layout_vector), None
    where missing or not computed."""

    box_xyxy: BoxXYXY | None
    embedding: np.ndarray | None = field(repr=False, default=None)
    crop_jpeg: bytes = field(repr=False, default=b"")
    layout: np.ndarray | None = field(repr=False, default=None)

    @property
    def missing(self) -> bool:
        return self.embedding is None


@dataclass(frozen=True, eq=False)
class FrameFaces:
    """One sampled frame's detections as the tracker takes them; row r is one
    face: its box, its encoding (None: not encoded, the tracker then goes by
    overlap alone), its item (index among the extraction's faces), its quality
    (which of a track's faces are its best), whether it is weak (under the
    detector's own cut-off: it may continue a track, never start one) and
    whether its encoding comes later (FaceTracker.deferrable; empty: none)."""

    box_xyxy: tuple[BoxXYXY, ...]
    encoding: tuple[np.ndarray | None, ...]
    item: tuple[int, ...]
    quality: tuple[float, ...]
    weak: tuple[bool, ...]
    later: tuple[bool, ...] = ()

    def __post_init__(self):
        n = len(self.box_xyxy)
        if not len(self.encoding) == len(self.item) == len(self.quality) == len(self.weak) == n or \
                len(self.later) not in (0, n):
            raise ValueError(f"FrameFaces: {n} boxes, {len(self.encoding)} encodings, {len(self.item)} items, "
                             f"{len(self.quality)} qualities, {len(self.weak)} weak flags")

    def __len__(self) -> int:
        return len(self.box_xyxy)

    @staticmethod
    def of(boxes, encodings, items, qualities=None, weak=None, later=None) -> "FrameFaces":
        """From sequences; qualities None: 1.0 each; weak, later None: none."""
        n = len(boxes)
        return FrameFaces(tuple(boxes), tuple(encodings), tuple(items),
                          tuple(qualities) if qualities else (1.0,) * n,
                          tuple(weak) if weak is not None else (False,) * n,
                          tuple(later) if later is not None else ())


@dataclass(frozen=True)
class Track:
    """A finished track: its id, scene, and the indices of its faces (in time order)."""

    id: int
    scene: int
    items: tuple[int, ...]


@dataclass(frozen=True)
class Extraction:
    """What extraction produced, in sampling order.

    faces: every detected face (encoding None where tracking skipped it);
    clothing: the clothing under each face (None when not computed);
    sampled: the frame indices looked at; cuts: (frame, time) of the first
    sampled frame of each scene after the first; tracks: the face tracks;
    coverage: how much of the video was decoded (None: not known);
    rate: the samples per second (--fps; None: not known, and grouping
    assumes the default).
    """

    faces: tuple[Face, ...]
    clothing: tuple[Clothing, ...] | None
    sampled: tuple[int, ...]
    cuts: tuple[tuple[int, float], ...] = ()
    tracks: tuple[Track, ...] = ()
    coverage: Coverage | None = None
    rate: float | None = None

    @property
    def n_encoded(self) -> int:
        return sum(f.encoding is not None for f in self.faces)


class Category(str, Enum):
    """A str Enum for categories: equal to its value, and written as its value
    (json, f-strings, templates), so clusters.json reads as plain strings."""

    __str__ = str.__str__
    __format__ = str.__format__


class Mode(Category):
    """How tracks are grouped (--mode)."""

    TWO_STAGE = "two-stage"
    FUSED = "fused"
    FACES = "faces"


class DetectorName(Category):
    """The face detectors (--detector; faces/detectors.py). The settings table,
    under this module, lists the same strings (a test holds them equal)."""

    MTCNN = "mtcnn"
    HOG = "hog"
    CNN = "cnn"


class Assigned(Category):
    """How a sighting was assigned (Sighting.assigned, "assigned" in clusters.json): by its face
    (stage 1), joined by clothing (stage 2), by the fused HDBSCAN, by the
    user's folders (naming/folders.py), or not at all."""

    FACE = "face"
    CLOTHING = "clothing"
    FUSED = "fused"
    USER = "user"
    UNKNOWN = "unknown"


class Reason(Category):
    """Why a sighting is unknown (see Sighting)."""

    FEW_FACES = "few-faces"
    UNCONFIRMED = "unconfirmed"
    LOW_QUALITY = "low-quality"
    NOISE = "noise"
    SAME_FRAME = "same-frame"
    MOVED_BY_USER = "moved-by-user"


ASSIGNED = tuple(h.value for h in Assigned)
"""The values of Assigned, in order."""


@dataclass(frozen=True)
class Sighting:
    """One face with the clothing under it, and how it was assigned.

    reason says why a sighting is unknown: "few-faces" (its group had fewer
    than --min-faces faces), "unconfirmed" (a one-sample track with a low
    detector score, a group of barely detected faces, or a weak find on the
    body below a face: likely not a face), "low-quality" (its track had no face
    good enough to cluster and clothing did not attach it), "noise" (fused
    mode: HDBSCAN noise), "same-frame" (its cluster already had a face of
    that frame: fused mode, or the user's folders asked for it) or
    "moved-by-user" (the user moved it into unknown/). track is the id of its
    face track.
    """

    face: Face
    clothing: Clothing | None = None
    assigned: Assigned = Assigned.FACE
    reason: Reason | None = None
    track: int | None = None

    def __post_init__(self):
        if self.assigned not in ASSIGNED:
            raise ValueError(f"assigned must be one of {ASSIGNED}, got {self.assigned!r}")


@dataclass(frozen=True)
class Person:
    """One person: an id such as "person_001" and their sightings in time order."""

    id: str
    sightings: tuple[Sighting, ...]

    @property
    def faces(self) -> tuple[Face, ...]:
        return tuple(s.face for s in self.sightings)

    @property
    def first(self) -> float:
        return self.sightings[0].face.time

    @property
    def last(self) -> float:
        return self.sightings[-1].face.time


@dataclass(frozen=True)
class Result:
    """Everything a run produced: what was looked at, with which settings, and
    the persons found (most faces first) and the sightings left unknown."""

    video: VideoInfo
    sampled: tuple[int, ...]
    settings: dict[str, Any]
    persons: tuple[Person, ...]
    unknown: tuple[Sighting, ...]
    cuts: tuple[tuple[int, float], ...] = ()
    """(frame, time) of the first sampled frame of each scene after the first."""
    coverage: Coverage | None = None
    """How much of the video was decoded (sampling.Coverage; None: not known)."""
    apart: frozenset[tuple[int, int]] = frozenset()
    """Track ids of each pair (both orders) that grouping kept apart as
    look-alikes (grouping.apart), for the report to say why two near persons
    are two."""

    @property
    def complete(self) -> bool:
        """False when the video decoded only in part (a damaged or truncated file)."""
        return self.coverage is None or not self.coverage.broken

    @property
    def n_faces(self) -> int:
        return sum(len(p.sightings) for p in self.persons) + len(self.unknown)


def in_time_order(items: Sequence[Sighting]) -> tuple[Sighting, ...]:
    """Sightings by time, then box: the order of every output."""
    return tuple(sorted(items, key=lambda s: (s.face.time, s.face.box_xyxy)))


def group(sightings: Sequence[Sighting], labels) -> tuple[tuple[Person, ...], tuple[Sighting, ...]]:
    """Persons from per-sighting labels (0 = the most faces; -1 = unknown)."""
    by_label: dict[int, list[Sighting]] = {}
    for s, lab in zip(sightings, labels):
        by_label.setdefault(int(lab), []).append(s)
    persons = tuple(Person(f"person_{k + 1:03d}", in_time_order(by_label[lab]))
                    for k, lab in enumerate(sorted(l for l in by_label if l >= 0)))
    return persons, in_time_order(by_label.get(-1, []))


def person_encoding(p: Person) -> np.ndarray | None:
    """A person's mean face encoding (None when no face of theirs was encoded)."""
    encs = [s.face.encoding for s in p.sightings if s.face.encoding is not None]
    return np.mean(encs, axis=0) if encs else None
