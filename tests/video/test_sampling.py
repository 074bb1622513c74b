"""Frame sampling by timestamp on generated clips (29.97 fps), and probing."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from clusterer.errors import NoFramesDecoded, VideoOpenFailure
from clusterer.video import sampling
from clusterer.video.sampling import decode_threads, iter_frames, probe
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


class _Capture:
    """A cv2.VideoCapture stand-in that counts grabs and can make seeks land late."""

    grabs = 0

    def __init__(self, cap, overshoot_ms: float = 0.0):
        self.cap, self.overshoot_ms = cap, overshoot_ms

    def grab(self):
        _Capture.grabs += 1
        return self.cap.grab()

    def set(self, prop, value):
        return self.cap.set(prop, value + self.overshoot_ms)

    def __getattr__(self, name):
        return getattr(self.cap, name)


def _sampled(clip, start):
    """(index, time, the index the pixels spell) of 1.5 samples/s for 3 s from start."""
    info = probe(clip)  # before the decoding opens its own capture
    return [(f.index, f.time, read_code(f.image))
            for f in iter_frames(clip, fps=1.5, start=start, end=start + 3, info=info)]


@pytest.mark.parametrize("start", [6.0, 17.3, 25.0])
def test_late_start_seeks_to_the_same_frames(ntsc_clip, monkeypatch, start):
    real_open = sampling._open
    monkeypatch.setattr(sampling, "_open", lambda p, threads=None: _Capture(real_open(p, threads)))
    _Capture.grabs = 0
    seeking = _sampled(ntsc_clip, start)
    seek_grabs = _Capture.grabs
    monkeypatch.setattr(sampling, "SEEK_MIN", float("inf"))
    _Capture.grabs = 0
    decoding = _sampled(ntsc_clip, start)
    assert seeking == decoding
    assert all(index == code for index, _, code in seeking)  # the pixels are those of that frame
    assert len(seeking) == 5
    # it seeked: only the frames from about SEEK_BACK before start were decoded
    assert seek_grabs < (3 + sampling.SEEK_BACK + 1) * NTSC < start * NTSC <= _Capture.grabs


def test_seek_that_lands_late_falls_back_to_decoding(ntsc_clip, monkeypatch):
    real_open = sampling._open
    opened = []

    def late_then_real(p, threads=None):
        opened.append(p)  # probe's capture, then the decoder's, which lands 4 s late (past start)
        return _Capture(real_open(p, threads), overshoot_ms=4000.0 if len(opened) == 2 else 0.0)

    monkeypatch.setattr(sampling, "_open", late_then_real)
    got = _sampled(ntsc_clip, 12.0)
    assert len(opened) == 3  # the late landing was not trusted: reopened, decoded from the start
    monkeypatch.setattr(sampling, "SEEK_MIN", float("inf"))
    assert got == _sampled(ntsc_clip, 12.0)
    assert all(index == code for index, _, code in got)


def test_a_phone_clip_stored_sideways_is_sampled_as_shown(tmp_path, hopper_bgr):
    """Phones store portrait video sideways with a rotation tag in the
    container: frames are sampled as a player shows them (upright), and probe
    reports the shown size, so faces are searched upright."""
    import shutil
    import subprocess

    import cv2

    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg binary to tag a clip's rotation")
    upright = cv2.resize(hopper_bgr, (160, 208))
    stored = write_clip(tmp_path / "stored.mp4", [cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE)] * 10, 10.0,
                        size=(208, 160))
    phone = tmp_path / "phone.mp4"
    tag = subprocess.run(["ffmpeg", "-v", "error", "-y", "-display_rotation", "90", "-i", str(stored),
                          "-c", "copy", str(phone)], capture_output=True)
    if tag.returncode != 0:
        pytest.skip("this ffmpeg cannot tag a rotation (-display_rotation: ffmpeg 6 or later)")
    info = probe(phone)
    assert (info.width, info.height) == (160, 208)
    first = next(iter(iter_frames(phone, fps=2.0, info=info))).image
    assert first.shape[:2] == (208, 160)
    assert np.abs(first.astype(int) - upright.astype(int)).mean() < 15  # upright, not turned or mirrored
    assert np.abs(first.astype(int) - upright[::-1, ::-1].astype(int)).mean() > 30


def test_one_decoding_thread_on_a_two_core_machine(ntsc_clip, monkeypatch):
    """ffmpeg's frame threads cost more CPU than they save where every core is busy; not for 4K."""
    cores = {"n": 2}
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores["n"])), raising=False)
    assert decode_threads(1280, 720) == 1 and decode_threads(1920, 1080) == 1
    assert decode_threads(3840, 2160) is None
    cores["n"] = 8
    assert decode_threads(1280, 720) is None
    cores["n"] = 2
    info = probe(ntsc_clip)
    asked, real = [], sampling._open
    monkeypatch.setattr(sampling, "_open", lambda path, threads=None: asked.append(threads) or real(path, threads))
    frames = list(iter_frames(ntsc_clip, fps=2.0, end=3.0, info=info))
    assert asked == [1]  # the decoder's capture, on one thread
    assert [read_code(f.image) for f in frames] == [f.index for f in frames] == [0, 15, 30, 45, 60, 75, 90]
    cap = real(ntsc_clip, 1)
    assert cap.get(cv2.CAP_PROP_N_THREADS) == 1  # OpenCV honours it
    cap.release()
