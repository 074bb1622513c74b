"""The appearances as a CMX 3600 EDL: one event per appearance, cut from the
source video (source in/out), laid end to end on the record side, with the
person as clip comment and as a locator (`* LOC:`, read as a marker by
DaVinci Resolve and Avid). Timecode is non-drop-frame at the video's frame
rate rounded to a whole number (29.97 → 30, as NDF timecode counts)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..settings import default
from .otio import rows

REEL = "AX"
"""Reel name of the source: AX, 'auxiliary source', as editors write for a file."""


def timecode(seconds: float, fps: int) -> str:
    """HH:MM:SS:FF at `fps` frames a second (non-drop), at the nearest frame (halves up)."""
    frames = _frames(seconds, fps)
    ff = frames % fps
    s = frames // fps
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}"


def _frames(seconds: float, fps: int) -> int:
    return int(math.floor(seconds * fps + 0.5 + 1e-9))


def edl(report: dict[str, Any], merge_gap: float = default("merge_gap")) -> str:
    """The EDL text (CRLF-free; editors accept LF)."""
    v = report["video"]
    fps = max(1, int(round(float(v["fps"]))))
    name = Path(v["path"]).name
    lines = [f"TITLE: {Path(v['path']).stem} people", "FCM: NON-DROP FRAME", ""]
    record = 0.0
    for k, (person, a, b, _) in enumerate(rows(report, merge_gap), 1):
        src_in, src_out = timecode(a, fps), timecode(b, fps)
        rec_in = timecode(record, fps)
        record += (_frames(b, fps) - _frames(a, fps)) / fps
        lines += [f"{k:03d}  {REEL:<8} V     C        {src_in} {src_out} {rec_in} {timecode(record, fps)}",
                  f"* FROM CLIP NAME: {name}",
                  f"* COMMENT: {person}",
                  f"* LOC: {rec_in} RED     {person}", ""]
    return "\n".join(lines)


def write(report: dict[str, Any], path: str | Path, merge_gap: float = default("merge_gap")) -> int:
    """Write the EDL; return the number of events."""
    Path(path).write_text(edl(report, merge_gap))
    return len(rows(report, merge_gap))
