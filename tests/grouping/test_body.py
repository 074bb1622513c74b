"""Weak finds at the neck below a face (a necklace, a tie's knot): never a
person, never in one."""
from __future__ import annotations

import numpy as np
import pytest

from clusterer import Extraction, cluster
from clusterer.grouping import table as table_module
from clusterer.grouping.body import BODY_SCORE, lies_on_body, tracks_on_body
from clusterer.types import Clothing, Face, Track

FACE = (100, 100, 160, 160)  # 60 px: the chin at y = 160


def at(box, score=1.0, frame=0, enc=None, quality=0.9):
    return Face(frame, frame / 2, tuple(float(v) for v in box), score, enc, b"", quality)


@pytest.mark.parametrize("box, on", [
    ((115, 190, 145, 220), True),    # a necklace: centred, 0.5 face heights under the chin
    ((112, 215, 148, 251), True),    # a tie's knot, 0.92 under
    ((115, 160, 145, 190), False),   # level with the chin: a head leaning on a shoulder
    ((200, 190, 230, 220), False),   # beside the neck
    ((110, 250, 150, 290), False),   # 1.5 heights under, at the waist: in a grid, the picture below
    ((90, 190, 170, 270), False),    # larger than the face: someone nearer the camera
    ((125, 190, 137, 202), False),   # a fifth of the face: a face further away
])
def test_lies_on_body(box, on):
    assert lies_on_body(at(box), at(FACE)) is on


def test_a_track_is_on_a_body_when_weak_and_under_a_stronger_face_at_least_half_the_time():
    def flagged(scores, below=None, above_score=1.0):
        below = below or [True] * len(scores)
        faces = [at(FACE, above_score, f) for f in range(len(scores))]
        faces += [at((115, 190, 145, 220) if b else (300, 190, 330, 220), s, f)
                  for f, (s, b) in enumerate(zip(scores, below))]
        n = len(scores)
        ex = Extraction(tuple(faces), None, tuple(range(n)), (),
                        (Track(0, 0, tuple(range(n))), Track(1, 0, tuple(range(n, 2 * n)))))
        return tracks_on_body(ex).tolist()

    assert flagged([0.03, -0.06, 0.46]) == [False, True]     # friends_episode's necklace
    assert flagged([0.03, -0.06, BODY_SCORE]) == [False, False]   # one face clearly detected
    assert flagged([0.1, 0.2], below=[True, False]) == [False, True]
    assert flagged([0.1, 0.2, 0.3], below=[True, False, False]) == [False, False]
    assert flagged([0.1, 0.2], above_score=0.05) == [False, False]  # the face above is no stronger


@pytest.mark.parametrize("mode", ["faces", "two-stage"])
def test_a_necklace_joins_no_person_and_makes_none(mode, monkeypatch):
    """A person's track A and, under its chin in the same frames, a weak
    track (the necklace) whose clothing crop shows what person B, seen later,
    wears; its encoding its own, or near B's. Without the rule it is a person
    or in B's; with it, unknown (unconfirmed), and A and B stay as they are."""
    rng = np.random.default_rng(3)

    def unit():
        v = rng.normal(size=128)
        return v * 0.5 / np.linalg.norm(v)

    a, b, own = unit(), unit(), unit()
    shirt_a = Clothing((90, 170, 170, 300), np.eye(8)[0], b"")
    shirt_b = Clothing((90, 170, 170, 300), np.eye(8)[1], b"")

    def run(necklace_encoding):
        faces = [at(FACE, 1.2, f, a + rng.normal(size=128) * 0.003) for f in range(6)]
        faces += [at((117, 192, 143, 218), s, f, necklace_encoding, 0.45) for f, s in zip((1, 2, 3), (0.03, -0.06, 0.46))]
        faces += [at(FACE, 1.2, f, b + rng.normal(size=128) * 0.003) for f in range(10, 16)]
        cloth = [shirt_a] * 6 + [shirt_b] * 9
        ex = Extraction(tuple(faces), tuple(cloth), tuple(range(16)), (),
                        (Track(0, 0, tuple(range(6))), Track(1, 0, (6, 7, 8)), Track(2, 0, tuple(range(9, 15)))))
        persons, unknown = cluster(ex, mode=mode)
        return (sorted(sorted({s.track for s in p.sightings}) for p in persons),
                {s.track: s.reason for s in unknown})

    near_b = b + rng.normal(size=128) * 0.01
    for enc in (own, near_b):
        assert run(enc) == ([[0], [2]], {1: "unconfirmed"})
    monkeypatch.setattr(table_module, "tracks_on_body", lambda ex: np.zeros(len(ex.tracks), dtype=bool))
    assert run(near_b)[0] == [[0], [1, 2]]
    assert 1 in sum(run(own)[0], [])
