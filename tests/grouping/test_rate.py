"""Grouping's counts of faces at other sampling rates (--fps): the seconds a
person is seen, when sampled faster than the default; the faces, when slower."""
from __future__ import annotations

import pytest

from clusterer import Extraction, cluster
from clusterer.grouping.persons import PARTS_JOIN_FACES, faces_at
from clusterer.settings import default
from points import tracks_at

# One person in three parts 0.365–0.421 apart, each the other's runner-up (no
# join by the ratio test), and another person 0.7 or more from each: the
# parts join as parts (linkage.join_parts) once each holds PARTS_JOIN_FACES.
THREE_PARTS = ((0.0, 0.0), (0.365, 0.0), (0.13029, 0.34950), (0.2, -0.7))


def three_parts(faces: int, rate: float | None) -> Extraction:
    """Each point of THREE_PARTS a track of `faces` faces, sampled at `rate`."""
    return tracks_at(THREE_PARTS, faces, rate)


def persons_of(faces: int, rate: float | None) -> int:
    persons, _ = cluster(three_parts(faces, rate), mode="faces")
    return len(persons)


@pytest.mark.parametrize("rate", [None, 1.0, 2.0])
def test_at_the_default_rate_or_slower_a_count_is_faces(rate):
    """At 2 samples a second (or unrecorded) and at 1, parts of 10 faces join,
    parts of 9 do not: slower sampling lowers no count."""
    assert persons_of(PARTS_JOIN_FACES, rate) == 2
    assert persons_of(PARTS_JOIN_FACES - 1, rate) == 4


def test_sampled_faster_a_count_is_seconds():
    """At 4 samples a second, parts of 10 faces are 2.5 s each, not the 5 s that
    10 faces are at 2 a second: apart; parts of 20 (5 s) join."""
    assert persons_of(PARTS_JOIN_FACES, 4.0) == 4
    assert persons_of(2 * PARTS_JOIN_FACES - 1, 4.0) == 4
    assert persons_of(2 * PARTS_JOIN_FACES, 4.0) == 2


def test_faces_at():
    assert faces_at(15, None) == faces_at(15, default("fps")) == 15
    assert faces_at(15, default("fps") / 4) == 15
    assert faces_at(15, 3 * default("fps")) == 45


def test_the_rate_survives_the_cache():
    from clusterer.cache import from_arrays, to_arrays

    ex = three_parts(2, 4.0)
    assert from_arrays(to_arrays(ex)).rate == 4.0
    old = to_arrays(ex)
    del old["rate"]  # a cache written before the rate was recorded
    assert from_arrays(old).rate is None
