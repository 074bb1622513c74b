"""What every study shares: where the benchmark media and tools are, the
videos (built when missing), the commit measured, and RESULTS.md, whose
sections are replaced by name (a re-run updates its section, others stay).

Studies run from the repository root as `python -m benchmarks STUDY [options]`.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

from clusterer import run
from clusterer.evaluate import evaluate, load_ground_truth, predictions, scores
from clusterer.evaluate import match as match_faces
from clusterer.geometry import box_iou
from clusterer.settings import default

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "bench"
"""benchgen.py, score.py and the people photos (never copied into this repository)."""
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
REAL = ROOT.parent / "shared" / "real"
"""The real clips and their hand labels (never copied into this repository)."""
LABELS = ROOT / "benchmarks" / "labels"
"""The per-face labels made for the real clips (labels/README.md)."""
CLIPS = ("avengers", "fotb_dinner", "friends_episode", "herapheri", "meeting", "sweden_psa")
"""The six real clips (REAL/<name>.mp4)."""
SAME_FACE = default("iou")
"""Boxes overlapping by this IoU are one face (as in scoring)."""

SIX_SEEDS = "7,11,23,3,5,13"
"""The hard videos of the side-by-side studies: the issues' three seeds and three more."""


def pairs(boxes, truth, iou: float = default("iou")) -> list[tuple[int, int]]:
    """One-to-one pairs (i, j) of boxes[i] and truth[j] overlapping by IoU >= iou,
    the best pairs first (as score.py and `evaluate` match faces)."""
    ranked = sorted(((box_iou(b, g), i, j) for i, b in enumerate(boxes) for j, g in enumerate(truth)), reverse=True)
    used_b, used_g, out = set(), set(), []
    for v, i, j in ranked:
        if v >= iou and i not in used_b and j not in used_g:
            used_b.add(i)
            used_g.add(j)
            out.append((i, j))
    return out


def match(boxes, truth) -> tuple[int, int]:
    """(ground-truth faces found, detections matching none)."""
    found = len(pairs(boxes, truth))
    return found, len(boxes) - found


def commit(tree: Path = ROOT) -> str:
    """The commit measured (short id) of the checkout `tree`, flagged when its package
    has uncommitted changes. Call it before the work: it names the code this process imported."""
    def git(*a):
        return subprocess.run(["git", *a], cwd=tree, capture_output=True, text=True).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if git("status", "--porcelain", "clusterer") else "")


def build_video(out_dir: Path, seed: int, seconds: float, level: str) -> Path:
    """The benchgen video of this seed (and its .gt.json), built when missing."""
    video = out_dir / f"{level}_s{seed}_{int(seconds)}s.mp4"
    if not (video.exists() and video.with_suffix(".gt.json").exists()):
        subprocess.run([sys.executable, str(BENCH / "benchgen.py"), str(BENCH / "people"), str(video),
                        "--seed", str(seed), "--seconds", str(seconds), "--level", level], check=True)
    return video


def transcoded(video: Path, dest: Path, vf: str, crf: int) -> Path:
    """`video` through ffmpeg's filter `vf` into `dest` (H.264 at `crf`, no
    audio), made when missing (written aside, then renamed: never half a file)."""
    if not dest.exists():
        if not shutil.which("ffmpeg"):
            sys.exit(f"ffmpeg is needed to make {dest.name}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".part.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(video), "-vf", vf, "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", str(crf), "-an", str(tmp)], check=True)
        tmp.rename(dest)
    return dest


def scored_run(video: Path, truth: Path) -> dict:
    """A default in-process run of `video` scored against `truth` (labels or a
    .gt.json): the figures of `scored`."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res, _ = run(video, out=tmp)
        wall = time.perf_counter() - t0
    gt = load_ground_truth(truth, res.sampled, res.video.fps)
    return scored(predictions(res.persons, res.unknown), res.sampled, gt, wall)


def scored(pred: list, sampled: list[int], gt: list, wall: float) -> dict:
    """A prediction (evaluate.PredFace rows) scored against the ground-truth
    faces: det_recall, two-stage BCubed F and P over the faces found, F over
    every labelled face (`f_all`: one not found counts as a person of its own),
    persons, false faces (all; `false_in`: those in persons), and `wall`."""
    boxes: dict[int, list] = {}
    for frame, _, box in gt:
        boxes.setdefault(frame, []).append(box)
    f = evaluate(pred, sampled, gt)
    stray = sum(1 for frame, box, person in pred if person is not None
                and max((box_iou(box, b) for b in boxes.get(frame, [])), default=0) < SAME_FACE)
    return {"det": f["det_recall"], "f": f["bcubed_f"], "p": f["bcubed_p"], "f_all": f_every(gt, pred, sampled),
            "persons": f["persons"], "false": f["false_faces"], "false_in": stray, "wall": wall}


def f_every(gt: list, pred: list, sampled: list[int]) -> float:
    """BCubed F over every labelled face on the sampled frames: one not found
    counts as a person of its own (so finding more faces is not penalised, as
    F over the faces found penalises it)."""
    matched, _, _ = match_faces(gt, pred, SAME_FACE, sampled)
    seen = set(sampled)
    missed = Counter(g for fr, g, _ in gt if fr in seen) - Counter(g for g, _ in matched)
    return scores(matched + [(g, f"__missed_{g}_{k}") for g, n in missed.items() for k in range(n)])["bcubed_f"]


def side_by_side(cases: list[tuple[str, Path, Path]], variants: dict[str, Callable[[Path, Path], dict]],
                 group: Callable[[str], str] = lambda name: "", results: list | None = None) -> list[str]:
    """Each case (name, video, truth) run by each variant (a scored_run with
    something changed), the order alternated case by case; the table rows
    (video | variant | det_recall | F (P) | F over every face | persons | false (in persons) | wall s),
    then each variant's means (sums) over each group of cases (`group` of its name).
    `results`, when given, receives (group, case name, variant, figures) for each run."""
    rows, done = [], []
    for k, (name, video, truth) in enumerate(cases):
        got = {}
        for v in (list(variants) if k % 2 == 0 else list(variants)[::-1]):
            got[v] = variants[v](video, truth)
            print(name, v, got[v], file=sys.stderr, flush=True)
        done += [(group(name), name, v, got[v]) for v in variants]
        rows += [f"| {name} | {v} | {g['det']:.3f} | {g['f']:.3f} ({g['p']:.3f}) | {g['f_all']:.3f} | {g['persons']} | "
                 f"{g['false']} ({g['false_in']}) | {g['wall']:.1f} |" for v, g in ((v, got[v]) for v in variants)]
    if results is not None:
        results += done
    for gr in dict.fromkeys(g for g, *_ in done):
        for v in variants:
            rs = [r for g, _, w, r in done if g == gr and w == v]
            rows.append(f"| mean (sum){', ' + gr if gr else ''} | {v} | {sum(r['det'] for r in rs) / len(rs):.3f} | "
                        f"{sum(r['f'] for r in rs) / len(rs):.3f} | {sum(r['f_all'] for r in rs) / len(rs):.3f} | | "
                        f"({sum(r['false_in'] for r in rs)}) | ({sum(r['wall'] for r in rs):.1f}) |")
    return rows


def side_by_side_section(title: str, intro: str, column: str, rows: list[str], runs: str = "One process") -> str:
    """A RESULTS.md section of side_by_side's rows: its title, the intro (what
    was run), how the runs were made (`runs`), and the table, whose variant
    column is headed `column`."""
    return "\n".join([
        "", f"## {title}", "",
        f"{intro} {runs}, the order alternated video by video. false: detections matching no labelled "
        "face (in persons). F over every face: one not found counts as a person of its own.", "",
        f"| video | {column} | det_recall | two-stage F (P) | F over every face | persons | false (in persons) | wall s |",
        "|---|---|---|---|---|---|---|---|", *rows, ""])


def score(gt: Path, clusters: Path) -> dict:
    """The shared scorer's figures (score.py --json) of a clusters.json against ground truth."""
    r = subprocess.run([sys.executable, str(BENCH / "score.py"), str(gt), str(clusters), "--json"],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def video_options(ap: argparse.ArgumentParser, seeds: str) -> None:
    """The options that choose the benchmark videos."""
    ap.add_argument("--seeds", default=seeds)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--level", default="hard")
    ap.add_argument("--out", default=str(ROOT / "bench-out"))


def videos_of(args) -> list[Path]:
    if not (BENCH / "benchgen.py").exists():
        sys.exit(f"benchmark media not found at {BENCH}")
    return [build_video(Path(args.out), int(s), args.seconds, args.level) for s in args.seeds.split(",")]


def six_videos(description: str, seeds: str = SIX_SEEDS) -> tuple[list[Path], bool]:
    """Command line of the multi-video studies: the videos (built if missing)
    and whether to write the section into RESULTS.md."""
    ap = argparse.ArgumentParser(description=description)
    video_options(ap, seeds)
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    args = ap.parse_args()
    return videos_of(args), args.append


def study(doc: str, run_seed: Callable[[Path], dict], markdown: Callable[[list[dict], str], str],
          seeds: str = SIX_SEEDS) -> None:
    """main() of a multi-video study: every video through run_seed, the rows
    through markdown(rows, commit), then reported."""
    commit_id = commit()
    videos, append = six_videos(doc.split("\n")[0], seeds)
    report(markdown([run_seed(v) for v in videos], commit_id), append)


def section_name(heading: str) -> str:
    """What identifies a section across re-runs: its heading without the commit."""
    return re.sub(r",?\s*(at|commit) `[^`]*`", "", heading.strip()).rstrip(" ()")


def replace_section(text: str, section: str) -> str:
    """`text` (RESULTS.md) with `section` in place of the section of the same
    name (from its `## ` heading to the next), or appended when there is none."""
    section = section.strip("\n") + "\n"
    heading = next(line for line in section.splitlines() if line.startswith("## "))
    parts = re.split(r"(?m)^(?=## )", text)
    for i, part in enumerate(parts):
        if part.startswith("## ") and section_name(part.splitlines()[0]) == section_name(heading):
            parts[i] = section + ("\n" if i < len(parts) - 1 else "")
            return "".join(parts)
    return text.rstrip("\n") + "\n\n" + section


def report(section: str, write: bool, results: Path = RESULTS) -> None:
    """Print a markdown section and, if asked, put it into RESULTS.md (replace_section)."""
    print(section)
    if write:
        results.write_text(replace_section(results.read_text() if results.exists() else "", section))


def track_truth(ex, gt: dict) -> list[tuple[str | None, str | None]]:
    """(identity, photo) of each track: the majority identity of its faces
    matched to ground truth (IoU at least the evaluation's, 0.3), and that identity's photo in its shot."""
    by_frame = defaultdict(list)
    for fr, name, *box in gt["faces"]:
        by_frame[fr].append((name, box))
    out = []
    for t in ex.tracks:
        votes = Counter()
        for i in t.items:
            f = ex.faces[i]
            v, name = max(((box_iou(f.box_xyxy, b), n) for n, b in by_frame.get(f.frame, [])),
                          default=(0.0, None))
            if v >= default("iou"):
                votes[name] += 1
        name = votes.most_common(1)[0][0] if votes else None
        frame = ex.faces[t.items[0]].frame
        shot = next((s for s in gt["shots"] if s["start"] <= frame < s["end"]), None)
        photo = dict(map(tuple, shot["people"])).get(name) if shot and name else None
        out.append((name, photo))
    return out


def auc(y: np.ndarray, d: np.ndarray) -> float:
    """ROC AUC of "positive" by small distance (ties count half)."""
    pos, neg = d[y], d[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(((pos[:, None] < neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                 / (len(pos) * len(neg)))
