"""The appearances as OpenTimelineIO markers: one clip (the source video) on
one video track, one marker per appearance of each person, named after the
person, so that an editor (DaVinci Resolve, Premiere via OTIO adapters,
Avid, Nuke Studio…) shows who is on screen when."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..settings import default
from ..output.report import appearances

COLOURS = ("RED", "GREEN", "BLUE", "YELLOW", "CYAN", "MAGENTA", "ORANGE", "PURPLE", "PINK", "WHITE")
"""Marker colours (OTIO's names), one per person in turn."""


def rows(report: dict[str, Any], merge_gap: float = default("merge_gap")) -> list[tuple[str, float, float, int]]:
    """(person, start, end, faces) of each appearance, persons in report order,
    as appearances.csv has them."""
    step = 1.0 / float(report["settings"].get("fps", default("fps")))
    return [(p["id"], a, b, n) for p in report["persons"]
            for a, b, n in appearances([f["time"] for f in p["faces"]], step, merge_gap)]


def timeline(report: dict[str, Any], merge_gap: float = default("merge_gap")):
    """An opentimelineio Timeline: the video as one clip, the appearances as its markers."""
    import opentimelineio as otio

    v = report["video"]
    rate = float(v["fps"])
    name = Path(v["path"]).name
    clip = otio.schema.Clip(
        name=name,
        media_reference=otio.schema.ExternalReference(
            target_url=Path(v["path"]).resolve().as_uri() if Path(v["path"]).is_absolute() else v["path"],
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                    otio.opentime.RationalTime(int(v["frames"]), rate))),
        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                             otio.opentime.RationalTime(int(v["frames"]), rate)))
    colour = {p["id"]: COLOURS[k % len(COLOURS)] for k, p in enumerate(report["persons"])}
    for person, a, b, n in rows(report, merge_gap):
        clip.markers.append(otio.schema.Marker(
            name=person, color=colour[person],
            marked_range=otio.opentime.TimeRange(otio.opentime.from_seconds(a, rate),
                                                 otio.opentime.from_seconds(b - a, rate)),
            metadata={"cluster-video": {"person": person, "start": round(a, 3), "end": round(b, 3), "faces": n}}))
    track = otio.schema.Track(name="video", kind=otio.schema.TrackKind.Video)
    track.append(clip)
    tl = otio.schema.Timeline(name=f"{name}: people")
    tl.tracks.append(track)
    return tl


def write(report: dict[str, Any], path: str | Path, merge_gap: float = default("merge_gap")) -> int:
    """Write the .otio file; return the number of markers."""
    import opentimelineio as otio

    tl = timeline(report, merge_gap)
    otio.adapters.write_to_file(tl, str(path))
    return sum(len(c.markers) for c in tl.find_clips())
