"""Export layout, the clusters.json schema, and the never-delete-user-files rules."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from clusterer.errors import OutputError
from clusterer.output.export import REPORT, export, prepare_output
from clusterer.faces.analyzer import Face
from clusterer.clothing.embedders import Clothing
from clusterer.types import Result, Sighting, group
from clusterer.video.sampling import VideoInfo

INFO = VideoInfo("in.mp4", 25.0, 250, 10.0, 320, 240)


def face(frame, x=10):
    return Sighting(Face(frame, frame / 25.0, (x, 20, x + 40, 60), 1.0, np.zeros(128), b"\xff\xd8jpeg"))


def make_result(labels=(0, 0, 0, 1, 1, -1)):
    faces = [face(f) for f in (0, 25, 50, 75, 100, 125)]
    persons, unknown = group(faces, labels)
    return Result(INFO, (0, 25, 50, 75, 100, 125), {"threshold": 0.36}, persons, unknown)


def test_layout_and_schema(tmp_path):
    dest = tmp_path / "in"
    prepare_output(dest, overwrite=False)
    export(make_result(), dest)
    data = json.loads((dest / REPORT).read_text())
    assert {"version", "video", "sampled", "settings", "persons", "unknown"} <= set(data)
    assert set(data["video"]) >= {"path", "fps", "frames", "duration", "width", "height"}
    assert data["video"]["fps"] == 25.0 and data["sampled"] == [0, 25, 50, 75, 100, 125]
    assert [p["id"] for p in data["persons"]] == ["person_001", "person_002"]
    assert [len(p["faces"]) for p in data["persons"]] == [3, 2]
    f = data["persons"][0]["faces"][1]
    assert f == {"frame": 25, "time": 1.0, "box": [10, 20, 50, 60], "score": 1.0, "quality": 1.0,
                 "file": "person_001/t0001.00_f000025.jpg", "assigned": "face"}
    assert len(data["unknown"]) == 1 and data["unknown"][0]["file"].startswith("unknown/")
    for rec in [x for p in data["persons"] for x in p["faces"]] + data["unknown"]:
        assert (dest / rec["file"]).read_bytes() == b"\xff\xd8jpeg"
    assert sorted(p.name for p in dest.iterdir()) == ["appearances.csv", "clusters.json", "index.html",
                                                     "person_001", "person_002", "unknown"]


def test_same_frame_names_stay_unique(tmp_path):
    faces = [face(5, 10), face(5, 100)]
    persons, unknown = group(faces, [-1, -1])
    export(Result(INFO, (5,), {}, persons, unknown), tmp_path)
    files = json.loads((tmp_path / REPORT).read_text())["unknown"]
    assert len({f["file"] for f in files}) == 2


def test_refuses_non_empty_folder(tmp_path):
    dest = tmp_path / "in"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="--overwrite"):
        prepare_output(dest, overwrite=False)
    assert (dest / "notes.txt").read_text() == "mine"


def test_overwrite_replaces_only_own_files(tmp_path):
    dest = tmp_path / "in"
    prepare_output(dest, overwrite=False)
    export(make_result(), dest)
    (dest / "notes.txt").write_text("mine")
    (dest / "person_002" / "my_pick.jpg").write_bytes(b"mine")
    prepare_output(dest, overwrite=True)
    export(make_result(labels=(0, 0, 0, 0, 0, -1)), dest)  # person_002 no longer exists
    data = json.loads((dest / REPORT).read_text())
    assert [p["id"] for p in data["persons"]] == ["person_001"]
    assert (dest / "notes.txt").read_text() == "mine"
    assert (dest / "person_002" / "my_pick.jpg").read_bytes() == b"mine"
    assert sorted(p.name for p in (dest / "person_002").iterdir()) == ["my_pick.jpg"]
    assert len(list((dest / "person_001").iterdir())) == 5


def test_never_replaces_a_file_it_did_not_write(tmp_path):
    dest = tmp_path / "in"
    (dest / "person_001").mkdir(parents=True)
    (dest / "person_001" / "t0000.00_f000000.jpg").write_bytes(b"mine")
    export(make_result(), dest)
    assert (dest / "person_001" / "t0000.00_f000000.jpg").read_bytes() == b"mine"
    data = json.loads((dest / REPORT).read_text())
    first = data["persons"][0]["faces"][0]["file"]
    assert first == "person_001/t0000.00_f000000_2.jpg" and (dest / first).read_bytes() == b"\xff\xd8jpeg"


def test_edited_report_cannot_delete_other_files(tmp_path):
    dest = tmp_path / "in"
    dest.mkdir()
    export(make_result(), dest)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep")
    data = json.loads((dest / REPORT).read_text())
    data["written"] += ["../precious.txt", "person_001/../../precious.txt"]
    (dest / REPORT).write_text(json.dumps(data))
    export(make_result(), dest)
    assert outside.read_text() == "keep"


def test_unwritable_destination(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        prepare_output(blocker / "in", overwrite=False)
    with pytest.raises(OutputError, match="not a folder"):
        prepare_output(blocker, overwrite=True)


def test_named_folders_never_emptied(tmp_path):
    dest = tmp_path / "in"
    persons, unknown = group([face(f) for f in (0, 25, 50)], [0, 0, 0])
    named = (type(persons[0])("Alice", persons[0].sightings),)
    export(Result(INFO, (0, 25, 50), {}, named, unknown), dest)
    assert len(list((dest / "Alice").iterdir())) == 3
    # other crops (another extraction): Alice's stale crops are no copies of them, so they stay
    # (a copy would go: test_corrections.py)
    other = tuple(replace(s, face=replace(s.face, crop_jpeg=b"\xff\xd8other")) for p in named for s in p.sightings)
    export(Result(INFO, (0, 25, 50), {}, (), other), dest)
    assert len(list((dest / "Alice").iterdir())) == 3  # stale, but in a named folder: kept
    assert len(list((dest / "unknown").iterdir())) == 3


def test_no_temp_files_left(tmp_path):
    export(make_result(), tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_clothing_crops_and_assignment_recorded(tmp_path):
    f = Face(3, 0.12, (10, 20, 50, 60), 1.0, np.zeros(128), b"\xff\xd8face")
    worn = Sighting(f, Clothing((0, 62, 74, 102), np.ones(4) / 2, b"\xff\xd8shirt"), "clothing")
    bare = Sighting(Face(4, 0.16, (10, 20, 50, 60), 1.0, np.zeros(128), b"\xff\xd8face"), Clothing(None))
    lone = Sighting(Face(9, 0.36, (10, 20, 50, 60), 1.0, np.zeros(128), b"\xff\xd8face"),
                    Clothing(None), "unknown", "few-faces")
    persons, unknown = group([worn, bare, lone], [0, 0, -1])
    export(Result(INFO, (3, 4, 9), {}, persons, unknown), tmp_path)
    data = json.loads((tmp_path / REPORT).read_text())
    a, b = data["persons"][0]["faces"]
    assert a["assigned"] == "clothing"
    assert a["clothing"] == {"box": [0, 62, 74, 102], "file": "person_001/clothing/t0000.12_f000003.jpg"}
    assert (tmp_path / a["clothing"]["file"]).read_bytes() == b"\xff\xd8shirt"
    assert b["clothing"] is None and b["assigned"] == "face"
    assert data["unknown"][0]["assigned"] == "unknown" and data["unknown"][0]["reason"] == "few-faces"
    # an overwrite that drops person_001 removes its clothing folder too (all ours)
    export(Result(INFO, (9,), {}, (), (lone,)), tmp_path)
    assert not (tmp_path / "person_001").exists()


def test_rerun_writes_only_what_changed(tmp_path):
    """A re-run (each action of the review page is one) leaves in place every crop
    whose file already holds its bytes, and writes the rest: a changed or damaged
    crop, a face moved to another person; the report and the page every time."""
    faces = [Sighting(Face(f, f / 25.0, (10, 20, 50, 60), 1.0, np.zeros(128), b"\xff\xd8jpeg%d" % f))
             for f in (0, 25, 50, 75, 100, 125)]

    def result(labels):
        persons, unknown = group(faces, labels)
        return Result(INFO, (0, 25, 50, 75, 100, 125), {"threshold": 0.36}, persons, unknown)

    def inodes():
        return {p.relative_to(dest).as_posix(): p.stat().st_ino for p in dest.rglob("*") if p.is_file()}

    dest = tmp_path / "in"
    prepare_output(dest, overwrite=False)
    export(result((0, 0, 0, 1, 1, -1)), dest)
    before = inodes()
    damaged = "person_001/t0001.00_f000025.jpg"
    (dest / damaged).write_bytes(b"scribbled")  # in place: same inode, other bytes
    export(result((0, 0, 0, 1, 1, -1)), dest)
    after = inodes()
    assert set(after) == set(before)
    rewritten = {n for n in before if after[n] != before[n]}
    assert rewritten == {REPORT, "index.html", "appearances.csv", damaged}
    assert (dest / damaged).read_bytes() == b"\xff\xd8jpeg25"
    # a face moves from person_002 to person_001: only its crop is written
    export(result((0, 0, 0, 0, 1, -1)), dest)
    moved = inodes()
    assert "person_002/t0003.00_f000075.jpg" not in moved
    assert (dest / "person_001/t0003.00_f000075.jpg").read_bytes() == b"\xff\xd8jpeg75"
    kept = {n for n in moved if n in after and moved[n] == after[n]}
    assert kept == set(after) - {REPORT, "index.html", "appearances.csv", "person_002/t0003.00_f000075.jpg"}
    assert not any(p.name.startswith(".cluster-video") for p in dest.iterdir())


def test_page_player_only_for_a_video_it_can_reach(tmp_path):
    """The static page plays the source video by a path relative to the folder;
    with the video gone, no player and no dead links."""
    video = tmp_path / "clips" / "in #1.mp4"
    video.parent.mkdir()
    video.write_bytes(b"not really a video")
    res = make_result()
    dest = tmp_path / "out" / "in"
    prepare_output(dest, overwrite=False)
    export(replace(res, video=replace(INFO, path=str(video))), dest)
    html = (dest / "index.html").read_text()
    assert '<video id="video" controls preload="metadata" src="../../clips/in%20%231.mp4">' in html
    assert html.count('href="../../clips/in%20%231.mp4#t=') == 6 + 2  # each face, each appearance
    video.unlink()
    prepare_output(dest, overwrite=True)
    export(replace(res, video=replace(INFO, path=str(video))), dest)
    html = (dest / "index.html").read_text()
    assert "<video" not in html and "#t=" not in html


def test_the_nearest_person_says_why_two_near_persons_are_two(tmp_path):
    """"looks most like" names the nearest person; when the two are known to be
    two people it says why: they share a frame, or grouping kept two of their
    tracks apart as look-alikes."""
    from clusterer.output.export import closest_persons

    def s(frame, track, x):
        return replace(face(frame), track=track, face=replace(face(frame).face, encoding=np.full(128, x)))

    # A and B share frame 0; C and D are near but never together; E far from all
    faces = [s(0, 1, 0.0), s(0, 2, 0.01), s(50, 3, 0.3), s(75, 4, 0.31), s(100, 5, 0.9)]
    persons, _ = group(faces, [0, 1, 2, 3, 4])
    near = closest_persons(persons)
    assert [c["id"] for c in near] == ["person_002", "person_001", "person_004", "person_003", "person_004"]
    assert [c.get("apart") for c in near] == ["seen together", "seen together", None, None, None]
    near = closest_persons(persons, frozenset({(3, 4), (4, 3)}))
    assert [c.get("apart") for c in near] == ["seen together", "seen together", "look-alikes", "look-alikes", None]
    dest = tmp_path / "in"
    export(Result(INFO, (0, 50, 75, 100), {}, persons, (), apart=frozenset({(3, 4), (4, 3)})), dest)
    data = json.loads((dest / REPORT).read_text())
    assert [p["closest"].get("apart") for p in data["persons"]] == [c.get("apart") for c in near]
    page = (dest / "index.html").read_text()
    assert page.count("two people: seen together") == 2 and page.count("kept apart as look-alikes") == 2
