"""The output folder OUT/<stem>/ as a safe place (README, "Your files are safe").

- Nothing outside it is written, replaced or deleted: its name is made a
  plain folder name (safe_name), and a symbolic link at it or inside it is
  refused with one line (refuse_links), never followed.
- One run at a time per folder: a lock file held with flock. The kernel
  drops the lock when its process dies, so a killed run's lock file is no
  obstacle (and it names the holder for the one refused).
- A run stages its files in a hidden folder inside it (Staging) and moves
  them into place at the end, clusters.json last. A run killed before that
  leaves the previous result as it was; its staging folder, which only the
  tool writes, is removed by the next run. A run killed while moving its
  files (a marker says so) is completed by the next run before that run
  reads anything (recover).

Which files a run may replace (those it provably wrote) is export.py's
rule; this module only knows its own two hidden names.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import OutputError

LOCK = ".cluster-video.lock"
"""Lock file inside the output folder, naming the process that holds it."""

STAGING = ".cluster-video-staging"
"""Hidden folder inside the output folder where a run writes its new files."""

_MARKER = ".switching.json"
"""Inside STAGING: written once everything is staged; lists the file to move
last and the stale files to delete. Its presence means "complete the switch"."""

TOOL_NAMES = frozenset({LOCK, STAGING})
"""Names in the output folder that only this module writes."""


def safe_name(stem: str) -> str:
    """`stem` as one plain folder name: separators and NUL become '_', and a
    name of dots only ('', '.', '..') gets a leading '_' (a video called
    '...mp4' has the stem '..', which would name the parent folder)."""
    name = "".join("_" if c in "/\\\0" else c for c in stem)
    return name if name.strip(".") else "_" + name


def refuse_links(dest: Path) -> None:
    """Raise OutputError naming the first symbolic link at `dest` or inside
    it: the tool never writes or deletes through a link."""
    if dest.is_symlink():
        raise OutputError(_link(dest))
    if not dest.is_dir():
        return
    todo = [dest]
    while todo:
        with os.scandir(todo.pop()) as entries:
            for e in entries:
                if e.is_symlink():
                    raise OutputError(_link(Path(e.path)))
                if e.is_dir(follow_symlinks=False):
                    todo.append(Path(e.path))


def _link(path: Path) -> str:
    return (f"{path}: is a symbolic link inside the output folder; cluster-video never writes or "
            f"deletes through a link: remove the link, or choose another --out")


def _lock(dest: Path) -> int:
    """Hold dest's lock (an open descriptor), or raise OutputError naming the holder."""
    import fcntl

    path = dest / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as e:
            if os.path.islink(path):
                raise OutputError(_link(path)) from None
            raise OutputError(f"{dest}: cannot write there ({e.strerror or e})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise OutputError(f"{dest}: another cluster-video run is writing there ({holder}); "
                              f"wait for it to end, or choose another --out") from None
        try:  # the holder we followed may have removed the file: lock the one at the path
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode())
            return fd
        os.close(fd)


def _unlock(dest: Path, fd: int) -> None:
    """Remove the lock file while still holding it, then let go."""
    with contextlib.suppress(OSError):
        os.unlink(dest / LOCK)
    os.close(fd)


def _relative(name: str) -> Path:
    """`name` as a path inside the folder, or ValueError (absolute, '..', '.', empty parts)."""
    parts = name.split("/")
    if not name or any(p in ("", ".", "..") for p in parts) or "\\" in name or "\0" in name:
        raise ValueError(f"not a path inside the output folder: {name!r}")
    return Path(*parts)


class Staging:
    """A run's new files, written under OUT/<stem>/STAGING/ until commit()
    moves them into the folder. Names are paths relative to the folder."""

    def __init__(self, dest: Path):
        self.dest = dest
        self.root = dest / STAGING
        self.root.mkdir()

    def path(self, name: str) -> Path:
        """Where to write `name` (its folders made)."""
        p = self.root / _relative(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write(self, name: str, data: bytes) -> None:
        self.path(name).write_bytes(data)

    def commit(self, last: str, delete: Iterable[str] = ()) -> None:
        """Move every staged file into the folder, `last` last, then delete
        `delete` (the caller's stale files). A kill from here on is completed
        by the next run (recover)."""
        tmp = self.root / (_MARKER + ".tmp")
        tmp.write_text(json.dumps({"last": last, "delete": sorted(delete)}))
        os.replace(tmp, self.root / _MARKER)
        _switch(self.dest)

    def discard(self) -> None:
        """Drop what was staged; a switch already begun (Ctrl-C during commit)
        is completed instead, or, failing that, left for the next run."""
        if not self.root.is_dir() or self.root.is_symlink():
            return
        if (self.root / _MARKER).is_file():
            with contextlib.suppress(Exception):
                _switch(self.dest)
            return
        shutil.rmtree(self.root)


def _switch(dest: Path) -> None:
    """Move the staged files into dest (the marker's `last` one last), delete
    the marker's stale files, and remove the staging folder. Idempotent: a
    run killed half-way is completed by calling it again."""
    root = dest / STAGING
    plan = json.loads((root / _MARKER).read_text())
    refuse_links(dest)  # again: a link made while this run worked is not followed either
    staged = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                    if p.is_file() and not (p.parent == root and p.name.startswith(_MARKER)))
    for name in sorted(staged, key=lambda n: n == plan["last"]):
        target = dest / _relative(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(root / name, target)
    for name in plan["delete"]:
        stale = dest / _relative(name)
        if stale.is_file() or stale.is_symlink():
            stale.unlink()  # never follows a link
        for folder in list(stale.parents)[:-len(dest.parents) - 1]:  # its folders inside dest, if empty
            with contextlib.suppress(OSError):
                folder.rmdir()
    shutil.rmtree(root)


def recover(dest: Path) -> None:
    """Finish or drop what an interrupted run left: a switch in progress is
    completed; a staging folder without the marker (killed before its
    switch) is removed, the previous result untouched."""
    root = dest / STAGING
    if not root.is_dir() or root.is_symlink():
        return
    if (root / _MARKER).is_file():
        _switch(dest)
    else:
        shutil.rmtree(root)


@contextlib.contextmanager
def claim(dest: Path, check: Callable[[Path], None] = lambda dest: None) -> Iterator[Staging]:
    """Hold `dest` for one run and yield its Staging: refuse links, create the
    folder if needed, lock it, recover an interrupted run, then `check` it
    (export's rules on what may be replaced). Afterwards whatever was not
    committed is dropped, the lock released, and the folder removed again if
    this call created it and nothing was committed (no empty OUT/<stem>/)."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise OutputError(_link(dest) if dest.is_symlink() else f"{dest}: exists and is not a folder")
    refuse_links(dest)
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{dest}: cannot write there ({e.strerror or e})") from None
    try:
        fd = _lock(dest)
        try:
            recover(dest)
            check(dest)
            stage = Staging(dest)
            try:
                yield stage
            finally:
                stage.discard()
        finally:
            _unlock(dest, fd)
    finally:
        if created:
            with contextlib.suppress(OSError):
                dest.rmdir()  # only if empty
