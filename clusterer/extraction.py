"""Extraction: sampled frames → faces, tracked, with the clothing under each (an Extraction).

Whole-frame searches run ahead on worker threads; tracking and encoding
follow in frame order, so the result does not depend on the number of threads.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np

from .clothing.embedders import ClothingBatcher, Embedder
from .devices import import_torch
from .faces.analyzer import FaceAnalyzer, make_face
from .geometry import box_iou
from .settings import default
from .tracking import FaceTracker
from .types import ENCODING_DIM, Extraction, Face, FrameFaces, VideoInfo
from .video.sampling import Coverage, iter_frames
from .video.scenes import ChangeDetector, CutDetector

log = logging.getLogger("clusterer")

PERIODIC_FACE = 1.5
"""The every-`detect_every` whole-frame searches inside a scene look for faces
from this many times --min-face up (MTCNN then skips its costliest pyramid
level); a scene's first sample and a changed one are searched down to
--min-face. A face that small seldom appears in a still shot without the
picture changing (benchmarks/RESULTS.md, "Session 9: cheaper searches")."""


ENCODE_BATCH = 16
"""Faces whose encodings may wait (FaceTracker.deferrable: linked by overlap
alone) are encoded this many at a time: torch's encoder takes 10.9 ms a face
one at a time and 6.4 ms in a batch of 16 on one core
(benchmarks/RESULTS.md, "Session 10: encodings in batches")."""


def extract(path: str | os.PathLike, info: VideoInfo, analyzer: FaceAnalyzer,
            embedder: Embedder | None = None, *, fps: float = default("fps"),
            start: float = default("start"), end: float | None = default("end"),
            crop_margin: float = default("crop_margin"), cut_threshold: float = default("cut_threshold"),
            track_iou: float = default("track_iou"), track_gap: int = default("track_gap"),
            track_encodings: int = default("track_encodings"), detect_every: int = default("detect_every"),
            search_change: float = default("search_change"), track_start: float = default("track_start"),
            workers: int = default("workers"), progress: Callable[[float], None] | None = None,
            timings: dict[str, float] | None = None) -> Extraction:
    """Faces, scene cuts and face tracks of every sampled frame (and clothing,
    given an embedder). Only the faces a track needs are encoded.

    A weak detection (score under 0) continues a track; one scoring at least
    `track_start` may also start one, a tentative track that grouping lets
    join a person only by its face (grouping.persons.cluster).

    The whole frame is searched for faces on the first sample of each scene,
    every `detect_every` samples, and whenever the sample changed by
    `search_change` since the last one searched whole (video.scenes.ChangeDetector),
    on `workers` threads; in between, only around the faces being tracked
    (faces.FaceAnalyzer.detect_near).

    progress, if given, is called with the time (s) of each sampled frame;
    timings, if given, accumulates seconds per stage of the main thread
    (decode: waiting for frames; cuts; wait-detect: waiting for whole-frame
    searches; detect-tracked; encode; clothing; track).
    """
    clock = _StageClock(timings)
    detector = CutDetector(cut_threshold)
    tracker = FaceTracker(min_iou=track_iou, max_gap=track_gap)
    covered: list[Coverage] = []
    with contextlib.ExitStack() as stack:
        clothing = None
        if embedder is not None:
            clothing = stack.enter_context(ClothingBatcher(embedder, background=True))
        frames = _detect_ahead(iter_frames(path, fps=fps, start=start, end=end, info=info, on_end=covered.append),
                               analyzer, detector, ChangeDetector(search_change), detect_every, workers, clock)
        faces, sampled, cuts = _track_frames(frames, analyzer, tracker, clothing, clock, track_encodings,
                                             track_start, crop_margin, progress, workers)
        with clock("clothing"):
            worn = tuple(clothing.finish()) if clothing is not None else None
    return Extraction(tuple(faces), worn, tuple(sampled), tuple(cuts), tuple(tracker.finish()),
                      covered[0] if covered else None, rate=fps)


def _track_frames(frames, analyzer, tracker, clothing, clock, track_encodings, track_start, crop_margin, progress,
                  workers):
    """The main thread's part of extract: track, encode and crop each frame's faces in order.

    A sample searched only around tracked faces is searched on a thread of its
    own while the sample before it is encoded: its regions are the tracks'
    boxes as that sample's detections will extend them by overlap
    (FaceTracker.boxes_after), known before its encodings are. Faces that
    their tracks link by overlap alone wait to be encoded ENCODE_BATCH at a
    time (_Waiting)."""
    faces: list[Face] = []
    sampled: list[int] = []
    cuts: list[tuple[int, float]] = []
    uses_torch = clothing is not None or analyzer.uses_torch
    waiting = _Waiting(analyzer, tracker, faces) if analyzer.batches_chips else None
    with contextlib.ExitStack() as stack:
        if analyzer.detector.uses_torch:
            # the worker threads' searches run torch: its threads are set first
            stack.enter_context(_torch_threads(torch_threads(workers)))
        # Asking for the first frame starts decoding and the worker threads'
        # face searches; with a dlib detector torch is imported only after
        # that, so its seconds of loading overlap them.
        item = next(frames, None)
        if uses_torch and not analyzer.detector.uses_torch:
            stack.enter_context(_torch_threads(torch_threads(workers)))
        if item is not None:
            # the face network loads while the first whole-frame searches run,
            # not after the first of them (0.15 s sooner to the first face)
            analyzer.load_encoder()
        near = ThreadPoolExecutor(1, thread_name_prefix="cluster-video-near")
        stack.callback(near.shutdown, wait=True, cancel_futures=True)
        ahead: Future | None = None  # the tracked-region search of `item`, when started early
        while item is not None:
            frame, scene, rgb, full, doubt = item
            item = next(frames, None)
            sampled.append(frame.index)
            if scene > len(cuts):
                cuts.append((frame.index, frame.time))
            tracked = tracker.open_boxes(scene)
            if full is not None:
                with clock("wait-detect"):
                    cands = full.result()
            elif ahead is not None:
                with clock("detect-tracked"):
                    cands = ahead.result()
            else:
                with clock("detect-tracked"):
                    cands = analyzer.candidates(rgb, near=tracked, weak=True)
            cands = continuing(cands, tracked, tracker.min_iou, track_start)
            ahead = None
            if item is not None and item[3] is None:  # the next sample: same scene, tracked regions only
                with clock("track"):  # (no detections: no step, the same tracks)
                    regions = tracker.boxes_after(scene, [c.box_xyxy for c in cands]) if cands else tracked
                ahead = near.submit(analyzer.candidates, item[2], regions, True)
            if cands:
                boxes = [c.box_xyxy for c in cands]
                quals = [c.quality for c in cands]
                with clock("track"):
                    want = tracker.wants_encoding(scene, boxes, quals, track_encodings, doubt)
                    later = tracker.deferrable(scene, boxes, doubt) if waiting is not None else [False] * len(cands)
                    later = [w and x for w, x in zip(want, later)]
                now = [w and not x for w, x in zip(want, later)]
                with clock("encode"):
                    todo = [c for c, n in zip(cands, now) if n]
                    if todo and waiting:  # the faces waiting first (they are compared to), in one batch
                        coded = iter(waiting.flush(analyzer.chips(rgb, todo)))
                    else:
                        coded = iter(analyzer.encode_candidates(rgb, todo) if todo else ())
                    encs = [next(coded) if n else None for n in now]
                with clock("track"):
                    first = len(faces)
                    linked = tracker.step(scene, FrameFaces.of(
                        boxes, encs, range(first, first + len(cands)), quals,
                        [c.score < track_start for c in cands], later), doubt)
                    kept = [k for k, tid in enumerate(linked) if tid is not None]
                    faces.extend(make_face(frame, cands[k], encs[k], crop_margin) for k in kept)
                late = [(first + j, cands[k]) for j, k in enumerate(kept) if later[k]]
                if late:
                    with clock("encode"):
                        waiting.add([i for i, _ in late], analyzer.chips(rgb, [c for _, c in late]))
                        if len(waiting) >= ENCODE_BATCH:
                            waiting.flush()
                if clothing is not None:
                    with clock("clothing"):
                        clothing.add(frame.image, [boxes[k] for k in kept])
            if progress:
                progress(frame.time)
        if waiting:
            with clock("encode"):
                waiting.flush()
    return faces, sampled, cuts


class _Waiting:
    """Face chips cut from their frames, waiting to be encoded in one batch;
    a flush gives each its Face's encoding and its track's check
    (FaceTracker.resolve)."""

    def __init__(self, analyzer: FaceAnalyzer, tracker: FaceTracker, faces: list[Face]):
        self.analyzer, self.tracker, self.faces = analyzer, tracker, faces
        self._items: list[int] = []
        self._chips: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._items)

    def add(self, items: list[int], chips: np.ndarray) -> None:
        self._items.extend(items)
        self._chips.append(chips)

    def flush(self, extra: np.ndarray | None = None) -> np.ndarray:
        """Encode the waiting chips, and `extra` chips in the same batch; the encodings of `extra`."""
        parts = self._chips + ([extra] if extra is not None else [])
        if not parts:
            return np.zeros((0, ENCODING_DIM))
        encs = self.analyzer.encode_chips(np.concatenate(parts))
        done = dict(zip(self._items, encs))
        for item, enc in done.items():
            self.faces[item] = dataclasses.replace(self.faces[item], encoding=enc)
        self.tracker.resolve(done)
        n = len(self._items)
        self._items, self._chips = [], []
        return encs[n:]


def continuing(cands: list, tracked: list, min_iou: float, start: float = 0.0) -> list:
    """The candidates to keep: every one scoring at least `start` (0: the
    confident ones; under 0, weak ones that may start a tentative track), and
    a weaker one only where it overlaps a tracked face's last box by
    `min_iou`: a track, once started, may continue on weaker detections (the
    hysteresis of ByteTrack's second association). The tracker then keeps a
    weaker one only if it joins that track (FaceTracker.step). Measured in
    benchmarks/RESULTS.md ("Tracks on weak detections")."""
    return [c for c in cands if c.score >= min(start, 0.0) or any(box_iou(c.box_xyxy, b) >= min_iou for b in tracked)]


def torch_threads(workers: int) -> int:
    """torch's CPU threads per call during extraction: the cores shared out
    between the `workers` search threads and the main thread (each may run
    torch at once), at least 1: torch spinning more threads than there are
    free cores slows its encodings (benchmarks/RESULTS.md, "Issue 16: figures moved out of the code")."""
    return max(1, (os.cpu_count() or 1) // (workers + 1))


@contextlib.contextmanager
def _torch_threads(n: int):
    """torch's CPU threads limited to `n` for the block."""
    torch = import_torch()

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _detect_ahead(frames, analyzer: FaceAnalyzer, cuts: CutDetector, change: ChangeDetector, detect_every: int,
                  workers: int, clock):
    """(frame, scene, rgb, future of the whole-frame candidates or None, doubt) in order
    (doubt: the sample may follow an uncalled cut, CutDetector.doubtful).

    Scene cuts and changes are found here, in order, so it is known ahead which
    samples are searched whole (each scene's first, then every `detect_every`-th,
    and any that changed since the last one searched);
    those searches run on `workers` threads (dlib's HOG releases the GIL)
    while the caller tracks and encodes earlier frames. Each search depends
    on its frame alone, so the result does not depend on `workers`.
    """
    import cv2

    pending: collections.deque = collections.deque()
    since_full, scene_seen = 0, -1
    batch = _SearchBatch(analyzer)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cluster-video-detect") as pool:
        try:
            while True:
                with clock("decode"):
                    frame = next(frames, None)
                if frame is not None:
                    with clock("cuts"):
                        scene = cuts.update(frame.image)
                        doubt = cuts.doubtful
                        moved = change.changed(frame.image)
                        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
                    since_full += 1
                    if scene != scene_seen or since_full >= detect_every or moved:
                        periodic = scene == scene_seen and not moved
                        smallest = PERIODIC_FACE * analyzer.min_face if periodic else None
                        since_full, scene_seen = 0, scene
                        change.mark()
                        pending.append((frame, scene, rgb, batch.add(rgb, pool, smallest), doubt))
                    else:
                        pending.append((frame, scene, rgb, None, doubt))
                # keep up to 4 × workers frames (and a batch) in flight: at 2 × the
                # main thread waited longer for searches (benchmarks/RESULTS.md);
                # drain at the end
                while pending and (frame is None or len(pending) > 4 * workers + batch.size):
                    if pending[0][3] is not None:
                        batch.flush(pool)  # the frame wanted next may be in it
                    yield pending.popleft()
                if frame is None:
                    return
        finally:
            for _, _, _, fut, _ in pending:
                if fut is not None:
                    fut.cancel()
            close = getattr(frames, "close", None)
            if close:
                close()


class _SearchBatch:
    """Whole-frame searches gathered into batches of analyzer.batch_size frames,
    each batch one job of the thread pool: a GPU detector takes many frames
    per call; on a CPU (batch size 1) each frame is its own job, and the
    workers search frames in parallel. Each frame gets a Future of its
    candidates."""

    def __init__(self, analyzer: FaceAnalyzer):
        self.analyzer = analyzer
        self.size = analyzer.batch_size
        self._rgbs: list[np.ndarray] = []
        self._futures: list[Future] = []
        self._smallest: float | None = None

    def add(self, rgb: np.ndarray, pool, smallest: float | None = None) -> Future:
        """The future candidates of one frame, searched for faces from `smallest` pixels up (None: all)."""
        if smallest != self._smallest:  # a batch is searched at one size
            self.flush(pool)
            self._smallest = smallest
        fut: Future = Future()
        self._rgbs.append(rgb)
        self._futures.append(fut)
        if len(self._rgbs) >= self.size:
            self.flush(pool)
        return fut

    def flush(self, pool) -> None:
        if not self._rgbs:
            return
        rgbs, futures, smallest = self._rgbs, self._futures, self._smallest
        self._rgbs, self._futures = [], []

        def search():
            live = [f.set_running_or_notify_cancel() for f in futures]
            if not any(live):
                return
            try:
                found = self.analyzer.candidates_batch(rgbs, weak=True, smallest=smallest)
            except BaseException as e:  # re-raised in the main thread by result()
                for f, ok in zip(futures, live):
                    if ok:
                        f.set_exception(e)
                return
            for f, ok, c in zip(futures, live, found):
                if ok:
                    f.set_result(c)

        pool.submit(search)


class _StageClock:
    """`with clock("stage"):` adds the block's wall time to timings["stage"] (no-op without a dict)."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings
        self._stage = ""
        self._t0 = 0.0

    def __call__(self, stage: str) -> "_StageClock":
        self._stage = stage
        return self

    def __enter__(self) -> None:
        self._t0 = time.perf_counter()

    def __exit__(self, *exc) -> None:
        if self.timings is not None:
            self.timings[self._stage] = self.timings.get(self._stage, 0.0) + time.perf_counter() - self._t0
