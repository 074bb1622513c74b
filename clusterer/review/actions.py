"""What the review page can do, as changes to the result's folders.

Each action makes the change a user could make in a file manager (rename a
folder, move crops between folders, drop a marker file) and then re-runs the
clustering from the feature cache into the same folder (`Session.recluster`),
so that the page and a later `cluster-video VIDEO --overwrite` agree: one
mechanism (names.follow_user_folders), two ways in. An action that cannot
be honoured is refused with a reason (`Refused`), before anything moves.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import cache
from ..app import run
from ..errors import ClusterVideoError
from ..naming.folders import GENERIC, TOOL_NAMES
from ..output.export import REPORT, UNKNOWN, load_report, output_dir, write_atomic
from ..settings import split_settings

HIDDEN = ".hidden"
"""Marker file in a person's folder: the review page lists that person under
"hidden" (make or delete it by hand to the same effect)."""

NOT_SAME = "not-same.json"
"""Answers "not the same person" to suggestions: pairs of crop file names,
one of each person, so that the pair is not suggested again."""


class Refused(ClusterVideoError):
    """An action the folders cannot express, with the reason shown on the page."""


@dataclass(frozen=True)
class Outcome:
    """The report after an action, and how long the action took (seconds)."""

    report: dict[str, Any]
    seconds: float


def check_name(name: str) -> str:
    """A person's name as a folder name, or Refused saying why not."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or name in (".", "..") or name.startswith(".") or any(c in name for c in "/\\\0"):
        raise Refused(f"{name!r} cannot be a folder name: give a name without / or \\, not starting with '.'")
    if GENERIC.fullmatch(name) or name.casefold() in TOOL_NAMES:
        raise Refused(f"{name!r} is a name the tool gives its own folders and files: choose another")
    if len(name.encode()) > 200:
        raise Refused("a name of at most 200 bytes, please")
    return name


class Session:
    """One result folder under review: its video, settings and actions."""

    def __init__(self, dest: str | os.PathLike, video: str | os.PathLike | None = None):
        self.dest = Path(dest).resolve()
        report = self.report()
        self.video = Path(video or report["video"]["path"]).expanduser().resolve()
        if not self.video.is_file():
            raise ClusterVideoError(f"{self.video}: no such video" if video else
                                    f"{self.video}: the video of {self.dest} is not there (give it with --video)")
        if output_dir(self.dest.parent, self.video) != self.dest:
            raise ClusterVideoError(f"{self.dest}: a run of {self.video.name} writes into "
                                    f"{output_dir(self.dest.parent, self.video)}; review that folder")
        names = set(split_settings({})[0]) | set(split_settings({})[1])
        self.settings = {k: v for k, v in report["settings"].items() if k in names}
        known = report["settings"].get("known")
        self.known = known if known and Path(known).is_dir() else None
        extraction = split_settings(self.settings)[0]
        ex = cache.load(self.dest, cache.cache_key(self.video, extraction))
        if ex is None:
            raise ClusterVideoError(f"{self.dest}: no feature cache for this video and these settings "
                                    f"(run cluster-video {self.video} --overwrite first)")

    def report(self) -> dict[str, Any]:
        report = load_report(self.dest)
        if report is None:
            raise ClusterVideoError(f"{self.dest}: no {REPORT} (not a result folder)")
        return report

    def hidden(self) -> set[str]:
        return {p["id"] for p in self.report()["persons"] if (self.dest / p["id"] / HIDDEN).is_file()}

    def recluster(self) -> dict[str, Any]:
        """Re-run the clustering from the cache into the folder (no decoding)."""
        run(self.video, out=self.dest.parent, overwrite=True, known=self.known, **self.settings)
        return self.report()

    # --- the actions -----------------------------------------------------

    def apply(self, action: str, args: dict[str, Any]) -> Outcome:
        """Do `action` with `args` (the page's request), then re-cluster."""
        t0 = time.perf_counter()
        report = self.report()
        do = {"rename": self.rename, "merge": self.merge, "move": self.move, "hide": self.hide,
              "not-same": self.not_same}.get(action)
        if do is None:
            raise Refused(f"no action {action!r}")
        try:
            changed = do(report, **args)
        except TypeError as e:
            raise Refused(f"{action}: bad arguments ({e})") from None
        if changed:
            report = self.recluster()
        return Outcome(report, time.perf_counter() - t0)

    def rename(self, report, person: str, name: str) -> bool:
        """Rename a person's folder (the person keeps its faces, under `name`)."""
        self._person(report, person)
        name = check_name(name)
        if name == person:
            return False
        if (self.dest / name).exists():
            raise Refused(f"a folder {name!r} exists already: merge into it instead")
        os.rename(self.dest / person, self.dest / name)
        return True

    def merge(self, report, person: str, into: str) -> bool:
        """All of `person`'s crops into `into`'s folder (a named person is
        never merged into a numbered one: the other way round)."""
        if GENERIC.fullmatch(into) and not GENERIC.fullmatch(person):
            person, into = into, person
        if person == into:
            raise Refused("a person cannot be merged into itself")
        files = [f["file"] for f in self._person(report, person)["faces"]]
        return self.move(report, files=files, to=into)

    def move(self, report, to: str, files: list[str] | None = None, track: int | None = None) -> bool:
        """Move faces (their crop `files`, or every face of `track`) to person
        `to`, to a new person `to` (a new name), or to "unknown". Into a
        person_NNN folder too: a crop moved in makes it the user's (names.py)."""
        faces = _faces(report)
        if track is not None:
            files = [f for f, rec in faces.items() if rec.get("track") == track]
        if not files:
            raise Refused("no face to move")
        for f in files:
            if f not in faces:
                raise Refused(f"{f}: no such face in {REPORT} (reload the page)")
        persons = {p["id"]: p for p in report["persons"]}
        if to != UNKNOWN:
            if to not in persons:
                to = check_name(to)
            moving = {faces[f]["frame"] for f in files}
            staying = {g["frame"] for g in persons.get(to, {"faces": []})["faces"] if g["file"] not in files}
            clash = sorted(moving & staying)
            if clash or len(moving) < len(files):
                at = next((faces[f] for f in files if faces[f]["frame"] in clash), None)
                raise Refused(f"{to} would have two faces of one frame"
                              + (f" (frame {at['frame']}, {at['time']:.2f} s)" if at else "")
                              + ": one person is never twice in a frame; move the other face first")
        target = self.dest / to
        target.mkdir(exist_ok=True)
        moved = False
        for f in files:
            src, dst = self.dest / f, target / Path(f).name
            if src.parent == target or not src.is_file():
                continue
            if dst.exists():
                if dst.read_bytes() != src.read_bytes():
                    raise Refused(f"{dst.relative_to(self.dest)} exists and is another file: move it away first")
                src.unlink()  # the same crop is there already
            else:
                shutil.move(src, dst)
            moved = True
        return moved

    def hide(self, report, person: str, hidden: bool = True) -> bool:
        """Mark (or unmark) a person hidden: a marker file in its folder."""
        self._person(report, person)
        marker = self.dest / person / HIDDEN
        if hidden:
            write_atomic(marker, "hidden on the review page; delete this file to show the person again\n")
        else:
            marker.unlink(missing_ok=True)
        return False  # the grouping does not change

    def not_same(self, report, a: str, b: str) -> bool:
        """Answer "not the same person" to the suggestion (a, b)."""
        pa, pb = self._person(report, a), self._person(report, b)
        pairs = self.not_same_pairs()
        pairs.append(sorted([Path(pa["faces"][0]["file"]).name, Path(pb["faces"][0]["file"]).name]))
        write_atomic(self.dest / NOT_SAME, json.dumps(pairs, indent=1))
        return False

    def not_same_pairs(self) -> list[list[str]]:
        try:
            data = json.loads((self.dest / NOT_SAME).read_text())
            return [list(map(str, p)) for p in data if isinstance(p, list) and len(p) == 2]
        except (OSError, ValueError, TypeError):
            return []

    def _person(self, report, pid: str) -> dict[str, Any]:
        p = next((p for p in report["persons"] if p["id"] == pid), None)
        if p is None or not (self.dest / pid).is_dir() or (self.dest / pid).is_symlink():
            raise Refused(f"no person {pid!r} (reload the page)")
        return p


def _faces(report) -> dict[str, dict[str, Any]]:
    """Crop file → its face record, for every face of the report."""
    return {f["file"]: f for f in [g for p in report["persons"] for g in p["faces"]] + report["unknown"]}
