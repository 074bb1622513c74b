"""Fused mode (face and clothing in one distance, HDBSCAN) on synthetic features."""
from __future__ import annotations

import numpy as np
import pytest

from clusterer.grouping.fused import FusedClusterer
from clusterer.grouping.table import TrackTable
from test_refine import cos_near, near, unit


def test_fused_two_people_and_same_frame_rule():
    rng = np.random.default_rng(2)
    fa, fb = unit(rng, 128) * 0.5, unit(rng, 128) * 0.5
    ca, cb = unit(rng, 64), unit(rng, 64)
    enc, cloth, frames = [], [], []
    for i in range(6):
        enc += [near(rng, fa, 0.15), near(rng, fb, 0.15)]
        cloth += [cos_near(rng, ca, 0.05), cos_near(rng, cb, 0.05) if i % 2 else None]
        frames += [i, i]
    # a twin of A in frame 0, next to A: cannot join A's cluster in that frame
    enc.append(enc[0] + 0.01)
    cloth.append(cloth[0])
    frames.append(0)
    fc = FusedClusterer().fit(TrackTable.rows(np.array(enc), frames, clothing=cloth))
    lab = fc.labels_
    a_lab, b_lab = lab[2], lab[3]
    assert a_lab >= 0 and b_lab >= 0 and a_lab != b_lab
    assert all(lab[2 * i] == a_lab for i in range(1, 6)) and all(lab[2 * i + 1] == b_lab for i in range(6))
    assert sorted([lab[0], lab[12]])[0] == -1  # one of the two frame-0 twins is unknown
    assert "same-frame" in fc.reasons_


@pytest.mark.parametrize("kw, err", [(dict(cloth_weight=1.5), "cloth_weight"), (dict(epsilon=-1), "fused_epsilon")])
def test_fused_bad_arguments(kw, err):
    with pytest.raises(ValueError, match=err):
        FusedClusterer(**kw).fit(TrackTable.rows(np.zeros((3, 128)), [0, 1, 2]))
