#!/usr/bin/env python3
"""Layouts the real clips alone do not show: four clips in a 2×2 grid (a video
call's gallery, a split screen) and the six clips joined into one reel (many
people of different films in one long video).

Each video is made from ../shared/real with ffmpeg (H.264 CRF 18, 25
frames/s; each clip cut to whole seconds): the grids from four clips scaled
to 640×360 pictures (60 s; a shorter clip loops), the reel from the six
scaled to 1280×720 one after the other. The clips' labels (benchmarks/labels)
are mapped into each (boxes scaled and moved, times shifted, the nearest
labelled frame within a quarter second; identities kept apart by clip:
`clip:identity`). The pipeline runs at its defaults (extractions kept in
bench-out/grouping per commit and per made video's content): BCubed F
(precision), detection recall, persons against identities, and the persons
that hold faces of two clips' people; per picture of a grid and per clip of
the reel, the same over its faces. `--alone` also cuts each grid's pictures
out into videos of their own and runs them alone (the same pixels).

    python -m benchmarks layouts [--alone] [--append]
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_grouping import extraction
from benchmarks.harness import REAL, ROOT, commit, report, transcoded
from benchmarks.real_faces import load_labels
from clusterer import FaceAnalyzer
from clusterer.clothing.embedders import make_embedder
from clusterer.evaluate import evaluate, match, predictions
from clusterer.grouping.persons import cluster
from clusterer.video.sampling import probe

OUT = ROOT / "bench-out" / "layouts"
GRIDS = {"grid1": ("meeting", "sweden_psa", "fotb_dinner", "friends_episode"),
         "grid2": ("fotb_dinner", "friends_episode", "meeting", "sweden_psa")}
"""Each grid's pictures: top left, top right, bottom left, bottom right. The
second swaps the rows, so that each clip is seen above and below."""
REEL = ("avengers", "fotb_dinner", "friends_episode", "herapheri", "meeting", "sweden_psa")
PICTURE = (640, 360)
REEL_SIZE = (1280, 720)
FPS = 25
GRID_SECONDS = 60.0
NEAREST = 0.26
"""A made video's sample takes the labels of the clip's labelled frame nearest
in time, within this many seconds (the labels are at 2 frames/s)."""


@dataclass(frozen=True)
class Placed:
    """One clip in a made video: where (x, y, width, height in the made video's
    pixels), from when (start, seconds) and for how long (seconds; a looped
    clip repeats every `length`), and the clip's own size and frame rate."""

    clip: str
    x: float
    y: float
    width: float
    height: float
    start: float
    end: float
    length: float
    clip_size: tuple[int, int]
    clip_fps: float

    def holds(self, t: float, box) -> bool:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return (self.start <= t < self.end and self.x <= cx < self.x + self.width
                and self.y <= cy < self.y + self.height)


def mapped_truth(placed: list[Placed], labels: dict[str, dict], sampled, fps: float) -> list[tuple]:
    """Ground truth (frame, `clip:identity`, box) on the made video's sampled
    frames: each placed clip's labels, moved to where and when it is shown."""
    out = []
    for g in sampled:
        t = g / fps
        for p in placed:
            if not p.start <= t < p.end:
                continue
            local = (t - p.start) % p.length
            frames = labels[p.clip]
            near = min(frames, key=lambda f: abs(f / p.clip_fps - local), default=None)
            if near is None or abs(near / p.clip_fps - local) > NEAREST:
                continue
            sx, sy = p.width / p.clip_size[0], p.height / p.clip_size[1]
            for b, identity in frames[near]:
                out.append((g, f"{p.clip}:{identity}", [p.x + b[0] * sx, p.y + b[1] * sy,
                                                          p.x + b[2] * sx, p.y + b[3] * sy]))
    return out


def _ffmpeg(args: list[str], dest: Path) -> Path:
    """Run ffmpeg into `dest` when missing (written aside, then renamed)."""
    if not dest.exists():
        if not shutil.which("ffmpeg"):
            sys.exit(f"ffmpeg is needed to make {dest.name}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".part.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", *args, "-c:v", "libx264", "-preset", "veryfast",
                        "-crf", "18", "-an", str(tmp)], check=True)
        tmp.rename(dest)
    return dest


def part(clip: str, size: tuple[int, int]) -> tuple[Path, Placed]:
    """The clip scaled to `size` at FPS, cut to whole seconds (a whole number
    of frames): a clip that follows or repeats another then starts on a sample
    (2 a second), so each sample meets a labelled frame of its own time. Its
    Placed is at (0, 0), from 0 s."""
    info = probe(REAL / f"{clip}.mp4")
    length = int(info.duration)
    w, h = size
    video = transcoded(REAL / f"{clip}.mp4", OUT / "parts" / f"{clip}_{w}x{h}.mp4",
                       f"fps={FPS},trim=end_frame={length * FPS},setpts=PTS-STARTPTS,scale={w}:{h},setsar=1", 18)
    return video, Placed(clip, 0, 0, w, h, 0.0, length, length, (info.width, info.height), info.fps)


def grid(name: str) -> tuple[Path, list[Placed]]:
    """A 2×2 grid of four clips (GRIDS[name]), GRID_SECONDS long; a shorter clip loops."""
    w, h = PICTURE
    inputs, placed = [], []
    for q, clip in enumerate(GRIDS[name]):
        video, p = part(clip, PICTURE)
        loops = int(GRID_SECONDS // p.length)
        inputs += (["-stream_loop", str(loops)] if loops else []) + ["-i", str(video)]
        placed.append(dataclasses.replace(p, x=(q % 2) * w, y=(q // 2) * h, end=GRID_SECONDS))
    stack = "[0:v][1:v][2:v][3:v]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0:shortest=1[v]"
    video = _ffmpeg([*inputs, "-filter_complex", stack, "-map", "[v]", "-t", str(GRID_SECONDS)], OUT / f"{name}.mp4")
    return video, placed


def reel() -> tuple[Path, list[Placed]]:
    """The six clips one after the other at REEL_SIZE."""
    parts, placed, start = [], [], 0.0
    for clip in REEL:
        video, p = part(clip, REEL_SIZE)
        placed.append(dataclasses.replace(p, start=start, end=start + p.length))
        parts.append(video)
        start += p.length
    listing = OUT / "parts" / "reel.txt"
    listing.write_text("".join(f"file '{v.resolve()}'\n" for v in parts))
    video = OUT / "reel.mp4"
    if not video.exists():
        tmp = video.with_suffix(".part.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                        "-c", "copy", str(tmp)], check=True)
        tmp.rename(video)
    return video, placed


def scores(pred: list, gt: list, sampled) -> dict:
    """F, precision, detection recall, persons, identities, and the persons
    holding faces of more than one clip's people."""
    r = evaluate(pred, sampled, gt)
    matched, _, _ = match(gt, pred, 0.3, sampled)
    clips: dict[str, set] = defaultdict(set)
    for identity, label in matched:
        if not label.startswith("__unknown"):
            clips[label].add(identity.split(":")[0])
    return {"f": r.get("bcubed_f", 0.0), "p": r.get("bcubed_p", 0.0), "det": r.get("det_recall", 0.0),
            "persons": r.get("persons", 0), "identities": r.get("identities", 0),
            "across": sum(len(c) > 1 for c in clips.values())}


def run(video: Path, placed: list[Placed], labels: dict, tag: str, analyzer, embedder) -> list[tuple[str, dict]]:
    """Scores of `video` at the defaults, overall and per placed clip. The
    extraction is kept per commit and per made video's content: a video made
    again differently is extracted again."""
    content = hashlib.sha1(video.read_bytes()).hexdigest()[:10]
    info, ex = extraction(video, f"{tag}.{content}", analyzer, embedder)
    persons, unknown = cluster(ex)
    pred = predictions(persons, unknown)
    gt = mapped_truth(placed, labels, ex.sampled, info.fps)
    rows = [("all", scores(pred, gt, ex.sampled))]
    t = {g: g / info.fps for g in ex.sampled}
    for p in placed:
        rows.append((p.clip, scores([q for q in pred if p.holds(t[q[0]], q[1])],
                                    [g for g in gt if p.holds(t[g[0]], g[2])], ex.sampled)))
    return rows


def alone(name: str, video: Path, placed: list[Placed], labels: dict, tag: str, analyzer, embedder) -> dict:
    """Each picture of a grid cut out into a video of its own, run alone: clip → scores."""
    out = {}
    for q, p in enumerate(placed):
        part = _ffmpeg(["-i", str(video), "-vf", f"crop={int(p.width)}:{int(p.height)}:{int(p.x)}:{int(p.y)}"],
                       OUT / f"{name}_picture{q}.mp4")
        moved = [Placed(p.clip, 0, 0, p.width, p.height, p.start, p.end, p.length, p.clip_size, p.clip_fps)]
        out[p.clip] = run(part, moved, labels, tag, analyzer, embedder)[0][1]
    return out


def _cell(s: dict | None) -> str:
    if s is None:
        return ""
    return (f"{s['f']:.3f} ({s['p']:.3f}), found {s['det']:.3f}, {s['persons']} / {s['identities']}"
            + (f", {s['across']} across clips" if s["across"] else ""))


def markdown(results: dict, lone: dict, commit_id: str) -> str:
    lines = ["", f"## Layouts: four clips in a grid, six in one reel (`benchmarks/bench_layouts.py`, commit `{commit_id}`)",
             "", "Made from the real clips, scored against their labels mapped into each video (identities kept "
             "apart by clip), at the defaults. A cell: BCubed F (precision), detection recall, persons / "
             "identities, persons holding two clips' people.", "",
             "| video | part | in the video | the picture alone |", "|---|---|---|---|"]
    for name, rows in results.items():
        for part, s in rows:
            lines.append(f"| {name} | {part} | {_cell(s)} | {_cell(lone.get(name, {}).get(part))} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alone", action="store_true", help="also each grid picture as a video of its own")
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    a = ap.parse_args()
    if not (REAL / "README.md").exists():
        raise SystemExit(f"real clips not found at {REAL}")
    commit_id = commit()
    tag = commit_id.split()[0]
    analyzer, embedder = FaceAnalyzer(), make_embedder(None, "cpu")
    labels = {c: load_labels(c) for c in REEL}
    results, lone = {}, {}
    for name in GRIDS:
        video, placed = grid(name)
        results[name] = run(video, placed, labels, tag, analyzer, embedder)
        if a.alone:
            lone[name] = alone(name, video, placed, labels, tag, analyzer, embedder)
    video, placed = reel()
    results["reel"] = run(video, placed, labels, tag, analyzer, embedder)
    report(markdown(results, lone, commit_id), a.append)


if __name__ == "__main__":
    main()
