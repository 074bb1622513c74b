"""Frame sampling by timestamp on generated clips (29.97 fps), and probing."""
from __future__ import annotations

import numpy as np
import pytest

from clusterer.errors import NoFramesDecoded, VideoOpenFailure
from clusterer.sampling import iter_frames, probe
from conftest import write_clip

NTSC = 30000 / 1001
BITS = 12


def coded_frame(i: int, size=(160, 120)) -> np.ndarray:
    """A frame whose 12 vertical bars spell its index in binary (black/white)."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    bar = w // BITS
    for b in range(BITS):
        if (i >> b) & 1:
            img[:, b * bar:(b + 1) * bar] = 255
    return img


def read_code(img: np.ndarray) -> int:
    bar = img.shape[1] // BITS
    return sum(1 << b for b in range(BITS) if img[:, b * bar + 2:(b + 1) * bar - 2].mean() > 127)


@pytest.fixture(scope="module")
def ntsc_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "ntsc.mp4"
    return write_clip(path, (coded_frame(i) for i in range(900)), NTSC)  # 30.03 s


def test_probe_ntsc(ntsc_clip):
    info = probe(ntsc_clip)
    assert info.fps == pytest.approx(NTSC, rel=1e-4)
    assert info.frames == 900
    assert info.duration == pytest.approx(900 / NTSC, rel=1e-3)
    assert (info.width, info.height) == (160, 120)


def test_samples_nearest_frame_by_timestamp(ntsc_clip):
    frames = list(iter_frames(ntsc_clip, fps=2.0))
    assert len(frames) == 61  # 0.0, 0.5, …, 30.0 s; the clip lasts 30.03 s
    half = 0.5 / NTSC
    for k, f in enumerate(frames):
        target = k * 0.5
        assert abs(f.index / NTSC - target) <= half + 1e-6, (k, f.index)
        assert abs(f.time - f.index / NTSC) < 1e-3
        assert read_code(f.image) == f.index  # the pixels are those of that frame
    # a sampler that assumed 30 fps would have drifted by a frame by the end
    assert frames[-1].index == 899
    assert [f.index for f in frames[:4]] == [0, 15, 30, 45]


def test_start_end_and_fractional_rate(ntsc_clip):
    frames = list(iter_frames(ntsc_clip, fps=0.7, start=10.0, end=20.0))
    times = [f.index / NTSC for f in frames]
    want = [10.0 + k / 0.7 for k in range(8)]  # 10.0 … 20.0 s
    assert len(times) == len(want)
    assert all(abs(t - w) <= 0.5 / NTSC + 1e-6 for t, w in zip(times, want))


def test_stops_early_without_leaking(ntsc_clip):
    import threading

    before = threading.active_count()
    it = iter_frames(ntsc_clip, fps=25.0)
    for _, _f in zip(range(3), it):
        pass
    it.close()  # consumer stops: the decoding thread must end
    assert threading.active_count() == before


def bad_file(tmp_path, kind):
    """A path that is not a usable video, of the given kind."""
    if kind == "missing":
        return tmp_path / "missing.mp4"
    if kind == "directory":
        return tmp_path
    path = tmp_path / f"{kind}.mp4"
    path.write_bytes(b"" if kind == "empty" else b"not a video\n" * 100)
    return path


@pytest.mark.parametrize("kind, msg", [
    ("missing", "no such file"), ("directory", "directory"), ("empty", "empty"), ("text", "not a video"),
])
def test_probe_bad_input(tmp_path, kind, msg):
    with pytest.raises(VideoOpenFailure, match=msg):
        probe(bad_file(tmp_path, kind))


def test_truncated_video_raises(tmp_path, ntsc_clip):
    data = ntsc_clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises((VideoOpenFailure, NoFramesDecoded)):
        list(iter_frames(cut, fps=2.0))
