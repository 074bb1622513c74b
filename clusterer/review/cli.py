"""`cluster-video review OUTPUT_DIR` and `cluster-video export OUTPUT_DIR -o FILE`."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ClusterVideoError
from ..options import PROG, Parser
from ..output.export import load_report
from . import edl, otio
from .actions import Session
from .server import serve


def build_review_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=f"{PROG} review",
        description="Review a result in the browser: rename, merge, move faces or tracks, hide, answer "
                    "'same person?' suggestions, play each appearance. Each change moves files in the result "
                    "folder as you would by hand, and re-clusters from the feature cache.")
    p.add_argument("output", help="a result folder (OUT/<video name>/)")
    p.add_argument("--video", metavar="PATH", help="the source video, if it moved since the run")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the address, do not open a browser")
    return p


def review(argv: list[str]) -> int:
    args = build_review_parser().parse_args(argv)
    if not 0 <= args.port < 65536:
        raise ClusterVideoError(f"--port {args.port}: not a port number")
    session = Session(args.output, args.video)
    try:
        serve(session, args.port, not args.no_browser,
              ready=lambda s: print(f"reviewing {session.dest} at {s.url} (Ctrl-C to stop)", flush=True))
    except OSError as e:
        raise ClusterVideoError(f"cannot listen on 127.0.0.1:{args.port} ({e.strerror or e})") from None
    except KeyboardInterrupt:
        pass
    return 0


def build_export_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=f"{PROG} export",
        description="Export the appearances for editing software: OpenTimelineIO markers (.otio) "
                    "or a CMX 3600 EDL (.edl), chosen by the file name's extension.")
    p.add_argument("output", help="a result folder (OUT/<video name>/)")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="a new .otio or .edl file")
    return p


def export(argv: list[str]) -> int:
    args = build_export_parser().parse_args(argv)
    out = Path(args.out)
    writer = {".otio": otio.write, ".edl": edl.write}.get(out.suffix.lower())
    if writer is None:
        raise ClusterVideoError(f"{out}: give a file ending in .otio or .edl")
    dest = Path(args.output)
    if not dest.is_dir():
        raise ClusterVideoError(f"{dest}: not a result folder")
    report = load_report(dest)
    if report is None:
        raise ClusterVideoError(f"{dest}: no clusters.json (not a result folder)")
    if out.exists() or out.is_symlink():
        raise ClusterVideoError(f"{out}: exists; give another file name (it is never replaced)")
    n = writer(report, out)
    print(f"{n} appearances of {len(report['persons'])} persons → {out}")
    return 0
