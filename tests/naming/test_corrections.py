"""Corrections by hand (issue 18): crop names that stay with their face, no
duplicate crop left behind, a move of part of a track honoured by splitting
the track, and person numbers that stay with their person across re-runs."""
from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np

from clusterer import run
from clusterer.output.export import REPORT, export
from clusterer.types import Face, Person, Result, Sighting, VideoInfo

INFO = VideoInfo("in.mp4", 25.0, 250, 10.0, 320, 240)


def sighting(frame, x, data):
    return Sighting(Face(frame, frame / 25.0, (x, 20, x + 40, 60), 1.0, np.zeros(128), data), track=frame * 10 + x)


def files_by_face(dest):
    report = json.loads((dest / REPORT).read_text())
    return {(f["frame"], f["box"][0]): f["file"].split("/")[1]
            for p in report["persons"] for f in p["faces"]}


def test_crop_names_do_not_depend_on_the_order_of_persons(tmp_path):
    """Two faces of one frame: each keeps its own file name whichever person is listed first."""
    a = [sighting(5, 10, b"a5"), sighting(30, 10, b"a30")]
    b = [sighting(5, 200, b"b5")]
    export(Result(INFO, (5, 30), {}, (Person("Ann", tuple(a)), Person("Bob", tuple(b))), ()), tmp_path)
    first = files_by_face(tmp_path)
    export(Result(INFO, (5, 30), {}, (Person("Bob", tuple(b)), Person("Ann", tuple(a))), ()), tmp_path)
    assert files_by_face(tmp_path) == first
    assert len(set(first.values())) == 3 and not any("_2" in n for n in first.values())


def test_a_crop_the_tool_left_in_a_named_folder_goes_when_its_face_moves(tmp_path):
    """The tool's own copy in a named folder is removed once the face is written
    elsewhere; the user's own files there, and edited crops, stay."""
    x, y = sighting(5, 10, b"x"), sighting(30, 10, b"y")
    export(Result(INFO, (5, 30), {}, (Person("Ann", (x, y)),), ()), tmp_path)
    (tmp_path / "Ann" / "notes.jpg").write_bytes(b"mine")
    export(Result(INFO, (5, 30), {}, (Person("Ann", (y,)), Person("Bob", (x,))), ()), tmp_path)
    assert sorted(p.name for p in (tmp_path / "Ann").glob("*.jpg")) == ["notes.jpg", "t0001.20_f000030.jpg"]
    assert (tmp_path / "Bob" / "t0000.20_f000005.jpg").read_bytes() == b"x"
    # an edited crop is the user's: kept
    (tmp_path / "Ann" / "t0001.20_f000030.jpg").write_bytes(b"edited")
    export(Result(INFO, (5, 30), {}, (Person("Bob", (x, y)),), ()), tmp_path)
    assert (tmp_path / "Ann" / "t0001.20_f000030.jpg").read_bytes() == b"edited"


def crops_match_report(dest):
    """Every folder holds exactly the crops the report puts there, and no two
    crops anywhere hold the same bytes."""
    report = json.loads((dest / REPORT).read_text())
    where = Counter(f["file"].split("/")[0] for p in report["persons"] for f in p["faces"])
    where.update(f["file"].split("/")[0] for f in report["unknown"])
    on_disk = Counter({d.name: len(list(d.glob("*.jpg"))) for d in dest.iterdir()
                       if d.is_dir() and d.name != "cache" and not d.name.startswith(".")})
    digests = Counter(hashlib.sha256(f.read_bytes()).hexdigest() for f in dest.glob("*/*.jpg"))
    return +on_disk == +where and max(digests.values()) == 1


def move(dest, recs, to):
    (dest / to).mkdir(exist_ok=True)
    for f in recs:
        shutil.move(str(dest / f["file"]), str(dest / to / Path(f["file"]).name))


def test_moving_part_of_a_track_splits_it_there(demo_video, demo_faces_copy):
    _, dest = demo_faces_copy  # a faces-mode run of the demo, copied
    out = dest.parent
    report = json.loads((dest / REPORT).read_text())
    alice, other = report["persons"]
    (dest / alice["id"]).rename(dest / "Alice")
    run(demo_video, out=out, mode="faces", overwrite=True)
    report = json.loads((dest / REPORT).read_text())
    faces = next(p for p in report["persons"] if p["id"] == "Alice")["faces"]
    track = Counter(f["track"] for f in faces).most_common(1)[0][0]
    of_track = [f for f in faces if f["track"] == track]
    assert len(of_track) >= 4
    # one face of the track into unknown/, another into a new folder Carol/
    move(dest, of_track[1:2], "unknown")
    move(dest, of_track[2:3], "Carol")
    for _ in range(2):  # the next run and the one after: the moves hold, nothing duplicated
        r, _ = run(demo_video, out=out, mode="faces", overwrite=True)
        by_id = {p.id: {s.face.frame for s in p.sightings} for p in r.persons}
        assert {s.face.frame for s in r.unknown if s.reason == "moved-by-user"} == {of_track[1]["frame"]}
        assert by_id["Carol"] == {of_track[2]["frame"]}
        rest = {f["frame"] for f in of_track} - {of_track[1]["frame"], of_track[2]["frame"]}
        assert rest <= by_id["Alice"] and of_track[1]["frame"] not in by_id["Alice"]
        assert crops_match_report(dest)
    # each piece of the split track has a track id of its own
    tracks = json.loads((dest / REPORT).read_text())["tracks"]
    assert len({t["id"] for t in tracks}) == len(tracks)
    assert sum(1 for t in tracks if set(t["frames"]) & {f["frame"] for f in of_track}) == 3


def test_one_face_of_a_numbered_person_into_unknown_takes_only_that_face(demo_video, demo_faces_copy):
    _, dest = demo_faces_copy  # a faces-mode run of the demo, copied
    out = dest.parent
    report = json.loads((dest / REPORT).read_text())
    face = report["persons"][0]["faces"][2]
    move(dest, [face], "unknown")
    r, _ = run(demo_video, out=out, mode="faces", overwrite=True)
    assert [s.face.frame for s in r.unknown] == [face["frame"]]
    assert sum(len(p.sightings) for p in r.persons) == sum(len(p["faces"]) for p in report["persons"]) - 1
    assert crops_match_report(dest)


def test_merging_by_moving_crops_leaves_no_duplicate(demo_video, demo_faces_copy):
    """The issue's case: persons named, crops moved to merge, re-run twice:
    each folder holds one crop per face, no crop twice."""
    _, dest = demo_faces_copy  # a faces-mode run of the demo, copied
    out = dest.parent
    report = json.loads((dest / REPORT).read_text())
    a, b = report["persons"]
    (dest / a["id"]).rename(dest / "Alice")
    (dest / b["id"]).rename(dest / "Bob")
    run(demo_video, out=out, mode="faces", overwrite=True)
    report = json.loads((dest / REPORT).read_text())
    bob = next(p for p in report["persons"] if p["id"] == "Bob")["faces"]
    alice_frames = {f["frame"] for p in report["persons"] if p["id"] == "Alice" for f in p["faces"]}
    # a whole track of Bob's alone on screen, and half of another, into Alice/
    alone = [t for t in dict.fromkeys(f["track"] for f in bob)
             if not {f["frame"] for f in bob if f["track"] == t} & alice_frames]
    assert len(alone) >= 2
    move(dest, [f for f in bob if f["track"] == alone[0]], "Alice")
    half = [f for f in bob if f["track"] == alone[1]]
    move(dest, half[: len(half) // 2], "Alice")
    for _ in range(2):
        r, _ = run(demo_video, out=out, mode="faces", overwrite=True)
        assert crops_match_report(dest)
        alice = {s.face.frame for p in r.persons if p.id == "Alice" for s in p.sightings}
        assert {f["frame"] for f in bob if f["track"] == alone[0]} | {f["frame"] for f in half[: len(half) // 2]} <= alice
        assert not {f["frame"] for f in half[len(half) // 2:]} & alice


def test_person_numbers_stay_with_their_person(demo_video, demo_faces_copy, clothing_cache):
    r1, dest = demo_faces_copy  # a faces-mode run of the demo, copied
    out = dest.parent
    second = {s.face.frame for s in r1.persons[1].sightings}
    assert r1.persons[1].id == "person_002"
    (dest / "person_001").rename(dest / "Alice")
    for settings in ({"mode": "faces"}, {"mode": "two-stage", "threshold": 0.3}):
        if settings["mode"] == "two-stage":
            clothing_cache(dest)
        r, _ = run(demo_video, out=out, overwrite=True, **settings)
        assert {p.id for p in r.persons} == {"Alice", "person_002"}
        assert {s.face.frame for p in r.persons if p.id == "person_002" for s in p.sightings} == second
