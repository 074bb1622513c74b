"""Known people, and names that survive re-runs: the user's folders decide."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np

from clusterer import run
from clusterer.faces.analyzer import Face
from clusterer.naming.folders import KnownPerson, match_known
from clusterer.types import Person, Sighting


# --- known people ------------------------------------------------------------

def unit(rng):
    v = rng.normal(size=128)
    return v / np.linalg.norm(v) * 0.5


def person_near(rng, centre, dist, pid="p"):
    faces = []
    for k in range(3):
        d = rng.normal(size=128)
        faces.append(Sighting(Face(k, k, (0, 0, 10, 10), 1.0, centre + d / np.linalg.norm(d) * dist)))
    return Person(pid, tuple(faces))


def test_known_match_nomatch_ambiguous():
    rng = np.random.default_rng(0)
    alice, bob = unit(rng), unit(rng)
    known = [KnownPerson("Alice", np.stack([alice, alice + 0.01])), KnownPerson("Bob", bob[None])]
    persons = [person_near(rng, alice, 0.2), person_near(rng, bob, 0.2), person_near(rng, unit(rng), 0.2)]
    assert match_known(persons, known) == ["Alice", "Bob", None]
    # a person halfway between two look-alike known people: no name
    twin = alice + (bob - alice) * 0.02
    amb = [KnownPerson("Alice", alice[None]), KnownPerson("Twin", twin[None])]
    assert match_known([person_near(rng, alice, 0.05)], amb) == [None]
    # only the closest of two matching persons takes the name
    assert match_known([person_near(rng, alice, 0.3), person_near(rng, alice, 0.1)], known[:1]) == [None, "Alice"]


def test_known_folder_end_to_end(tmp_path, demo_video, hopper_bgr, demo_faces_copy):
    import cv2

    known = tmp_path / "known" / "Grace Hopper"
    known.mkdir(parents=True)
    cv2.imwrite(str(known / "a.jpg"), hopper_bgr)
    (tmp_path / "known" / "Nobody").mkdir()  # a name without photos is ignored
    dest = demo_faces_copy[1]  # from its cache: --known names persons, it does not change extraction
    result, _ = run(demo_video, out=dest.parent, known=tmp_path / "known", mode="faces", overwrite=True)
    ids = [p.id for p in result.persons]
    assert "Grace Hopper" in ids and any(re.fullmatch(r"person_\d{3}", i) for i in ids)
    assert (dest / "Grace Hopper").is_dir()
    assert json.loads((dest / "clusters.json").read_text())["persons"][ids.index("Grace Hopper")]["id"] == "Grace Hopper"


# --- names survive re-runs -----------------------------------------------------

def test_rename_survives_rerun(demo_video, demo_faces_copy, clothing_cache):
    r1, dest = demo_faces_copy
    out = dest.parent
    first = r1.persons[1].id
    frames = {s.face.frame for s in r1.persons[1].sightings}
    (dest / first).rename(dest / "Alice")
    (dest / "Alice" / "my notes.txt").write_text("keep")
    clothing_cache(dest)
    # another threshold, another mode: Alice is still Alice
    r2, _ = run(demo_video, out=out, mode="two-stage", threshold=0.3, overwrite=True)
    named = [p for p in r2.persons if p.id == "Alice"]
    assert len(named) == 1 and {s.face.frame for s in named[0].sightings} == frames
    assert (dest / "Alice" / "my notes.txt").read_text() == "keep"
    assert not (dest / first).exists() or first != "Alice"
    report = json.loads((dest / "clusters.json").read_text())
    assert "Alice" in [p["id"] for p in report["persons"]]
    for p in report["persons"]:
        assert all((dest / f["file"]).is_file() for f in p["faces"])
    # a third run: still Alice, and nothing of the user's was removed
    before = sorted(x.name for x in (dest / "Alice").iterdir())
    run(demo_video, out=out, mode="faces", overwrite=True)
    assert set(before) <= {x.name for x in (dest / "Alice").iterdir()}


def _move_track(dest, report, track, to):
    """Move the crops of one track (from the report) into folder `to`, as a user would."""
    (dest / to).mkdir(exist_ok=True)
    moved = [f for p in report["persons"] for f in p["faces"] if f["track"] == track]
    for f in moved:
        shutil.move(str(dest / f["file"]), str(dest / to / (dest / f["file"]).name))
    return {f["frame"] for f in moved}


def _frames_of(result, pid):
    return {s.face.frame for p in result.persons if p.id == pid for s in p.sightings}


def test_moving_crops_splits_and_merges_persons(demo_video, demo_faces_copy, clothing_cache):
    r1, dest = demo_faces_copy
    out = dest.parent
    report = json.loads((dest / "clusters.json").read_text())
    a, b = report["persons"][0], report["persons"][1]
    a_tracks = sorted({f["track"] for f in a["faces"]})
    b_frames = {f["frame"] for f in b["faces"]}
    # split: one of the first person's tracks moved into a new folder "Carol",
    # the rest named Alice
    carol = _move_track(dest, report, a_tracks[0], "Carol")
    (dest / a["id"]).rename(dest / "Alice")
    # merge: a track of the other person that never shares a frame with Alice moved into Alice
    alice_frames = {f["frame"] for f in a["faces"]} - carol
    joinable = [t for t in sorted({f["track"] for f in b["faces"]})
                if not {f["frame"] for f in b["faces"] if f["track"] == t} & alice_frames]
    assert joinable, "the demo clip has a track of the second person alone on screen"
    into_alice = _move_track(dest, report, joinable[0], "Alice")
    r2, _ = run(demo_video, out=out, mode="faces", overwrite=True)
    assert _frames_of(r2, "Carol") == carol
    assert _frames_of(r2, "Alice") == alice_frames | into_alice
    rest = [p for p in r2.persons if p.id not in ("Alice", "Carol")]
    assert len(rest) == 1 and {s.face.frame for s in rest[0].sightings} == b_frames - into_alice
    placed = {s.assigned for p in r2.persons if p.id in ("Alice", "Carol") for s in p.sightings}
    assert placed == {"user"}
    # the same with another threshold and mode, from the cache: the user's folders still decide
    clothing_cache(dest)
    r3, _ = run(demo_video, out=out, mode="two-stage", threshold=0.5, overwrite=True)
    assert _frames_of(r3, "Carol") == carol and _frames_of(r3, "Alice") == alice_frames | into_alice


def test_moving_crops_into_unknown_keeps_them_there(demo_video, demo_faces_copy):
    _, dest = demo_faces_copy
    out = dest.parent
    report = json.loads((dest / "clusters.json").read_text())
    track = report["persons"][1]["faces"][0]["track"]
    gone = _move_track(dest, report, track, "unknown")
    for _ in range(2):  # the next run, and the one after it
        r, _ = run(demo_video, out=out, mode="faces", overwrite=True)
        assert not gone & {s.face.frame for p in r.persons for s in p.sightings if s.track == track}
        assert {s.face.frame for s in r.unknown if s.reason == "moved-by-user"} == gone
        # the rest of that person stays a person: one face taken out says nothing of the others
        assert len(r.persons) == 2 and all(len(p.sightings) >= 20 for p in r.persons)


def test_a_renamed_crop_is_recognised_by_its_bytes(demo_video, demo_faces_copy):
    _, dest = demo_faces_copy
    out = dest.parent
    report = json.loads((dest / "clusters.json").read_text())
    a, b = report["persons"]
    (dest / a["id"]).rename(dest / "Alice")
    a_frames = {g["frame"] for g in a["faces"]}
    alone = [f for f in b["faces"] if f["frame"] not in a_frames]
    moved = alone[0]
    other = next(f for f in alone if f["track"] != moved["track"])
    # one crop of the other person moved into Alice/ under the file name of
    # another of that person's faces: its bytes, not its name, say which face it is
    shutil.move(str(dest / moved["file"]), str(dest / "Alice" / Path(other["file"]).name))
    r2, _ = run(demo_video, out=out, mode="faces", overwrite=True)
    alice = next(p for p in r2.persons if p.id == "Alice")
    frames = {s.face.frame for s in alice.sightings}
    assert {f["frame"] for f in b["faces"] if f["track"] == moved["track"]} <= frames
    assert other["frame"] not in frames


def test_generic_folders_set_no_constraint_until_a_crop_moves_in(demo_video, demo_faces_copy, clothing_cache):
    """person_NNN folders are the tool's numbering: a new setting regroups
    them. A crop moved into one makes it the user's, like a named folder:
    its track joins that person, in this run and the next."""
    r1, dest = demo_faces_copy  # a faces-mode run of the demo, copied
    out = dest.parent
    clothing_cache(dest)
    r2, _ = run(demo_video, out=out, mode="two-stage", threshold=0.3, overwrite=True)
    assert [sorted(s.face.frame for s in p.sightings) for p in r2.persons] == \
        [sorted(s.face.frame for s in p.sightings) for p in r1.persons]
    assert all(s.assigned != "user" for p in r2.persons for s in p.sightings)
    report = json.loads((dest / "clusters.json").read_text())
    a, b = report["persons"]
    b_frames = {f["frame"] for f in b["faces"]}
    alone = next(t for t in dict.fromkeys(f["track"] for f in a["faces"])
                 if not {f["frame"] for f in a["faces"] if f["track"] == t} & b_frames)
    moved = _move_track(dest, report, alone, b["id"])
    for _ in range(2):
        r, _ = run(demo_video, out=out, mode="faces", overwrite=True)
        assert _frames_of(r, b["id"]) == b_frames | moved
        assert _frames_of(r, a["id"]) == {f["frame"] for f in a["faces"]} - moved

