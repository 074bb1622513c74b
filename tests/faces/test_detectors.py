"""The detector interface and MTCNN, on public-domain portraits."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from clusterer.faces import mtcnn
from clusterer.faces.detectors import (NAMES, Detections, HogDetector, MtcnnDetector, TO_DLIB_BOX, make_detector,
                                       to_dlib_boxes)
from clusterer.faces.exposure import GREY_TINT, colourless, tinted
from clusterer.settings import default
from clusterer.errors import ModelNotFound
from clusterer.faces.analyzer import FaceAnalyzer, box_iou


@pytest.fixture(scope="module")
def hopper_rgb(hopper_bgr):
    return cv2.cvtColor(hopper_bgr, cv2.COLOR_BGR2RGB)


def test_mtcnn_finds_the_face_and_its_landmarks(hopper_rgb):
    (d,) = mtcnn.MTCNN(min_face=20).detect([hopper_rgb])
    assert len(d) == 1 and d.score[0] > 0.99
    l, t, r, b = d.box_xyxy[0]
    eye_l, eye_r, nose, mouth_l, mouth_r = d.landmarks[0]
    # every landmark inside the box, in the order of a face seen upright
    assert all(l < x < r and t < y < b for x, y in d.landmarks[0])
    assert eye_l[0] < nose[0] < eye_r[0] and max(eye_l[1], eye_r[1]) < nose[1] < min(mouth_l[1], mouth_r[1])
    assert mouth_l[0] < mouth_r[0]


def test_mtcnn_finds_small_and_side_faces_hog_misses(hopper_rgb):
    """A face turned to the side (the portrait squeezed and sheared) and one
    about 20 px high: MTCNN finds both, HOG at upsample 1 neither."""
    h, w = hopper_rgb.shape[:2]
    side = cv2.warpAffine(hopper_rgb, np.float32([[0.5, 0.3, 60], [0, 1, 0]]), (w, h))
    small = cv2.resize(hopper_rgb, None, fx=0.1, fy=0.1, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[40:40 + small.shape[0], 40:40 + small.shape[1]] = small
    found = FaceAnalyzer(min_face=14)
    assert len(found.detect(canvas)) == 1 and len(found.detect(side)) == 1
    hog = FaceAnalyzer(detector="hog", min_face=14)
    assert hog.detect(canvas) == [] and hog.detect(side) == []


def test_batch_equals_one_frame_at_a_time(hopper_rgb):
    """Frames of one size share P-Net calls, and every frame's candidates
    share R-Net's and O-Net's: results equal frame-by-frame detection."""
    net = mtcnn.MTCNN(min_face=40)  # faces of 120–200 px here; still several pyramid levels, at a third of the cost
    other = cv2.resize(hopper_rgb, None, fx=0.6, fy=0.6)
    flipped = np.ascontiguousarray(hopper_rgb[:, ::-1])
    blank = np.full_like(hopper_rgb, 128)
    frames = [hopper_rgb, other, flipped, blank, hopper_rgb]
    batch = net.detect(frames)
    single = [net.detect([f])[0] for f in frames]
    assert [len(d) for d in batch] == [1, 1, 1, 0, 1]
    for a, b in zip(batch, single):
        assert np.allclose(a.box_xyxy, b.box_xyxy, atol=1e-3) and np.allclose(a.score, b.score, atol=1e-5)
        assert np.allclose(a.landmarks, b.landmarks, atol=1e-3)
    assert net.detect([]) == []


def test_a_region_search_finds_what_the_whole_frame_search_finds(hopper_rgb):
    """sizes= searches only the pyramid levels for faces of those sizes; the
    face found there matches the whole-frame search."""
    net = mtcnn.MTCNN(min_face=20)
    (full,) = net.detect([hopper_rgb])
    face_h = float(full.box_xyxy[0, 3] - full.box_xyxy[0, 1])
    (near,) = net.detect([hopper_rgb], sizes=(0.5 * face_h, 2 * face_h))
    assert len(near) == 1 and box_iou(near.box_xyxy[0], full.box_xyxy[0]) > 0.9
    # no level for faces of 10-15 px holds this face
    assert len(net.detect([hopper_rgb], sizes=(10, 15))[0]) == 0


def test_smallest_skips_the_levels_of_smaller_faces(hopper_rgb):
    """detect(smallest=): only faces from that size up are looked for."""
    det = MtcnnDetector()
    (full,) = det.detect([hopper_rgb])
    face_h = float(full.box_xyxy[0, 3] - full.box_xyxy[0, 1])
    (big,) = det.detect([hopper_rgb], smallest=0.5 * face_h)
    assert len(big) == 1 and box_iou(big.box_xyxy[0], full.box_xyxy[0]) > 0.9
    assert len(det.detect([hopper_rgb], smallest=3 * face_h)[0]) == 0


def test_pyramid_scales_follow_min_face():
    s20 = mtcnn.pyramid_scales(720, 1280, 20)
    s40 = mtcnn.pyramid_scales(720, 1280, 40)
    assert s20[0] == pytest.approx(12 / 20) and s40[0] == pytest.approx(12 / 40)
    assert all(b / a == pytest.approx(mtcnn.PYRAMID_FACTOR) for a, b in zip(s20, s20[1:]))
    assert 720 * s20[-1] >= mtcnn.CELL > 720 * s20[-1] * mtcnn.PYRAMID_FACTOR
    # the search at 20 px costs about 4× the one at 40 px (pixels through P-Net)
    cost = [sum((720 * s) * (1280 * s) for s in ss) for ss in (s20, s40)]
    assert 3.5 < cost[0] / cost[1] < 4.5


def test_nms():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 4, 4]], float)
    scores = np.array([0.9, 0.95, 0.5, 0.8])
    assert mtcnn.nms(boxes, scores, 0.5).tolist() == [1, 3, 2]
    # by the smaller box: the small box inside the first is dropped too
    assert mtcnn.nms(boxes, scores, 0.5, by_min=True).tolist() == [1, 2]
    assert mtcnn.nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_scores_are_zero_at_the_cut_off_and_weak_below():
    det = MtcnnDetector()
    p = np.array([det.cutoff, 0.9999, det.weak_prob, 0.99], np.float32)
    s = det.score(p)
    assert s[0] == pytest.approx(0, abs=1e-6) and 0.8 < s[1] < 1.2  # a sure face scores like HOG's
    assert s[2] == pytest.approx(det.track_score, abs=1e-4)
    # a face seen once must be about 0.99 sure to count (--min-confidence)
    assert s[3] == pytest.approx(default("min_confidence"), abs=0.05)
    assert 0.4 < det.weak_prob < 0.6 and det.cutoff > 0.7  # stricter than the paper's 0.7
    for score in (-0.3, 0.0, 0.5, 1.5):
        assert det.score(np.array([det.probability(score)]))[0] == pytest.approx(score, abs=1e-4)


def test_weak_search_adds_only_weaker_detections(hopper_rgb):
    dim = (hopper_rgb.astype(np.float32) * 0.09).astype(np.uint8)
    dim = cv2.GaussianBlur(dim, (0, 0), 7)
    det = MtcnnDetector()
    strong, weak = det.detect([dim])[0], det.detect([dim], weak=True)[0]
    assert (strong.score >= 0).all() and len(weak) >= len(strong)
    assert (weak.score >= -0.3 - 1e-5).all()


def test_boxes_map_to_dlibs_convention(hopper_rgb):
    """MTCNN's box, mapped, lies on HOG's box for the same face (dlib's
    landmark model then sees the box it was trained on)."""
    (raw,) = mtcnn.MTCNN().detect([hopper_rgb])
    (hog,) = HogDetector(1).detect([hopper_rgb])
    mapped = to_dlib_boxes(raw.box_xyxy)
    assert box_iou(mapped[0], hog.box_xyxy[0]) > box_iou(raw.box_xyxy[0], hog.box_xyxy[0])
    assert box_iou(mapped[0], hog.box_xyxy[0]) > 0.75
    # the identity mapping changes nothing
    assert np.allclose(to_dlib_boxes(raw.box_xyxy, (0, 0, 1, 1)), raw.box_xyxy)
    dx, dy, sw, sh = TO_DLIB_BOX
    assert sw > 1 and sh < 1 and dy > 0  # wider, shorter, lower


def test_every_detector_behind_one_interface(hopper_rgb):
    small = cv2.resize(hopper_rgb, None, fx=0.4, fy=0.4)  # keep dlib's CNN quick on a CPU
    for name in NAMES:
        det = make_detector(name, upsample=1 if name == "hog" else 0)
        (d,) = det.detect([small])
        assert isinstance(d, Detections) and len(d) == 1 and d.score[0] > 0
        assert np.isnan(d.landmarks).all() == (name != "mtcnn")
    with pytest.raises(ValueError, match="detector"):
        make_detector("haar")


def test_detections_check_their_shapes():
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        Detections(np.zeros((2, 4), np.float32), np.zeros(2, np.float32), np.zeros((3, 5, 2), np.float32))
    assert len(Detections.empty()) == 0


def test_missing_or_damaged_weights_are_named(tmp_path, monkeypatch, hopper_rgb):
    from clusterer import models

    real = models.package_dir

    def no_package(name):
        if name == "facenet_pytorch":
            raise ModelNotFound("package 'facenet_pytorch' is not installed")
        return real(name)

    monkeypatch.setattr(models, "package_dir", no_package)
    with pytest.raises(ModelNotFound, match="pip install --no-deps facenet-pytorch"):
        mtcnn.weights_dir()
    (tmp_path / "data").mkdir()
    for f in mtcnn.WEIGHT_FILES:
        (tmp_path / "data" / f).write_bytes(b"not a state dict")
    monkeypatch.setattr(models, "package_dir", lambda name: tmp_path if name == "facenet_pytorch" else real(name))
    with pytest.raises(ModelNotFound, match="pnet.pt"):
        mtcnn.MTCNN().detect([hopper_rgb])


def test_gpu_batches_gather_frames_without_changing_results(demo_video, monkeypatch):
    """The CUDA path's batching of whole-frame searches, run on the CPU: with
    batches of 3 frames, extraction gives the same faces as one at a time."""
    from clusterer import extract, probe
    from clusterer.faces import detectors

    info = probe(demo_video)
    one = extract(demo_video, info, FaceAnalyzer(), end=5.0)
    monkeypatch.setattr(detectors.MtcnnDetector, "batch_size", property(lambda self: 3))
    calls = []
    real = mtcnn.MTCNN.detect

    def spy(self, frames, **kw):
        calls.append(len(frames))
        return real(self, frames, **kw)

    monkeypatch.setattr(mtcnn.MTCNN, "detect", spy)
    three = extract(demo_video, info, FaceAnalyzer(), end=5.0)
    assert 3 in calls and one.faces  # whole frames were searched three at a time
    assert [(f.frame, f.box_xyxy) for f in three.faces] == [(f.frame, f.box_xyxy) for f in one.faces]
    assert len(three.tracks) == len(one.tracks)


def test_colourless_frames_are_told_from_colour_ones(hopper_rgb):
    """Grey (with a codec's ±1 of chroma noise) is colourless; the portrait,
    the same grey with a faint sepia cast, and a black title card with a
    small colour picture are not."""
    grey = np.repeat(cv2.cvtColor(hopper_rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    noise = np.random.default_rng(0).integers(-1, 2, grey.shape)
    assert colourless(grey) and colourless(np.clip(grey + noise, 0, 255).astype(np.uint8))
    assert not colourless(hopper_rgb)
    sepia = np.clip(grey * np.float32([1.08, 1.0, 0.85]), 0, 255).astype(np.uint8)
    assert not colourless(sepia)
    assert not colourless(np.zeros((0, 0, 3), np.uint8))
    # a title card: black, with a small colour picture (5 % of it) of a face
    card = np.zeros((720, 1280, 3), np.uint8)
    card[100:330, 100:300] = cv2.resize(hopper_rgb, (200, 230))
    assert not colourless(card)


def test_a_colourless_frame_is_searched_tinted_the_others_as_they_are(hopper_rgb, monkeypatch):
    """In one call, a grey frame goes to MTCNN tinted (GREY_TINT), a colour one
    unchanged; the detections come back in the frames' order, in the frames'
    own coordinates."""
    grey = np.repeat(cv2.cvtColor(hopper_rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    det = MtcnnDetector(min_face=40)
    seen = []
    real = mtcnn.MTCNN.detect

    def spy(net, frames, **kw):
        seen.append([f.copy() for f in frames])
        return real(net, frames, **kw)

    monkeypatch.setattr(mtcnn.MTCNN, "detect", spy)
    small = cv2.resize(hopper_rgb, None, fx=0.5, fy=0.5)
    found = det.detect([small, grey])
    (pics,) = seen
    assert np.array_equal(pics[0], small) and np.array_equal(pics[1], tinted(grey))
    expect = np.clip(grey[..., 1:2] * np.float32(GREY_TINT), 0, 255).astype(np.uint8)
    assert np.array_equal(tinted(grey), expect) and tinted(grey)[..., 0].mean() > grey[..., 0].mean()
    assert len(found[0]) == len(found[1]) == 1
    # the grey frame is twice the colour one's size: so is its face
    assert box_iou(found[1].box_xyxy[0], 2 * found[0].box_xyxy[0]) > 0.8


def test_o_nets_second_opinion_is_high_on_a_face_and_low_elsewhere(hopper_rgb):
    (d,) = mtcnn.MTCNN(min_face=40).detect([hopper_rgb])
    blank = np.array([[5.0, 5.0, 85.0, 85.0]])
    face, elsewhere = mtcnn.MTCNN().probability([hopper_rgb, hopper_rgb], [d.box_xyxy, blank])
    assert face.shape == (1,) and face[0] > 0.9 and elsewhere[0] < 0.1
    assert [len(p) for p in mtcnn.MTCNN().probability([hopper_rgb], [np.zeros((0, 4))])] == [0]


def test_a_tinted_find_keeps_the_geometric_mean_of_both_opinions(hopper_rgb, monkeypatch):
    """What the tinted search finds in a grey frame is scored by the mean of
    O-Net's probability there and on the grey frame itself: a face both see
    stays confident; one only the tint shows drops under the cut-off, and
    under a weak search's bar, out."""
    grey = np.repeat(cv2.cvtColor(hopper_rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    det = MtcnnDetector(min_face=40)
    (tinted_only,) = mtcnn.MTCNN(min_face=40).detect([tinted(grey)], last=det.cutoff)
    p_tint = float(tinted_only.score[0])
    (both,) = det.detect([grey])
    (own,) = mtcnn.MTCNN().probability([grey], [tinted_only.box_xyxy])
    assert len(both) == 1 and both.score[0] == pytest.approx(det.score(np.sqrt(np.float64([p_tint * own[0]])))[0],
                                                             abs=1e-4)
    monkeypatch.setattr(mtcnn.MTCNN, "probability", lambda net, frames, boxes: [np.full(len(b), 0.5) for b in boxes])
    (weak,) = det.detect([grey], weak=True)
    assert len(weak) == 1 and weak.score[0] < 0  # sqrt(0.99 × 0.5) ≈ 0.7: under the cut-off, over the weak bar
    monkeypatch.setattr(mtcnn.MTCNN, "probability", lambda net, frames, boxes: [np.full(len(b), 0.01) for b in boxes])
    assert [len(d) for d in det.detect([grey], weak=True)] == [0]
