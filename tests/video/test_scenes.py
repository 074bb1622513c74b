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


def bars(image, top, side):
    """`image` letterboxed (`top` black rows above and below) and pillarboxed (`side` columns left and right)."""
    return cv2.copyMakeBorder(image, top, top, side, side, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def test_black_bars_hide_no_cut(hopper_bgr):
    """Letterboxed or pillarboxed footage is compared within its picture: bars
    a sixth of the height above and below (or a fifth of the width each side)
    would dilute the closer-framing cut's distance under the threshold."""
    h, w = hopper_bgr.shape[:2]
    close = cv2.resize(hopper_bgr[h // 4:3 * h // 4, w // 4:3 * w // 4], (w, h))
    for top, side in ((h // 6, 0), (0, w // 5), (h // 6, w // 5)):
        cuts = CutDetector()
        assert cuts.update(bars(hopper_bgr, top, side)) == 0
        assert cuts.update(bars(close, top, side)) == 1, (top, side)
        assert cuts.update(bars(close, top, side)) == 1  # and the same shot goes on
        pan = CutDetector()
        assert pan.update(bars(hopper_bgr, top, side)) == pan.update(bars(np.roll(hopper_bgr, 40, axis=1), top, side)) == 0


def test_black_bars_hide_no_change(hopper_bgr):
    """A person walking in changes the picture by as much with bars around it
    (bars as high as the picture would halve the whole frame's difference)."""
    from clusterer.video.scenes import _GREY, _STRIDE

    def grey(img):
        g = cv2.cvtColor(img[::_STRIDE, ::_STRIDE], cv2.COLOR_BGR2GRAY)
        return cv2.resize(g, _GREY, interpolation=cv2.INTER_AREA).astype(np.float32)

    bg = background()
    entered = walk_in(bg, hopper_bgr, 200)
    top = bg.shape[0] // 2
    picture = float(np.abs(grey(entered) - grey(bg)).mean())
    frame = float(np.abs(grey(bars(entered, top, 0)) - grey(bars(bg, top, 0))).mean())
    assert frame < 0.6 * picture  # the bars' dilution, which the threshold below lies within
    boxed = ChangeDetector(0.8 * picture)
    boxed.changed(bars(bg, top, 0))
    boxed.mark()
    assert boxed.changed(bars(entered, top, 0))
    assert not boxed.changed(bars(bg, top, 0))


def test_the_picture_is_what_any_sample_showed_inside_bars_that_stay_black():
    from clusterer.video.scenes import Picture

    a = np.zeros((40, 60), np.uint8)
    b = a.copy()
    a[10:30, 5:50] = 200  # one sample's picture
    b[8:20, 20:55] = 200  # another's, elsewhere
    pic = Picture()
    assert pic.feed(a * 0) == (slice(0, 40), slice(0, 60))  # all black so far: the whole frame
    assert pic.feed(a) == (slice(10, 30), slice(5, 50))
    assert pic.feed(b) == (slice(8, 30), slice(5, 55))
    assert pic.feed(a * 0) == (slice(8, 30), slice(5, 55))  # a black sample (a fade) takes nothing back
    dark = Picture()  # a dark scene's edge, once lit, is picture
    c = np.full((40, 60, 3), 10, np.uint8)
    c[:, :, 2][15:25, 20:40] = 90
    assert dark.feed(c) == (slice(15, 25), slice(20, 40))
    c[0, 0, 1] = 30
    assert dark.feed(c) == (slice(0, 25), slice(0, 40))


def test_a_change_short_of_a_cut_is_in_doubt(hopper_bgr, astronaut_bgr):
    """Two people at one place on one set lie under the cut threshold (0.37):
    no cut, but the sample is in doubt (DOUBT); a pan is not, nor is a cut."""
    from clusterer.video.scenes import DOUBT

    bg = background()
    one, other = walk_in(bg, hopper_bgr, 240), walk_in(bg, astronaut_bgr[0:300, 100:380], 240)
    cuts = CutDetector()
    cuts.update(one)
    assert not cuts.doubtful  # the first sample follows nothing
    assert cuts.update(other) == 0 and cuts.doubtful
    assert cuts.update(other) == 0 and not cuts.doubtful  # the same shot goes on
    pan = CutDetector()
    pan.update(hopper_bgr)
    pan.update(np.roll(hopper_bgr, 40, axis=1))
    assert not pan.doubtful
    h, w = hopper_bgr.shape[:2]
    cut = CutDetector()
    cut.update(hopper_bgr)
    assert cut.update(cv2.resize(hopper_bgr[h // 4:3 * h // 4, w // 4:3 * w // 4], (w, h))) == 1 and not cut.doubtful
    assert 0 < DOUBT < CutDetector().threshold
