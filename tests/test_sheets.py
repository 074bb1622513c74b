"""`cluster-video sheet`: every crop of each folder in one grid."""
from __future__ import annotations

import json
import math
import shutil

import cv2

from clusterer import run
from clusterer.cli import main
from clusterer.sheets import _CAPTION, COLUMNS, PER_SHEET, TILE


def test_a_sheet_per_folder_shows_every_crop_as_the_folders_are_now(tmp_path, demo_video, capsys):
    _, dest = run(demo_video, out=tmp_path / "out", mode="faces", end=8.0)
    data = json.loads((dest / "clusters.json").read_text())
    a, b = data["persons"][:2]
    shutil.move(str(dest / b["faces"][0]["file"]), str(dest / a["id"]))  # a correction in progress
    assert main(["sheet", str(dest), "-o", str(tmp_path / "sheets")]) == 0
    assert "crops" in capsys.readouterr().out
    for folder, n in ((a["id"], len(a["faces"]) + 1), (b["id"], len(b["faces"]) - 1)):
        img = cv2.imread(str(tmp_path / "sheets" / f"{folder}.jpg"))
        rows = math.ceil(n / COLUMNS)
        assert img.shape[:2] == (rows * (TILE + _CAPTION), COLUMNS * TILE)
        # the last row holds exactly the crops left over: the tiles after them are blank
        last = img[-(TILE + _CAPTION):, :, :]
        used = n - (rows - 1) * COLUMNS
        assert last[:, used * TILE:].min() > 240 and last[:, :used * TILE].min() < 200
    assert PER_SHEET % COLUMNS == 0


def test_the_sheets_folder_must_be_new_or_empty(tmp_path, demo_video, capsys):
    _, dest = run(demo_video, out=tmp_path / "out", mode="faces", end=3.0)
    busy = tmp_path / "mine"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep")
    assert main(["sheet", str(dest), "-o", str(busy)]) == 1
    assert "not an empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    assert main(["sheet", str(tmp_path), "-o", str(tmp_path / "s")]) == 1
    assert "no clusters.json" in capsys.readouterr().err


def test_captions_fit_under_a_crop():
    from clusterer.output.report import clock
    from clusterer.sheets import _short

    assert _short(clock(0.5)) == "00:00.5" and _short(clock(125.0)) == "02:05.0"
    assert _short(clock(3725.25)) == "1:02:05"  # an hour in: seconds are enough
