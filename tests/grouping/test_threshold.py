"""--threshold, the knob users turn: lowered, it also lowers the joins after
stage 1 (--join-threshold, --loose-threshold); raised, it leaves them."""
from __future__ import annotations

import pytest

from clusterer import Extraction, cluster
from clusterer.grouping.persons import under_threshold
from clusterer.settings import default
from points import tracks_at


def persons_at(ex: Extraction, **settings) -> int:
    return len(cluster(ex, mode="faces", **settings)[0])


@pytest.mark.parametrize("threshold, persons", [(default("threshold"), 2), (0.32, 3), (0.30, 3)])
def test_a_lower_threshold_keeps_apart_what_the_join_put_together(threshold, persons):
    """Two tracks 0.45 apart, each the other's clear nearest (a third person
    1.0 away): over --threshold, joined at --join-threshold (0.5). Lowering
    --threshold to 0.32 puts the join at 0.44: apart, as a user who lowers it
    to separate two people expects (with the join fixed they stayed one)."""
    ex = tracks_at([(0.0, 0.0), (0.45, 0.0), (0.2, 1.0)])
    assert persons_at(ex, threshold=threshold) == persons


def test_a_higher_threshold_leaves_the_joins_where_they_are():
    """Two tracks 0.55 apart stay two at --threshold 0.40: the join stays at
    0.5 (scaled up with it, to 0.556, it would take them)."""
    ex = tracks_at([(0.0, 0.0), (0.55, 0.0), (0.2, 1.2)])
    assert persons_at(ex, threshold=0.40) == 3
    assert persons_at(ex, threshold=0.40, join_threshold=0.56) == 2


def test_under_threshold():
    t0 = default("threshold")
    assert under_threshold(0.5, t0) == 0.5
    assert under_threshold(0.5, 0.44) == 0.5
    assert under_threshold(0.6, t0 / 2) == pytest.approx(0.3)
