"""Command line: parse options (derived from settings.SETTINGS) and hand off to app.run.

Errors the user can fix print one line on stderr and exit 1; set
CLUSTER_VIDEO_TRACEBACK=1 to see the traceback instead. A video that decodes
only in part gives its results, one warning line, and exit status 3.
"""
from __future__ import annotations

import argparse
import atexit
import gc
import json
import logging
import os
import sys
import threading
import time

from tqdm import tqdm

from .app import run, tune
from .errors import ClusterVideoError, SettingsError
from .evaluate import evaluate_output
from .library import cli as library_cli
from .naming.labels import write as write_labels
from .options import GROUPS, PROG, Parser, add_option
from .output.export import GALLERY
from .review import cli as review_cli
from .settings import SETTINGS
from .sheets import write_sheets
from .tuning import format_rows, parse_sweep
from .version import __version__

EXIT_PARTIAL = 3
"""Exit status of a run whose video decoded only in part (its results are written)."""


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
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
    p = Parser(prog=f"{PROG} evaluate", description="Score a result folder against ground truth.",
               epilog=LEGEND)
    p.add_argument("output", help="a result folder (OUT/<video name>/) or its clusters.json")
    p.add_argument("gt", help="ground truth: benchgen's .gt.json, or a CSV with the header "
                              "frame,left,top,right,bottom,identity (or time instead of frame)")
    add_option(p, "iou")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p


def build_labels_parser() -> argparse.ArgumentParser:
    p = Parser(
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
    p = Parser(
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
    rows.append(f"open {dest / GALLERY} in a browser, or correct them there: {PROG} review {dest}")
    return "\n".join(rows)


HEARTBEAT_S = 30.0
"""With -q on a terminal, a line this often (seconds) says the run is alive."""


class Progress:
    """What a run shows while it works (app.run's `progress`): a bar on stderr that
    names the stage and the speed in × real time; with -q, nothing, except on a
    terminal one line every HEARTBEAT_S, so that a run of minutes is seen alive."""

    def __init__(self, quiet: bool, stream=None, every: float = HEARTBEAT_S):
        self.quiet, self.stream = quiet, stream or sys.stderr
        self.bar, self.name, self.total, self.at, self.speed = None, "starting", None, None, None
        self.began = time.monotonic()
        self._first = self._t0 = None
        self._stop = threading.Event()
        self._beat = None
        if quiet and self.stream.isatty():
            self._beat = threading.Thread(target=self._heartbeat, args=(every,), daemon=True)
            self._beat.start()

    def __call__(self, info):
        self.total = round(info.duration, 1) or None
        if not self.quiet:
            # a raw stream (.h264) or a one-frame file has no length to count down
            fmt = ("{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f}s [{elapsed}<{remaining}{postfix}]"
                   if self.total else "{desc}: {n:.1f}s [{elapsed}{postfix}]")
            self.bar = tqdm(total=self.total, unit="s", desc=self.name, file=self.stream, bar_format=fmt)
        return self.update

    def stage(self, name: str) -> None:
        self.name = name
        if self.bar is not None:
            self.bar.set_description_str(name)

    def update(self, t: float) -> None:
        now = time.monotonic()
        if self._first is None:
            self._first, self._t0 = t, now
        self.at = t
        if now > self._t0:
            self.speed = (t - self._first) / (now - self._t0)
        if self.bar is not None:
            if self.speed is not None:
                self.bar.set_postfix_str(f"{self.speed:.1f}× real time", refresh=False)
            self.bar.update(max(0.0, round(t, 1) - self.bar.n))

    def line(self) -> str:
        """One line of where the run is: the -q heartbeat."""
        where = f", {self.at:.0f}/{self.total or 0:.0f} s of video" if self.at is not None else ""
        speed = f", {self.speed:.1f}× real time" if self.speed is not None else ""
        return f"{PROG}: {self.name}{where}{speed} ({time.monotonic() - self.began:.0f} s so far)"

    def _heartbeat(self, every: float) -> None:
        while not self._stop.wait(every):
            print(self.line(), file=self.stream, flush=True)

    def close(self, done: bool = False) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()  # no line after the run's own output
            self._beat = None
        if self.bar is not None:
            bar = self.bar
            if done and bar.total and bar.n < bar.total:  # the last sample lies before the video's end
                bar.update(bar.total - bar.n)
            bar.close()
            self.bar = None


LEGEND = """\
matched: ground-truth faces found (box overlap >= --iou); the rest count over these.
bcubed_p, bcubed_r, bcubed_f: BCubed precision (does each person hold one identity?), recall (is each
  identity in one person?) and their F; pairwise_f: F over pairs of faces; wcp: weighted cluster purity;
  nmi: normalized mutual information; persons: persons found; identities: in the ground truth;
  unknown_rate: share of the matched faces left in unknown/; false_faces: faces found that match no
  ground-truth face; det_recall: share of the ground-truth faces on sampled frames that were found."""
"""Under evaluate's table (and in its --help): what each figure means."""


def _evaluate(argv: list[str]) -> int:
    args = build_evaluate_parser().parse_args(argv)
    figures = evaluate_output(args.output, args.gt, args.iou)
    if args.json:
        print(json.dumps(figures))
    else:
        print("\n".join(f"{k:>14}  {v}" for k, v in figures.items()))
        print("\n" + LEGEND)
    return 0


def _main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    settings = {k: v for k, v in vars(args).items()
                if k not in ("video", "quiet", "out", "overwrite", "sweep", "gt", "known")}
    if args.gt and not args.sweep:
        raise SettingsError("--gt goes with --sweep; to score a result use: cluster-video evaluate")
    progress = Progress(args.quiet)
    try:
        if args.sweep:
            rows = tune(args.video, parse_sweep(args.sweep), out=args.out, gt_file=args.gt,
                        progress=progress, **settings)
            progress.close(done=True)
            print(format_rows(rows))
            return 0
        result, dest = run(args.video, out=args.out, overwrite=args.overwrite, known=args.known,
                           progress=progress, **settings)
        progress.close(done=result.complete)  # never more than was read
    finally:
        progress.close()
    if not args.quiet:
        print(summary(result, dest))
    if not result.complete:
        print(f"{PROG}: warning: {args.video}: {result.coverage}: the stream broke at "
              f"{result.coverage.until:.1f} s (damaged or truncated); the results cover that part "
              f"(exit status {EXIT_PARTIAL})", file=sys.stderr)
        return EXIT_PARTIAL
    return 0


def _dispatch(argv: list[str]) -> int:
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # At exit, before the interpreter's last collections, move every object into the
    # collector's permanent generation: those collections would otherwise walk torch's
    # hundreds of thousands of objects for nothing (0.4-0.5 s of every command, measured;
    # the process's memory goes back to the system whole). Files are closed and threads
    # joined before then; unregister first so repeated calls (tests) register it once.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    try:
        try:
            return _dispatch(argv)
        finally:
            sys.stdout.flush()  # here, where a closed pipe can be caught (argparse's --help exits too)
    except BrokenPipeError:
        # the reader went away (`| head`): as the Python docs advise, point stdout at devnull
        # so that the interpreter's last flush does not fail again, and end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
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
