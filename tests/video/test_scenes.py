"""How much a sample changed since the last one searched whole (ChangeDetector)."""
from __future__ import annotations

import numpy as np

from clusterer.video.scenes import ChangeDetector, CutDetector
from conftest import background, walk_in


def test_a_person_walking_in_is_a_change_but_not_a_cut(hopper_bgr):
    bg = background()
    entered = walk_in(bg, hopper_bgr, 200)
    cuts = CutDetector()
    assert cuts.update(bg) == cuts.update(entered) == 0  # colour histograms: no cut
    change = ChangeDetector(6.0)
    assert not change.changed(bg)  # no reference yet
    change.mark()
    assert not change.changed(bg.copy())  # a still shot never triggers it
    assert change.changed(entered)
    assert not ChangeDetector(255.0).changed(entered)  # 255: off


def test_the_reference_moves_only_when_marked(hopper_bgr):
    bg = background(1)
    entered = walk_in(bg, hopper_bgr, 200)
    change = ChangeDetector(6.0)
    change.changed(bg)
    change.mark()
    assert change.changed(entered)
    assert change.changed(entered)  # not searched yet: still changed from the reference
    change.mark()  # searched whole: the person is in the reference now
    assert not change.changed(entered)
    assert change.changed(bg)  # and leaving is a change too


def test_small_changes_add_up_against_the_reference():
    """Slow drift that no two consecutive samples show is seen against the
    last sample searched whole."""
    bg = 60 + background(2).astype(np.int16) // 2  # no pixel saturates
    change = ChangeDetector(5.0)
    change.changed(bg.astype(np.uint8))
    change.mark()
    fired = [change.changed(np.clip(bg + 2 * k, 0, 255).astype(np.uint8)) for k in range(1, 6)]
    assert fired == [False, False, True, True, True]  # 2, 4 under 5; 6, 8, 10 over
