"""Scene cuts, face tracks, face quality and the unknown reasons."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from clusterer.clothing.embedders import Clothing
from clusterer.faces.analyzer import Face, FaceAnalyzer
from clusterer import Extraction, cluster
from clusterer.faces.quality import frontalness, quality_score, sharpness
from clusterer.video.sampling import iter_frames
from clusterer.video.scenes import CutDetector
from clusterer.tracking import FaceTracker, Track
from clusterer.types import FrameFaces
from conftest import write_clip


# --- scene cuts --------------------------------------------------------------

def shot_frames(rng, n, size=(160, 120)):
    """A shot: a random smooth background, drifting and brightening slowly."""
    w, h = size
    bg = cv2.resize(rng.integers(0, 255, (3, 4, 3), dtype=np.uint8), (w + 40, h), interpolation=cv2.INTER_CUBIC)
    return [np.clip(bg[:, i // 3: i // 3 + w] * (1 + 0.004 * i), 0, 255).astype(np.uint8) for i in range(n)]


def test_cuts_on_generated_clip(tmp_path):
    rng = np.random.default_rng(0)
    lengths = [30, 45, 20, 50, 35]  # frames, at 10 fps
    frames = [f for n in lengths for f in shot_frames(rng, n)]
    clip = write_clip(tmp_path / "cuts.mp4", frames, 10.0)
    det = CutDetector()
    sampled = [(f.index, det.update(f.image)) for f in iter_frames(clip, fps=5.0)]
    starts = np.cumsum(lengths)[:-1].tolist()  # first frame of each later shot
    found = [idx for (idx, s), (_, prev) in zip(sampled[1:], sampled) if s != prev]
    assert len(found) == len(starts)
    for cut, start in zip(found, starts):
        assert start <= cut < start + 2  # the first sample at or after the cut (every 2nd frame)


# --- tracks ------------------------------------------------------------------

def unit(rng, d=128):
    v = rng.normal(size=d)
    return v / np.linalg.norm(v) * 0.5


def box_at(x, y=40, s=40):
    return (x, y, x + s, y + s)


def run(tracker, steps):
    """steps: list of (scene, [(box, encoding or None), ...]); returns track ids per step."""
    out, item = [], 0
    for scene, dets in steps:
        ids = list(range(item, item + len(dets)))
        item += len(dets)
        out.append(tracker.step(scene, FrameFaces.of([b for b, _ in dets], [e for _, e in dets], ids)))
    return out


def test_track_links_moving_face_and_breaks_at_cut():
    rng = np.random.default_rng(1)
    a = unit(rng)
    steps = [(0, [(box_at(10 + 5 * k), a if k == 0 else None)]) for k in range(5)]
    steps.append((1, [(box_at(35), None)]))  # same place, but after a cut
    got = run(FaceTracker(), steps)
    assert len({g[0] for g in got[:5]}) == 1
    assert got[5][0] != got[0][0]


def test_assignment_is_scipys_least_cost_matching():
    """The tracker's own Hungarian method gives linear_sum_assignment's pairs
    (ties: the same total cost), on every shape; and a run never imports
    scipy (its import alone cost 0.4 s of CPU a run)."""
    import subprocess
    import sys

    from scipy.optimize import linear_sum_assignment

    from clusterer.tracking import assign

    rng = np.random.default_rng(11)
    for k in range(400):
        cost = rng.random(tuple(rng.integers(1, 9, 2)))
        if k % 4 == 0:
            cost = np.round(cost, 1)  # ties
        rows, cols = assign(cost)
        ref_rows, ref_cols = linear_sum_assignment(cost)
        assert np.isclose(cost[rows, cols].sum(), cost[ref_rows, ref_cols].sum())
        assert len(rows) == min(cost.shape) == len(set(rows)) == len(set(cols.tolist()))
        assert list(rows) == sorted(rows)
        if k % 4:
            assert list(rows) == list(ref_rows) and list(cols) == list(ref_cols)
    code = ("import sys; from clusterer.tracking import FaceTracker; from clusterer.types import FrameFaces; "
            "t = FaceTracker(); b = [(0, 0, 10, 10), (50, 0, 60, 10)]; "
            "[t.step(0, FrameFaces.of(b, [None, None], [2 * k, 2 * k + 1], [1.0, 1.0])) for k in range(2)]; "
            "t.boxes_after(0, b); assert 'scipy' not in sys.modules, 'scipy imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_two_people_crossing_keep_their_tracks():
    rng = np.random.default_rng(2)
    a, b = unit(rng), unit(rng)
    steps = []
    for k in range(7):  # A walks right, B walks left; they overlap in the middle
        xa, xb = 20 + 20 * k, 140 - 20 * k
        steps.append((0, [(box_at(xa), off(rng, a, 0.05)), (box_at(xb), off(rng, b, 0.05))]))
    got = run(FaceTracker(), steps)
    ta = {g[0] for g in got}
    tb = {g[1] for g in got}
    assert len(ta) == 1 and len(tb) == 1 and ta != tb


def test_intruder_with_another_face_breaks_the_track():
    rng = np.random.default_rng(3)
    a, b = unit(rng), unit(rng)
    got = run(FaceTracker(), [(0, [(box_at(10), a)]), (0, [(box_at(12), b)])])
    assert got[0][0] != got[1][0]


def test_after_a_possible_cut_only_a_face_that_agrees_continues_a_track():
    """On a sample in doubt (it may follow a cut the scenes did not call one)
    overlap is no evidence: a face 0.45 from the track's, which overlap alone
    would link (under BREAK_FACE), starts a track of its own; one 0.2 away
    continues; the faces are all wanted, none deferred."""
    rng = np.random.default_rng(11)
    a = unit(rng)
    near, far = off(rng, a, 0.2), off(rng, a, 0.45)
    for doubt, same in ((False, True), (True, False)):
        t = FaceTracker()
        t.step(0, FrameFaces.of([box_at(10)], [a], [0], [0.9]))
        got = t.step(0, FrameFaces.of([box_at(12)], [far], [1], [0.5]), doubt=doubt)
        assert (got == [0]) is same
    t = FaceTracker()
    t.step(0, FrameFaces.of([box_at(10)], [a], [0], [0.9]))
    assert t.wants_encoding(0, [box_at(12)], [0.1], budget=1) == [False]
    assert t.wants_encoding(0, [box_at(12)], [0.1], budget=1, doubt=True) == [True]
    assert t.deferrable(0, [box_at(12)]) == [True] and t.deferrable(0, [box_at(12)], doubt=True) == [False]
    assert t.step(0, FrameFaces.of([box_at(12)], [near], [1], [0.5]), doubt=True) == [0]


def test_face_leaving_and_coming_back():
    rng = np.random.default_rng(4)
    a = unit(rng)
    # missed for one sample (within the gap): same track, even at a new place
    got = run(FaceTracker(), [(0, [(box_at(10), a)]), (0, []), (0, [(box_at(100), off(rng, a, 0.1))])])
    assert got[0][0] == got[2][0]
    # away longer than the gap: a new track
    got = run(FaceTracker(max_gap=1), [(0, [(box_at(10), a)])] + [(0, [])] * 3 + [(0, [(box_at(10), a)])])
    assert got[0][0] != got[-1][0]


def test_wants_encoding_budget():
    rng = np.random.default_rng(5)
    t = FaceTracker()
    a = unit(rng)
    t.step(0, FrameFaces.of([box_at(10)], [a], [0], [0.5]))
    assert t.wants_encoding(0, [box_at(12)], [0.4], budget=2) == [True]   # budget not yet full
    t.step(0, FrameFaces.of([box_at(12)], [a], [1], [0.4]))
    assert t.wants_encoding(0, [box_at(14)], [0.3], budget=2) == [False]  # no better than the best 2
    assert t.wants_encoding(0, [box_at(14)], [0.9], budget=2) == [True]   # better: encode it
    assert t.wants_encoding(0, [box_at(150)], [0.1], budget=2) == [True]  # overlaps nothing
    assert t.wants_encoding(1, [box_at(14)], [0.1], budget=2) == [True]   # another scene



def test_deferrable_only_where_overlap_alone_links():
    rng = np.random.default_rng(9)
    t = FaceTracker()
    t.step(0, FrameFaces.of([box_at(10), box_at(100)], [unit(rng), unit(rng)], [0, 1]))
    assert t.deferrable(0, [box_at(12), box_at(102)]) == [True, True]   # one track each
    assert t.deferrable(0, [box_at(12), box_at(14)]) == [False, False]  # two boxes on one track
    assert t.deferrable(0, [box_at(200)]) == [False]                    # a new face
    assert t.deferrable(1, [box_at(12)]) == [False]                     # another scene
    wide = FaceTracker()
    wide.step(0, FrameFaces.of([box_at(10), box_at(40)], [unit(rng), unit(rng)], [0, 1]))
    assert wide.deferrable(0, [box_at(25)]) == [False]                  # overlaps two tracks


def later_run(steps, batch):
    """run() with every deferrable face's encoding given to resolve `batch` faces at a time
    (and before any step that compares faces)."""
    tracker, waiting, item = FaceTracker(), {}, 0
    for scene, dets in steps:
        boxes, encs = [b for b, _ in dets], [e for _, e in dets]
        later = tracker.deferrable(scene, boxes)
        ids = list(range(item, item + len(dets)))
        item += len(dets)
        if waiting and not all(later):
            tracker.resolve(waiting)
            waiting = {}
        tracker.step(scene, FrameFaces.of(boxes, [None if x else e for e, x in zip(encs, later)], ids,
                                          later=later))
        waiting.update({i: e for i, e, x in zip(ids, encs, later) if x})
        if len(waiting) >= batch:
            tracker.resolve(waiting)
            waiting = {}
    tracker.resolve(waiting)
    return sorted(tr.items for tr in tracker.finish())


def test_encodings_given_later_give_the_same_tracks():
    """Two people walking, one leaving and coming back, a cut: the same tracks
    whether the faces linked by overlap are encoded at once or in batches."""
    rng = np.random.default_rng(10)
    a, b = unit(rng), unit(rng)
    steps = [(0, [(box_at(10 + 3 * k), off(rng, a, 0.1)), (box_at(150 - 3 * k), off(rng, b, 0.1))]) for k in range(6)]
    steps += [(0, [(box_at(200), off(rng, a, 0.1))])] + [(0, [(box_at(202 + k), off(rng, a, 0.1))]) for k in range(3)]
    steps += [(1, [(box_at(10 + k), off(rng, b, 0.1))]) for k in range(4)]
    at_once = sorted(tr.items for tr in _finished(steps))
    assert len(at_once) == 3  # a (left and came back), b, b after the cut
    for batch in (1, 3, 100):
        assert later_run(steps, batch) == at_once


def _finished(steps):
    tracker = FaceTracker()
    run(tracker, steps)
    return tracker.finish()


def test_a_late_face_of_another_person_splits_its_track():
    """B steps into A's box without a cut: at once, B's face breaks the link;
    given later, A's track splits at B's first face, and B's faces after it
    stay together."""
    rng = np.random.default_rng(11)
    a, b = unit(rng), unit(rng)
    steps = [(0, [(box_at(10 + k), off(rng, a, 0.05))]) for k in range(3)]
    steps += [(0, [(box_at(13 + k), off(rng, b, 0.05))]) for k in range(3)]
    assert sorted(tr.items for tr in _finished(steps)) == [(0, 1, 2), (3, 4, 5)]
    for batch in (2, 100):
        assert later_run(steps, batch) == [(0, 1, 2), (3, 4, 5)]


def test_faces_waiting_must_be_resolved():
    rng = np.random.default_rng(12)
    t = FaceTracker()
    t.step(0, FrameFaces.of([box_at(10)], [unit(rng)], [0]))
    t.step(0, FrameFaces.of([box_at(12)], [None], [1], later=[True]))
    with pytest.raises(RuntimeError):  # a face compared to a track whose mean waits
        t.step(0, FrameFaces.of([box_at(200)], [unit(rng)], [2]))
    with pytest.raises(RuntimeError):
        t.finish()

# --- quality -----------------------------------------------------------------

def test_blurred_face_scores_lower(hopper_bgr):
    rgb = cv2.cvtColor(hopper_bgr, cv2.COLOR_BGR2RGB)
    blurred = cv2.GaussianBlur(rgb, (0, 0), 3)
    an = FaceAnalyzer()
    (sharp_c,), (blur_c,) = an.candidates(rgb), an.candidates(blurred)
    assert blur_c.quality < sharp_c.quality
    l, t, r, b = sharp_c.box_xyxy
    gray = cv2.cvtColor(hopper_bgr, cv2.COLOR_BGR2GRAY)[t:b, l:r]
    assert sharpness(cv2.GaussianBlur(gray, (0, 0), 3)) < 0.5 * sharpness(gray)


def test_quality_ordering_of_cues():
    base = dict(height=80, sharp=400, confidence=1.0, frontal=1.0)
    top = quality_score(**base)
    assert top == pytest.approx(1.0)
    for cue, worse in [("height", 30), ("sharp", 50), ("confidence", 0.1), ("frontal", 0.2)]:
        assert quality_score(**{**base, cue: worse}) < top
    eyes_nose = np.array([[0, 0], [10, 0], [30, 0], [40, 0], [20, 15]], float)
    profile = np.array([[0, 0], [10, 0], [30, 0], [40, 0], [38, 15]], float)
    assert frontalness(eyes_nose) == pytest.approx(1.0) and frontalness(profile) < 0.2


# --- clustering on tracks and the unknown reasons ----------------------------

def off(rng, v, dist):
    """A vector at Euclidean distance `dist` from v."""
    d = rng.normal(size=len(v))
    return v + d / np.linalg.norm(d) * dist


def face(frame, enc, score=1.0, quality=0.9, x=10):
    return Face(frame, frame / 10, box_at(x), score, enc, b"", quality)


def test_tracks_cannot_link_and_unknown_reasons():
    rng = np.random.default_rng(6)
    a, b = unit(rng), unit(rng)
    faces = [face(f, off(rng, a, 0.05)) for f in range(0, 4)]                    # track 0: A
    faces += [face(f, off(rng, a, 0.05), x=100) for f in range(2, 4)]            # track 1: A's twin, same time
    faces += [face(10, b, score=0.05)]                                           # track 2: unconfirmed
    faces += [face(f, b, quality=0.1) for f in (20, 21, 22)]                     # track 3: low quality
    faces += [face(30, unit(rng))]                                               # track 4: lone face
    tracks = (Track(0, 0, (0, 1, 2, 3)), Track(1, 0, (4, 5)), Track(2, 1, (6,)),
              Track(3, 2, (7, 8, 9)), Track(4, 3, (10,)))
    ex = Extraction(tuple(faces), None, tuple(range(31)), (), tracks)
    persons, unknown = cluster(ex, mode="faces")
    # track 1 is as close to A as can be, but on screen with track 0: another person
    assert len(persons) == 2
    assert {s.track for s in persons[0].sightings} == {0} and {s.track for s in persons[1].sightings} == {1}
    reasons = {s.track: s.reason for s in unknown}
    assert reasons == {2: "unconfirmed", 3: "low-quality", 4: "few-faces"}
    assert all(s.assigned == "unknown" for s in unknown)


@pytest.mark.parametrize("mode", ["faces", "two-stage", "fused"])
def test_weak_tracks_join_a_person_by_face_or_are_dropped(mode):
    """Tracks of weak detections (--track-start) start no person: one whose
    face matches a person's joins it, one that matches no one is dropped (not
    even unknown); a track that starts weak and holds one confident face
    scored under --min-confidence is judged as that face alone: unconfirmed,
    in unknown without its weak start."""
    rng = np.random.default_rng(8)
    a, b, c = unit(rng), unit(rng), unit(rng)
    cl = lambda: Clothing((0, 0, 1, 1), np.ones(4) / 2, b"")
    faces = [face(f, off(rng, a, 0.05)) for f in range(0, 6)]                    # track 0: A
    faces += [face(f, off(rng, a, 0.1), score=-0.1, x=100) for f in (10, 11)]    # track 1: weak, A's face
    faces += [face(f, b, score=-0.15, x=100) for f in (20, 21, 22)]               # track 2: weak, no one's
    faces += [face(30, off(rng, b, 0.05), score=-0.1), face(31, b, score=0.1)]    # track 3: weak, then 0.1
    faces += [face(f, off(rng, c, 0.05)) for f in range(40, 46)]                  # track 4: C
    tracks = (Track(0, 0, tuple(range(6))), Track(1, 1, (6, 7)), Track(2, 2, (8, 9, 10)), Track(3, 3, (11, 12)),
              Track(4, 4, tuple(range(13, 19))))
    ex = Extraction(tuple(faces), tuple(cl() for _ in faces), tuple(range(46)), (), tracks)
    persons, unknown = cluster(ex, mode=mode)
    assert sorted(sorted({s.track for s in p.sightings}) for p in persons) == [[0, 1], [4]]
    assert {s.track: s.reason for s in unknown} == {3: "unconfirmed"}
    assert [s.face.frame for s in unknown] == [31]  # the weak detection that started it goes with it
    # the same tracks from confident detections: track 2 is a person, 3 a confirmed track of two faces
    sure = Extraction(tuple(Face(f.frame, f.time, f.box_xyxy, 1.0, f.encoding, b"", f.quality) for f in faces),
                      ex.clothing, ex.sampled, (), tracks)
    if mode != "fused":
        persons, unknown = cluster(sure, mode=mode)
        assert sorted(sorted({s.track for s in p.sightings}) for p in persons) == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("mode", ["faces", "two-stage"])
def test_a_person_of_barely_detected_faces_is_unknown(mode):
    """A confirmed track whose faces the detector scored at most just over its
    cut-off (a hand on folded arms) makes no person: unknown, unconfirmed;
    one face at PERSON_SCORE, or a confident track of the same face joined to
    it, makes it a person."""
    from clusterer.grouping.persons import PERSON_SCORE

    rng = np.random.default_rng(9)
    a, h = unit(rng), unit(rng)
    cl = lambda: Clothing((0, 0, 1, 1), np.ones(4) / 2, b"")

    def run(scores, confident_twin=False):
        faces = [face(f, off(rng, a, 0.05)) for f in range(0, 6)]                      # track 0: A
        faces += [face(10 + k, off(rng, h, 0.05), score=s, x=100) for k, s in enumerate(scores)]  # track 1
        tracks = [Track(0, 0, tuple(range(6))), Track(1, 1, tuple(range(6, 6 + len(scores))))]
        if confident_twin:                                                              # track 2: h, sure
            faces += [face(f, off(rng, h, 0.05), x=100) for f in (30, 31, 32)]
            tracks.append(Track(2, 2, tuple(range(len(faces) - 3, len(faces)))))
        ex = Extraction(tuple(faces), tuple(cl() for _ in faces), tuple(range(40)), (), tuple(tracks))
        persons, unknown = cluster(ex, mode=mode)
        return sorted(sorted({s.track for s in p.sightings}) for p in persons), {s.track: s.reason for s in unknown}

    weak = [0.03, -0.08, PERSON_SCORE - 0.01]
    assert run(weak) == ([[0]], {1: "unconfirmed"})
    # the folded-arms hand of session 26's seed 11, as the detector scored it
    assert run([-0.14, 0.015, 0.198, 0.049]) == ([[0]], {1: "unconfirmed"})
    assert run(weak[:2] + [PERSON_SCORE]) == ([[0], [1]], {})
    assert run(weak, confident_twin=True) == ([[0], [1, 2]], {})


@pytest.mark.parametrize("mode", ["faces", "two-stage"])
@pytest.mark.parametrize("third", [0.7, 0.56])
def test_a_person_in_two_settings_is_joined_by_the_nearest_tracks(mode, third):
    """One person's tracks in two settings (two pairs of tracks 0.3 apart, in
    other clothes), their means 0.54 apart but their nearest tracks 0.45, with
    another person `third` from both of those tracks: one person at the
    defaults when the nearest track is clearly nearest (0.45 / 0.7 = 0.64,
    under NEAREST_JOIN_RATIO 0.75), two when it is less clearly so (0.45 / 0.56
    = 0.80: under --join-ratio 0.85, not under 0.75), and two with the joins
    turned off (--join-threshold 0.36)."""
    def at(x, y, z=0.0):
        v = np.zeros(128)
        v[:3] = x, y, z
        return v

    # the third person off the plane, `third` from (0, 0) and from (0.45, 0)
    points = [(0, 0), (0, -0.3), (0.45, 0), (0.45, 0.3), (0.225, 0, np.sqrt(third ** 2 - 0.225 ** 2))]
    faces, tracks, cloth = [], [], []
    for k, p in enumerate(points):
        tracks.append(Track(k, k, tuple(range(len(faces), len(faces) + 3))))
        shirt = np.eye(8)[k]
        for j in range(3):
            faces.append(face(10 * k + j, at(*p)))
            cloth.append(Clothing((0, 0, 1, 1), shirt))
    ex = Extraction(tuple(faces), tuple(cloth) if mode == "two-stage" else None, tuple(range(50)), (), tuple(tracks))
    persons, _ = cluster(ex, mode=mode)
    want = [[0, 1, 2, 3], [4]] if third == 0.7 else [[0, 1], [2, 3], [4]]
    assert sorted(sorted({s.track for s in p.sightings}) for p in persons) == want
    persons, _ = cluster(ex, mode=mode, join_threshold=0.36)
    assert sorted(sorted({s.track for s in p.sightings}) for p in persons) == [[0, 1], [2, 3], [4]]


def test_low_quality_track_attached_by_clothing():
    rng = np.random.default_rng(7)
    a = unit(rng)
    shirt = np.ones(8) / np.sqrt(8)
    faces = [face(f, off(rng, a, 0.02)) for f in range(4)] + [face(f, off(rng, a, 0.3), quality=0.1) for f in (6, 7)]
    cloth = tuple(Clothing((0, 0, 1, 1), shirt) for _ in faces)
    tracks = (Track(0, 0, (0, 1, 2, 3)), Track(1, 0, (4, 5)))
    # face distance 0.3 would be under 0.36, but a low-quality track takes no part in stage 1
    ex = Extraction(tuple(faces), cloth, tuple(range(8)), (), tracks)
    persons, unknown = cluster(ex, mode="faces")
    assert len(persons) == 1 and {s.reason for s in unknown} == {"low-quality"}
    persons, unknown = cluster(ex, mode="two-stage")
    assert len(persons) == 1 and not unknown
    assert {s.assigned for s in persons[0].sightings if s.track == 1} == {"clothing"}


# --- weak detections never start a track (extraction: tests/test_extraction.py) ---

def test_tracker_never_starts_a_track_on_a_weak_detection():
    rng = np.random.default_rng(3)
    a, other = unit(rng), unit(rng) * 3  # other: a face far from a (distance > 0.6)
    tr = FaceTracker()
    assert tr.step(0, FrameFaces.of([box_at(10)], [None], [0], weak=[True])) == [None]  # nothing to continue
    (first,) = tr.step(0, FrameFaces.of([box_at(10)], [a], [0], weak=[False]))
    # a weak and a confident detection: the weak one continues the track and
    # takes the first item id; the confident one starts a track with the next
    got = tr.step(0, FrameFaces.of([box_at(12), box_at(200)], [a, None], [1, 2], weak=[True, False]))
    assert got[0] == first and got[1] not in (None, first)
    # a weak detection over the track's box but with another person's face: dropped
    assert tr.step(0, FrameFaces.of([box_at(12), box_at(200)], [other, None], [3, 4], weak=[True, False]))[0] is None
    tracks = {t.id: t.items for t in tr.finish()}
    assert tracks[first] == (0, 1) and tracks[got[1]] == (2, 3)


def test_boxes_after_predicts_open_boxes():
    """The regions searched ahead equal the tracks' boxes after the step that
    links by overlap: an extended track at its new box, a new face, a track
    not seen this sample at its last box (until max_gap); none of another scene."""
    tr = FaceTracker(min_iou=0.3, max_gap=1)
    tr.step(0, FrameFaces.of([box_at(10), box_at(300)], [None, None], [0, 1]))
    nxt = [box_at(14), box_at(150)]  # track at 10 moved; a new face; the one at 300 unseen
    predicted = tr.boxes_after(0, nxt)
    tr.step(0, FrameFaces.of(nxt, [None, None], [2, 3]))
    assert sorted(predicted) == sorted(tr.open_boxes(0)) == sorted(nxt + [box_at(300)])
    # one more sample without the face at 300: past max_gap, it is no longer searched
    assert box_at(300) not in tr.boxes_after(0, [box_at(18)])
    assert tr.boxes_after(1, []) == []  # a new scene starts with nothing tracked


def test_frame_faces_rows_must_agree():
    with pytest.raises(ValueError, match="2 boxes, 1 encodings"):
        FrameFaces.of([box_at(10), box_at(50)], [None], [0, 1])
    f = FrameFaces.of([box_at(10)], [None], [7])
    assert len(f) == 1 and f.quality == (1.0,) and f.weak == (False,)


@pytest.mark.parametrize("mode", ["faces", "two-stage"])
def test_a_person_in_three_parts_is_joined_at_the_defaults(mode):
    """Seed 23's actor left in three parts of 10 faces (0.365, 0.373 and 0.421
    apart: over --threshold, and each one's nearest only by a hair, so the
    ratio tests refuse every pair) and another person 0.7 away: two persons
    at the defaults (--part-ratio), four with it off (0)."""
    def at(x, y):
        v = np.zeros(128)
        v[:2] = x, y
        return v

    points = [(0.0, 0.0), (0.365, 0.0), (0.13029, 0.34950), (0.2, -0.7)]
    faces, tracks, cloth = [], [], []
    for k, p in enumerate(points):
        tracks.append(Track(k, k, tuple(range(len(faces), len(faces) + 10))))
        for j in range(10):
            faces.append(face(20 * k + j, at(*p)))
            cloth.append(Clothing((0, 0, 1, 1), np.eye(8)[k]))
    ex = Extraction(tuple(faces), tuple(cloth) if mode == "two-stage" else None, tuple(range(80)), (), tuple(tracks))
    persons, _ = cluster(ex, mode=mode)
    assert sorted(sorted({s.track for s in p.sightings}) for p in persons) == [[0, 1, 2], [3]]
    persons, _ = cluster(ex, mode=mode, part_ratio=0.0)
    assert len(persons) == 4
