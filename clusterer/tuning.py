"""Threshold sweeps: re-cluster cached features at many thresholds, no decoding."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import SettingsError
from .settings import check
from .evaluate import GTFace, evaluate, predictions
from .grouping.persons import cluster
from .types import Extraction


MAX_STEPS = 1000
"""Thresholds one sweep may take: a tiny step must not build an endless list."""


IGNORED_BY = {"fused": "it groups by --fused-epsilon and --cloth-weight"}
"""The modes whose grouping the swept setting (--threshold) cannot change, and why."""


def check_sweep(mode: str) -> None:
    """Refuse a sweep whose rows would all be the same (the mode ignores --threshold)."""
    if mode in IGNORED_BY:
        raise SettingsError(f"--sweep varies --threshold, which --mode {mode} does not use ({IGNORED_BY[mode]}): "
                            f"every row would be the same; sweep with --mode two-stage or faces")


def parse_sweep(spec: str) -> list[float]:
    """'0.30:0.50:0.02' (start:stop:step, stop included) or '0.3,0.36,0.4'."""
    try:
        if ":" in spec:
            a, b, step = (float(x) for x in spec.split(":"))
            if not step > 0 or not b >= a:  # NaN fails both
                raise ValueError
            check("threshold", a), check("threshold", b)
            n = int(np.floor((b - a) / step + 1e-9)) + 1
            if n > MAX_STEPS:
                raise ValueError(f"more than {MAX_STEPS} thresholds")
            return [round(a + k * step, 6) for k in range(n)]
        values = [float(x) for x in spec.split(",") if x.strip()]
        if not values:
            raise ValueError
        return [check("threshold", v) for v in values]
    except ValueError as e:
        why = f" ({e})" if str(e) else ""
        raise SettingsError(f"--sweep: expected START:STOP:STEP or a comma-separated list of thresholds, "
                         f"got {spec!r}{why}") from None


@dataclass(frozen=True)
class SweepRow:
    """One threshold's outcome (figures only with ground truth)."""

    threshold: float
    persons: int
    unknown: int
    largest: int
    figures: dict[str, Any] | None = None


def sweep(ex: Extraction, thresholds: Sequence[float], settings: dict[str, Any],
          gt: Sequence[GTFace] | None = None) -> list[SweepRow]:
    """Cluster `ex` at each threshold with the other clustering settings fixed."""
    rows = []
    for thr in thresholds:
        persons, unknown = cluster(ex, **{**settings, "threshold": thr})
        figures = evaluate(predictions(persons, unknown), ex.sampled, gt) if gt is not None else None
        rows.append(SweepRow(thr, len(persons), len(unknown),
                             max((len(p.sightings) for p in persons), default=0), figures))
    return rows


def format_rows(rows: Sequence[SweepRow]) -> str:
    head = f"{'threshold':>9} {'persons':>7} {'unknown':>7} {'largest':>7}"
    with_gt = rows and rows[0].figures is not None
    if with_gt:
        head += f" {'bcubed_p':>8} {'bcubed_r':>8} {'bcubed_f':>8} {'wcp':>6}"
    lines = [head]
    for r in rows:
        line = f"{r.threshold:>9.3f} {r.persons:>7} {r.unknown:>7} {r.largest:>7}"
        if with_gt:
            f = r.figures
            line += (f" {f.get('bcubed_p', 0):>8.4f} {f.get('bcubed_r', 0):>8.4f} "
                     f"{f.get('bcubed_f', 0):>8.4f} {f.get('wcp', 0):>6.4f}")
        lines.append(line)
    return "\n".join(lines)
