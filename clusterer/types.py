"""The clustering stage's output: persons and the unknown bucket."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .clothing.embedders import Clothing
from .faces.analyzer import Face
from .video.sampling import Coverage, VideoInfo

HOW = ("face", "clothing", "fused", "user", "unknown")
"""How a sighting was assigned: by its face (stage 1), joined by clothing
(stage 2), by the fused HDBSCAN, by the user's folders (names.py), or not at all."""


@dataclass(frozen=True)
class Sighting:
    """One face with the clothing under it, and how it was assigned.

    reason says why a sighting is unknown: "few-faces" (its group had fewer
    than --min-faces faces), "unconfirmed" (a one-sample track with a low
    detector score: likely not a face), "low-quality" (its track had no face
    good enough to cluster and clothing did not attach it), "noise" (fused
    mode: HDBSCAN noise), "same-frame" (its cluster already had a face of
    that frame: fused mode, or the user's folders asked for it) or
    "moved-by-user" (the user moved it into unknown/). track is the id of its
    face track.
    """

    face: Face
    clothing: Clothing | None = None
    how: str = "face"
    reason: str | None = None
    track: int | None = None

    def __post_init__(self):
        if self.how not in HOW:
            raise ValueError(f"how must be one of {HOW}, got {self.how!r}")


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
