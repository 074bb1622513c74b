#!/usr/bin/env python3
"""Speed, side by side in one run on one video: the decoding floor, the
seed-style pipeline (the tool this project replaces: HOG upsampled once on
every sampled frame, every face encoded by dlib), cluster-video at its
defaults and with dlib's own encoder, a per-stage breakdown, the wait for
the first sample of a late --start (seeking or not), pairs of fresh
processes (seed-style against the defaults, alternated: the ratio within
each pair, so that the host's drift cancels), where a fresh run's time goes
(until its first sample is done, the samples, after the last), and a py-spy
profile of the default run summarised by stage. With --long, also fresh
runs of the tuned composites joined into one 7-minute video (what a fixed
start costs once a video is longer). Appends a section to benchmarks/RESULTS.md.

    python -m benchmarks speed [--video bench-out/hard_s7_60s.mp4] [--no-profile] [--pairs 3] [--long]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from benchmarks.harness import BENCH, ROOT, commit, report
from clusterer import FaceAnalyzer, iter_frames, probe, run

PROFILE_RATE = 50
"""py-spy samples per second per thread."""

STAGES = (
    # (label, substrings of a stack that put a sample in it), first match wins
    ("loading models and imports", ("_find_and_load", "models.py", "_build_net (", "deepsort_mobilenet",
                                    "load_networks")),
    ("face search, tracked regions", ("detect_near",)),
    ("face search, whole frame (worker threads)", ("FaceAnalyzer.detect_batch (",)),
    ("face encodings (torch)", ("encode_chips", "DlibEncoder.encode")),
    ("landmarks and quality", ("FaceAnalyzer._describe",)),
    ("clothing crops and CNN", ("clothing/",)),
    ("decoding", ("sampling.py",)),
    ("scene cuts", ("scenes.py",)),
    ("tracking", ("tracking.py",)),
    ("clustering", ("clustering.py", "refine.py", "fused.py")),
    ("export and gallery", ("export.py", "report.py", "names.py")),
)


SEED_STYLE = "seed-style: HOG upsample 1 on every sample, every face encoded by dlib"


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def seed_style(video: Path) -> int:
    an = FaceAnalyzer(detector="hog", upsample=1, min_face=0, encoder="dlib")
    return sum(len(an.analyze(f)) for f in iter_frames(video, fps=2.0))


def late_start(video: Path, start: float, repeats: int = 3) -> tuple[float, float]:
    """Median seconds to the first sample from `start`: seeking (the default)
    and decoding every frame before it (seeking off), alternated."""
    from clusterer.video import sampling

    def first() -> float:
        t0 = time.perf_counter()
        it = iter_frames(video, fps=2.0, start=start)
        next(it)
        it.close()
        return time.perf_counter() - t0

    seek, decode = [], []
    default_min = sampling.SEEK_MIN
    try:
        for _ in range(repeats):
            sampling.SEEK_MIN = default_min
            seek.append(first())
            sampling.SEEK_MIN = float("inf")
            decode.append(first())
    finally:
        sampling.SEEK_MIN = default_min
    return sorted(seek)[repeats // 2], sorted(decode)[repeats // 2]


TIMED_RUN = """import json, sys, time
from clusterer import cli
times = []
class Marked(cli.Progress):
    def update(self, t):
        times.append(time.time())
        super().update(t)
cli.Progress = Marked
cli.main([sys.argv[1], "--out", sys.argv[2], "-q"])
print(json.dumps({"first": times[0], "last": times[-1], "end": time.time(), "samples": len(times)}))"""
"""The command at its defaults in a fresh process that prints when (the wall clock)
its first and last samples were done and when its main returned; the interpreter's
exit comes after, as a command's does."""


def timed_run(video: Path) -> dict:
    """A fresh process's default command: wall seconds ('wall', interpreter start and
    exit included) and TIMED_RUN's marks, in seconds from the process's launch."""
    with tempfile.TemporaryDirectory() as tmp:
        launched, t0 = time.time(), time.perf_counter()
        out = subprocess.run([sys.executable, "-c", TIMED_RUN, str(video), tmp], check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout
        wall = time.perf_counter() - t0
    marks = json.loads(out.strip().splitlines()[-1])
    return {"wall": wall, "samples": marks["samples"],
            **{k: marks[k] - launched for k in ("first", "last", "end")}}


def run_phases(video: Path, duration: float, runs: int) -> list[str]:
    """Table rows: where `runs` fresh default runs spend their time."""
    rows = []
    for k in range(runs):
        m = timed_run(video)
        steady = duration * (m["samples"] - 1) / m["samples"] / max(m["last"] - m["first"], 1e-9)
        rows.append(f"| {k + 1} | {m['wall']:.1f} | {duration / m['wall']:.2f} | {m['first']:.2f} | "
                    f"{m['last'] - m['first']:.2f} | {steady:.2f} | {m['end'] - m['last']:.2f} | "
                    f"{m['wall'] - m['end']:.2f} |")
    return rows


PHASES_HEAD = ["| run | wall s | × real time | until the first sample is done s | first to last sample s | "
               "× real time over the samples | after the last sample until main returns s | "
               "the interpreter's exit s |",
               "|---|---|---|---|---|---|---|---|"]


def cold_pairs(video: Path, pairs: int) -> list[tuple[float, float]]:
    """(seed-style, default) wall seconds of `pairs` pairs of fresh processes,
    alternated (odd pairs run the default first): each pays its interpreter,
    imports and model loading, as a user's command does, and each ratio is
    taken within its pair, so the host's drift over the run cancels."""
    code = {"seed": "import sys; from pathlib import Path; from benchmarks.bench_speed import seed_style; "
                    "seed_style(Path(sys.argv[1]))",
            "default": "import sys; from clusterer import cli; "
                       "sys.exit(cli.main([sys.argv[1], '--out', sys.argv[2], '-q']))"}
    out = []
    for k in range(pairs):
        wall = {}
        for which in (("seed", "default") if k % 2 == 0 else ("default", "seed")):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-c", code[which], str(video), tmp], check=True,
                               capture_output=True, cwd=ROOT)
                wall[which] = time.perf_counter() - t0
        out.append((wall["seed"], wall["default"]))
    return out


def profile(video: Path) -> list[tuple[str, float]] | None:
    """Thread-seconds per stage of a default run, from py-spy (None without it)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        code = f"from clusterer import run; run({str(video)!r}, out={tmp!r})"
        subprocess.run([spy, "record", "-r", str(PROFILE_RATE), "-f", "raw", "-o", str(raw), "--",
                        sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)
        seconds: collections.Counter = collections.Counter()
        for line in raw.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            label = next((name for name, keys in STAGES if any(k in stack for k in keys)), "other")
            seconds[label] += int(n) / PROFILE_RATE
    return seconds.most_common()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", default=str(ROOT / "bench-out" / "hard_s7_60s.mp4"))
    ap.add_argument("--no-write", action="store_true", help="print the section only")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--pairs", type=int, default=3,
                    help="pairs of fresh-process runs (seed-style, default), alternated (0: none)")
    ap.add_argument("--long", action="store_true",
                    help="also fresh default runs of the tuned composites joined into one video")
    a = ap.parse_args()
    commit_id = commit()  # before the runs: the code this process imported
    video = Path(a.video)
    info = probe(video)
    rows: dict[str, tuple[float, float]] = {}

    n, wall, cpu = timed(lambda: sum(1 for _ in iter_frames(video, fps=2.0)))
    rows["decode only (2 fps sampled, every frame grabbed)"] = (wall, cpu)
    _, wall, cpu = timed(lambda: seed_style(video))
    rows[SEED_STYLE] = (wall, cpu)

    gt = video.with_suffix(".gt.json")
    bench = BENCH / "score.py"
    scores, timings = {}, {}
    for label, kw in (("cluster-video defaults (two-stage, clothing, tracks, export)", {}),
                      ("cluster-video defaults but --detector hog (the default until 0.3)", {"detector": "hog"}),
                      ("cluster-video defaults but --encoder dlib", {"encoder": "dlib"})):
        t: dict[str, float] = {}
        with tempfile.TemporaryDirectory() as tmp:
            (_, dest), wall, cpu = timed(lambda: run(video, out=tmp, timings=t, **kw))
            rows[label] = (wall, cpu)
            timings[label] = t
            if gt.exists() and bench.exists():
                scores[label] = json.loads(subprocess.run(
                    [sys.executable, str(bench), str(gt), str(dest / "clusters.json"), "--json"],
                    capture_output=True, text=True, check=True).stdout)
    seed = rows[SEED_STYLE][0]
    lines = ["", f"## Speed: {video.name} ({info.width}×{info.height}, {info.duration:.0f} s, {n} samples at 2 fps)",
             "", f"`benchmarks/bench_speed.py` at `{commit_id}`, one process, side by side; "
             f"{os.cpu_count()} cores. CPU s: this process's CPU time (all threads).", "",
             "| pipeline | seconds | CPU s | × real time | × faster than seed-style |", "|---|---|---|---|---|"]
    for name, (t, c) in rows.items():
        lines.append(f"| {name} | {t:.1f} | {c:.1f} | {info.duration / t:.2f} | {seed / t:.2f} |")
    default = timings["cluster-video defaults (two-stage, clothing, tracks, export)"]
    total = sum(default.values())
    lines += ["", "Where the default run's main thread spends extraction (wait-detect: waiting for the "
                  "whole-frame searches of the worker threads):", "",
              "| stage | seconds | share |", "|---|---|---|"]
    lines += [f"| {k} | {v:.2f} | {100 * v / total:.0f} % |" for k, v in sorted(default.items(), key=lambda kv: -kv[1])]
    for label, s in scores.items():
        lines += ["", f"Accuracy, {label}: BCubed P {s['bcubed_p']}, R {s['bcubed_r']}, "
                      f"F {s['bcubed_f']}, det_recall {s['det_recall']}."]
    start = round(0.75 * info.duration)
    seek, decode = late_start(video, start)
    lines += ["", f"`--start {start}`: first sample after {seek:.2f} s seeking, {decode:.2f} s decoding every "
                  f"frame before it ({decode / seek:.0f}×; median of 3, alternated)."]
    if a.pairs > 0:
        runs = cold_pairs(video, a.pairs)
        lines += ["", f"Fresh processes, {a.pairs} pairs alternated (each run pays its interpreter, imports and "
                      "model loading, as a command does; the ratio is taken within each pair):", "",
                  "| pair | seed-style s | default s | default × real time | × faster than seed-style |",
                  "|---|---|---|---|---|"]
        lines += [f"| {k + 1} | {sd:.1f} | {df:.1f} | {info.duration / df:.2f} | {sd / df:.2f} |"
                  for k, (sd, df) in enumerate(runs)]
        med = sorted(runs, key=lambda r: r[0] / r[1])[len(runs) // 2]
        lines.append(f"| median pair | {med[0]:.1f} | {med[1]:.1f} | {info.duration / med[1]:.2f} | "
                     f"{med[0] / med[1]:.2f} |")
        lines += ["", f"Where a fresh default run's time goes ({a.pairs} runs; a run first imports torch and "
                      "loads its models while only decoding goes on, then works through the samples; after the "
                      "last it embeds the last clothing, groups and writes, then the interpreter exits):",
                  ""] + PHASES_HEAD
        lines += run_phases(video, info.duration, a.pairs)
    if a.long:
        from benchmarks.bench_grouping import TUNED, joined

        parts = [ROOT / "bench-out" / f"hard_s{s}_60s.mp4" for s in TUNED]
        if all(p.exists() for p in parts):
            long = joined(parts, ROOT / "bench-out" / "grouping" / f"hard_{len(parts)}x60s.mp4")
            linfo = probe(long)
            lines += ["", f"The same for {long.name} ({linfo.width}×{linfo.height}, {linfo.duration:.0f} s: "
                          "the tuned composites one after another), 2 fresh default runs:", ""] + PHASES_HEAD
            lines += run_phases(long, linfo.duration, 2)
    prof = None if a.no_profile else profile(video)
    if prof:
        busy = sum(s for _, s in prof)
        lines += ["", f"py-spy profile of a default run ({PROFILE_RATE} samples/s, every thread; thread-seconds "
                      "of work, waiting excluded), by stage:", "",
                  "| stage | thread-seconds | share |", "|---|---|---|"]
        lines += [f"| {k} | {v:.1f} | {100 * v / busy:.0f} % |" for k, v in prof]
    report("\n".join(lines) + "\n", not a.no_write)


if __name__ == "__main__":
    main()
