"""The whole job: sample → faces → clothing → cluster → export."""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__, cache
from .clothing import Clothing, ClothingBatcher, Embedder
from .clustering import FaceClusterer, join_unambiguous, number_clusters
from .defaults import check, default
from .errors import NoFacesFound, OutputError
from .export import check_folder, export, output_dir
from .faces import Face, FaceAnalyzer, box_iou, make_face
from .fused import FusedClusterer
from .names import follow_user_folders, load_known, name_persons
from .outdir import claim
from .refine import ClothingRefiner
from .result import Person, Result, Sighting, group
from .sampling import Coverage, VideoInfo, iter_frames, probe
from .scenes import CutDetector
from .tracking import FaceTracker, Track

log = logging.getLogger("clusterer")


@dataclass(frozen=True)
class Extraction:
    """What extraction produced, in sampling order.

    faces: every detected face (encoding None where tracking skipped it);
    clothing: the clothing under each face (None when not computed);
    sampled: the frame indices looked at; cuts: (frame, time) of the first
    sampled frame of each scene after the first; tracks: the face tracks;
    coverage: how much of the video was decoded (None: not known).
    """

    faces: tuple[Face, ...]
    clothing: tuple[Clothing, ...] | None
    sampled: tuple[int, ...]
    cuts: tuple[tuple[int, float], ...] = ()
    tracks: tuple[Track, ...] = ()
    coverage: Coverage | None = None

    @property
    def n_encoded(self) -> int:
        return sum(f.encoding is not None for f in self.faces)


def extract(path: str | os.PathLike, info: VideoInfo, analyzer: FaceAnalyzer,
            embedder: Embedder | None = None, *, fps: float = default("fps"),
            start: float = default("start"), end: float | None = default("end"),
            crop_margin: float = default("crop_margin"), cut_threshold: float = default("cut_threshold"),
            track_iou: float = default("track_iou"), track_gap: int = default("track_gap"),
            track_encodings: int = default("track_encodings"), detect_every: int = default("detect_every"),
            workers: int = default("workers"), progress: Callable[[float], None] | None = None,
            timings: dict[str, float] | None = None) -> Extraction:
    """Faces, scene cuts and face tracks of every sampled frame (and clothing,
    given an embedder). Only the faces a track needs are encoded.

    The whole frame is searched for faces on the first sample of each scene
    and every `detect_every` samples, on `workers` threads; in between, only
    around the faces being tracked (faces.FaceAnalyzer.detect_near).

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
                               analyzer, detector, detect_every, workers, clock)
        faces, sampled, cuts = _track_frames(frames, analyzer, tracker, clothing, clock, track_encodings,
                                             crop_margin, progress, workers)
        with clock("clothing"):
            worn = tuple(clothing.finish()) if clothing is not None else None
    return Extraction(tuple(faces), worn, tuple(sampled), tuple(cuts), tuple(tracker.finish()),
                      covered[0] if covered else None)


def _track_frames(frames, analyzer, tracker, clothing, clock, track_encodings, crop_margin, progress, workers):
    """The main thread's part of extract: track, encode and crop each frame's faces in order.

    A sample searched only around tracked faces is searched on a thread of its
    own while the sample before it is encoded: its regions are the tracks'
    boxes as that sample's detections will extend them by overlap
    (FaceTracker.boxes_after), known before its encodings are."""
    from concurrent.futures import ThreadPoolExecutor

    faces: list[Face] = []
    sampled: list[int] = []
    cuts: list[tuple[int, float]] = []
    uses_torch = clothing is not None or analyzer.uses_torch
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
        near = ThreadPoolExecutor(1, thread_name_prefix="cluster-video-near")
        stack.callback(near.shutdown, wait=True, cancel_futures=True)
        ahead: Future | None = None  # the tracked-region search of `item`, when started early
        while item is not None:
            frame, scene, rgb, full = item
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
            cands = continuing(cands, tracked, tracker.min_iou)
            ahead = None
            if item is not None and item[3] is None:  # the next sample: same scene, tracked regions only
                with clock("track"):  # (no detections: no step, the same tracks)
                    regions = tracker.boxes_after(scene, [c.box_xyxy for c in cands]) if cands else tracked
                ahead = near.submit(analyzer.candidates, item[2], regions, True)
            if cands:
                boxes = [c.box_xyxy for c in cands]
                quals = [c.quality for c in cands]
                with clock("track"):
                    want = tracker.wants_encoding(scene, boxes, quals, track_encodings)
                with clock("encode"):
                    coded = iter(analyzer.encode_shapes(rgb, [c.shape for c, w in zip(cands, want) if w]))
                    encs = [next(coded) if w else None for w in want]
                with clock("track"):
                    linked = tracker.step(scene, boxes, encs, list(range(len(faces), len(faces) + len(cands))),
                                          quals, [c.score < 0 for c in cands])
                    kept = [k for k, tid in enumerate(linked) if tid is not None]
                    faces.extend(make_face(frame, cands[k], encs[k], crop_margin) for k in kept)
                if clothing is not None:
                    with clock("clothing"):
                        clothing.add(frame.image, [boxes[k] for k in kept])
            if progress:
                progress(frame.time)
    return faces, sampled, cuts


def continuing(cands: list, tracked: list, min_iou: float) -> list:
    """The candidates to keep: every confident one (score >= 0), and a weak one
    only where it overlaps a tracked face's last box by `min_iou`: a track,
    once started by a confident detection, may continue on weaker ones (the
    hysteresis of ByteTrack's second association). The tracker then keeps a
    weak one only if it joins that track (FaceTracker.step). Measured in
    benchmarks/RESULTS.md ("Tracks on weak detections")."""
    return [c for c in cands if c.score >= 0.0 or any(box_iou(c.box_xyxy, b) >= min_iou for b in tracked)]


def torch_threads(workers: int) -> int:
    """torch's CPU threads per call during extraction: the cores shared out
    between the `workers` search threads and the main thread (each may run
    torch at once), at least 1. torch spinning more threads than there are
    free cores slowed its encodings 3× (measured on 2 cores)."""
    return max(1, (os.cpu_count() or 1) // (workers + 1))


@contextlib.contextmanager
def _torch_threads(n: int):
    """torch's CPU threads limited to `n` for the block."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _detect_ahead(frames, analyzer: FaceAnalyzer, cuts: CutDetector, detect_every: int, workers: int, clock):
    """(frame, scene, rgb, future of the whole-frame candidates or None) in order.

    Scene cuts are found here, in order, so it is known ahead which samples
    are searched whole (each scene's first, then every `detect_every`-th);
    those searches run on `workers` threads (dlib's HOG releases the GIL)
    while the caller tracks and encodes earlier frames. Each search depends
    on its frame alone, so the result does not depend on `workers`.
    """
    import collections
    from concurrent.futures import ThreadPoolExecutor

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
                        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
                    since_full += 1
                    if scene != scene_seen or since_full >= detect_every:
                        since_full, scene_seen = 0, scene
                        pending.append((frame, scene, rgb, batch.add(rgb, pool)))
                    else:
                        pending.append((frame, scene, rgb, None))
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
            for *_, fut in pending:
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

    def add(self, rgb: np.ndarray, pool) -> Future:
        fut: Future = Future()
        self._rgbs.append(rgb)
        self._futures.append(fut)
        if len(self._rgbs) >= self.size:
            self.flush(pool)
        return fut

    def flush(self, pool) -> None:
        if not self._rgbs:
            return
        rgbs, futures = self._rgbs, self._futures
        self._rgbs, self._futures = [], []

        def search():
            live = [f.set_running_or_notify_cancel() for f in futures]
            if not any(live):
                return
            try:
                found = self.analyzer.candidates_batch(rgbs, weak=True)
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


def encode_tracks(ex: Extraction, *, min_quality: float, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Each track's encoding, the mean of its best (up to `budget`) encoded faces
    of at least `min_quality`, and whether it had any such face. A track with
    none gets the mean of all its encoded faces, flagged low-quality."""
    enc = np.zeros((len(ex.tracks), 128))
    good = np.zeros(len(ex.tracks), dtype=bool)
    for k, t in enumerate(ex.tracks):
        coded = sorted((f for f in (ex.faces[i] for i in t.items) if f.encoding is not None),
                       key=lambda f: -f.quality)
        best = [f for f in coded if f.quality >= min_quality][:budget]
        good[k] = bool(best)
        enc[k] = np.mean([f.encoding for f in (best or coded)], axis=0)
    return enc, good


def track_clothing(ex: Extraction) -> list[np.ndarray | None]:
    """Each track's clothing: the normalised mean of its faces' clothing
    embeddings, or None when none of its faces had clothing in view."""
    out: list[np.ndarray | None] = []
    for t in ex.tracks:
        vecs = [ex.clothing[i].embedding for i in t.items
                if ex.clothing is not None and ex.clothing[i].embedding is not None]
        m = np.mean(vecs, axis=0) if vecs else None
        out.append(None if m is None else m / max(float(np.linalg.norm(m)), 1e-12))
    return out


def cluster(ex: Extraction, *, mode: str = default("mode"), threshold: float = default("threshold"),
            min_faces: int = default("min_faces"), min_quality: float = default("min_quality"),
            join_threshold: float = default("join_threshold"), join_ratio: float = default("join_ratio"),
            min_confidence: float = default("min_confidence"),
            track_encodings: int = default("track_encodings"),
            loose_threshold: float = default("loose_threshold"),
            cloth_threshold: float = default("cloth_threshold"), cloth_ratio: float = default("cloth_ratio"),
            cloth_window: float = default("cloth_window"), cloth_weight: float = default("cloth_weight"),
            fused_epsilon: float = default("fused_epsilon"),
            ) -> tuple[tuple[Person, ...], tuple[Sighting, ...]]:
    """Group the extracted tracks into persons (most faces first) and unknown sightings.

    Every decision is taken on tracks; a face follows its track. Unconfirmed
    tracks (one face, detector score under min_confidence) go to unknown.
    Tracks with no face of min_quality do not take part in stage 1; clothing
    may attach them (two-stage), else they go to unknown.
    """
    check("mode", mode)
    if mode != "faces" and ex.clothing is None:
        raise ValueError(f"mode '{mode}' needs clothing: extract with an embedder")
    faces, tracks = ex.faces, ex.tracks
    nt = len(tracks)
    t_enc, t_good = encode_tracks(ex, min_quality=min_quality, budget=track_encodings)
    size = np.array([len(t.items) for t in tracks])
    spans = [frozenset(faces[i].frame for i in t.items) for t in tracks]
    times = np.array([[faces[t.items[0]].time, faces[t.items[-1]].time] for t in tracks]).reshape(nt, 2)
    unconfirmed = np.array([len(t.items) == 1 and faces[t.items[0]].score < min_confidence
                            for t in tracks], dtype=bool)
    t_reason: list[str | None] = ["unconfirmed" if u else None for u in unconfirmed]
    t_how = ["face"] * nt
    labels = np.full(nt, -1)
    if mode == "fused":
        live = np.flatnonzero(~unconfirmed)
        fc = FusedClusterer(cloth_weight=cloth_weight, epsilon=fused_epsilon, min_faces=min_faces)
        cloth = track_clothing(ex)
        fc.fit(t_enc[live], [cloth[k] for k in live], [spans[k] for k in live], size[live])
        labels[live] = fc.labels_
        for k, r in zip(live, fc.reasons_):
            t_reason[k] = r
        t_how = ["fused"] * nt
    else:
        # stage 1: confirmed tracks with a good face, by their encodings
        core = np.flatnonzero(t_good & ~unconfirmed)
        if len(core):
            labels[core] = FaceClusterer(threshold, min_faces=1).fit_predict(
                t_enc[core], [spans[k] for k in core], size[core])
            if join_threshold > threshold:
                labels[core] = join_unambiguous(labels[core], t_enc[core], [spans[k] for k in core],
                                                join_threshold, join_ratio, size[core])
        # low-quality tracks stand alone, for clothing to attach
        low = np.flatnonzero(~t_good & ~unconfirmed)
        labels[low] = labels.max(initial=-1) + 1 + np.arange(len(low))
        live = np.flatnonzero(labels >= 0)
        if mode == "two-stage" and len(live):
            cloth = track_clothing(ex)
            ref = ClothingRefiner(loose_threshold=loose_threshold, cloth_threshold=cloth_threshold,
                                  ratio=cloth_ratio, window=cloth_window)
            merged = ref.fit(labels[live], t_enc[live], [cloth[k] for k in live], times[live],
                             [spans[k] for k in live], size[live]).labels_
            # a merged cluster keeps its core's id: whoever changed id joined by clothing
            for k, a, b in zip(live, labels[live], merged):
                t_how[k] = "clothing" if a != b else "face"
            labels[live] = merged
        for c in np.unique(labels[labels >= 0]):
            m = np.flatnonzero(labels == c)
            if not t_good[m].any():
                labels[m] = -1
                for k in m:
                    t_reason[k] = "low-quality"
    labels = _size_rule(labels, min_faces, size, np.array([min(s) for s in spans] or [0]))
    sightings: list[Sighting] = []
    face_labels: list[int] = []
    for k, t in enumerate(tracks):
        lab = int(labels[k])
        reason = (t_reason[k] or "few-faces") if lab < 0 else None
        how = "unknown" if lab < 0 else t_how[k]
        for i in t.items:
            sightings.append(Sighting(faces[i], ex.clothing[i] if ex.clothing else None, how, reason, t.id))
            face_labels.append(lab)
    return group(sightings, face_labels)


def _size_rule(labels: np.ndarray, min_faces: int, size: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Relabel: groups of at least min_faces faces (item i stands for size[i]
    faces) become 0, 1, … (most faces first, then earliest); the rest -1."""
    labels = np.asarray(labels)
    groups = [np.flatnonzero(labels == k) for k in np.unique(labels[labels >= 0])]
    return number_clusters(groups, np.asarray(size), np.asarray(first), min_faces, len(labels))


def make_embedder(cloth_model: str | None = default("cloth_model"), device: str = default("device"),
                  cloth_colour: float = default("cloth_colour")) -> Embedder:
    """The clothing embedder: a checkpoint's CNN, or the default ImageNet
    MobileNetV2, joined by a colour histogram of weight `cloth_colour` (if > 0)."""
    from .clothing import CNNEmbedder, WithColour

    cnn = CNNEmbedder(checkpoint=cloth_model, device=device)
    return WithColour(cnn, cloth_colour) if cloth_colour > 0 else cnn


EXTRACTION = ("fps", "start", "end", "detector", "upsample", "min_face", "encoder", "cloth_model", "cloth_colour",
              "device", "crop_margin", "cut_threshold", "track_iou", "track_gap", "track_score", "track_encodings",
              "detect_every")
"""Settings that change what extraction produces (and so key the feature cache)."""

CLUSTERING = ("mode", "threshold", "min_faces", "join_threshold", "join_ratio", "loose_threshold", "cloth_threshold", "cloth_ratio",
              "cloth_window", "cloth_weight", "fused_epsilon", "min_quality", "min_confidence",
              "track_encodings")
"""Settings of the clustering stage: changing only these re-uses the cache."""


OTHER = ("merge_gap", "workers")
"""Settings that change neither extraction's result nor clustering: the
export's, and how many threads search frames (results do not depend on it)."""


def split_settings(settings: dict) -> tuple[dict, dict]:
    """Extraction and clustering settings, defaults filled in and every value checked."""
    unknown = set(settings) - set(EXTRACTION) - set(CLUSTERING) - set(OTHER)
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    full = {k: settings.get(k, default(k)) for k in (*EXTRACTION, *CLUSTERING, *OTHER)}
    for name, value in full.items():
        check(name, value)
    if full["end"] is not None and full["end"] <= full["start"]:
        raise ValueError(f"end ({full['end']}) must be after start ({full['start']})")
    return {k: full[k] for k in EXTRACTION}, {k: full[k] for k in CLUSTERING}


def run(video: str | os.PathLike, *, out: str | os.PathLike = default("out"), overwrite: bool = False,
        known: str | os.PathLike | None = None,
        progress: Callable[[VideoInfo], Callable[[float], None]] | None = None,
        timings: dict[str, float] | None = None,
        rename: Callable[[tuple[Person, ...]], tuple[Person, ...]] | None = None, **settings) -> tuple[Result, Path]:
    """Cluster the people of `video`; write OUT/<video name>/; return the result and that folder.

    settings: any of the names in defaults.SETTINGS (threshold=0.4, mode="fused", …);
    the rest keep their defaults. known: a folder of known people (names.py);
    names a user gave to earlier result folders are kept. progress, if given, is called once with the
    video's info and returns a callback that receives the time of each sampled frame;
    timings, if given, receives seconds per extraction stage (see extract);
    rename, if given, may give persons other ids after naming (the library's names).
    """
    extraction, clustering = split_settings(settings)
    info = probe(video)
    dest = output_dir(out, video)
    # locked, checked, and staged until export moves the new files into place (outdir.py)
    with claim(dest, lambda d: check_folder(d, overwrite)) as stage:
        known_people = load_known(known, FaceAnalyzer(encoder=extraction["encoder"])) if known else ()
        ex, cache_files, embedder_name = features(video, info, dest, extraction,
                                                  clustering["mode"] != "faces", progress, timings=timings,
                                                  workers=settings.get("workers", default("workers")), stage=stage)
        if not ex.faces:
            raise NoFacesFound(f"{video}: no face found in {len(ex.sampled)} sampled frames "
                               f"(try a lower --min-face, a higher --fps, or --detect-every 1)")
        persons, unknown = follow_user_folders(*cluster(ex, **clustering), dest)
        persons = name_persons(persons, known_people)
        if rename is not None:
            persons = rename(persons)
        recorded = {**extraction, **clustering, "tool_version": __version__,
                    "known": str(known) if known else None}
        if embedder_name:
            recorded["cloth_embedder"] = embedder_name
        result = Result(info, ex.sampled, recorded, persons, unknown, ex.cuts, ex.coverage)
        export(result, dest, extra=cache_files, merge_gap=settings.get("merge_gap", default("merge_gap")),
               stage=stage)
    return result, dest


def tune(video: str | os.PathLike, thresholds, *, out: str | os.PathLike = default("out"),
         gt_file: str | os.PathLike | None = None, progress=None, **settings):
    """Sweep rows for `thresholds` (see tuning.sweep), from the feature cache when
    there is one; otherwise extracted, and cached when the output folder may be
    written (it is empty or new). Writes nothing else."""
    from .evaluate import load_ground_truth
    from .tuning import sweep

    extraction, clustering = split_settings(settings)
    info = probe(video)
    dest = output_dir(out, video)
    with contextlib.ExitStack() as held:
        try:
            stage = held.enter_context(claim(dest, lambda d: check_folder(d, overwrite=False)))
        except OutputError:
            stage = None  # a folder with results (or in use): read its cache, write nothing
        ex, files, _ = features(video, info, dest, extraction, clustering["mode"] != "faces", progress,
                                save=stage is not None, stage=stage)
        if stage is not None:
            stage.commit(last=cache.META)
    if not ex.faces:
        raise NoFacesFound(f"{video}: no face found in {len(ex.sampled)} sampled frames")
    gt = load_ground_truth(gt_file, ex.sampled, info.fps) if gt_file else None
    return sweep(ex, thresholds, clustering, gt)


def features(video: str | os.PathLike, info: VideoInfo, dest: Path, extraction: dict, with_clothing: bool,
             progress=None, save: bool = True, timings: dict[str, float] | None = None,
             workers: int = default("workers"), stage=None) -> tuple[Extraction, list[str], str | None]:
    """The extraction for `video` and these settings: from the feature cache in
    `dest` when it holds a valid one (no frame is decoded), else extracted and,
    if `save`, cached (into the run's outdir.Staging `stage` when given, moved into `dest` on commit).
    Returns the extraction, the cache files in dest, and the clothing
    embedder's name (None without clothing)."""
    key = cache.cache_key(video, extraction)
    ex = cache.load(dest, key)
    if ex is not None and (ex.clothing is not None or not with_clothing):
        log.info("features from the cache in %s: no decoding", dest / cache.CACHE_DIR)
        return ex, [cache.FEATURES, cache.META], cache.embedder_name(dest)
    e = dict(extraction)
    cloth_model, cloth_colour, device = e.pop("cloth_model"), e.pop("cloth_colour"), e.pop("device")
    analyzer = FaceAnalyzer(detector=e.pop("detector"), upsample=e.pop("upsample"), min_face=e.pop("min_face"),
                            encoder=e.pop("encoder"), device=device, track_score=e.pop("track_score"))
    embedder = make_embedder(cloth_model, device, cloth_colour) if with_clothing else None
    ex = extract(video, info, analyzer, embedder, progress=progress(info) if progress else None,
                 timings=timings, workers=workers, **e)
    name = embedder.name if embedder else None
    if not (save and ex.faces):
        return ex, [], name
    return ex, cache.save(stage.root if stage is not None else dest, key, ex, embedder=name), name
