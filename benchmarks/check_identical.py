#!/usr/bin/env python3
"""Behaviour unchanged? Run the CLI on fixed videos in every mode and hash what it writes.

    python benchmarks/check_identical.py SCRATCH --save ref.json --tree OLD_CHECKOUT   # the reference
    python benchmarks/check_identical.py SCRATCH --check ref.json     # after a change: exit 1 on a difference

Each case runs `python -m clusterer.cli` from --tree (default: the current
directory), so that tree's package is the one run, on the same video files
(paths made absolute here) into a fresh folder under SCRATCH,
then records the SHA-256 of clusters.json, of every cache file and of every
other file written (crops, CSV, gallery), and of the stdout of a --sweep from
that cache. Re-clustering a folder in another mode (--overwrite) checks that
the cache written by one run is read back the same by the next.

Nothing needs normalising: clusters.json holds the video path as given (the
same in both runs), the cache key holds the video's size, mtime and block
hashes (the same file), and neither holds a time of day.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

DEMO = str(Path("samples/demo.mp4").resolve())
SEED7 = str(Path(__file__).resolve().parents[1] / "bench-out" / "hard_s7_60s.mp4")
"""The hard seed-7 composite (`python -m benchmarks hard --seeds 7` builds it)."""
MODES = ("two-stage", "fused", "faces")

CASES: list[tuple[str, str, list[str]]] = [
    *((f"demo-{m}", DEMO, ["--mode", m]) for m in MODES),
    ("demo-hog", DEMO, ["--detector", "hog"]),
    *((f"seed7-{m}", SEED7, ["--mode", m]) for m in MODES),
]
"""(name, video, options): each runs into its own new folder."""

RECLUSTER = [("demo-two-stage", ["--mode", "fused", "--threshold", "0.4"]),
             ("seed7-two-stage", ["--mode", "faces", "--min-faces", "3"])]
"""(case, options): run again into that case's folder, from its cache."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


TREE = Path.cwd()
"""Where the CLI runs from (its `clusterer` package is the one imported)."""


def _cli(video: str, out: Path, options: list[str]) -> str:
    cmd = [sys.executable, "-m", "clusterer.cli", video, "--out", str(out), "--quiet", *options]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=TREE)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def run_all(scratch: Path) -> dict[str, dict[str, str]]:
    if scratch.exists():
        shutil.rmtree(scratch)
    got: dict[str, dict[str, str]] = {}
    for name, video, options in CASES:
        out = scratch / name
        _cli(video, out, options)
        folder = out / Path(video).stem
        got[name] = _tree(folder)
        if "fused" not in options:  # the CLI refuses a sweep of --mode fused: no threshold to vary
            sweep = _cli(video, out, ["--sweep", "0.30,0.36,0.42", *options])
            got[name]["<sweep stdout>"] = hashlib.sha256(sweep.encode()).hexdigest()
        print(f"{name}: {len(got[name])} files", file=sys.stderr)
    for name, options in RECLUSTER:
        video = next(v for n, v, _ in CASES if n == name)
        out = scratch / name
        _cli(video, out, ["--overwrite", *options])
        got[f"{name} then {' '.join(options)}"] = _tree(out / Path(video).stem)
    return got


def compare(ref: dict, got: dict) -> list[str]:
    diffs = []
    for case in sorted(set(ref) | set(got)):
        a, b = ref.get(case, {}), got.get(case, {})
        for f in sorted(set(a) | set(b)):
            if a.get(f) != b.get(f):
                diffs.append(f"{case}: {f}: {a.get(f, 'missing')[:12]} → {b.get(f, 'missing')[:12]}")
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scratch", type=Path, help="a folder for the runs (emptied first)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path, help="write the hashes here")
    g.add_argument("--check", type=Path, help="compare with the hashes saved here")
    ap.add_argument("--tree", type=Path, default=Path.cwd(), help="run the package of this checkout")
    args = ap.parse_args()
    global TREE
    TREE = args.tree.resolve()
    args.scratch = args.scratch.resolve()
    got = run_all(args.scratch)
    if args.save:
        args.save.write_text(json.dumps(got, indent=1, sort_keys=True))
        print(f"{sum(map(len, got.values()))} hashes → {args.save}")
        return 0
    diffs = compare(json.loads(args.check.read_text()), got)
    print("\n".join(diffs) or f"identical: {sum(map(len, got.values()))} hashes in {len(got)} cases")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
