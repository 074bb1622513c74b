"""Dark and faded pictures corrected before faces are searched, placed and encoded (exposure.py)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from clusterer import run
from clusterer.faces import exposure
from clusterer.faces.analyzer import FaceAnalyzer, make_face
from clusterer.faces.encoder import DlibEncoder, TorchEncoder
from clusterer.geometry import box_iou, crop_box, encode_jpeg
from clusterer.types import SampledFrame
from conftest import DEMO, write_clip


@pytest.fixture(scope="module")
def hopper_rgb(hopper_bgr):
    return cv2.cvtColor(hopper_bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer(min_face=40)  # the portrait's face is about 200 px


def dimmed(rgb: np.ndarray, factor: float) -> np.ndarray:
    return (rgb.astype(np.float32) * factor).astype(np.uint8)


def hazed(rgb: np.ndarray, contrast: float = 0.3, grey: float = 130) -> np.ndarray:
    """A haze: contrast lost and blacks raised to grey."""
    return (rgb.astype(np.float32) * contrast + grey).astype(np.uint8)


@pytest.fixture
def exposure_off(monkeypatch):
    """Every picture taken as well exposed (the code before exposure.py)."""
    def off():
        monkeypatch.setattr(exposure, "levels", lambda rgb: exposure.AS_IT_IS)
    return off


def test_a_dark_picture_is_brightened_to_the_target_and_a_lit_one_left(hopper_rgb):
    assert exposure.levels(hopper_rgb) == exposure.AS_IT_IS
    assert exposure.AS_IT_IS.apply(hopper_rgb) is hopper_rgb
    dark = dimmed(hopper_rgb, 0.3)
    lv = exposure.levels(dark)
    assert lv.black == 0 and 1.0 < lv.gain <= exposure.MAX_GAIN
    assert abs(exposure.reading(lv.apply(dark))[1] - exposure.TARGET_LEVEL) < 5
    # near black: no more than MAX_GAIN, so its noise is not made texture
    assert exposure.levels(np.full((50, 50, 3), 3, np.uint8)).gain == exposure.MAX_GAIN
    assert exposure.levels(np.zeros((0, 0, 3), np.uint8)) == exposure.AS_IT_IS


def test_a_faded_picture_is_stretched_from_its_black(hopper_rgb):
    faded = hazed(hopper_rgb)
    lv = exposure.levels(faded)
    black, white = exposure.reading(faded)
    assert lv.black == black >= exposure.FADED_BLACK and lv.gain > 1.0
    assert abs(exposure.reading(lv.apply(faded))[1] - exposure.TARGET_LEVEL) < 5
    # a bright picture with deep blacks, or a grey one with its range, is left
    assert exposure.levels(np.clip(hopper_rgb.astype(np.int16) + 40, 0, 255).astype(np.uint8)) == exposure.AS_IT_IS


def test_a_dark_frame_is_searched_brightened(hopper_rgb):
    (lit,) = exposure.views(hopper_rgb)
    assert lit.searched is hopper_rgb and lit.checked is None
    (bright,) = exposure.views(dimmed(hopper_rgb, 0.3))
    assert exposure.reading(bright.searched)[1] > exposure.DARK_LEVEL


def test_a_face_too_dark_for_the_detector_is_found_brightened(hopper_rgb, analyzer, exposure_off):
    dark = dimmed(hopper_rgb, 0.07)
    (found,) = analyzer.detect(dark)
    assert found[1] > 0 and box_iou(found[0], analyzer.detect(hopper_rgb)[0][0]) > 0.7
    exposure_off()
    assert analyzer.detect(dark) == []


def test_a_lit_face_on_black_is_found_once_and_not_burnt(hopper_rgb, analyzer):
    """The frame is dark by its level, so it is searched brightened, where the
    face is burnt white; so it is searched as it is too, which finds it, and
    the finds of both searches are one face."""
    frame = np.zeros((720, 1280, 3), np.uint8)
    small = cv2.resize(hopper_rgb, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    frame[300:300 + small.shape[0], 500:500 + small.shape[1]] = small
    same, bright = exposure.views(frame)
    assert same.searched is frame and exposure.burnt(frame, exposure.levels(frame)) > exposure.BURN_SHARE
    (cand,) = analyzer.candidates(frame)
    assert cand.levels == exposure.AS_IT_IS  # the face itself is lit: read as it is


def test_a_dark_face_is_encoded_brightened_near_its_lit_encoding(hopper_rgb, analyzer, exposure_off):
    """Landmarks and chip of a dark face come from it brightened: its encoding
    lies far nearer the lit face's than the dark one as it is does."""
    lit = analyzer.candidates(hopper_rgb)
    want = analyzer.encode_candidates(hopper_rgb, lit)[0]
    assert lit[0].levels == exposure.AS_IT_IS
    dark = dimmed(hopper_rgb, 0.15)
    (cand,) = analyzer.candidates(dark)
    assert cand.levels.gain > 1.0
    near = np.linalg.norm(analyzer.encode_candidates(dark, [cand])[0] - want)
    assert np.linalg.norm(analyzer.encode(dark, [cand.box_xyxy])[0] - want) == pytest.approx(near, abs=1e-6)
    exposure_off()
    (plain,) = analyzer.candidates(dark)
    far = np.linalg.norm(analyzer.encode_candidates(dark, [plain])[0] - want)
    assert near < 0.7 * far


def test_both_encoders_brighten_a_dark_chip_alike(hopper_rgb, analyzer):
    dark = dimmed(hopper_rgb, 0.15)
    (cand,) = analyzer.candidates(dark)
    shapes, levels = [cand.shape], [cand.levels]
    ported = TorchEncoder("cpu").encode(dark, shapes, levels)
    assert np.abs(ported - DlibEncoder().encode(dark, shapes, levels)).max() < 1e-5
    # the gain reaches the network: as it is, the chip encodes elsewhere
    assert np.linalg.norm(ported - TorchEncoder("cpu").encode(dark, shapes)) > 0.05



def test_a_dark_black_and_white_face_is_found_brightened_then_tinted(hopper_rgb, analyzer, exposure_off):
    grey = cv2.cvtColor(cv2.cvtColor(hopper_rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    dark = dimmed(grey, 0.07)
    (found,) = analyzer.detect(dark)
    assert found[1] > 0
    exposure_off()
    assert analyzer.detect(dark) == []


def test_a_face_in_a_haze_is_found_and_encoded_stretched(hopper_rgb, analyzer, exposure_off):
    """Under a haze MTCNN misses the face and its encoding drifts; stretched from
    its black, it is found, and encoded near its clear self."""
    want = analyzer.encode_candidates(hopper_rgb, analyzer.candidates(hopper_rgb))[0]
    (cand,) = analyzer.candidates(hazed(hopper_rgb, 0.15, 160))
    assert cand.score > 0 and cand.levels.black == 160
    haze = hazed(hopper_rgb, 0.3, 130)
    (cand,) = analyzer.candidates(haze)
    near = np.linalg.norm(analyzer.encode_candidates(haze, [cand])[0] - want)
    exposure_off()
    assert analyzer.candidates(hazed(hopper_rgb, 0.15, 160)) == []
    (plain,) = analyzer.candidates(haze)
    assert near < 0.7 * np.linalg.norm(analyzer.encode_candidates(haze, [plain])[0] - want)


@pytest.fixture(scope="module")
def clear_demo(tmp_path_factory):
    """The demo video's run at the defaults."""
    return run(DEMO, out=tmp_path_factory.mktemp("clear"))[0]


@pytest.mark.parametrize("spoil", [lambda f: f * 0.1, lambda f: f * 0.2 + 150], ids=["dark", "haze"])
def test_a_dark_or_hazy_video_gives_the_persons_of_the_clear_one(spoil, clear_demo, demo_video, tmp_path,
                                                                    monkeypatch):
    """The demo video darkened, or hazed, to where the search as it is finds
    under half the faces: corrected, the run finds both people and every face
    the clear video gives."""
    cap = cv2.VideoCapture(str(demo_video))
    fps, frames = cap.get(cv2.CAP_PROP_FPS), []
    while (got := cap.read())[0]:
        frames.append(np.clip(spoil(got[1].astype(np.float32)), 0, 255).astype(np.uint8))
    video = write_clip(tmp_path / "spoilt.mp4", frames, fps, (frames[0].shape[1], frames[0].shape[0]))
    clear = clear_demo
    fixed, _ = run(video, out=tmp_path / "fixed")
    monkeypatch.setattr(exposure, "levels", lambda rgb: exposure.AS_IT_IS)
    plain, _ = run(video, out=tmp_path / "plain")

    def faces(res):
        return sum(len(p.sightings) for p in res.persons)
    assert len(fixed.persons) == len(clear.persons) == 2 and faces(fixed) == faces(clear)
    assert faces(plain) < faces(clear) / 2


def test_a_dark_faces_crop_is_exported_corrected_and_a_lit_ones_as_it_is(hopper_bgr, analyzer):
    for bgr, dark in ((hopper_bgr, False), (dimmed(hopper_bgr, 0.15), True)):
        (cand,) = analyzer.candidates(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        face = make_face(SampledFrame(0, 0.0, bgr), cand, None, 0.4)
        plain = encode_jpeg(crop_box(bgr, cand.box_xyxy, 0.4))
        if not dark:
            assert face.crop_jpeg == plain
        else:
            crop = cv2.imdecode(np.frombuffer(face.crop_jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert face.crop_jpeg != plain and exposure.reading(crop)[1] > exposure.DARK_LEVEL


def test_the_levels_reading_equals_numpys_reduction_over_the_channels():
    """reading() takes each pixel's darkest and brightest channel without
    numpy's slow reduction over an axis of three: the same values."""
    from clusterer.faces.exposure import reading

    rng = np.random.default_rng(3)
    for shape in ((720, 1280, 3), (61, 47, 3), (1, 1, 3)):
        rgb = rng.integers(0, 256, shape, dtype=np.uint8)
        s = rgb[::max(1, min(shape[:2]) // 64), ::max(1, min(shape[:2]) // 64)]
        assert reading(rgb) == (float(np.percentile(s.min(axis=2), 1)), float(np.percentile(s.max(axis=2), 95)))
