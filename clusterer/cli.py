"""Command line: parse options (derived from defaults.SETTINGS) and hand off to pipeline.run.

Errors the user can fix print one line on stderr and exit 1; set
CLUSTER_VIDEO_TRACEBACK=1 to see the traceback instead.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from . import __version__
from .defaults import SETTINGS
from .errors import ClusterVideoError

PROG = "cluster-video"


def _opt(parser: argparse.ArgumentParser, name: str, type_=None, metavar=None) -> None:
    s = SETTINGS[name]
    shown = {"end": "the end", "cloth_model": "ImageNet MobileNetV2"}.get(name, s.default)
    kw = dict(default=s.default, help=f"{s.help} (default: {shown})")
    if s.choices:
        kw["choices"] = s.choices
    else:
        kw["type"] = type_
        kw["metavar"] = metavar
    parser.add_argument("--" + name.replace("_", "-"), dest=name, **kw)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Find every person in a video and group their appearances into one folder "
                    "per person plus an 'unknown' folder, with a clusters.json report.")
    p.add_argument("video", help="input video (any format OpenCV's FFmpeg backend reads)")
    _opt(p, "mode")
    _opt(p, "threshold", float, "DIST")
    _opt(p, "fps", float, "N")
    _opt(p, "start", float, "SEC")
    _opt(p, "end", float, "SEC")
    _opt(p, "detector")
    _opt(p, "upsample", int, "N")
    _opt(p, "min_face", int, "PX")
    _opt(p, "min_faces", int, "N")
    _opt(p, "loose_threshold", float, "DIST")
    _opt(p, "cloth_threshold", float, "DIST")
    _opt(p, "cloth_ratio", float, "R")
    _opt(p, "cloth_window", float, "SEC")
    _opt(p, "cloth_weight", float, "W")
    _opt(p, "fused_epsilon", float, "DIST")
    _opt(p, "cloth_model", str, "PATH")
    _opt(p, "device")
    _opt(p, "out", str, "DIR")
    p.add_argument("--overwrite", action="store_true",
                   help="write into an existing result folder, replacing only the files an earlier "
                        "run wrote (files you added are kept)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def _fmt_time(t: float) -> str:
    m, s = divmod(t, 60)
    h, m = divmod(int(m), 60)
    return f"{h:d}:{m:02d}:{s:05.2f}"


def summary(result, dest) -> str:
    """The end-of-run table: each person, faces, first and last time seen."""
    rows = [f"{'person':<14}{'faces':>7}  {'first':>11}  {'last':>11}"]
    for p in result.persons:
        rows.append(f"{p.id:<14}{len(p.faces):>7}  {_fmt_time(p.first):>11}  {_fmt_time(p.last):>11}")
    rows.append(f"{'unknown':<14}{len(result.unknown):>7}")
    rows.append(f"{len(result.persons)} persons, {result.n_faces} faces in {len(result.sampled)} "
                f"sampled frames → {dest}")
    return "\n".join(rows)


def _progress_factory(quiet: bool):
    if quiet:
        return None

    def make(info):
        from tqdm import tqdm

        bar = tqdm(total=round(info.duration, 1) or None, unit="s", desc="video",
                   bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f}s [{elapsed}<{remaining}]")

        def update(t: float) -> None:
            bar.update(max(0.0, round(t, 1) - bar.n))
        make.bar = bar
        return update
    make.bar = None
    return make


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    progress = _progress_factory(args.quiet)
    try:
        from .pipeline import run

        opts = {k: v for k, v in vars(args).items() if k not in ("video", "quiet")}
        result, dest = run(args.video, progress=progress, **opts)
    except (ClusterVideoError, ValueError) as e:
        if os.environ.get("CLUSTER_VIDEO_TRACEBACK"):
            raise
        if progress and progress.bar is not None:
            progress.bar.close()
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    if progress and progress.bar is not None:
        progress.bar.close()
    if not args.quiet:
        print(summary(result, dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
