"""Views of a result for people: an HTML gallery and a CSV of appearances.

Both are built from the clusters.json report, so they always show what the
report says. The page is static (no server, no network): one row per person
with their best face, screen time, a timeline of when they are on screen and
a strip of their faces (click one for its time, track and clothing crop); the
unknown faces last, with the reason for each. When the source video can be
reached from the page (a relative path), a player on top plays each face or
appearance from its time (a few lines of JavaScript; without them, the links
open the video at that time, as media fragments `#t=`).
"""
from __future__ import annotations

import csv
import functools
import io
import os
from pathlib import Path
from typing import Any

import jinja2

from ..settings import default

STRIP_MAX = 120
"""Faces shown per person on the page; the rest are in the person's folder.
Keeps an hour-long video's page light (thumbnails load lazily as well)."""


def clock(t: float) -> str:
    """Seconds as HH:MM:SS.mmm."""
    ms = int(round(t * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def appearances(times: list[float], step: float, merge_gap: float) -> list[tuple[float, float, int]]:
    """Continuous appearances (start, end, faces) from the times a person was
    seen. Each sighting covers one sampling step (a single sighting lasts
    `step`); a gap shorter than `merge_gap` seconds between them does not end
    an appearance."""
    out: list[list[float]] = []
    for t in sorted(times):
        gap = t - out[-1][1] if out else None
        if gap is not None and (gap < merge_gap or gap <= 1e-9):  # shorter gap, or touching
            out[-1][1] = t + step
            out[-1][2] += 1
        else:
            out.append([t, t + step, 1])
    return [(a, b, int(n)) for a, b, n in out]


def _step(report: dict[str, Any]) -> float:
    return 1.0 / float(report["settings"].get("fps", default("fps")))


def appearances_csv(report: dict[str, Any], merge_gap: float = default("merge_gap")) -> str:
    """appearances.csv: one row per continuous appearance of each person."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["person", "start", "end", "duration", "faces", "start_hms", "end_hms", "video"])
    video = report.get("video", {}).get("path", "")  # the source, as the run was given it
    for p in report["persons"]:
        for a, b, n in appearances([f["time"] for f in p["faces"]], _step(report), merge_gap):
            w.writerow([p["id"], f"{a:.3f}", f"{b:.3f}", f"{b - a:.3f}", n, clock(a), clock(b), video])
    return buf.getvalue()


def time_axis(duration: float, most: int = 8) -> list[dict[str, Any]]:
    """Ticks under each timeline: at most `most` + 1 round times, as % of the
    video and as M:SS (H:MM:SS past an hour)."""
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
                 if duration / s <= most), 7200)
    out = []
    for k in range(int(duration // step) + 1):
        t = k * step
        h, rest = divmod(int(t), 3600)
        label = f"{h}:{rest // 60:02d}:{rest % 60:02d}" if duration >= 3600 else f"{rest // 60}:{rest % 60:02d}"
        out.append({"left": round(100 * t / duration, 3), "label": label})
    return out


@functools.cache
def _templates() -> jinja2.Environment:
    """One environment a process: it keeps the compiled page (compiling takes
    longer than rendering, and the review server renders it on every action)."""
    return jinja2.Environment(loader=jinja2.PackageLoader("clusterer.output", "templates"),
                              autoescape=jinja2.select_autoescape(["html"]))


def video_link(video: str, dest: Path) -> str | None:
    """The source video as a path relative to the result folder `dest` (for the
    page's player), or None when it is not there to play."""
    path = Path(video)
    if not path.is_file():
        return None
    return Path(os.path.relpath(path.resolve(), dest.resolve())).as_posix()


def gallery_html(report: dict[str, Any], merge_gap: float = default("merge_gap"),
                 video_src: str | None = None) -> str:
    """index.html for the result folder (paths relative to it); video_src: the
    source video relative to it (video_link), for the player; None: no player."""
    env = _templates()
    duration = max(float(report["video"]["duration"]), 1e-6)
    step = _step(report)

    def faces_view(faces):
        view = [{**f, "clock": clock(f["time"])} for f in faces]
        return view[:STRIP_MAX], max(0, len(view) - STRIP_MAX)

    persons = []
    for p in report["persons"]:
        apps = appearances([f["time"] for f in p["faces"]], step, merge_gap)
        shown, hidden = faces_view(p["faces"])
        persons.append({
            "id": p["id"], "folder": p["faces"][0]["file"].split("/")[0], "faces": p["faces"],
            "closest": p.get("closest"),
            "rep": max(p["faces"], key=lambda f: (f.get("quality", 0), -f["time"])),
            "appearances": [{"left": round(100 * a / duration, 3), "width": round(100 * (b - a) / duration, 3),
                             "label": f"{clock(a)}–{clock(b)}", "start": a} for a, b, _ in apps],
            "screen_time": clock(sum(b - a for a, b, _ in apps)),
            "first": clock(p["faces"][0]["time"]), "last": clock(p["faces"][-1]["time"]),
            "shown": shown, "hidden": hidden})
    reasons: dict[str, int] = {}
    for f in report["unknown"]:
        reasons[f.get("reason", "?")] = reasons.get(f.get("reason", "?"), 0) + 1
    shown, hidden = faces_view(report["unknown"])
    n_faces = sum(len(p["faces"]) for p in report["persons"]) + len(report["unknown"])
    return env.get_template("index.html").render(
        title=report["video"]["path"].replace("\\", "/").split("/")[-1], video=report["video"],
        settings=report["settings"], persons=persons, n_faces=n_faces, n_sampled=len(report["sampled"]),
        ticks=time_axis(duration), video_src=video_src,
        unknown={"faces": report["unknown"], "shown": shown, "hidden": hidden,
                 "reasons": sorted(reasons.items())})
