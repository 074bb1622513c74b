"""A long video in chunks: each chunk of time extracted on its own (a task
each, on any executor), then stitched into one Extraction, as if the video
had been extracted in one go, for the usual clustering.

Chunk borders lie on the sampling grid (a whole number of samples a chunk),
so the chunks sample exactly the frames one pass would. At a border, a
track that ends on the last sample of one chunk and one that starts on the
first sample of the next are one track when their boxes overlap (IoU at
least --track-iou: the tracker's own rule for consecutive samples), one to
one, best overlap first. What may differ from one pass: a scene cut that
falls exactly on a border is not looked for, and the whole-frame search
schedule (--detect-every) restarts at each border.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .. import cache
from ..app import features
from ..geometry import box_iou
from ..output.export import check_folder, output_dir
from ..output.outdir import claim
from ..settings import split_settings
from ..types import Coverage, Extraction, Track
from ..video.sampling import probe
from .executor import Serial



@dataclass(frozen=True)
class ChunkJob:
    """One chunk of a video to extract: [start, end] s, the extraction settings."""

    video: str
    start: float
    end: float | None
    extraction: dict[str, Any]
    with_clothing: bool


def bounds(start: float, end: float, chunk_seconds: float, fps: float) -> list[tuple[float, float | None]]:
    """[start, end] of each chunk, every chunk a whole number of samples long;
    the last one open-ended (None) up to `end`."""
    step = max(1, round(chunk_seconds * fps)) / fps
    n = max(1, math.ceil((end - start) / step - 1e-9))
    out = [(start + k * step, start + (k + 1) * step - 0.5 / fps) for k in range(n)]
    out[-1] = (out[-1][0], None)
    return out


def extract_chunk(job: ChunkJob):
    """The Extraction of one chunk and the clothing embedder's name (nothing cached, nothing written)."""

    info = probe(job.video)
    ex, _, name = features(job.video, info, Path("/nonexistent-cluster-video-chunk"),
                           {**job.extraction, "start": job.start, "end": job.end}, job.with_clothing, save=False)
    return ex, name


def prepare(jobs: Sequence, chunk_seconds: float, executor) -> list[str]:
    """Extract the videos of `jobs` (executor.Job) longer than `chunk_seconds`
    in chunks, all chunks of all of them one task each on `executor`, and
    store each stitched extraction as its video's feature cache (so that the
    video's run then decodes nothing). Videos with a valid cache are left
    alone. Returns the names of the videos extracted in chunks."""

    todo: list[tuple[Any, dict, dict, list[ChunkJob]]] = []
    for job in jobs:
        extraction, clustering = split_settings(job.settings)
        info = probe(job.video)
        end = extraction["end"] or info.duration
        cuts = bounds(extraction["start"], end, chunk_seconds, extraction["fps"])
        dest = output_dir(job.out, job.video)
        key = cache.cache_key(job.video, extraction)
        if len(cuts) < 2 or (dest.is_dir() and cache.load(dest, key) is not None):
            continue
        todo.append((job, key, extraction, [ChunkJob(job.video, s, e if e is not None else extraction["end"], extraction,
                                         clustering["mode"] != "faces") for s, e in cuts]))
    flat = [c for *_, cs in todo for c in cs]
    got = iter(executor.map_fn(extract_chunk, flat))
    done = []
    for job, key, extraction, cs in todo:
        parts = [next(got) for _ in cs]
        ex = stitch([p for p, _ in parts], extraction["track_iou"])
        dest = output_dir(job.out, job.video)
        with claim(dest, lambda d: check_folder(d, overwrite=True)) as stage:
            cache.save(stage.root, key, ex, embedder=parts[0][1])
            stage.commit(last=cache.META)
        done.append(dest.name)
    return done


def extract_chunked(video: str, extraction: dict[str, Any], with_clothing: bool, chunk_seconds: float,
                    executor=None):
    """The stitched Extraction of `video` from chunks of about `chunk_seconds`,
    extracted by `executor` (executor.Serial, the default, or RayExecutor)."""

    info = probe(video)
    end = extraction.get("end") or info.duration
    jobs = [ChunkJob(str(video), s, e if e is not None else extraction.get("end"), extraction, with_clothing)
            for s, e in bounds(extraction.get("start", 0.0), end, chunk_seconds, extraction["fps"])]
    parts = (executor or Serial()).map_fn(extract_chunk, jobs)
    return stitch([p for p, _ in parts], extraction["track_iou"])


def stitch(parts: Sequence, track_iou: float):
    """One Extraction from the chunks' (in time order): faces, samples, cuts
    and tracks joined, track and scene ids renumbered, tracks continued
    across each border (see the module docstring)."""

    faces, clothing, sampled, cuts, tracks = [], [], [], [], []
    with_clothing = all(p.clothing is not None for p in parts)
    prev_last: dict[int, int] = {}  # track index in `tracks` → its last face index, for tracks ending on the border
    next_id = next_scene = 0
    for p in parts:
        off = len(faces)
        faces += p.faces
        if with_clothing:
            clothing += p.clothing
        first_frame = p.sampled[0] if p.sampled else None
        sampled += p.sampled
        cuts += p.cuts
        scene_base = next_scene
        # border: this chunk's tracks starting on its first sample, against the previous chunk's ending ones
        starting = [k for k, t in enumerate(p.tracks) if first_frame is not None
                    and p.faces[t.items[0]].frame == first_frame]
        pairs = sorted(((box_iou(faces[prev_last[a]].box_xyxy, p.faces[p.tracks[b].items[0]].box_xyxy), a, b)
                        for a in prev_last for b in starting), reverse=True)
        joined: dict[int, int] = {}
        used = set()
        for v, a, b in pairs:
            if v >= track_iou and a not in used and b not in joined:
                joined[b], used = a, used | {a}
        last_sample = p.sampled[-1] if p.sampled else None
        prev_last = {}
        for k, t in enumerate(p.tracks):
            items = tuple(i + off for i in t.items)
            if k in joined:
                a = joined[k]
                tracks[a] = Track(tracks[a].id, tracks[a].scene, tracks[a].items + items)
                at = a
            else:
                tracks.append(Track(next_id, scene_base + t.scene, items))
                next_id += 1
                at = len(tracks) - 1
            if last_sample is not None and p.faces[t.items[-1]].frame == last_sample:
                prev_last[at] = tracks[at].items[-1]
        next_scene = scene_base + 1 + max((t.scene for t in p.tracks), default=0)
    covs = [p.coverage for p in parts if p.coverage is not None]
    cov = Coverage(covs[0].start, covs[-1].until, covs[-1].end, any(c.broken for c in covs)) if covs else None
    return Extraction(tuple(faces), tuple(clothing) if with_clothing else None, tuple(sampled), tuple(cuts),
                      tuple(tracks), cov, rate=parts[0].rate if parts else None)
