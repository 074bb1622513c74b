"""Shared fixtures: public-domain portraits shipped by installed packages,
the bundled demo clip, and clips generated in tmp_path. No network, no ../shared."""
from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # pytest-xdist's workers (`make test`: -n 2) share the cores: each gets its share
    # of threads for torch's and BLAS's pools (set before they load), not one per core
    # each, which only makes them wait on one another.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1)
                                                     // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "samples" / "demo.mp4"
SHARED_BENCH = ROOT.parent / "shared" / "bench"


@pytest.fixture(scope="session")
def hopper_bgr() -> np.ndarray:
    import matplotlib.cbook as cbook

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    import skimage

    return cv2.imread(str(Path(skimage.__file__).parent / "data" / "astronaut.png"))


@pytest.fixture
def demo_video() -> Path:
    assert DEMO.is_file(), "samples/demo.mp4 is missing (python samples/make_demo.py)"
    return DEMO


def once(tmp_path_factory, name: str, make):
    """make(a new folder), called once a test session and its value shared, also
    between pytest-xdist's workers (`-n 2`): the first to ask makes it under a file
    lock, in the session's common temporary folder, and pickles the value there;
    the others wait for it and read it. (A session fixture alone runs once per worker.)"""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    value = root / f"once-{name}.pickle"
    with open(root / f"once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not value.exists():
            folder = root / f"once-{name}"
            shutil.rmtree(folder, ignore_errors=True)  # a half-made one, if a worker died making it
            folder.mkdir()
            made = make(folder)
            part = value.with_suffix(".part")
            part.write_bytes(pickle.dumps(made))
            part.rename(value)
        return pickle.loads(value.read_bytes())


@pytest.fixture(scope="session")
def demo_cli_run(tmp_path_factory):
    """`cluster-video samples/demo.mp4` with every default, run once a session:
    (Ran, its result folder). Read it; to change it, copy it first."""
    return once(tmp_path_factory, "demo-cli", lambda out: (cli_in_process(DEMO, "--out", out), out / "demo"))


@pytest.fixture(scope="session")
def demo_faces_run(tmp_path_factory):
    """One faces-mode run of the demo clip, shared by the tests that start from
    its result: (Result, its folder). Never write into it: see demo_faces_copy."""
    from clusterer import run

    return once(tmp_path_factory, "demo-faces", lambda out: run(DEMO, out=out, mode="faces"))


@pytest.fixture
def demo_faces_copy(demo_faces_run, tmp_path):
    """A copy of the shared faces-mode run, in tmp_path/out, for a test to change:
    (Result, the copied folder). Its feature cache comes along, as after a run."""
    result, dest = demo_faces_run
    copy = tmp_path / "out" / dest.name
    shutil.copytree(dest, copy, symlinks=True)
    return result, copy


@pytest.fixture
def clothing_cache(demo_cli_run):
    """clothing_cache(dest): the session's default run's feature cache (faces and
    clothing) copied over dest/cache, a copy of a faces-mode run of the demo, before
    the test re-runs it in a mode with clothing: the same video and extraction
    settings, so the same key; the run reads the clothing from it instead of
    decoding the clip again. (The cache never changes a result: check_identical.)"""
    def put(dest: Path) -> None:
        shutil.rmtree(dest / "cache")
        shutil.copytree(demo_cli_run[1] / "cache", dest / "cache")
    return put


@dataclass
class Ran:
    """What a CLI call gave: like subprocess.CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str


def cli_in_process(*args) -> Ran:
    """The CLI run in this process (clusterer.cli.main), its output captured: for
    the tests whose subject is not the process itself (its start-up, native
    libraries' output), so that they do not pay a new interpreter and torch import."""
    from clusterer.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's own errors
            code = e.code if isinstance(e.code, int) else 1
    return Ran(code, out.getvalue(), err.getvalue())


def write_clip(path: Path, frames, fps: float, size=(160, 120)) -> Path:
    """Write BGR frames (an iterable) to an MPEG-4 file."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert w.isOpened()
    for f in frames:
        w.write(f)
    w.release()
    return path


def background(seed: int = 0, size=(640, 360)) -> np.ndarray:
    """A smooth random background (BGR)."""
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 255, (3, 4, 3), dtype=np.uint8), size, interpolation=cv2.INTER_CUBIC)


def walk_in(bg: np.ndarray, person: np.ndarray, height: int) -> np.ndarray:
    """`bg` with `person` (BGR) scaled to `height` pixels standing at its right edge."""
    p = cv2.resize(person, (int(height * person.shape[1] / person.shape[0]), height))
    out = bg.copy()
    out[-height:, -p.shape[1] - 20:-20] = p
    return out


@pytest.fixture(autouse=True)
def no_error_logs(caplog):
    """Any test that makes the library log at ERROR fails."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright, one a session (skipped where absent);
    each test opens its own page."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()
