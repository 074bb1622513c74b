"""Synthetic look-alikes: two people whom the face distance confuses and a
video's tracks seen together tell apart (tests of grouping.apart and of the
library's use of it)."""
from __future__ import annotations

import numpy as np

from clusterer.types import Extraction, Face, Track


def unit(rng, d=128):
    v = rng.normal(size=d)
    return v / np.linalg.norm(v)


def look_alikes(seed: int, together: int = 3, tracks_each: int = 6, faces_each: int = 4, pose: float = 0.0):
    """Two people 0.2 apart along one direction, each in `tracks_each` shots
    that move a track 0.12 in a random direction (one person's tracks lie
    about 0.17 apart, the two people's about 0.24: both under the stage-1
    threshold). The first `together` tracks of each are wide shots of the
    two on screen together, which move both 0.3 the same way (a smaller,
    darker face): each person's close shots lie nearer the other's than their
    own wide ones. With `pose`, every track's mean and every face also move
    along one more direction (a head turning: up to `pose` a track, 0.7 ×
    `pose` a face), along which the seen-together pairs differ as much.
    Returns per-track face encodings, spans and who is who."""
    rng = np.random.default_rng(seed)
    base = unit(rng) * 0.6
    u = unit(rng)
    wide = unit(rng) * 0.3
    turn = unit(rng) if pose else np.zeros(128)
    faces, spans, who = [], [], []
    for person, centre in enumerate((base, base + 0.2 * u)):
        for k in range(tracks_each):
            mean = centre + 0.12 * unit(rng) + (wide if k < together else 0.0)
            if pose:
                mean = mean + pose * rng.uniform(-1, 1) * turn
            faces.append(np.stack([mean + rng.normal(scale=0.03 / np.sqrt(128), size=128)
                                   + (pose * 0.7 * rng.normal() * turn if pose else 0.0)
                                   for _ in range(faces_each)]))
            frames = {1000 * person + 10 * k, 1000 * person + 10 * k + 1}
            if k < together:
                frames.add(5000 + k)  # this track of each person is on screen with the other's
            spans.append(frozenset(frames))
            who.append(person)
    return faces, spans, np.array(who)


def extraction_of(faces, spans) -> Extraction:
    """The tracks as an Extraction: one Face per encoding, on the track's frames in turn."""
    out, tracks = [], []
    for k, (enc, span) in enumerate(zip(faces, spans)):
        frames = sorted(span)
        items = []
        for j, e in enumerate(enc):
            f = frames[j % len(frames)]
            out.append(Face(f, f / 2, (10, 10, 60, 60), 1.0, e, b"", 0.9))
            items.append(len(out) - 1)
        tracks.append(Track(k, 0, tuple(items)))
    return Extraction(tuple(out), None, tuple(sorted(set().union(*spans))), (), tuple(tracks))
