"""Face detection and encodings on real public-domain portraits."""
from __future__ import annotations

import subprocess
import sys
import types

import cv2
import numpy as np
import pytest

from clusterer import models
from clusterer.faces.analyzer import FaceAnalyzer, crop_box
from clusterer.video.sampling import SampledFrame


def import_face_recognition():
    """face_recognition (installed without its dlib sdist requirement), with a
    stand-in for pkg_resources where setuptools no longer ships it."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda pkg, rel: str(models.package_dir(pkg) / rel)
        sys.modules["pkg_resources"] = shim
    return pytest.importorskip("face_recognition", reason="face_recognition is not installed")


@pytest.mark.parametrize("portrait", ["hopper_bgr", "astronaut_bgr"])
def test_encodings_match_face_recognition(portrait, request):
    """encoder="dlib" is face_recognition byte for byte; the default torch port
    of the same network differs only by float rounding."""
    fr = import_face_recognition()
    bgr = request.getfixturevalue(portrait)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    want_locs = fr.face_locations(rgb)  # (top, right, bottom, left)
    want = np.array(fr.face_encodings(rgb, want_locs))
    an = FaceAnalyzer(detector="hog", upsample=1, min_face=0, encoder="dlib")
    found = an.detect(rgb)
    assert sorted((t, r, b, l) for l, t, r, b in [f[0] for f in found]) == sorted(want_locs)
    boxes = [(l, t, r, b) for t, r, b, l in want_locs]
    assert np.array_equal(an.encode(rgb, boxes), want)
    ported = FaceAnalyzer(encoder="torch", device="cpu").encode(rgb, boxes)
    assert ported.shape == want.shape
    assert np.abs(ported - want).max() < 1e-5
    # and each face stays far nearer its own encoding than any tolerance
    assert np.linalg.norm(ported - want, axis=1).max() < 1e-4


def test_analyze_frame(hopper_bgr, astronaut_bgr):
    h = hopper_bgr.shape[0]
    a = cv2.resize(astronaut_bgr, (int(astronaut_bgr.shape[1] * h / astronaut_bgr.shape[0]), h))
    both = np.hstack([hopper_bgr, a])
    faces = FaceAnalyzer(min_face=40).analyze(SampledFrame(7, 0.5, both))
    assert len(faces) == 2
    left, right = sorted(faces, key=lambda f: f.box_xyxy[0])
    assert left.box_xyxy[2] <= hopper_bgr.shape[1] < right.box_xyxy[0]
    assert all(f.frame == 7 and f.time == 0.5 and f.crop_jpeg[:2] == b"\xff\xd8" for f in faces)
    # two different people: far apart on face_recognition's scale
    assert np.linalg.norm(left.encoding - right.encoding) > 0.6
    # the same person at half size stays close
    small = cv2.resize(hopper_bgr, None, fx=0.5, fy=0.5)
    (f2,) = FaceAnalyzer().analyze(SampledFrame(8, 1.0, small))
    assert np.linalg.norm(f2.encoding - left.encoding) < 0.36


def test_min_face_filters(hopper_bgr):
    rgb = cv2.cvtColor(hopper_bgr, cv2.COLOR_BGR2RGB)
    (box, _), = FaceAnalyzer().detect(rgb)
    assert FaceAnalyzer(min_face=box[3] - box[1] + 1).detect(rgb) == []


def test_blank_frame_has_no_face():
    assert FaceAnalyzer().analyze(SampledFrame(0, 0.0, np.full((120, 160, 3), 128, np.uint8))) == []


def test_crop_box_clips_to_image():
    img = np.zeros((100, 200, 3), np.uint8)
    assert crop_box(img, (0, 0, 50, 50), 0.5).shape == (75, 75, 3)
    assert crop_box(img, (150, 60, 200, 100), 0.2).shape == (48, 60, 3)


def test_bad_detector_name():
    with pytest.raises(ValueError, match="detector"):
        FaceAnalyzer(detector="hgo")


def test_import_loads_no_model_and_no_pkg_resources():
    code = ("import sys, clusterer; "
            "from clusterer import models; models.model_path('encoder'); "
            "bad = {'dlib', 'torch', 'face_recognition_models', 'pkg_resources'} & set(sys.modules); "
            "print(sorted(bad)); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_detect_near_finds_tracked_face_only(hopper_bgr):
    rgb = cv2.cvtColor(hopper_bgr, cv2.COLOR_BGR2RGB)
    an = FaceAnalyzer()
    (box, _), = an.detect(rgb)
    # the face moved a little since the last sample: still found, box close to the full search
    l, t, r, b = box
    near = an.detect_near(rgb, [(l + 10, t - 8, r + 10, b - 8)])
    assert len(near) == 1
    from clusterer.faces.analyzer import box_iou
    assert box_iou(near[0][0], box) > 0.6
    # a region with no face: nothing
    assert an.detect_near(rgb, [(0, 0, 40, 40)]) == []
    # two overlapping regions around one face: one detection
    assert len(an.detect_near(rgb, [box, (l + 5, t, r + 5, b)])) == 1


def test_keyframes_and_tracked_regions_match_full_search(demo_video):
    from clusterer import extract, probe

    info = probe(demo_video)
    every = extract(demo_video, info, FaceAnalyzer(), detect_every=1, end=6.0)
    sparse = extract(demo_video, info, FaceAnalyzer(), detect_every=4, end=6.0)
    assert len(sparse.faces) == len(every.faces) > 0  # three shots of the demo, 12 samples
    assert len(sparse.tracks) == len(every.tracks)
    from clusterer.faces.analyzer import box_iou
    for a in every.faces:
        same = [b for b in sparse.faces if b.frame == a.frame]
        best = max(same, key=lambda b: box_iou(a.box_xyxy, b.box_xyxy))
        # the same search on a part: HOG cells and pyramid levels may shift a little
        assert box_iou(a.box_xyxy, best.box_xyxy) > 0.5
        assert a.encoding is None or best.encoding is None or np.linalg.norm(a.encoding - best.encoding) < 0.25


def test_cnn_detector_finds_the_face(hopper_bgr):
    small = cv2.resize(hopper_bgr, None, fx=0.4, fy=0.4)  # keep dlib's CNN quick on a CPU
    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    cnn = FaceAnalyzer(detector="cnn", upsample=0, min_face=0).detect(rgb)
    hog = FaceAnalyzer(detector="hog", upsample=1, min_face=0).detect(rgb)
    from clusterer.faces.analyzer import box_iou
    assert len(cnn) == 1 and cnn[0][1] > 0.5 and box_iou(cnn[0][0], hog[0][0]) > 0.4


def test_workers_do_not_change_results(demo_video, tmp_path, demo_cli_run):
    import json

    from clusterer import run
    from clusterer.settings import default

    _, one = run(demo_video, out=tmp_path / "w1", workers=1)
    # two workers: the session's default run where that is the default (2 cores or more)
    two = demo_cli_run[1] if default("workers") == 2 else run(demo_video, out=tmp_path / "w2", workers=2)[1]
    a, b = (json.loads((d / "clusters.json").read_text()) for d in (one, two))
    for key in ("persons", "unknown", "tracks", "scenes", "sampled"):
        assert a[key] == b[key], key
    assert (one / "cache" / "features.npz").read_bytes() == (two / "cache" / "features.npz").read_bytes()
