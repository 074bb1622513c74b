"""Look-alikes told apart by a metric fitted to the video (grouping/apart.py)."""
from __future__ import annotations

import numpy as np
import pytest

from clusterer.grouping.apart import (APART_MIN_NEGATIVES, APART_NEAR, apart_pairs, apart_rows, video_metric,
                                      with_cannot_links)
from clusterer.grouping.linkage import FaceClusterer
from clusterer.grouping.persons import cluster
from clusterer.grouping.table import TrackTable
from lookalikes import extraction_of, look_alikes, unit


def table_of(faces, spans) -> TrackTable:
    return TrackTable.rows(np.stack([f.mean(axis=0) for f in faces]), spans, size=[len(f) for f in faces])


def within(faces) -> np.ndarray:
    return np.concatenate([f - f.mean(axis=0) for f in faces])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_pairs_kept_apart_are_the_look_alikes_never_one_person(seed):
    faces, spans, who = look_alikes(seed)
    x = np.stack([f.mean(axis=0) for f in faces])
    pairs = apart_pairs(x, spans, within(faces))
    assert pairs, "no pair of the two look-alikes kept apart"
    assert all(who[i] != who[j] for i, j in pairs)
    # most pairs of the two that a join could make (under APART_NEAR, never on screen together) are kept apart
    close = {(i, j) for i in range(len(x)) for j in range(i + 1, len(x))
             if who[i] != who[j] and np.linalg.norm(x[i] - x[j]) < APART_NEAR and not spans[i] & spans[j]}
    assert set(pairs) <= close and len(pairs) >= 0.6 * len(close)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stage_one_keeps_the_look_alikes_apart(seed):
    faces, spans, who = look_alikes(seed)
    table = table_of(faces, spans)
    before = FaceClusterer(0.36, min_faces=1).fit_predict(table)
    assert any(len(set(who[before == c])) > 1 for c in set(before)), "the case needs the face network to mix them"
    ex = extraction_of(faces, spans)
    after = FaceClusterer(0.36, min_faces=1).fit_predict(with_cannot_links(table, apart_rows(table, ex)))
    assert all(len(set(who[after == c])) == 1 for c in set(after))
    assert len(set(after)) < len(after)  # one person's tracks still join


def test_cluster_keeps_the_look_alikes_apart_end_to_end_and_apart_cut_0_turns_it_off():
    faces, spans, who = look_alikes(0)
    ex = extraction_of(faces, spans)

    def people(**kw):
        persons, _ = cluster(ex, mode="faces", min_faces=1, **kw)
        return [{int(who[s.track]) for s in p.sightings} for p in persons]

    got = people()
    assert len(got) >= 2 and all(len(w) == 1 for w in got)
    assert {0, 1} in people(apart_cut=0), "without the cannot-links the two are one person"
    assert all(len(w) == 1 for w in people(apart_cut=0.5))
    assert {0, 1} in people(apart_cut=5.0)  # a cut no pair reaches keeps nothing apart


def test_nothing_changes_without_enough_people_seen_together():
    faces, spans, who = look_alikes(0, together=APART_MIN_NEGATIVES - 1)
    x = np.stack([f.mean(axis=0) for f in faces])
    assert apart_pairs(x, spans, within(faces)) == []
    table = table_of(faces, spans)
    assert with_cannot_links(table, apart_rows(table, extraction_of(faces, spans))) is table


def test_the_cannot_links_lie_past_every_frame():
    faces, spans, _ = look_alikes(0)
    table = table_of(faces, spans)
    apart = with_cannot_links(table, apart_rows(table, extraction_of(faces, spans)))
    last = max(max(s) for s in spans)
    added = [a - s for a, s in zip(apart.spans, spans)]
    assert any(added) and all(min(a) > last for a in added if a)
    assert [min(a) for a in apart.spans] == [min(s) for s in spans]  # first frames, and so the order of persons, kept


@pytest.mark.parametrize("seed", [0, 4, 5, 7])
def test_a_head_turning_within_tracks_cuts_no_one_apart(seed):
    # the seen-together pairs differ as much by a head's turn as by who they
    # are; the turn also moves one person's tracks apart. Whitened by one
    # track's own spread (large along the turn) the metric keeps to who; with
    # the negatives' scatter alone it cut pairs of one person on these seeds.
    faces, spans, who = look_alikes(seed, faces_each=6, pose=0.2)
    x = np.stack([f.mean(axis=0) for f in faces])
    pairs = apart_pairs(x, spans, within(faces))
    assert pairs and all(who[i] != who[j] for i, j in pairs)


def test_the_metric_weighs_the_direction_the_negatives_differ_along():
    rng = np.random.default_rng(3)
    u = unit(rng)
    within_ = rng.normal(scale=0.05, size=(200, 128))
    negatives = 0.3 * u[None] * rng.choice([-1, 1], size=(20, 1)) + rng.normal(scale=0.01, size=(20, 128))
    m = video_metric(within_, negatives)
    other = unit(rng)
    other -= (other @ u) * u
    assert np.linalg.norm(u @ m) > 5 * np.linalg.norm((other / np.linalg.norm(other)) @ m)


def test_a_run_hands_the_pairs_it_kept_apart_to_its_report(tmp_path, monkeypatch):
    """app.run's Result holds the track pairs grouping kept apart (for the
    gallery's "looks most like" to say why two near persons are two): pairs of
    two people, none with --apart-cut 0."""
    from clusterer import app
    from clusterer.video.sampling import VideoInfo

    faces, spans, who = look_alikes(0)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    monkeypatch.setattr(app, "probe", lambda v: VideoInfo(str(v), 2.0, 200, 100.0, 64, 64))
    monkeypatch.setattr(app, "features", lambda *a, **k: (extraction_of(faces, spans), [], None))
    result, _ = app.run(video, out=tmp_path / "a", mode="faces", min_faces=1)
    assert result.apart and all(who[a] != who[b] and (b, a) in result.apart for a, b in result.apart)
    result, _ = app.run(video, out=tmp_path / "b", mode="faces", min_faces=1, apart_cut=0.0)
    assert result.apart == frozenset()
