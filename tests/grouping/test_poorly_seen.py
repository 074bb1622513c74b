"""Two persons with no clear face between them join by their faces only when
near (grouping.persons.POOR_JOIN): their encodings lie nearer to other people's."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from clusterer import Extraction, cluster
from clusterer.grouping.persons import CLEAR_FACE, POOR_JOIN, poorly_seen
from clusterer.grouping.table import TrackTable
from clusterer.settings import default
from points import tracks_at

POOR, CLEAR = CLEAR_FACE - 0.05, CLEAR_FACE + 0.1


def persons_at(ex: Extraction, **settings) -> int:
    return len(cluster(ex, mode="faces", **settings)[0])


@pytest.mark.parametrize("qualities, persons", [((POOR, POOR, CLEAR), 3), ((POOR, CLEAR, CLEAR), 2),
                                                ((CLEAR, POOR, CLEAR), 2)])
def test_two_poorly_seen_persons_far_enough_apart_stay_apart(qualities, persons):
    """Two tracks 0.45 apart, over --threshold and under --join-threshold, each
    the other's clear nearest: joined when either has a clear face, apart
    when neither has."""
    ex = tracks_at([(0.0, 0.0), (0.45, 0.0), (0.2, 1.0)], quality=qualities)
    assert persons_at(ex) == persons


def test_poorly_seen_persons_near_enough_join():
    ex = tracks_at([(0.0, 0.0), (POOR_JOIN - 0.02, 0.0), (0.2, 1.0)], quality=(POOR, POOR, CLEAR))
    assert persons_at(ex) == 2


def test_the_bound_comes_down_with_the_threshold():
    """At --threshold 0.34 the bound is 0.40 × 0.34 / 0.36 = 0.378: two poorly
    seen tracks 0.385 apart, joined at the default, stay apart."""
    ex = tracks_at([(0.0, 0.0), (0.385, 0.0), (0.2, 1.0)], quality=(POOR, POOR, CLEAR))
    assert persons_at(ex) == 2
    assert persons_at(ex, threshold=0.34) == 3


def test_a_tracks_quality_is_its_best_faces():
    ex = tracks_at([(0.0, 0.0)], faces=3, quality=0.4)
    faces = list(ex.faces)
    faces[1] = dataclasses.replace(faces[1], quality=0.7)
    table = TrackTable.of(dataclasses.replace(ex, faces=tuple(faces)), min_quality=default("min_quality"),
                          budget=5, min_confidence=default("min_confidence"), with_clothing=False)
    assert table.quality.tolist() == [0.7]
    assert table[[0]].quality.tolist() == [0.7]


def test_the_veto_needs_both_poorly_seen_and_far():
    veto = poorly_seen(np.array([POOR, POOR, CLEAR]), POOR_JOIN)
    assert veto(np.array([0]), np.array([1]), POOR_JOIN)
    assert not veto(np.array([0]), np.array([1]), POOR_JOIN - 0.01)
    assert not veto(np.array([0]), np.array([1, 2]), 0.45)
