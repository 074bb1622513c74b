"""`cluster-video labels`: a corrected result folder exported as ground truth."""
from __future__ import annotations

import csv
import json
import shutil

import pytest

from clusterer import run
from clusterer.cli import main
from clusterer.evaluate import evaluate_output


@pytest.fixture(scope="module")
def first_6s(tmp_path_factory):
    """A faces-mode run on the demo's first 6 s, made once for this module."""
    from conftest import DEMO

    return run(DEMO, out=tmp_path_factory.mktemp("labels"), mode="faces", end=6.0)[1]


@pytest.fixture
def corrected(tmp_path, first_6s):
    """A run on the demo clip with person_001 renamed Alice and one of
    person_002's crops moved into Alice (a deliberate mistake, to see it
    followed)."""
    dest = shutil.copytree(first_6s, tmp_path / "out" / first_6s.name)
    data = json.loads((dest / "clusters.json").read_text())
    a, b = data["persons"][:2]
    (dest / a["id"]).rename(dest / "Alice")
    moved = b["faces"][0]["file"]
    shutil.move(str(dest / moved), str(dest / "Alice"))
    return dest, a, b, moved


def rows_of(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_named_folders_become_ground_truth(corrected, tmp_path, capsys):
    dest, a, b, moved = corrected
    out = tmp_path / "truth.csv"
    assert main(["labels", str(dest), "-o", str(out)]) == 0
    rows = rows_of(out)
    # every crop now in Alice/: her own faces and the one moved there; nothing of person_002
    assert {r["identity"] for r in rows} == {"Alice"}
    want = {(f["frame"], tuple(f["box"])) for f in a["faces"]} | {
        (f["frame"], tuple(f["box"])) for f in b["faces"] if f["file"] == moved}
    got = {(int(r["frame"]), tuple(int(float(r[k])) for k in ("left", "top", "right", "bottom"))) for r in rows}
    assert got == want
    assert "left out" in capsys.readouterr().out  # person_002's other crops, with the way to include them
    # the file is what evaluate reads: the run scores against it, one identity's faces all found
    figures = evaluate_output(dest, out)
    assert figures["matched"] == len(rows) and figures["identities"] == 1


def test_all_includes_the_tools_own_folders(corrected, tmp_path):
    dest, a, b, _ = corrected
    out = tmp_path / "all.csv"
    assert main(["labels", str(dest), "-o", str(out), "--all"]) == 0
    ids = {r["identity"] for r in rows_of(out)}
    assert ids == {"Alice", b["id"]}
    assert len(rows_of(out)) == len(a["faces"]) + len(b["faces"])


def test_an_existing_file_is_never_replaced(corrected, tmp_path, capsys):
    dest, *_ = corrected
    out = tmp_path / "truth.csv"
    out.write_text("my own labels\n")
    assert main(["labels", str(dest), "-o", str(out)]) == 1
    assert out.read_text() == "my own labels\n"
    assert "exists" in capsys.readouterr().err


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["labels", str(tmp_path), "-o", str(tmp_path / "t.csv")]) == 1
    err = capsys.readouterr().err
    assert "no clusters.json" in err and err.count("\n") == 1
    assert not (tmp_path / "t.csv").exists()


def test_nothing_named_yet_says_what_to_do(tmp_path, demo_video, capsys):
    _, dest = run(demo_video, out=tmp_path / "out", mode="faces", end=3.0)
    assert main(["labels", str(dest), "-o", str(tmp_path / "t.csv")]) == 1
    assert "rename person_NNN" in capsys.readouterr().err
