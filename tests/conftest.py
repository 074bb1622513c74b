"""Shared fixtures: public-domain portraits shipped by installed packages,
the bundled demo clip, and clips generated in tmp_path. No network, no ../shared."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "samples" / "demo.mp4"
SHARED_BENCH = ROOT.parent / "shared" / "bench"


@pytest.fixture(scope="session")
def hopper_bgr() -> np.ndarray:
    import matplotlib.cbook as cbook

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    import skimage

    return cv2.imread(str(Path(skimage.__file__).parent / "data" / "astronaut.png"))


@pytest.fixture
def demo_video() -> Path:
    assert DEMO.is_file(), "samples/demo.mp4 is missing (python samples/make_demo.py)"
    return DEMO


def write_clip(path: Path, frames, fps: float, size=(160, 120)) -> Path:
    """Write BGR frames (an iterable) to an MPEG-4 file."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert w.isOpened()
    for f in frames:
        w.write(f)
    w.release()
    return path


@pytest.fixture(autouse=True)
def no_error_logs(caplog):
    """Any test that makes the library log at ERROR fails."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
