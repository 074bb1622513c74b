#!/usr/bin/env python3
"""Re-clustering from the feature cache: an hour of video's worth of features.

Builds a synthetic Extraction like an hour-long video sampled at 2 fps
(7,200 frames, 2–3 faces each, ~30 people in 4-second shots, 5 encoded faces
per track, clothing embeddings and layouts), writes it with the cache module, then times
loading it and clustering it in each mode (what a re-run with only
clustering settings changed does). Prints JSON rows.

With --parts N, only the join of persons left in parts (grouping.linkage.
join_parts, at the defaults) is timed instead, on N synthetic people each in
three parts of 15 faces, people spread as in real footage (means about 0.85
apart) and crowded (about 0.5 apart: everyone within another's reach).

    python -m benchmarks cache [--frames 7200] [--people 30] [--parts 1000]

--people sets how many people the hour holds (a crowded hour: 300, 1000).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


from benchmarks.harness import commit, report
from clusterer import cache
from clusterer.clothing.embedders import Clothing
from clusterer.faces.analyzer import Face
from clusterer import Extraction, cluster
from clusterer.grouping.linkage import join_parts
from clusterer.grouping.persons import PARTS_JOIN_FACES, PARTS_NEAR
from clusterer.settings import default
from clusterer.tracking import Track


PEOPLE = 30
"""People in issue 5's synthetic hour."""


def synthetic(frames: int, people: int = PEOPLE, shot: int = 8, seed: int = 0) -> Extraction:
    rng = np.random.default_rng(seed)

    def unit(d, scale):
        v = rng.normal(size=d)
        return v / np.linalg.norm(v) * scale

    face_c = [unit(128, 0.5) for _ in range(people)]
    outfits = [[(unit(256, 1.0), unit(27, 1.0)) for _ in range(3)] for _ in range(people)]
    faces, clothing, tracks, cuts = [], [], [], []
    jpeg = b"\xff\xd8" + bytes(600)
    for s0 in range(0, frames, shot):
        if s0:
            cuts.append((s0 * 12, s0 / 2))
        cast = rng.choice(people, size=rng.integers(2, 4), replace=False)
        for slot, pid in enumerate(cast):
            outfit, layout = outfits[pid][rng.integers(0, 3)]
            items = []
            for f in range(s0, min(frames, s0 + shot)):
                enc = face_c[pid] + unit(128, 0.25) if len(items) < 5 else None
                cl, lay = outfit + unit(256, 0.4), layout + unit(27, 0.15)
                faces.append(Face(f * 12, f / 2, (100 + 300 * slot, 100, 160 + 300 * slot, 160), 1.0, enc,
                                  jpeg, 0.8))
                clothing.append(Clothing((80 + 300 * slot, 163, 180 + 300 * slot, 223),
                                         (cl / np.linalg.norm(cl)).astype(np.float32), jpeg,
                                         (lay / np.linalg.norm(lay)).astype(np.float32)))
                items.append(len(faces) - 1)
            tracks.append(Track(len(tracks), len(cuts), tuple(items)))
    return Extraction(tuple(faces), tuple(clothing), tuple(f * 12 for f in range(frames)), tuple(cuts),
                      tuple(tracks))


def parts_join(people: int, spread: float, seed: int = 0) -> dict:
    """join_parts' time on `people` synthetic people, each in three parts of
    15 faces (part means 0.2 from their person's), people `spread` from the
    origin (two people about spread × 1.41 apart)."""
    rng = np.random.default_rng(seed)

    def unit(scale):
        v = rng.normal(size=128)
        return v / np.linalg.norm(v) * scale

    x = np.array([c + unit(0.2) for c in (unit(spread) for _ in range(people)) for _ in range(3)])
    labels = np.arange(len(x))
    t0 = time.perf_counter()
    out = join_parts(labels, x, [frozenset([i]) for i in labels], default("join_threshold"), default("part_ratio"),
                     PARTS_NEAR, np.full(len(x), 15.0), min_weight=PARTS_JOIN_FACES)
    return {"people": people, "parts": len(x), "spread": spread, "persons_after": len(np.unique(out)),
            "join_parts_s": round(time.perf_counter() - t0, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=7200)
    ap.add_argument("--people", type=int, default=PEOPLE, help="people in the synthetic hour")
    ap.add_argument("--parts", type=int, default=0, help="time join_parts on this many people in parts instead")
    ap.add_argument("--no-write", action="store_true", help="print the section only")
    a = ap.parse_args()
    if a.parts:
        for spread in (0.6, 0.35):
            print(json.dumps(parts_join(a.parts, spread)), flush=True)
        return
    commit_id = commit()
    ex = synthetic(a.frames, people=a.people)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp)
        t0 = time.perf_counter()
        cache.save(dest, {"k": 1}, ex)
        t_save = time.perf_counter() - t0
        size = (dest / cache.FEATURES).stat().st_size
        for mode in ("faces", "two-stage", "fused"):
            t0 = time.perf_counter()
            loaded = cache.load(dest, {"k": 1})
            t_load = time.perf_counter() - t0
            t0 = time.perf_counter()
            persons, unknown = cluster(loaded, mode=mode)
            t_cluster = time.perf_counter() - t0
            rows.append({"mode": mode, "frames": a.frames, "people": a.people, "faces": len(ex.faces), "tracks": len(ex.tracks),
                         "cache_mb": round(size / 1e6, 1), "save_s": round(t_save, 2),
                         "load_s": round(t_load, 2), "cluster_s": round(t_cluster, 2),
                         "total_s": round(t_load + t_cluster, 2), "persons": len(persons)})
            print(json.dumps(rows[-1]), flush=True)
    cols = ["mode", "faces", "tracks", "cache_mb", "load_s", "cluster_s", "total_s"]
    lines = ["", f"## Re-clustering from the cache: {a.frames} sampled frames (an hour at 2 fps)"
             + (f", {a.people} people" if a.people != PEOPLE else ""), "",
             f"`benchmarks/bench_cache.py` at `{commit_id}`: synthetic features, 2–3 faces a frame, 5 encodings a track.",
             f"Writing the cache (the first run's only extra work) took {rows[0]['save_s']} s.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    report("\n".join(lines) + "\n", not a.no_write)


if __name__ == "__main__":
    main()
