"""The whole job: sample → detect and encode → cluster → export."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .clustering import FaceClusterer
from .defaults import check, default
from .errors import NoFacesFound
from .export import export, output_dir, prepare_output
from .faces import Face, FaceAnalyzer
from .result import Result, group
from .sampling import VideoInfo, iter_frames, probe

log = logging.getLogger("clusterer")


def extract_faces(path: str | os.PathLike, info: VideoInfo, analyzer: FaceAnalyzer, *,
                  fps: float, start: float, end: float | None, crop_margin: float,
                  progress: Callable[[float], None] | None = None) -> tuple[list[Face], list[int]]:
    """All faces of the sampled frames, and the indices of the frames looked at.

    progress, if given, is called with the time (s) of each sampled frame.
    """
    faces: list[Face] = []
    sampled: list[int] = []
    for frame in iter_frames(path, fps=fps, start=start, end=end, info=info):
        sampled.append(frame.index)
        faces.extend(analyzer.analyze(frame, crop_margin=crop_margin))
        if progress:
            progress(frame.time)
    return faces, sampled


def cluster_faces(faces: list[Face], *, threshold: float, min_faces: int) -> np.ndarray:
    """Per-face person labels (-1 = unknown)."""
    if not faces:
        return np.zeros(0, dtype=int)
    x = np.stack([f.encoding for f in faces])
    return FaceClusterer(threshold, min_faces).fit_predict(x, [f.frame for f in faces])


def run(video: str | os.PathLike, *,
        out: str | os.PathLike = default("out"),
        threshold: float = default("threshold"),
        fps: float = default("fps"),
        start: float = default("start"),
        end: float | None = default("end"),
        detector: str = default("detector"),
        upsample: int = default("upsample"),
        min_face: int = default("min_face"),
        min_faces: int = default("min_faces"),
        crop_margin: float = default("crop_margin"),
        overwrite: bool = False,
        progress: Callable[[VideoInfo], Callable[[float], None]] | None = None) -> tuple[Result, Path]:
    """Cluster the people of `video`; write OUT/<video name>/; return the result and that folder.

    progress, if given, is called once with the video's info and returns a
    callback that receives the time of each sampled frame.
    """
    settings = dict(threshold=threshold, fps=fps, start=start, end=end, detector=detector,
                    upsample=upsample, min_face=min_face, min_faces=min_faces, crop_margin=crop_margin)
    for name, value in settings.items():
        check(name, value)
    if end is not None and end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    info = probe(video)
    dest = output_dir(out, video)
    prepare_output(dest, overwrite)
    analyzer = FaceAnalyzer(detector=detector, upsample=upsample, min_face=min_face)
    faces, sampled = extract_faces(video, info, analyzer, fps=fps, start=start, end=end,
                                   crop_margin=crop_margin,
                                   progress=progress(info) if progress else None)
    log.info("%d faces in %d sampled frames", len(faces), len(sampled))
    if not faces:
        raise NoFacesFound(f"{video}: no face found in {len(sampled)} sampled frames "
                           f"(try --upsample 2, a lower --min-face, or --detector cnn)")
    labels = cluster_faces(faces, threshold=threshold, min_faces=min_faces)
    persons, unknown = group(faces, labels)
    result = Result(info, tuple(sampled), {**settings, "tool_version": __version__}, persons, unknown)
    export(result, dest)
    return result, dest
