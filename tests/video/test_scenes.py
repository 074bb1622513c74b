"""How much a sample changed since the last one searched whole (ChangeDetector)."""
from __future__ import annotations

import cv2
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


def test_a_cut_to_a_closer_framing_of_the_same_set_is_a_cut(hopper_bgr):
    # the middle of the picture, enlarged: the same colours in other shares
    # (Bhattacharyya 0.46), as a cut from a wide shot to a close-up of one set
    h, w = hopper_bgr.shape[:2]
    close = cv2.resize(hopper_bgr[h // 4:3 * h // 4, w // 4:3 * w // 4], (w, h))
    cuts = CutDetector()
    assert cuts.update(hopper_bgr) == 0 and cuts.update(close) == 1
    old = CutDetector(0.5)
    assert old.update(hopper_bgr) == old.update(close) == 0  # the old bar missed it
    shifted = CutDetector()  # a pan: the same framing moved (0.14) stays one scene
    assert shifted.update(hopper_bgr) == shifted.update(np.roll(hopper_bgr, 40, axis=1)) == 0


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
