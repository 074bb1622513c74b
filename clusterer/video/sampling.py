"""Frame sampling: decode a video and yield frames at a fixed rate *by timestamp*.

Frames are chosen by their presentation time, not by assuming an integer frame
rate, so 29.97 fps and variable-frame-rate files are sampled correctly. Every
frame is grabbed (demuxed and decoded) but only sampled frames are converted
to pixels (`retrieve`); a late start seeks first (SEEK_MIN). Decoding runs in
a background thread that feeds a bounded queue, so it overlaps with detection.
"""
from __future__ import annotations

import math
import os
import queue
import threading
from pathlib import Path
from typing import Callable, Iterator

from ..errors import NoFramesDecoded, VideoOpenFailure
from ..types import Coverage, SampledFrame, VideoInfo

QUEUE_SIZE = 8
"""Decoded frames buffered ahead of detection: enough to hide decode jitter,
small enough that memory stays flat (8 × a 1080p frame ≈ 50 MB)."""


BREAK_SLACK = 1.0
"""Seconds (or 1 % of the span, if more) the decoded part may fall short of
the container's length before the stream counts as broken: a frame count
from the header may be a little off."""


def coverage(info: VideoInfo, start: float, end: float | None, last: float | None, failed: bool) -> Coverage:
    """The Coverage of a decode that read up to time `last` (None: no frame)
    and stopped because a frame could not be read (`failed`) or not."""
    span_end = info.duration if end is None else min(end, info.duration or end)
    until = start if last is None else max(start, last + 1.0 / info.fps)
    broken = failed and info.duration > 0 and span_end - until > max(BREAK_SLACK, 0.01 * (span_end - start))
    return Coverage(start, min(until, span_end) if span_end else until, span_end, broken)


ONE_THREAD_CORES = 2
ONE_THREAD_PIXELS = 1920 * 1080
"""On a machine of ONE_THREAD_CORES cores or fewer, frames of up to
ONE_THREAD_PIXELS are decoded on one thread, not on ffmpeg's frame threads:
the run keeps every core busy, and at 720p the frame threads cost 15-25 %
more CPU for the same frames (a minute of MPEG-4: 0.77-0.79 CPU s against
0.90-1.03; 82 s of H.264: 2.41 against 2.77; 20 s of 1080p about the same,
1.39 against 1.41). Fresh commands, alternated: seed 7 faster in 15 of 26
pairs (three series: medians -2 % to +5 %), fotb_dinner 5 % (5 of 6), 20 s
of 1080p 5 % (3 of 4). One thread decodes 4K H.264 at 3.8x real time,
slower than the rest of the run takes it (8 % slower, 3 of 4): larger
frames keep ffmpeg's threads (benchmarks/RESULTS.md, "Session 23")."""


def decode_threads(width: int, height: int) -> int | None:
    """ffmpeg's decoding threads for frames of this size on this machine: 1, or
    None for ffmpeg's own choice (ONE_THREAD_CORES, ONE_THREAD_PIXELS)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 1 if cores <= ONE_THREAD_CORES and width * height <= ONE_THREAD_PIXELS else None


# FFmpeg and OpenCV print their own warnings on damaged input ("moov atom not
# found"); we report such input in one line instead. A user's settings win.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


def _open(path: str | os.PathLike, threads: int | None = None):
    """An open capture of `path` (decoding on `threads` threads; None: ffmpeg's choice)."""
    import cv2

    p = Path(path)
    if not p.exists():
        raise VideoOpenFailure(f"{p}: no such file")
    if p.is_dir():
        raise VideoOpenFailure(f"{p}: is a directory, not a video file")
    if p.stat().st_size == 0:
        raise VideoOpenFailure(f"{p}: file is empty")
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads] if threads else [])
    if not cap.isOpened():
        cap.release()
        raise VideoOpenFailure(f"{p}: not a video OpenCV can read (unknown format or damaged file)")
    return cap


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's frame rate, frame count, duration and size."""
    import cv2

    cap = _open(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    finally:
        cap.release()
    if fps <= 0 or not math.isfinite(fps) or w <= 0 or h <= 0:
        raise VideoOpenFailure(f"{path}: no video stream (not a video, or damaged)")
    frames = max(frames, 0)
    return VideoInfo(str(path), fps, frames, frames / fps if frames else 0.0, w, h)


SEEK_MIN = 5.0
"""A --start later than this many seconds seeks (to a keyframe, then decoding
forward) instead of decoding every frame before it (benchmarks/RESULTS.md, "Issue 16: figures moved out of the code")."""

SEEK_BACK = 1.0
"""Seek this many seconds before the first target, so the frame nearest it is
still ahead of the landing point."""


def _start(path, start: float, info: VideoInfo):
    """An open capture (decoding on decode_threads' threads) and the index of
    the frame it has just grabbed (-1: none).

    From SEEK_MIN seconds on, seek; the landing is trusted only if it lies
    before `start` and its timestamp and frame number agree at the nominal
    rate (else the file is decoded from the beginning). Frame numbers then
    count on from the landing frame's: for a constant-rate file, those a
    decode from the beginning gives (tested); for a variable-rate one, they
    start from its nominal number (timestamp × rate)."""
    import cv2

    fps, threads = info.fps, decode_threads(info.width, info.height)
    cap = _open(path, threads)
    if start <= SEEK_MIN:
        return cap, -1
    if cap.set(cv2.CAP_PROP_POS_MSEC, (start - SEEK_BACK) * 1000.0) and cap.grab():
        ts = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        index = int(round(cap.get(cv2.CAP_PROP_POS_FRAMES))) - 1
        if 0 <= index and 0.0 <= ts < start - 0.5 / fps and abs(ts * fps - index) < 0.25:
            return cap, index
    cap.release()
    return _open(path, threads), -1


def sample_times(start: float, end: float | None, fps: float) -> Iterator[float]:
    """Target times start, start + 1/fps, … (up to end when given)."""
    k = 0
    while True:
        t = start + k / fps
        if end is not None and t > end + 1e-9:
            return
        yield t
        k += 1


def _decode(path, info: VideoInfo, fps: float, start: float, end: float | None,
            out: queue.Queue, stop: threading.Event, reached: dict | None = None) -> None:
    """Producer: grab every frame, retrieve only the ones nearest the targets.

    A frame is taken when it is the first whose timestamp reaches the target
    minus half a frame period, i.e. the frame nearest each target time.
    reached, if given, gets the time of the last frame read ("last") and
    whether reading stopped on a frame that could not be read ("failed").
    """
    reached = {} if reached is None else reached
    import cv2

    cap, index = _start(path, start, info)
    try:
        half = 0.5 / info.fps
        targets = sample_times(start, end, fps)
        target = next(targets)
        grabbed = index >= 0  # after a seek, frame `index` is grabbed already
        last_ts = -1.0
        while not stop.is_set():
            if not grabbed:
                if not cap.grab():
                    reached["failed"] = True
                    break
                index += 1
            grabbed = False
            ts = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            # Some containers report no timestamps; fall back to the nominal rate.
            if not math.isfinite(ts) or (index > 0 and ts <= last_ts):
                ts = index / info.fps
            last_ts = reached["last"] = ts
            if end is not None and ts > end + half:
                break
            if ts + half < target:
                continue
            ok, image = cap.retrieve()
            if not ok or image is None:
                continue
            out.put(SampledFrame(index, round(ts, 4), image))
            try:
                while target <= ts + half:
                    target = next(targets)
            except StopIteration:
                break
    finally:
        cap.release()


def iter_frames(path: str | os.PathLike, *, fps: float, start: float = 0.0,
                end: float | None = None, info: VideoInfo | None = None,
                on_end: Callable[[Coverage], None] | None = None) -> Iterator[SampledFrame]:
    """Yield sampled frames of `path` in time order, decoding in a background thread.

    Raises NoFramesDecoded when the file yields no frame at all (empty or
    truncated); errors in the decoding thread are re-raised here. on_end, if
    given, receives the Coverage once every frame has been yielded.
    """
    info = info or probe(path)
    q: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
    stop = threading.Event()
    done = object()
    errors: list[BaseException] = []
    reached: dict = {}

    def worker():
        try:
            _decode(path, info, fps, start, end, q, stop, reached)
        except BaseException as e:  # re-raised in the consumer
            errors.append(e)
        finally:
            q.put(done)

    thread = threading.Thread(target=worker, name="cluster-video-decode", daemon=True)
    thread.start()
    n = 0
    try:
        while True:
            item = q.get()
            if item is done:
                break
            n += 1
            yield item
        if errors:
            raise errors[0]
        if n == 0 and start == 0.0:
            raise NoFramesDecoded(f"{path}: no frame could be decoded (empty or truncated video)")
        if n == 0:
            raise NoFramesDecoded(f"{path}: no frame decoded from --start {start:g} s on"
                                  + (f": the start is past the end of the video ({info.duration:.1f} s)"
                                     if info.duration and start >= info.duration else ""))
        if on_end is not None:
            on_end(coverage(info, start, end, reached.get("last"), reached.get("failed", False)))
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.05)
