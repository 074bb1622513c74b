"""Where videos are processed: in this process one after another (serial,
the default), or one Ray task a video (a local Ray when no address is
given). A task runs the video as `cluster-video` does, into its own result
folder with its feature cache (on storage every worker and the driver
share), and returns only the video's summary (store.Video: a few KB), so
that the driver holds no frames, crops or features. Results do not depend
on the executor: each video's result is computed by the same code from the
same file, and the driver links the summaries in library order.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..app import run
from ..errors import ClusterVideoError, SettingsError
from ..naming.folders import GENERIC
from ..output.export import output_dir
from .settings import check, default
from .store import summarise


RETRIES = 2
"""Times Ray runs a video's task again after its worker died (a lost node,
out of memory); a video that fails by itself (unreadable) is not retried."""


@dataclass(frozen=True)
class Job:
    """One video to run: its file, the folder its result goes under (LIB/videos),
    the run settings, --known, crops a unit keeps, and names to give by track."""

    video: str
    out: str
    settings: dict[str, Any]
    known: str | None
    crops: int
    rename: dict[int, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return output_dir(self.out, self.video).name


def process(job: Job):
    """Run one video (from its cache when it has one) and summarise it."""

    result, dest = run(job.video, out=job.out, overwrite=True, known=job.known,
                       rename=_renamer(job.rename) if job.rename else None, **job.settings)
    return summarise(dest, job.video, job.settings, job.known, job.crops)


def _renamer(by_track: dict[int, str]):
    """persons → persons, a person without a name of its own named after the
    library person of most of its faces' tracks (never two persons one name)."""
    from collections import Counter
    from dataclasses import replace


    def rename(persons):
        taken = {p.id for p in persons if not GENERIC.fullmatch(p.id)}
        out = []
        for p in persons:
            votes = Counter(by_track[s.track] for s in p.sightings if s.track in by_track)
            name = min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0] if votes else None
            if GENERIC.fullmatch(p.id) and name and name not in taken and 2 * votes[name] > len(p.sightings):
                taken.add(name)
                p = replace(p, id=name)
            out.append(p)
        return tuple(out)
    return rename


class Serial:
    """Each video (or chunk) in this process, in order."""

    def map(self, jobs: Sequence[Job]) -> list:
        return self.map_fn(process, jobs)

    def map_fn(self, fn, items: Sequence) -> list:
        return [fn(i) for i in items]


class RayExecutor:
    """One Ray task a video (one CPU each); `address` an existing cluster, else a local Ray."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        self.address, self.num_cpus = address, num_cpus

    def map(self, jobs: Sequence[Job]) -> list:
        return self.map_fn(process, jobs)

    def map_fn(self, fn, items: Sequence) -> list:
        """fn(item) for each item, one task each, in order; a user error names its item."""
        if not items:
            return []
        import ray

        if not ray.is_initialized():
            here = str(Path(__file__).resolve().parents[2])  # the workers import this very package
            env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}}
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     runtime_env=env, include_dashboard=False, log_to_driver=False,
                     logging_level="ERROR")
        task = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(_guarded)
        out = []
        for item, got in zip(items, ray.get([task.remote(fn, i) for i in items])):
            if isinstance(got, _Failed):  # the video failed by itself: say which, as the serial path would
                raise ClusterVideoError(got.message)
            out.append(got)
        return out


@dataclass(frozen=True)
class _Failed:
    message: str


def _guarded(fn, item):
    """fn(item), a user error returned as its message (the worker stays healthy, no retry)."""
    try:
        return fn(item)
    except (ClusterVideoError, ValueError) as e:
        return _Failed(str(e))


def make_executor(kind: str = default("executor"), address: str | None = None):
    check("executor", kind)
    if kind == "serial":
        if address:
            raise SettingsError("--ray-address goes with --executor ray")
        return Serial()
    if importlib.util.find_spec("ray") is None:  # an extra: said before any video runs
        raise ClusterVideoError("--executor ray needs Ray, which is not installed "
                                "(pip install 'cluster-video[ray]', or pip install ray)")
    return RayExecutor(address)
