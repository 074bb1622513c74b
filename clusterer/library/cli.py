"""`cluster-video library LIB add|list|remove|link|evaluate …` (clusterer/cli.py hands off here)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import ClusterVideoError
from ..options import GROUPS, PROG, Parser, add_option
from ..settings import default
from ..tuning import parse_sweep
from . import ops, store
from .evaluate import evaluate_library, sweep
from .settings import SETTINGS


LINK = ops.LINK
_LINK_META = {"link_threshold": "DIST", "link_pair_threshold": "DIST", "link_join_threshold": "DIST",
              "link_join_ratio": "RATIO", "link_attach_ratio": "RATIO", "link_cast_ratio": "RATIO",
              "link_rival_ratio": "RATIO", "link_min_faces": "N",
              "link_layout_threshold": "DIST"}


def _lib_opt(p, name: str, default_none: bool = True) -> None:
    s = SETTINGS[name]
    kw = dict(default=None if default_none else s.default,
              help=f"{s.help} (default: {s.default}{', or as the library was last linked' if default_none else ''})")
    if s.choices:
        kw["choices"] = s.choices
    else:
        kw["type"], kw["metavar"] = type(s.default), _LINK_META.get(name, "N")
    p.add_argument("--" + name.replace("_", "-"), dest=name, **kw)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=f"{PROG} library",
        description="Many videos, one cast: link the people of many videos into one library "
                    "(LIB/people/<name or person_NNNN>/, LIB/library.json, LIB/index.html; each video's own "
                    "result in LIB/videos/<name>/).")
    p.add_argument("library", metavar="LIB", help="the library folder (new, empty, or a library)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    a = sub.add_parser("add", help="add videos (files or folders of videos): each is run as cluster-video runs "
                                   "it, then the library is re-linked; videos already in it are not run again")
    a.add_argument("videos", nargs="+", metavar="VIDEO_OR_FOLDER")
    a.add_argument("--known", metavar="DIR", help="folder of known people, one sub-folder of photos per name")
    _lib_opt(a, "executor", default_none=False)
    a.add_argument("--ray-address", metavar="ADDR", help="with --executor ray: an existing Ray cluster "
                                                         "(default: start a local Ray)")
    _lib_opt(a, "crops", default_none=False)
    a.add_argument("--chunk-seconds", type=float, metavar="SEC", default=None,
                   help=SETTINGS["chunk_seconds"].help + " (default: whole videos)")
    for title, names in GROUPS.items():
        g = a.add_argument_group(f"per video: {title}")
        for name in names:
            add_option(g, name)
    add_option(a, "merge_gap")
    sub.add_parser("list", help="the videos and people of the library")
    r = sub.add_parser("remove", help="take videos out of the library (their result folders stay)")
    r.add_argument("names", nargs="+", metavar="VIDEO", help="a video's name, as `list` shows it")
    lk = sub.add_parser("link", help="re-link (after renaming people/ folders or moving crops, or to change "
                                     "the link settings); no video is extracted again")
    e = sub.add_parser("evaluate", help="score the library against ground truth files (VIDEO.gt.json or VIDEO.csv)")
    e.add_argument("gt", nargs="+", metavar="GT_FILE")
    e.add_argument("--sweep", metavar="SPEC", help="re-link in memory at each link threshold of START:STOP:STEP "
                                                   "(or a comma list) and print one row each; writes nothing")
    e.add_argument("--json", action="store_true", help="print the figures as JSON")
    for cmd in (a, r, lk, e):
        for name in LINK:
            _lib_opt(cmd, name)
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    root = Path(args.library)
    given = {k: getattr(args, k, None) for k in LINK}
    if args.command == "add":
        skip = {"library", "command", "videos", "known", "executor", "ray_address", "crops", "chunk_seconds", *given}
        settings = {k: v for k, v in vars(args).items() if k not in skip}
        settings = {k: v for k, v in settings.items() if v != _default(k)}  # only what was changed
        ran, kept, data = ops.add(root, args.videos, executor=args.executor, ray_address=args.ray_address,
                                  known=args.known, crops=args.crops, chunk_seconds=args.chunk_seconds,
                                  settings=settings, **given)
        print(f"{len(ran)} videos run, {len(kept)} already in the library; "
              f"{len(data['persons'])} people in {len(data['videos'])} videos → {root}")
        return 0
    if args.command == "remove":
        data = ops.remove(root, args.names, **given)
        print(f"removed {len(args.names)} (their folders in {root / 'videos'} are kept); "
              f"{len(data['persons'])} people in {len(data['videos'])} videos")
        return 0
    if args.command == "link":
        data = ops.relink(root, **given)
        print(f"{len(data['persons'])} people in {len(data['videos'])} videos → {root}")
        return 0
    if args.command == "list":
        return _list(root)

    if args.sweep:
        rows = sweep(root, args.gt, parse_sweep(args.sweep), given)
        keys = ["link_threshold", "library_persons", "bcubed_p", "bcubed_r", "bcubed_f", "wcp", "identities"]
        print(json.dumps(rows) if args.json else "\n".join(
            ["  ".join(f"{k:>15}" for k in keys)] + ["  ".join(f"{r.get(k, ''):>15}" for k in keys) for r in rows]))
        return 0
    figures = evaluate_library(root, args.gt)
    print(json.dumps(figures) if args.json else "\n".join(f"{k:>14}  {v}" for k, v in figures.items()))
    return 0


def _default(name: str):
    return default(name)


def _list(root: Path) -> int:
    if not (root / store.LIBRARY).exists():
        raise ClusterVideoError(f"{root}: not a library (no {store.LIBRARY})")
    data, videos = store.load(root)
    print(f"{len(videos)} videos:")
    for v in videos:
        print(f"  {v.name:<30} {len(v.units):>3} persons  {v.path}")
    print(f"{len(data['persons'])} people:")
    for p in data["persons"]:
        print(f"  {p['id']:<30} {p['faces']:>6} faces  in " + _where(p["videos"]))
    return 0


def _where(entries: list[dict]) -> str:
    """A library person's videos, each once (× its persons there when a video's
    run split it), and how many of its video persons were linked by clothes."""
    count: dict[str, int] = {}
    for a in entries:
        count[a["video"]] = count.get(a["video"], 0) + 1
    text = ", ".join(v if n == 1 else f"{v} ×{n}" for v, n in count.items())
    clothes = sum(a.get("linked") == "clothes" for a in entries)
    return text + (f"  ({clothes} linked by clothes)" if clothes else "")
