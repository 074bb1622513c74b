#!/usr/bin/env python3
"""Grouping settings side by side (issue 14): each video is extracted once at
the defaults, then grouped with every variant of the clustering settings, so
that the variants differ in nothing else; BCubed F and precision per video.

Videos: the hard composites the settings were chosen on, composites of seeds
never used to choose anything (built when missing), the real clips (scored
against benchmarks/labels/), and with --long the composites joined into one
long video (people come back minutes later, in the same photo and clothes or
in another), scored against their joined ground truth.

    python -m benchmarks grouping --variants 'cloth_window=30;cloth_window=60' [--long] [--append]
    python -m benchmarks grouping --detectors mtcnn,hog   # each detector's extraction side by side

A variant is a comma-separated list of setting=value (clustering settings, as
`cluster-video --sweep` would re-cluster from the cache); 'defaults' is none.
"""
from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import time
from pathlib import Path

from benchmarks.harness import BENCH, CLIPS, LABELS, REAL, ROOT, build_video, commit, report
from clusterer import FaceAnalyzer, cluster, extract, probe
from clusterer.clothing.embedders import make_embedder
from clusterer.evaluate import evaluate, load_ground_truth, predictions
from clusterer.settings import SETTINGS, Stage, check, default

TUNED = (7, 11, 23, 17, 19, 29, 31)
"""The composites earlier sessions chose settings on."""
HELD_OUT = (37, 41, 43, 47, 53, 59, 61, 67)
"""Composites no setting was chosen on (37, 41, 43 from session 11; the others from session 12)."""
WORK = ROOT / "bench-out" / "grouping"
"""Extractions, pickled per commit (re-runs of one commit re-group only), and the long video."""


def parse_variant(text: str) -> dict:
    """'cloth_window=60,join_ratio=0.85' → keyword arguments of cluster(), typed as their defaults."""
    out: dict = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part == "defaults":
            continue
        key, _, value = part.partition("=")
        setting = SETTINGS.get(key)
        if setting is None or Stage.CLUSTERING not in setting.stages or key == "mode" or not value:
            raise SystemExit(f"not a clustering setting=value: {part!r}")
        out[key] = type(setting.default)(value)
    return out


def joined(videos: list[Path], out: Path) -> Path:
    """The videos one after another (stream copy) as `out`, with their ground truths joined."""
    if not (out.exists() and out.with_suffix(".gt.json").exists()):
        out.parent.mkdir(parents=True, exist_ok=True)
        listing = out.with_suffix(".txt")
        listing.write_text("".join(f"file '{v.resolve()}'\n" for v in videos))
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                        "-c", "copy", str(out)], check=True)
        gt: dict = {}
        offset = 0
        for v in videos:
            part = json.loads(v.with_suffix(".gt.json").read_text())
            if not gt:
                gt = {**part, "faces": [], "shots": [], "identities": {}}
            gt["faces"] += [[f[0] + offset, *f[1:]] for f in part["faces"]]
            gt["shots"] += [{**s, "start": s["start"] + offset, "end": s["end"] + offset} for s in part["shots"]]
            for name, about in part["identities"].items():
                gt["identities"].setdefault(name, about)
            offset += part["n_frames"]
        gt.update(n_frames=offset, video=out.name)
        out.with_suffix(".gt.json").write_text(json.dumps(gt))
    return out


def extraction(video: Path, tag: str, analyzer, embedder):
    """(VideoInfo, Extraction) at the defaults (but for the analyzer's detector),
    from WORK when this commit already made it."""
    det = analyzer.detector.name.value
    path = WORK / (f"{video.stem}.{tag}.pkl" if det == default("detector") else f"{video.stem}.{tag}.{det}.pkl")
    if path.exists():
        return pickle.loads(path.read_bytes())
    info = probe(video)
    t0 = time.perf_counter()
    ex = extract(video, info, analyzer, embedder)
    print(json.dumps({"extracted": video.stem, "faces": len(ex.faces), "s": round(time.perf_counter() - t0, 1)}),
          flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps((info, ex)))
    return info, ex


def run(videos: list[tuple[str, str, Path, Path]], variants: list[str], modes: list[str], tag: str,
        detectors: list[str] = (default("detector"),)) -> list[dict]:
    """One row per (video, variant, mode, detector): F, P, persons, detection recall."""
    embedder = make_embedder(None, "cpu")
    analyzers = {d: FaceAnalyzer(detector=d) for d in detectors}
    rows = []
    for group, name, video, gt_path in videos:
        for det, analyzer in analyzers.items():
            info, ex = extraction(video, tag, analyzer, embedder)
            gt = load_ground_truth(gt_path, ex.sampled, info.fps)
            for variant in variants:
                for mode in modes:
                    persons, unknown = cluster(ex, mode=mode, **parse_variant(variant))
                    f = evaluate(predictions(persons, unknown), ex.sampled, gt)
                    rows.append({"group": group, "video": name, "variant": variant, "mode": f"{mode}|{det}",
                                 "f": f.get("bcubed_f"), "p": f.get("bcubed_p"), "persons": f.get("persons"),
                                 "det": f.get("det_recall")})
                    print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(rows: list[dict], variants: list[str], modes: list[str], commit_id: str,
             detectors: list[str] = (default("detector"),)) -> str:
    groups = list(dict.fromkeys(r["group"] for r in rows))
    cell = {(r["video"], r["variant"], r["mode"]): r for r in rows}
    modes = [f"{m}|{d}" for m in modes for d in detectors]
    head = [f"{v} ({m.replace('|', ', ')})" if len(modes) > 1 else v for m in modes for v in variants]
    lines = [f"## Grouping settings side by side (`benchmarks/bench_grouping.py`, commit `{commit_id}`)", "",
             "Each video extracted once at the defaults" + (" with each detector" if len(detectors) > 1 else "")
             + ", then grouped with each variant; "
             "BCubed F (precision) and persons" + (", and the labelled faces found" if len(detectors) > 1 else "")
             + ".", "",
             "| group | video | " + " | ".join(head) + " |", "|---" * (len(head) + 2) + "|"]
    for g in groups:
        names = list(dict.fromkeys(r["video"] for r in rows if r["group"] == g))
        for n in names:
            lines.append(f"| {g} | {n} | " + " | ".join(
                ("{f:.3f} ({p:.3f}) {persons}" + (", found {det:.3f}" if len(detectors) > 1 else "")).format(
                    **cell[(n, v, m)]) for m in modes for v in variants) + " |")
        means = []
        for m in modes:
            for v in variants:
                sel = [cell[(n, v, m)] for n in names]
                means.append(f"**{sum(r['f'] for r in sel) / len(sel):.3f}** (min P {min(r['p'] for r in sel):.3f})")
        lines.append(f"| {g} | mean | " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def video_options(ap: argparse.ArgumentParser) -> None:
    """The options that choose benchmark_videos' videos."""
    ap.add_argument("--held-out", default=",".join(map(str, HELD_OUT)), help="composite seeds never tuned on")
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--long", action="store_true", help="also the tuned composites joined into one video")


def benchmark_videos(held_out: str, clips: str, long: bool) -> list[tuple[str, str, Path, Path]]:
    """(group, name, video, ground truth) of the tuned composites, the held-out
    seeds (comma-separated), the real clips named and, if `long`, the tuned
    composites joined into one video; composites are built when missing."""
    if not (BENCH / "benchgen.py").exists():
        raise SystemExit(f"benchmark media not found at {BENCH}")
    out = ROOT / "bench-out"
    tuned = [build_video(out, s, 60, "hard") for s in TUNED]
    held = [build_video(out, int(s), 60, "hard") for s in held_out.split(",") if s]
    videos = [("composites", v.stem, v, v.with_suffix(".gt.json")) for v in tuned]
    videos += [("held-out", v.stem, v, v.with_suffix(".gt.json")) for v in held]
    videos += [("real", c, REAL / f"{c}.mp4", LABELS / f"{c}.csv") for c in clips.split(",") if c]
    if long:
        joint = joined(tuned, WORK / f"hard_{len(tuned)}x60s.mp4")
        videos.append(("long", joint.stem, joint, joint.with_suffix(".gt.json")))
    return videos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", default="defaults", help="variants separated by ';' (see the module doc)")
    ap.add_argument("--modes", default="two-stage")
    ap.add_argument("--detectors", default=default("detector"), help="comma-separated (e.g. mtcnn,hog)")
    video_options(ap)
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    a = ap.parse_args()
    commit_id = commit()
    variants = [v.strip() for v in a.variants.split(";") if v.strip()]
    for v in variants:
        parse_variant(v)  # a bad variant stops the study before any extraction
    modes = [m.strip() for m in a.modes.split(",")]
    detectors = [d.strip() for d in a.detectors.split(",") if d.strip()]
    for d in detectors:
        check("detector", d)
    videos = benchmark_videos(a.held_out, a.clips, a.long)
    tag = commit_id.split()[0] + ("-dirty" if "uncommitted" in commit_id else "")
    report(markdown(run(videos, variants, modes, tag, detectors), variants, modes, commit_id, detectors), a.append)


if __name__ == "__main__":
    main()
