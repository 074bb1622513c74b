"""Hostile input: NaN and infinities for every numeric option, malformed
ground truth, damaged and partial videos, a full disk, huge or misnamed
--known photos. Each gives one line (or, for a partial video, a warning and
exit status 3), never a traceback, and leaves the output folder consistent."""
from __future__ import annotations

import errno
import json
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from clusterer.settings import SETTINGS
from safety_tools import (DEMO, END, ROOT, assert_consistent, copy_result, demo_result, error_line, main,
                          report, run_cli, snapshot)

FLOATS = sorted(n for n, s in SETTINGS.items() if isinstance(s.default, float) or n == "end")
"""Every float option of the table (a new one is covered without editing this file)."""
RUN_FLOATS = [n for n in FLOATS if n != "iou"]  # iou is evaluate's


def test_every_float_setting_is_covered():
    assert {"threshold", "fps", "start", "end", "merge_gap", "iou"} <= set(FLOATS)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "infinity"])
@pytest.mark.parametrize("name", RUN_FLOATS)
def test_non_finite_numbers_refused(name, value, tmp_path, capsys):
    rc, _, err = main(capsys, DEMO, "--out", tmp_path, "--quiet", f"--{name.replace('_', '-')}={value}")
    assert rc == 1 and "finite" in error_line(err) and name in err
    assert not list(tmp_path.iterdir())


@pytest.fixture
def result_folder(tmp_path, tmp_path_factory):
    return copy_result(demo_result(tmp_path_factory), tmp_path)


@pytest.mark.parametrize("value, needle", [("nan", "finite"), ("inf", "finite"), ("-0.5", ">="), ("1.5", "<=")])
def test_evaluate_iou_checked(value, needle, result_folder, tmp_path, capsys):
    gt = tmp_path / "gt.csv"
    gt.write_text("frame,left,top,right,bottom,identity\n0,1,2,3,4,a\n")
    rc, _, err = main(capsys, "evaluate", result_folder, gt, f"--iou={value}")
    assert rc == 1 and needle in error_line(err)


@pytest.mark.parametrize("spec", ["0.3:nan:0.1", "nan", "0.3,inf", "0:inf:0.1", "0.3:0.5:1e-300"])
def test_sweep_non_finite_refused(spec, result_folder, capsys):
    rc, _, err = main(capsys, DEMO, "--out", result_folder.parent, "--end", END, "--sweep", spec)
    assert rc == 1 and "--sweep" in error_line(err)


GT = {
    "short row": ('{"faces": [[0, "a"]]}', "gt.json", "box"),
    "three-number box": ('{"faces": [[0, "a", 1, 2, 3]]}', "gt.json", "box"),
    "nan box": ('{"faces": [[0, "a", NaN, 2, 3, 4]]}', "gt.json", "box"),
    "text frame": ('{"faces": [["x", "a", 1, 2, 3, 4]]}', "gt.json", "frame"),
    "csv nan": ("frame,left,top,right,bottom,identity\n0,nan,2,3,4,a\n", "gt.csv", "line 2"),
    "binary": (bytes(range(256)) * 4, "gt.csv", "not a text file"),
}


@pytest.mark.parametrize("case", sorted(GT))
def test_malformed_ground_truth_one_line(case, result_folder, tmp_path, capsys):
    text, name, needle = GT[case]
    gt = tmp_path / name
    gt.write_bytes(text if isinstance(text, bytes) else text.encode())
    rc, _, err = main(capsys, "evaluate", result_folder, gt)
    line = error_line(err)
    assert rc == 1 and needle in line and str(gt) in line


def test_ground_truth_csv_with_bom_accepted(result_folder, tmp_path, capsys):
    face = report(result_folder)["persons"][0]["faces"][0]
    gt = tmp_path / "gt.csv"
    gt.write_bytes("\ufeffframe,left,top,right,bottom,identity\n".encode()
                   + f"{face['frame']},{','.join(map(str, face['box']))},Alice\n".encode())
    rc, out, err = main(capsys, "evaluate", result_folder, gt, "--json")
    assert rc == 0, err
    assert json.loads(out)["matched"] == 1


def test_start_past_the_end(tmp_path, capsys):
    rc, _, err = main(capsys, DEMO, "--out", tmp_path, "--quiet", "--start", "500")
    assert rc == 1 and "past the end of the video (20.0 s)" in error_line(err)
    assert not list(tmp_path.iterdir())


# --- damaged and partial videos -------------------------------------------------------------

def _boxes(buf, start, end):
    i = start
    while i < end:
        size, kind = struct.unpack(">I4s", buf[i:i + 8])
        yield i, size, kind.decode("latin-1")
        i += size


def _shift_chunks(buf: bytearray, start: int, end: int, delta: int) -> None:
    for i, size, kind in _boxes(buf, start, end):
        if kind in ("moov", "trak", "mdia", "minf", "stbl"):
            _shift_chunks(buf, i + 8, i + size, delta)
        elif kind == "stco":
            for k in range(struct.unpack(">I", buf[i + 12:i + 16])[0]):
                o = i + 16 + 4 * k
                buf[o:o + 4] = struct.pack(">I", struct.unpack(">I", buf[o:o + 4])[0] + delta)


def fast_start(data: bytes) -> bytes:
    """The demo mp4 with its index (moov) moved before the media data, as a
    streaming encoder writes it: a truncated copy still says 20 s."""
    top = {kind: (i, size) for i, size, kind in _boxes(data, 0, len(data))}
    (mi, ms), (di, _) = top["moov"], top["mdat"]
    moov = bytearray(data[mi:mi + ms])
    _shift_chunks(moov, 0, len(moov), len(moov))
    return data[:di] + bytes(moov) + data[di:mi] + data[mi + ms:]


def _truncated(path):
    data = fast_start(DEMO.read_bytes())
    path.write_bytes(data[:int(len(data) * 0.3)])


def _noise_in_middle(path):
    data = bytearray(DEMO.read_bytes())
    n = len(data)
    data[n // 4:n // 4 + n // 5] = np.random.default_rng(0).integers(0, 256, n // 5, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncated, _noise_in_middle], ids=["truncated", "noise"])
def test_partial_video_says_how_much_and_exits_3(damage, tmp_path):
    video = tmp_path / "clip.mp4"
    damage(video)
    r = run_cli(video, "--out", tmp_path, "--min-faces", "1")
    assert r.returncode == 3, r.stderr
    warning = [l for l in r.stderr.splitlines() if l.startswith("cluster-video: warning:")]
    m = re.search(r"decoded 0–([\d.]+) s of 20\.0 s", warning[0])
    assert len(warning) == 1 and m and "Traceback" not in r.stderr
    until = float(m.group(1))
    assert 1.0 < until < 12.0
    # the progress bar claims no more than was read
    shown = [float(x) for x in re.findall(r"([\d.]+)/20\.0s", r.stderr)]
    assert shown and max(shown) <= until + 0.1
    dest = tmp_path / "clip"
    data = report(dest)
    assert data["video"]["decoded"]["complete"] is False and data["persons"]
    assert max(f["time"] for p in data["persons"] for f in p["faces"]) < until
    assert_consistent(dest)
    # from the cache: the same word, the same status
    again = run_cli(video, "--out", tmp_path, "--overwrite", "--quiet", "--min-faces", "1")
    assert again.returncode == 3 and "decoded 0–" in again.stderr


def test_whole_video_exits_0_with_a_complete_record(tmp_path_factory):
    data = report(demo_result(tmp_path_factory))
    assert data["video"]["decoded"] == {"start": 0.0, "until": 6.0, "end": 6.0, "complete": True}


# --- a full disk ----------------------------------------------------------------------------

TMPFS = "size=256k"


def _mount_tmpfs(path) -> bool:
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", TMPFS, "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def test_full_disk_on_a_small_tmpfs(tmp_path):
    """A real full disk: the results do not fit a 256 KiB tmpfs. One line,
    nothing half-written, and nothing left that blocks the next run."""
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt):
        pytest.skip("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)")
    try:
        r = run_cli(DEMO, "--out", mnt, "--quiet", "--end", END)
        assert r.returncode == 1 and "No space left" in error_line(r.stderr)
        assert not list(mnt.rglob("*")), list(mnt.rglob("*"))  # staging dropped, folder removed
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("where", ["cache", "export"])
def test_full_disk_simulated(where, tmp_path, tmp_path_factory, monkeypatch, capsys):
    """ENOSPC from the Nth write (where no tmpfs can be mounted): one line,
    the previous result intact, no partial or temporary file left, and the
    next run works."""
    import importlib

    export = importlib.import_module("clusterer.output.export")  # the module, not the function of that name
    outdir = importlib.import_module("clusterer.output.outdir")
    dest = copy_result(demo_result(tmp_path_factory), tmp_path)
    before = snapshot(dest)
    if where == "cache":  # other extraction settings: a new cache is written (export.write_atomic)
        _disk_full_on_atomic_writes(monkeypatch, export)
        args = ("--fps", "1")
    else:
        calls = []

        def write(self, name, data):
            calls.append(name)
            if len(calls) > 10:
                raise OSError(errno.ENOSPC, "No space left on device")
            (self.path(name)).write_bytes(data)
        monkeypatch.setattr(outdir.Staging, "write", write)
        args = ("--min-faces", "100")
    rc, _, err = main(capsys, DEMO, "--out", tmp_path, "--quiet", "--end", END, "--overwrite", *args)
    assert rc == 1 and "No space left on device" in error_line(err)
    assert snapshot(dest) == before
    monkeypatch.undo()
    rc, _, err = main(capsys, DEMO, "--out", tmp_path, "--quiet", "--end", END, "--overwrite", *args)
    assert rc == 0, err
    assert_consistent(dest)
    assert not list(dest.rglob("*.tmp"))


# --- --known photos -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["clusters.json", "Index.html", "appearances.csv", "cache", "unknown",
                                  "person_007"])
def test_known_folder_named_like_the_tools_files_refused(name, tmp_path, hopper_bgr, capsys):
    import cv2

    people = tmp_path / "people"
    (people / name).mkdir(parents=True)
    cv2.imwrite(str(people / name / "a.jpg"), hopper_bgr)
    rc, _, err = main(capsys, DEMO, "--out", tmp_path / "out", "--quiet", "--end", "2", "--known", people)
    assert rc == 1 and name in error_line(err) and "rename it" in err
    assert not (tmp_path / "out" / "demo").exists()


def test_large_known_photo_read_in_bounded_memory(tmp_path, hopper_bgr):
    """A 9600×7600 JPEG (73 MP, 219 MB as pixels) is read at 1/8 of its size:
    the process grows by far less than the full image."""
    import cv2

    big = tmp_path / "big.jpg"
    cv2.imwrite(str(big), cv2.resize(hopper_bgr, (hopper_bgr.shape[1] * 16, hopper_bgr.shape[0] * 16),
                                     interpolation=cv2.INTER_NEAREST), [cv2.IMWRITE_JPEG_QUALITY, 50])
    probe = ("import resource, sys; from clusterer.images import read_bgr, MAX_SIDE; import cv2, PIL.Image; "
             "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; img = read_bgr(sys.argv[1]); "
             "grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base; "
             "print(img.shape[0], img.shape[1], grew // 1024)")
    r = subprocess.run([sys.executable, "-c", probe, str(big)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    h, w, grew_mb = map(int, r.stdout.split())
    assert max(h, w) == 1600 and grew_mb < 60, (h, w, grew_mb)


def test_huge_non_jpeg_photo_skipped(tmp_path, monkeypatch, caplog):
    import cv2

    from clusterer import images

    monkeypatch.setattr(images, "MAX_FULL_DECODE", 10_000)
    png = tmp_path / "a.png"
    cv2.imwrite(str(png), np.zeros((200, 200, 3), np.uint8))
    assert images.read_bgr(png) is None and "too large" in caplog.text
    assert images.read_bgr(tmp_path / "missing.png") is None


@pytest.mark.parametrize("damage, words", [
    (lambda d: (d / "cache/features.json").write_text("{not json"), "features.json is not a cache description"),
    (lambda d: (d / "cache/features.npz").write_bytes(b"junk"), "does not match the checksum"),
])
def test_cache_warning_in_plain_words(damage, words, result_folder, caplog):
    from clusterer import cache

    key = json.loads((result_folder / "cache/features.json").read_text())["key"]
    damage(result_folder)
    assert cache.load(result_folder, key) is None
    (warning,) = [r.getMessage() for r in caplog.records]
    assert words in warning and "Error" not in warning and "Expecting" not in warning


def test_atomic_write_on_a_full_disk_leaves_the_old_file(tmp_path, monkeypatch):
    """Outside a run's staging folder (cache.save without one): the old file
    stays whole and no temporary file is left to block the next run."""
    import importlib

    export = importlib.import_module("clusterer.output.export")
    target = tmp_path / "features.npz"
    target.write_bytes(b"old")
    _disk_full_on_atomic_writes(monkeypatch, export)
    with pytest.raises(OSError):
        export.write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["features.npz"]


def _disk_full_on_atomic_writes(monkeypatch, export) -> None:
    """Every file export.write_atomic opens fails its write with ENOSPC."""
    real = export.os.fdopen

    def fdopen(fd, *a, **kw):
        fh = real(fd, *a, **kw)
        fh.write = lambda data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device"))
        return fh
    monkeypatch.setattr(export.os, "fdopen", fdopen)
