"""Dark pictures brightened before faces are searched, placed and encoded (exposure.py)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from clusterer.faces import exposure
from clusterer.faces.analyzer import FaceAnalyzer
from clusterer.faces.encoder import DlibEncoder, TorchEncoder
from clusterer.geometry import box_iou


@pytest.fixture(scope="module")
def hopper_rgb(hopper_bgr):
    return cv2.cvtColor(hopper_bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer(min_face=40)  # the portrait's face is about 200 px


def dimmed(rgb: np.ndarray, factor: float) -> np.ndarray:
    return (rgb.astype(np.float32) * factor).astype(np.uint8)


@pytest.fixture
def exposure_off(monkeypatch):
    """Every picture taken as well exposed (the code before exposure.py)."""
    def off():
        monkeypatch.setattr(exposure, "gain", lambda rgb: 1.0)
    return off


def test_a_dark_picture_is_brightened_to_the_target_and_a_lit_one_left(hopper_rgb):
    assert exposure.gain(hopper_rgb) == 1.0
    assert exposure.brightened(hopper_rgb, 1.0) is hopper_rgb
    dark = dimmed(hopper_rgb, 0.3)
    g = exposure.gain(dark)
    assert 1.0 < g <= exposure.MAX_GAIN
    assert abs(exposure.level(exposure.brightened(dark, g)) - exposure.TARGET_LEVEL) < 5
    # near black: no more than MAX_GAIN, so its noise is not made texture
    assert exposure.gain(np.full((50, 50, 3), 3, np.uint8)) == exposure.MAX_GAIN
    assert exposure.gain(np.zeros((0, 0, 3), np.uint8)) == 1.0


def test_a_dark_frame_is_searched_brightened(hopper_rgb):
    (lit,) = exposure.views(hopper_rgb)
    assert lit is hopper_rgb
    (bright,) = exposure.views(dimmed(hopper_rgb, 0.3))
    assert exposure.level(bright) > exposure.DARK_LEVEL


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
    assert same is frame and exposure.burnt(frame, exposure.gain(frame)) > exposure.BURN_SHARE
    (cand,) = analyzer.candidates(frame)
    assert cand.gain == 1.0  # the face itself is lit: read as it is


def test_a_dark_face_is_encoded_brightened_near_its_lit_encoding(hopper_rgb, analyzer, exposure_off):
    """Landmarks and chip of a dark face come from it brightened: its encoding
    lies far nearer the lit face's than the dark one as it is does."""
    lit = analyzer.candidates(hopper_rgb)
    want = analyzer.encode_candidates(hopper_rgb, lit)[0]
    assert lit[0].gain == 1.0
    dark = dimmed(hopper_rgb, 0.15)
    (cand,) = analyzer.candidates(dark)
    assert cand.gain > 1.0
    near = np.linalg.norm(analyzer.encode_candidates(dark, [cand])[0] - want)
    assert np.linalg.norm(analyzer.encode(dark, [cand.box_xyxy])[0] - want) == pytest.approx(near, abs=1e-6)
    exposure_off()
    (plain,) = analyzer.candidates(dark)
    far = np.linalg.norm(analyzer.encode_candidates(dark, [plain])[0] - want)
    assert near < 0.7 * far


def test_both_encoders_brighten_a_dark_chip_alike(hopper_rgb, analyzer):
    dark = dimmed(hopper_rgb, 0.15)
    (cand,) = analyzer.candidates(dark)
    shapes, gains = [cand.shape], [cand.gain]
    ported = TorchEncoder("cpu").encode(dark, shapes, gains)
    assert np.abs(ported - DlibEncoder().encode(dark, shapes, gains)).max() < 1e-5
    # the gain reaches the network: as it is, the chip encodes elsewhere
    assert np.linalg.norm(ported - TorchEncoder("cpu").encode(dark, shapes)) > 0.05



def test_a_dark_black_and_white_face_is_found_brightened_then_tinted(hopper_rgb, analyzer, exposure_off):
    grey = cv2.cvtColor(cv2.cvtColor(hopper_rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    dark = dimmed(grey, 0.07)
    (found,) = analyzer.detect(dark)
    assert found[1] > 0
    exposure_off()
    assert analyzer.detect(dark) == []
