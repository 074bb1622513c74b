#!/usr/bin/env python3
"""The library (issue 17), measured:

  composites  six hard benchgen videos that share their six people, one
              library: library-level BCubed / WCP (and a sweep of the link
              threshold), with the per-video default and --threshold 0.44;
  real        the real clips of ../shared/real, which share no one: library
              persons drawn from more than one clip (must be none);
  halves      each real clip cut in two at a labelled sample near its middle
              (two videos of one shoot, as rushes are), one library of the
              twelve: library-level BCubed / WCP against the clips' labels
              (benchmarks/labels; identities kept apart by clip), persons
              drawn from two clips (must be none), with each layout-join
              setting of HALF_VARIANTS re-linked in memory;
  scale       re-linking a synthetic library of HOURS hours (bench_cache's
              model: ~30 people an hour out of a larger cast, 2–3 faces a
              frame at 2 fps, 5 encodings a track), in a fresh process:
              wall time and peak RSS;
  ray         the six videos extracted from scratch, serially and over a
              local Ray on the CPUs given: wall times, identical libraries;
  margin      libraries already built (--lib NAME=LIB[,LIB…]: one library, or
              several re-linked as one), re-linked in memory with each link
              variant of VARIANTS: library persons, BCubed / WCP over the
              videos that have a ground truth in --bench, and library persons
              drawn from two or more videos with no ground truth (the real
              clips, which share no one) or mixing such a video with one
              that has a ground truth (a mixed library).

Prints JSON rows; with --append, a section for benchmarks/RESULTS.md on stdout.

    python -m benchmarks library composites --work /tmp/lib-bench
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import CLIPS, LABELS, REAL, ROOT
from clusterer.library import ops, store
from clusterer.library.evaluate import evaluate_library, sweep
from clusterer.library.link import link as link_units

BENCH = ROOT / "bench-out"
SEEDS = (7, 11, 23, 17, 19, 29)


def composites(work: Path, bench: Path, link: dict) -> list[dict]:
    vids = [bench / f"hard_s{s}_60s.mp4" for s in SEEDS]
    gts = [bench / f"hard_s{s}_60s.gt.json" for s in SEEDS]
    rows = []
    for label, settings in (("per-video default", {}), ("per-video --threshold 0.44", {"threshold": 0.44})):
        lib = work / ("lib-default" if not settings else "lib-t044")
        t0 = time.perf_counter()
        ops.add(lib, vids, settings=settings, **link)
        t_add = time.perf_counter() - t0
        t0 = time.perf_counter()
        ops.relink(lib)
        t_link = time.perf_counter() - t0
        f = evaluate_library(lib, gts)
        rows.append({"run": label, **link, "add_s": round(t_add, 1), "relink_s": round(t_link, 2), **f})
        print(json.dumps(rows[-1]), flush=True)
        for r in sweep(lib, gts, [0.36, 0.39, 0.42, 0.45, 0.48, 0.51], link):
            print(json.dumps({"run": label, "sweep": True, **r}), flush=True)
    return rows


def real(work: Path, clips: Path, link: dict) -> dict:
    lib = work / "lib-real"
    data = ops.add(lib, sorted(clips.glob("*.mp4")), **link)[2]
    crossing = [p["id"] for p in data["persons"] if len({a["video"] for a in p["videos"]}) > 1]
    row = {**link, "clips": len(data["videos"]), "units": sum(len(v["units"]) for v in data["videos"]),
           "library_persons": len(data["persons"]), "persons_in_two_clips_or_more": len(crossing),
           "which": crossing}
    print(json.dumps(row), flush=True)
    return row


HALF_VARIANTS = (
    ("defaults", {}),
    ("no layout join (--link-layout-threshold 0)", {"layout_threshold": 0.0}),
    ("layout join at a video's margin (ratio 0.5)", {"layout_ratio": 0.5}),
    ("--link-layout-threshold 0.05", {"layout_threshold": 0.05}),
)
"""Link settings `halves` re-links the library with (keyword arguments of link.link)."""


def cut_halves(clips: Path, out: Path) -> list[Path]:
    """Each clip cut at the labelled frame nearest its middle (the labels sit
    on the 2-samples/s grid, so each half's samples are labelled ones) into
    CLIP_a.mp4 and CLIP_b.mp4 (H.264 CRF 16), with CLIP_x.csv: the clip's
    labels by time from the half's start, identities as CLIP:name."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    made = []
    for clip in CLIPS:
        cap = cv2.VideoCapture(str(clips / f"{clip}.mp4"))
        n, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS)
        cap.release()
        rows = list(csv.DictReader((LABELS / f"{clip}.csv").open()))
        cut = min({int(r["frame"]) for r in rows}, key=lambda f: (abs(f - n // 2), f))
        for part, (a, b) in (("a", (0, cut)), ("b", (cut, n))):
            video = out / f"{clip}_{part}.mp4"
            if not video.exists():
                subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clips / f"{clip}.mp4"), "-vf",
                                f"trim=start_frame={a}:end_frame={b},setpts=PTS-STARTPTS", "-an", "-c:v", "libx264",
                                "-crf", "16", "-preset", "fast", str(video)], check=True)
            with (out / f"{clip}_{part}.csv").open("w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["time", "left", "top", "right", "bottom", "identity"])
                for r in rows:
                    if a <= int(r["frame"]) < b:
                        w.writerow([round(float(r["time"]) - a / fps, 4), r["left"], r["top"], r["right"], r["bottom"],
                                    f"{clip}:{r['identity']}"])
            made.append(video)
    return made


def halves(work: Path, clips: Path) -> list[dict]:
    vids = cut_halves(clips, work / "halves")
    lib = work / "lib-halves"
    ops.add(lib, vids)
    _, videos = store.load(lib)
    gts = sorted(glob.glob(str(work / "halves" / "*.csv")))
    units = [(v, u) for v in videos for u in v.units]
    x, w = store.encodings(videos), ops.unit_weights(units)
    tokens, vid = ops.tokens_of(videos), [v.name for v, _ in units]
    rows = []
    for label, kw in HALF_VARIANTS:
        labels = link_units(x, w, tokens, [None] * len(units), videos=vid,
                            layouts=[(u.layouts, u.layout_weights) for _, u in units], **kw)
        f = evaluate_library(lib, gts, {(v.name, u.person): str(lab) for (v, u), lab in zip(units, labels)})
        clips_of: dict[int, set[str]] = {}
        for name, lab in zip(vid, labels):
            clips_of.setdefault(int(lab), set()).add(name.rsplit("_", 1)[0])
        rows.append({"variant": label, "videos": len(videos), "units": len(units),
                     "library_persons": len(set(labels.tolist())),
                     **{k: f[k] for k in ("bcubed_p", "bcubed_r", "bcubed_f", "wcp", "identities")},
                     "persons_across_clips": sum(len(c) > 1 for c in clips_of.values())})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def synthetic_library(lib: Path, hours: int, cast: int, per_hour: int = 30, seed: int = 0, brief: int = 0) -> int:
    """library.json + units.npz for `hours` hour-long videos, each with
    `per_hour` people of a cast of `cast`. Each unit (a person of a video) is
    as bench_cache's features make it: the face-weighted mean of its tracks'
    encodings, a track the mean of 5 encodings (person centre, norm 0.5, plus
    noise of norm 0.25 each); an hour has ~2,250 tracks (8-sample shots of
    2–3 people at 2 fps), so ~75 a person; units that shared a shot conflict.
    Each unit keeps store.LAYOUTS_PER_UNIT clothing layouts: its outfit in the
    hour (the person's usual one in a third of the hours, else another) and
    its framings (noise of norm 0.05). `brief` more units an hour are cast
    members seen briefly (3–9 faces, one or two tracks, face noise of norm
    0.4, their usual outfit): the ones the layout join looks at."""
    rng = np.random.default_rng(seed)

    def unit(n, d, scale):
        v = rng.normal(size=(n, d))
        return v / np.linalg.norm(v, axis=1, keepdims=True) * scale

    def layouts(outfit, n):
        v = outfit + unit(n, store.LAYOUT_DIM, 0.05)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    centre = unit(cast, 128, 0.5)
    usual = unit(cast, store.LAYOUT_DIM, 1.0)
    videos = []
    for h in range(hours):
        who = rng.choice(cast, size=per_hour, replace=False)
        tracks = rng.integers(40, 110, size=per_hour)
        units = []
        for j, (pid, nt) in enumerate(zip(who, tracks)):
            noise = unit(nt * 5, 128, 0.25).reshape(nt, 5, 128).mean(1).mean(0)
            outfit = usual[pid] if rng.random() < 1 / 3 else unit(1, store.LAYOUT_DIM, 1.0)[0]
            units.append(store.Unit(f"person_{j + 1:03d}", tuple(range(j * 200, j * 200 + int(nt))), int(nt) * 8,
                                    0.0, 3600.0, ((0.0, 3600.0),), (), (centre[pid] + noise).astype(np.float32),
                                    layouts(outfit, store.LAYOUTS_PER_UNIT),
                                    np.full(store.LAYOUTS_PER_UNIT, nt / store.LAYOUTS_PER_UNIT, np.float32)))
        for j, pid in enumerate(rng.choice(cast, size=brief, replace=False), start=per_hour):
            nt = int(rng.integers(1, 3))
            units.append(store.Unit(f"person_{j + 1:03d}", tuple(range(j * 200, j * 200 + nt)),
                                    int(rng.integers(3, 10)), 0.0, 3600.0, ((0.0, 3600.0),), (),
                                    (centre[pid] + unit(1, 128, 0.4)[0]).astype(np.float32),
                                    layouts(usual[pid], nt), np.ones(nt, np.float32)))
        # 900 shots of 2–3 people: the pairs that shared a shot
        pairs = set()
        for _ in range(900):
            k = rng.choice(per_hour, size=rng.integers(2, 4), replace=False)
            pairs |= {(int(min(a, b)), int(max(a, b))) for a in k for b in k if a != b}
        videos.append(store.Video(f"hour_{h:05d}", f"/archive/hour_{h:05d}.mp4", {"size": 0}, {}, None,
                                  tuple(units), tuple(sorted(pairs))))
    lib.mkdir(parents=True, exist_ok=True)
    data = {"format": store.FORMAT, "settings": {}, "videos": [v.to_json() for v in videos], "persons": [],
            "written": []}
    (lib / store.LIBRARY).write_text(json.dumps(data))
    (lib / store.UNITS).write_bytes(store.units_npz(videos))
    return sum(len(v.units) for v in videos)


def scale(work: Path, hours: int, cast: int, against: Path | None = None, rounds: int = 1,
          brief: int = 0) -> list[dict]:
    """Re-link the synthetic library in a fresh process, from a fresh copy each
    time; with `against` (a checkout of other code, e.g. `git archive COMMIT
    clusterer | tar -x -C DIR`), that code and this one in turn, `rounds` times."""
    lib = work / f"lib-{hours}h"
    shutil.rmtree(lib, ignore_errors=True)
    n = synthetic_library(lib, hours, cast, brief=brief)
    pristine = work / f"lib-{hours}h-pristine"
    shutil.rmtree(pristine, ignore_errors=True)
    shutil.copytree(lib, pristine)
    code = ("import json,os,resource,sys,time;sys.path.insert(0,os.getcwd());from clusterer.library import ops;"
            "import faiss;t=time.perf_counter();"
            f"d=ops.relink({str(lib)!r});t=time.perf_counter()-t;"
            "print(json.dumps({'relink_s':round(t,2),'persons':len(d['persons']),"
            "'cpu_s':round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),2),"
            "'peak_rss_mb':round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)}))")
    rows = []
    for _ in range(rounds):
        for where in ([against] if against else []) + [ROOT]:
            shutil.rmtree(lib)
            shutil.copytree(pristine, lib)
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], cwd=where, capture_output=True, text=True, check=True)
            row = {"code": str(where), "hours": hours, "cast": cast, "brief_per_hour": brief, "units": n,
                   "process_s": round(time.perf_counter() - t0, 2),
                   **json.loads(out.stdout.strip().splitlines()[-1]),
                   "load": round(os.getloadavg()[0], 1),
                   "library_json_mb": round((lib / store.LIBRARY).stat().st_size / 1e6, 1),
                   "units_npz_mb": round((lib / store.UNITS).stat().st_size / 1e6, 1)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def ray_vs_serial(work: Path, bench: Path, cpus: int) -> dict:
    import ray

    vids = [bench / f"hard_s{s}_60s.mp4" for s in SEEDS]
    row = {}
    libs = {}
    for kind in ("serial", "ray"):
        lib = work / f"lib-{kind}"
        shutil.rmtree(lib, ignore_errors=True)
        if kind == "ray":
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                     runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
        t0 = time.perf_counter()
        ops.add(lib, vids, executor=kind)
        row[f"{kind}_s"] = round(time.perf_counter() - t0, 1)
        libs[kind] = lib
    ray.shutdown()
    a, b = (json.loads((libs[k] / store.LIBRARY).read_text()) for k in ("serial", "ray"))
    row["identical_persons"] = a["persons"] == b["persons"]
    row["identical_videos"] = a["videos"] == b["videos"]
    row["identical_units_npz"] = (libs["serial"] / store.UNITS).read_bytes() == (libs["ray"] / store.UNITS).read_bytes()
    import pickle

    _, vs = store.load(libs["ray"])
    row["task_result_bytes_per_video"] = round(np.mean([len(pickle.dumps(v)) for v in vs]))  # what a task returns
    row["task_args_bytes"] = len(pickle.dumps(ops.Job(str(vids[0]), str(libs["ray"] / "videos"), {}, None, 4)))
    row["cpus"] = cpus
    print(json.dumps(row), flush=True)
    return row


VARIANTS = (
    ("round two's rule (before)", {"margins": False}),
    ("margins (defaults)", {}),
    ("margins, no layout join (--link-layout-threshold 0)", {"layout_threshold": 0.0}),
    ("margins, --link-layout-threshold 0.03", {"layout_threshold": 0.03}),
    ("margins, --link-layout-threshold 0.05", {"layout_threshold": 0.05}),
    ("margins, layout join at a video's margin (ratio 0.5)", {"layout_ratio": 0.5}),
    ("margins, --link-rival-ratio 0.9", {"rival_ratio": 0.9}),
    ("margins, --link-rival-ratio 1.2", {"rival_ratio": 1.2}),
    ("margins, --link-rival-ratio 1.5", {"rival_ratio": 1.5}),
    ("margins, --link-threshold 0.44", {"threshold": 0.44}),
    ("margins, --link-threshold 0.45", {"threshold": 0.45}),
    ("margins, --link-threshold 0.48", {"threshold": 0.48}),
    ("margins, --link-cast-ratio 0.95", {"cast_ratio": 0.95}),
    ("margins, --link-attach-ratio 0.88", {"attach_ratio": 0.88}),
    ("margins, --link-attach-ratio 0.9", {"attach_ratio": 0.9}),
    ("margins, link 0.45, attach 0.92", {"threshold": 0.45, "attach_ratio": 0.92}),
    ("before, link 0.45, attach 0.92", {"margins": False, "threshold": 0.45, "attach_ratio": 0.92}),
    ("margins, --link-min-faces 5", {"min_faces": 5}),
)
"""Link variants `margin` measures (keyword arguments of link.link)."""


def margin(libs: dict[str, list[Path]], bench: Path, variants=VARIANTS) -> list[dict]:
    rows = []
    for name, roots in libs.items():
        loaded = [(root, store.load(root)[1]) for root in roots]
        videos = sorted((v for _, vs in loaded for v in vs), key=lambda v: v.name)  # as the library orders them
        units = [(v, u) for v in videos for u in v.units]
        x, w = store.encodings(videos), ops.unit_weights(units)
        tokens, vid = ops.tokens_of(videos), [v.name for v, _ in units]
        has_gt = {v.name: bench / f"{v.name}.gt.json" for v in videos if (bench / f"{v.name}.gt.json").exists()}
        for label, kw in variants:
            labels = link_units(x, w, tokens, [None] * len(units), videos=vid,
                                layouts=[(u.layouts, u.layout_weights) for _, u in units], **kw)
            row = {"library": name, "variant": label, "units": len(units), "library_persons": len(set(labels))}
            for root, vs in loaded:
                gts = [has_gt[v.name] for v in vs if v.name in has_gt]
                if gts:
                    person_of = {(v.name, u.person): str(lab) for (v, u), lab in zip(units, labels)}
                    f = evaluate_library(root, gts, person_of)
                    row.update({k: f[k] for k in ("bcubed_p", "bcubed_r", "bcubed_f", "wcp")})
            by_person: dict[int, set[str]] = {}
            for v, lab in zip(vid, labels):
                by_person.setdefault(int(lab), set()).add(v)
            row["persons_across_videos_without_gt"] = sum(len(s - has_gt.keys()) > 1 for s in by_person.values())
            row["persons_mixing_gt_and_no_gt"] = sum(bool(s - has_gt.keys()) and bool(s & has_gt.keys())
                                                    for s in by_person.values())
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("composites", "real", "halves", "scale", "ray", "margin"))
    ap.add_argument("--work", help="a scratch folder (libraries and caches go there; all but margin)")
    ap.add_argument("--lib", action="append", default=[], metavar="NAME=LIB[,LIB...]",
                    help="margin: a library built before (several, comma-separated: re-linked as one)")
    ap.add_argument("--bench", default=str(BENCH), help="folder of the hard_s*_60s.mp4 composites")
    ap.add_argument("--real", default=str(REAL))
    ap.add_argument("--hours", type=int, default=1000)
    ap.add_argument("--cast", type=int, default=3000)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--against", help="scale: also re-link with the clusterer package under this folder, in turn")
    ap.add_argument("--rounds", type=int, default=1, help="scale: runs of each code")
    ap.add_argument("--brief", type=int, default=0, help="scale: brief persons an hour besides the 30")
    ap.add_argument("--link-threshold", type=float)
    ap.add_argument("--link-attach-ratio", type=float)
    a = ap.parse_args()
    if a.what == "margin":
        if not a.lib:
            ap.error("margin needs --lib NAME=LIB[,LIB...]")
        if not Path(a.bench).is_dir():
            ap.error(f"{a.bench}: no such folder (--bench: where the composites and their .gt.json are)")
        margin({n: [Path(p) for p in paths.split(",")] for n, _, paths in (s.partition("=") for s in a.lib)},
               Path(a.bench))
        return
    if not a.work:
        ap.error(f"{a.what} needs --work")
    work = Path(a.work)
    link = {k: v for k, v in (("link_threshold", a.link_threshold), ("link_attach_ratio", a.link_attach_ratio))
            if v is not None}
    work.mkdir(parents=True, exist_ok=True)
    if a.what == "composites":
        composites(work, Path(a.bench), link)
    elif a.what == "real":
        real(work, Path(a.real), link)
    elif a.what == "halves":
        halves(work, Path(a.real))
    elif a.what == "scale":
        scale(work, a.hours, a.cast, Path(a.against) if a.against else None, a.rounds, a.brief)
    else:
        ray_vs_serial(work, Path(a.bench), a.cpus)


if __name__ == "__main__":
    main()
