"""Command line: parse options (derived from settings.SETTINGS) and hand off to app.run.

Errors the user can fix print one line on stderr and exit 1; set
CLUSTER_VIDEO_TRACEBACK=1 to see the traceback instead. A video that decodes
only in part gives its results, one warning line, and exit status 3.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from .app import run, tune
from .errors import ClusterVideoError, SettingsError
from .evaluate import evaluate_output
from .library import cli as library_cli
from .naming.labels import write as write_labels
from .review import cli as review_cli
from .options import GROUPS, PROG, add_option
from .settings import SETTINGS
from .sheets import write_sheets
from .tuning import format_rows, parse_sweep
from .version import __version__

EXIT_PARTIAL = 3
"""Exit status of a run whose video decoded only in part (its results are written)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Find every person in a video and group their appearances into one folder "
                    "per person plus an 'unknown' folder, with a clusters.json report.",
        epilog=f"Score a result against ground truth: {PROG} evaluate OUTPUT_DIR GT_FILE. "
               f"Export corrected folders as ground truth: {PROG} labels OUTPUT_DIR -o truth.csv. "
               f"Contact sheets of every folder: {PROG} sheet OUTPUT_DIR -o SHEETS_DIR. "
               f"Review in the browser: {PROG} review OUTPUT_DIR. "
               f"Markers for editors: {PROG} export OUTPUT_DIR -o FILE.otio|.edl")
    p.add_argument("video", help="input video (any format OpenCV's FFmpeg backend reads)")
    for title, names in GROUPS.items():
        g = p.add_argument_group(title)
        for name in names:
            add_option(g, name)
    g = p.add_argument_group("output")
    add_option(g, "out")
    add_option(g, "merge_gap")
    g.add_argument("--overwrite", action="store_true",
                   help="write into an existing result folder, replacing only the files an earlier "
                        "run wrote (files you added are kept)")
    g.add_argument("--known", metavar="DIR",
                   help="folder of known people, one sub-folder of photos per name: persons who "
                        "match one are named after it")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    g = p.add_argument_group("tuning")
    g.add_argument("--sweep", metavar="SPEC",
                   help="re-cluster at each threshold of START:STOP:STEP (or a comma list) from the "
                        "feature cache and print one row each; writes no results")
    g.add_argument("--gt", metavar="FILE", help="with --sweep: ground truth (benchgen JSON or CSV) "
                                                "to add BCubed and WCP to each row")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def build_evaluate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"{PROG} evaluate",
                                description="Score a result folder against ground truth.")
    p.add_argument("output", help="a result folder (OUT/<video name>/) or its clusters.json")
    p.add_argument("gt", help="ground truth: benchgen's .gt.json, or a CSV with the header "
                              "frame,left,top,right,bottom,identity (or time instead of frame)")
    add_option(p, "iou")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p


def build_labels_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{PROG} labels",
        description="Export a corrected result folder as ground truth for `evaluate`: one row per crop in "
                    "a folder you named (identity = the folder's name). Move crops between folders, do not "
                    "rename them; crops in person_NNN/ are left out unless --all; unknown/ never.")
    p.add_argument("output", help="a result folder (OUT/<video name>/)")
    p.add_argument("-o", "--out", required=True, metavar="CSV", help="the CSV to write (a new file)")
    p.add_argument("--all", action="store_true",
                   help="also the crops still in person_NNN/ folders, that name as their identity")
    return p


def _labels(argv: list[str]) -> int:
    args = build_labels_parser().parse_args(argv)
    got = write_labels(args.output, args.out, args.all)
    names = len({r.identity for r in got.rows})
    print(f"{len(got.rows)} faces of {names} identities → {args.out}"
          + (f"; {got.generic_left_out} crops in person_NNN/ folders left out (--all includes them)"
             if got.generic_left_out else "")
          + (f"; {got.unrecognised} files no run wrote skipped" if got.unrecognised else ""))
    return 0


def build_sheet_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{PROG} sheet",
        description="Contact sheets of a result folder: every crop of each person folder (and unknown/) "
                    "in one grid, frame and time under each, as the folders are now.")
    p.add_argument("output", help="a result folder (OUT/<video name>/)")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="a new or empty folder for the sheets")
    return p


def _sheet(argv: list[str]) -> int:
    args = build_sheet_parser().parse_args(argv)
    done = write_sheets(args.output, args.out)
    print(f"{len(done)} folders, {sum(done.values())} crops → {args.out}")
    return 0


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


def _evaluate(argv: list[str]) -> int:
    import json

    args = build_evaluate_parser().parse_args(argv)
    figures = evaluate_output(args.output, args.gt, args.iou)
    if args.json:
        print(json.dumps(figures))
    else:
        print("\n".join(f"{k:>14}  {v}" for k, v in figures.items()))
    return 0


def _main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    settings = {k: v for k, v in vars(args).items()
                if k not in ("video", "quiet", "out", "overwrite", "sweep", "gt", "known")}
    progress = _progress_factory(args.quiet)
    try:
        if args.sweep:
            rows = tune(args.video, parse_sweep(args.sweep), out=args.out, gt_file=args.gt,
                        progress=progress, **settings)
            _close(progress, done=True)
            print(format_rows(rows))
            return 0
        if args.gt:
            raise SettingsError("--gt goes with --sweep; to score a result use: cluster-video evaluate")
        result, dest = run(args.video, out=args.out, overwrite=args.overwrite, known=args.known,
                           progress=progress, **settings)
        _close(progress, done=result.complete)  # never more than was read
    finally:
        _close(progress)
    if not args.quiet:
        print(summary(result, dest))
    if not result.complete:
        print(f"{PROG}: warning: {args.video}: {result.coverage}: the stream broke at "
              f"{result.coverage.until:.1f} s (damaged or truncated); the results cover that part "
              f"(exit status {EXIT_PARTIAL})", file=sys.stderr)
        return EXIT_PARTIAL
    return 0


def _close(progress, done: bool = False) -> None:
    if progress and progress.bar is not None:
        bar = progress.bar
        if done and bar.total and bar.n < bar.total:  # the last sample lies before the video's end
            bar.update(bar.total - bar.n)
        bar.close()
        progress.bar = None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    try:
        if argv[:1] == ["evaluate"]:
            return _evaluate(argv[1:])
        if argv[:1] == ["labels"]:
            return _labels(argv[1:])
        if argv[:1] == ["sheet"]:
            return _sheet(argv[1:])
        if argv[:1] in (["review"], ["export"]):
            return getattr(review_cli, argv[0])(argv[1:])
        if argv[:1] == ["library"]:
            return library_cli.main(argv[1:])
        return _main(argv)
    except ClusterVideoError as e:
        if os.environ.get("CLUSTER_VIDEO_TRACEBACK"):
            raise
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
