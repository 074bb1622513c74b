#!/usr/bin/env python3
"""Accuracy and speed of cluster-video on labelled benchmark videos.

Builds the videos with ../shared/bench/benchgen.py (photos of real people,
never copied into this repository), runs every clustering mode side by side
in one process on the same extraction, scores each with
../shared/bench/score.py, and writes benchmarks/RESULTS.md.

    python -m benchmarks hard [--seeds 7,11,23] [--seconds 60] [--level hard]

Timing: "faces" runs extraction without clothing; "two-stage" and "fused"
share one extraction with clothing (its time is counted in both). Wall
times include decoding, detection, encoding, clothing and clustering, not
export. rtf is the real-time factor: seconds of video per second of work.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path


from benchmarks.harness import BENCH, ROOT, build_video, commit, report, score
from clusterer import FaceAnalyzer, cluster, extract, probe
from clusterer.output.export import export
from clusterer.clothing.embedders import make_embedder
from clusterer.settings import default
from clusterer.types import Result, Sighting, group


def audit(gt_path: Path, clusters: Path, ex) -> dict:
    """Checks score.py does not make: same-frame merges, detections with no
    ground-truth face inside persons, and cut detection against the true shots."""
    gt = json.loads(gt_path.read_text())
    data = json.loads(clusters.read_text())
    by_frame: dict[int, list] = {}
    for fr, _name, *box in gt["faces"]:
        by_frame.setdefault(int(fr), []).append(box)
    sys.path.insert(0, str(BENCH))
    from score import iou

    same_frame = sum(len(p["faces"]) - len({f["frame"] for f in p["faces"]}) for p in data["persons"])
    false_in = sum(1 for p in data["persons"] for f in p["faces"]
                   if not any(iou(f["box"], b) >= default("iou") for b in by_frame.get(f["frame"], [])))
    starts = [s["start"] for s in gt["shots"]][1:]
    sampled = list(ex.sampled)
    found = [fr for fr, _ in ex.cuts]
    true_cuts = {s for s in starts if any(a < s <= b for a, b in zip(sampled, sampled[1:]))}
    hit = sum(any(a < s <= b for s in starts) for a, b in zip(sampled, sampled[1:]) if b in found)
    return {"same_frame_merges": same_frame, "false_in_persons": false_in,
            "cuts": f"{hit}/{len(found)} found true, {len(true_cuts)} seen"}


def chinese_whispers(ex, threshold: float = 0.5):
    """The anchor: dlib's own example, chinese_whispers_clustering(descriptors, 0.5)."""
    import dlib

    labels = dlib.chinese_whispers_clustering([dlib.vector(f.encoding) for f in ex.faces], threshold)
    sizes = {k: labels.count(k) for k in set(labels)}
    order = sorted((k for k in sizes if sizes[k] >= 2), key=lambda k: -sizes[k])
    rank = {k: i for i, k in enumerate(order)}
    lab = [rank.get(k, -1) for k in labels]
    return group([Sighting(f, None, "face" if l >= 0 else "unknown") for f, l in zip(ex.faces, lab)], lab)


def faces_only_per_face(ex):
    """The spine's per-face clustering (no tracks): centroid linkage at 0.36 on
    every face's own encoding."""
    import numpy as np

    from clusterer import FaceClusterer, TrackTable
    from clusterer.grouping.persons import _size_rule

    frames = [f.frame for f in ex.faces]
    lab = FaceClusterer(0.36, 1).fit_predict(TrackTable.rows(np.stack([f.encoding for f in ex.faces]), frames))
    lab = _size_rule(lab, 2, np.ones(len(frames)), np.array(frames))
    return group([Sighting(f, None, "face" if l >= 0 else "unknown") for f, l in zip(ex.faces, lab)], lab)


def run_seed(video: Path, runs: Path) -> list[dict]:
    info = probe(video)
    gt = video.with_suffix(".gt.json")
    analyzer = FaceAnalyzer()
    rows = []

    t0 = time.perf_counter()
    ex_all = extract(video, info, analyzer, track_encodings=10**6)  # every face encoded
    t_extract_all = time.perf_counter() - t0
    t0 = time.perf_counter()
    ex_faces = extract(video, info, analyzer)
    t_extract_faces = time.perf_counter() - t0
    embedder = make_embedder(None, "cpu")
    t0 = time.perf_counter()
    ex_cloth = extract(video, info, analyzer, embedder)
    t_extract_cloth = time.perf_counter() - t0

    cases = [("chinese-whispers 0.5 (anchor)", ex_all, t_extract_all, chinese_whispers),
             ("per-face 0.36 (no tracks)", ex_all, t_extract_all, faces_only_per_face),
             ("faces", ex_faces, t_extract_faces, lambda ex: cluster(ex, mode="faces")),
             ("two-stage", ex_cloth, t_extract_cloth, lambda ex: cluster(ex, mode="two-stage")),
             ("fused", ex_cloth, t_extract_cloth, lambda ex: cluster(ex, mode="fused"))]
    for name, ex, t_ex, fn in cases:
        t0 = time.perf_counter()
        persons, unknown = fn(ex)
        t_cl = time.perf_counter() - t0
        dest = runs / video.stem / name.split()[0]
        dest.mkdir(parents=True, exist_ok=True)
        export(Result(info, ex.sampled, {"mode": name}, persons, unknown, ex.cuts), dest)
        s = score(gt, dest / "clusters.json")
        s.update(audit(gt, dest / "clusters.json", ex))
        wall = t_ex + t_cl
        rows.append({"video": video.stem, "mode": name, **s, "wall_s": round(wall, 1),
                     "cluster_s": round(t_cl, 3), "rtf": round(info.duration / wall, 2)})
        print(json.dumps(rows[-1]), flush=True)
    rows.append({"video": video.stem, "clothing_overhead": round(t_extract_cloth / t_extract_faces - 1, 3),
                 "faces": len(ex_cloth.faces), "encoded": ex_cloth.n_encoded, "tracks": len(ex_cloth.tracks),
                 "speedup_from_tracks": round(t_extract_all / t_extract_faces, 2),
                 "no_clothing": sum(c.missing for c in ex_cloth.clothing)})
    return rows


COLUMNS = ["mode", "bcubed_p", "bcubed_r", "bcubed_f", "pairwise_f", "wcp", "persons", "identities",
           "unknown_rate", "det_recall", "false_faces", "false_in_persons", "same_frame_merges", "wall_s", "rtf"]




def markdown(rows: list[dict], args, commit_id: str) -> str:
    enc = "?"
    out = ["## Benchmark results: every mode on the hard videos", "",
           f"- commit: `{commit_id}`",
           f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
           f"{__import__('os').cpu_count()} cores, CPU only",
           f"- videos: `benchgen.py --level {args.level} --seconds {args.seconds} --seed S` "
           f"(1280×720, 25 fps)", ""]
    for video in dict.fromkeys(r["video"] for r in rows):
        gt = json.loads((Path(args.out) / f"{video}.gt.json").read_text())
        enc = gt.get("encoder", "?")
        out += [f"### {video} (encoder: {enc})", "",
                "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for r in rows:
            if r["video"] == video and "mode" in r:
                out.append("| " + " | ".join(str(r.get(c, "")) for c in COLUMNS) + " |")
        extra = next(r for r in rows if r["video"] == video and "clothing_overhead" in r)
        cuts = next(r["cuts"] for r in rows if r["video"] == video and "cuts" in r)
        out += ["", f"- Clothing adds {extra['clothing_overhead'] * 100:.1f} % to extraction time; "
                f"{extra['no_clothing']} of {extra['faces']} faces had no clothing crop.",
                f"- Tracks: {extra['tracks']} tracks; {extra['encoded']} encodings computed for "
                f"{extra['faces']} faces detected ({extra['encoded'] / max(1, extra['faces']):.2f}); "
                f"extraction with every face encoded took {extra['speedup_from_tracks']:.2f}× as long.",
                f"- Scene cuts: {cuts}.", ""]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="7")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--level", default="hard")
    ap.add_argument("--out", default=str(ROOT / "bench-out"))
    ap.add_argument("--no-write", action="store_true", help="print the section only")
    args = ap.parse_args()
    if not (BENCH / "benchgen.py").exists():
        sys.exit(f"benchmark media not found at {BENCH}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    commit_id = commit()  # the code this run imported, before any later edit
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        rows += run_seed(build_video(out, seed, args.seconds, args.level), out / "runs")
    report(markdown(rows, args, commit_id), not args.no_write)


if __name__ == "__main__":
    main()
