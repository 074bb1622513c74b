"""The clustering stage's output: persons and the unknown bucket."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .faces import Face
from .sampling import VideoInfo


@dataclass(frozen=True)
class Person:
    """One person: an id such as "person_001" and their faces in time order."""

    id: str
    faces: tuple[Face, ...]

    @property
    def first(self) -> float:
        return self.faces[0].time

    @property
    def last(self) -> float:
        return self.faces[-1].time


@dataclass(frozen=True)
class Result:
    """Everything a run produced: what was looked at, with which settings, and
    the persons found (most faces first) and the faces left unknown."""

    video: VideoInfo
    sampled: tuple[int, ...]
    settings: dict[str, Any]
    persons: tuple[Person, ...]
    unknown: tuple[Face, ...]

    @property
    def n_faces(self) -> int:
        return sum(len(p.faces) for p in self.persons) + len(self.unknown)


def group(faces: list[Face], labels) -> tuple[tuple[Person, ...], tuple[Face, ...]]:
    """Persons from per-face labels (0 = most faces; -1 = unknown)."""
    by_label: dict[int, list[Face]] = {}
    for f, lab in zip(faces, labels):
        by_label.setdefault(int(lab), []).append(f)
    order = lambda fs: sorted(fs, key=lambda f: (f.time, f.box_xyxy))  # noqa: E731
    persons = tuple(Person(f"person_{k + 1:03d}", tuple(order(by_label[lab])))
                    for k, lab in enumerate(sorted(l for l in by_label if l >= 0)))
    return persons, tuple(order(by_label.get(-1, [])))
