"""Run the CLI and send this process a signal at a chosen point of writing.

    python kill_at.py SIGNAL POINT N CLI-ARGS...

SIGNAL: KILL or INT. POINT: `stage` (before the Nth file is staged), `move`
(before the Nth rename out of the staging folder: the 1st puts the marker
in place, the next ones move files) or `delete` (before the Nth stale crop
is deleted). The signal interrupts the run where a user's kill or Ctrl-C
could, but at a point that is known, not a guess in time.
"""
from __future__ import annotations

import os
import pathlib
import signal
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # this checkout's clusterer
from clusterer import cli  # noqa: E402
from clusterer.output import outdir  # noqa: E402

sig, point, n, args = getattr(signal, "SIG" + sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
count = 0


def hit() -> None:
    global count
    count += 1
    if count == n:
        os.kill(os.getpid(), sig)


if point == "stage":
    write = outdir.Staging.write

    def staged(self, name, data):
        hit()
        write(self, name, data)

    outdir.Staging.write = staged
elif point == "move":
    replace = os.replace

    def moved(src, dst):
        if outdir.STAGING in str(src) and (outdir.STAGING not in str(dst) or str(dst).endswith(".switching.json")):
            hit()
        replace(src, dst)

    outdir.os.replace = moved
elif point == "delete":
    unlink = pathlib.Path.unlink

    def deleted(self, missing_ok=False):
        if self.suffix == ".jpg" and outdir.STAGING not in str(self):
            hit()
        unlink(self, missing_ok=missing_ok)

    pathlib.Path.unlink = deleted
else:
    raise SystemExit(f"unknown point {point!r}")
sys.exit(cli.main(args))
