"""The whole job: sample → faces → clothing → cluster → export."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .clothing import Clothing, Embedder, clothing_for
from .clustering import FaceClusterer
from .defaults import check, default
from .errors import NoFacesFound
from .export import export, output_dir, prepare_output
from .faces import Face, FaceAnalyzer
from .fused import FusedClusterer
from .refine import ClothingRefiner
from .result import Person, Result, Sighting, group
from .sampling import VideoInfo, iter_frames, probe

log = logging.getLogger("clusterer")


@dataclass(frozen=True)
class Extraction:
    """What extraction produced: faces, the clothing under each (same order;
    None when clothing was not computed) and the frames looked at."""

    faces: tuple[Face, ...]
    clothing: tuple[Clothing, ...] | None
    sampled: tuple[int, ...]


def extract(path: str | os.PathLike, info: VideoInfo, analyzer: FaceAnalyzer,
            embedder: Embedder | None = None, *, fps: float = default("fps"),
            start: float = default("start"), end: float | None = default("end"),
            crop_margin: float = default("crop_margin"),
            progress: Callable[[float], None] | None = None) -> Extraction:
    """Faces (and clothing, given an embedder) of every sampled frame.

    progress, if given, is called with the time (s) of each sampled frame.
    """
    faces: list[Face] = []
    clothing: list[Clothing] = []
    sampled: list[int] = []
    for frame in iter_frames(path, fps=fps, start=start, end=end, info=info):
        sampled.append(frame.index)
        found = analyzer.analyze(frame, crop_margin=crop_margin)
        faces.extend(found)
        if embedder is not None and found:
            clothing.extend(clothing_for(frame.image, [f.box_xyxy for f in found], embedder))
        if progress:
            progress(frame.time)
    return Extraction(tuple(faces), tuple(clothing) if embedder is not None else None, tuple(sampled))


def cluster(ex: Extraction, *, mode: str = default("mode"), threshold: float = default("threshold"),
            min_faces: int = default("min_faces"), loose_threshold: float = default("loose_threshold"),
            cloth_threshold: float = default("cloth_threshold"), cloth_ratio: float = default("cloth_ratio"),
            cloth_window: float = default("cloth_window"), cloth_weight: float = default("cloth_weight"),
            fused_epsilon: float = default("fused_epsilon"),
            ) -> tuple[tuple[Person, ...], tuple[Sighting, ...]]:
    """Group extracted faces into persons (most faces first) and unknown sightings."""
    check("mode", mode)
    faces = ex.faces
    n = len(faces)
    clothing = ex.clothing or (None,) * n
    if mode != "faces" and ex.clothing is None:
        raise ValueError(f"mode '{mode}' needs clothing: extract with an embedder")
    enc = np.stack([f.encoding for f in faces]) if n else np.zeros((0, 128))
    frames = [f.frame for f in faces]
    vecs = [None if c is None else c.embedding for c in clothing]
    how = ["face"] * n
    reason: list[str | None] = [None] * n
    if mode == "fused":
        fc = FusedClusterer(cloth_weight=cloth_weight, epsilon=fused_epsilon, min_faces=min_faces)
        labels = fc.fit(enc, vecs, frames).labels_
        how = ["fused"] * n
        reason = list(fc.reasons_)
    else:
        # stage 1: faces alone; every group kept, the size rule comes last
        labels = FaceClusterer(threshold, min_faces=1).fit_predict(enc, frames)
        if mode == "two-stage" and n:
            ref = ClothingRefiner(loose_threshold=loose_threshold, cloth_threshold=cloth_threshold,
                                  ratio=cloth_ratio, window=cloth_window)
            merged = ref.fit(labels, enc, vecs, [f.time for f in faces], frames).labels_
            # a merged cluster keeps its core's stage-1 id: whoever changed id joined by clothing
            how = ["clothing" if a != b else "face" for a, b in zip(labels, merged)]
            labels = merged
        labels = _size_rule(labels, min_faces, frames)
        for i in np.flatnonzero(labels < 0):
            reason[i] = "few-faces"
    sightings = [Sighting(f, c, "unknown" if lab < 0 else h, r)
                 for f, c, lab, h, r in zip(faces, clothing, labels, how, reason)]
    return group(sightings, labels)


def _size_rule(labels: np.ndarray, min_faces: int, frames) -> np.ndarray:
    """Relabel: groups with >= min_faces faces become 0, 1, … (most faces first,
    then earliest); the rest -1."""
    labels = np.asarray(labels)
    frames = np.asarray(frames)
    groups = [np.flatnonzero(labels == k) for k in np.unique(labels[labels >= 0])]
    kept = sorted((g for g in groups if len(g) >= min_faces), key=lambda g: (-len(g), frames[g].min()))
    out = np.full(len(labels), -1, dtype=int)
    for k, g in enumerate(kept):
        out[g] = k
    return out


def make_embedder(cloth_model: str | None, device: str) -> Embedder:
    """The clothing embedder: a checkpoint's CNN, or the default ImageNet MobileNetV2."""
    from .clothing import CNNEmbedder

    return CNNEmbedder(checkpoint=cloth_model, device=device)


def run(video: str | os.PathLike, *,
        out: str | os.PathLike = default("out"),
        mode: str = default("mode"),
        threshold: float = default("threshold"),
        fps: float = default("fps"),
        start: float = default("start"),
        end: float | None = default("end"),
        detector: str = default("detector"),
        upsample: int = default("upsample"),
        min_face: int = default("min_face"),
        min_faces: int = default("min_faces"),
        loose_threshold: float = default("loose_threshold"),
        cloth_threshold: float = default("cloth_threshold"),
        cloth_ratio: float = default("cloth_ratio"),
        cloth_window: float = default("cloth_window"),
        cloth_weight: float = default("cloth_weight"),
        fused_epsilon: float = default("fused_epsilon"),
        cloth_model: str | None = default("cloth_model"),
        device: str = default("device"),
        crop_margin: float = default("crop_margin"),
        overwrite: bool = False,
        progress: Callable[[VideoInfo], Callable[[float], None]] | None = None) -> tuple[Result, Path]:
    """Cluster the people of `video`; write OUT/<video name>/; return the result and that folder.

    progress, if given, is called once with the video's info and returns a
    callback that receives the time of each sampled frame.
    """
    extraction = dict(fps=fps, start=start, end=end, detector=detector, upsample=upsample,
                      min_face=min_face, cloth_model=cloth_model, device=device, crop_margin=crop_margin)
    clustering = dict(mode=mode, threshold=threshold, min_faces=min_faces, loose_threshold=loose_threshold,
                      cloth_threshold=cloth_threshold, cloth_ratio=cloth_ratio, cloth_window=cloth_window,
                      cloth_weight=cloth_weight, fused_epsilon=fused_epsilon)
    for name, value in {**extraction, **clustering}.items():
        check(name, value)
    if end is not None and end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    info = probe(video)
    dest = output_dir(out, video)
    prepare_output(dest, overwrite)
    analyzer = FaceAnalyzer(detector=detector, upsample=upsample, min_face=min_face)
    embedder = make_embedder(cloth_model, device) if mode != "faces" else None
    ex = extract(video, info, analyzer, embedder, fps=fps, start=start, end=end, crop_margin=crop_margin,
                 progress=progress(info) if progress else None)
    log.info("%d faces in %d sampled frames", len(ex.faces), len(ex.sampled))
    if not ex.faces:
        raise NoFacesFound(f"{video}: no face found in {len(ex.sampled)} sampled frames "
                           f"(try --upsample 2, a lower --min-face, or --detector cnn)")
    persons, unknown = cluster(ex, **clustering)
    settings = {**extraction, **clustering, "tool_version": __version__}
    if embedder is not None:
        settings["cloth_embedder"] = embedder.name
    result = Result(info, ex.sampled, settings, persons, unknown)
    export(result, dest)
    return result, dest
