"""The benchmark harness: RESULTS.md sections replaced by name, studies found by name."""
import subprocess
from pathlib import Path
import sys

import numpy as np
import pytest

from benchmarks.__main__ import STUDIES
from benchmarks.harness import ROOT, replace_section, section_name

RESULTS = "# Results\n\n## Speed (commit `aaa`)\nold rows\n\n## Memory\nm\n"


def test_a_rerun_replaces_its_section_and_keeps_the_others():
    new = replace_section(RESULTS, "## Speed (commit `bbb`)\nnew rows\n")
    assert new == "# Results\n\n## Speed (commit `bbb`)\nnew rows\n\n## Memory\nm\n"
    last = replace_section(RESULTS, "## Memory\nm2\n")
    assert last.endswith("## Memory\nm2\n") and "old rows" in last


def test_a_new_section_is_appended():
    new = replace_section(RESULTS, "## Tracks\nt\n")
    assert new.startswith(RESULTS.rstrip("\n")) and new.endswith("\n\n## Tracks\nt\n")


def test_the_commit_is_not_part_of_a_sections_name():
    assert section_name("## Detectors side by side (commit `abc`)") == section_name("## Detectors side by side (commit `d1`)")
    assert section_name("## Speed: a.mp4 at `abc`") == section_name("## Speed: a.mp4 at `d1`")
    assert section_name("## Speed") != section_name("## Memory")


def test_every_study_is_a_module_with_main():
    for module in STUDIES.values():
        assert (ROOT / "benchmarks" / f"{module}.py").is_file(), module
    r = subprocess.run([sys.executable, "-m", "benchmarks", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "cache" in r.stderr


def test_pairs_are_one_to_one_best_first():
    from benchmarks.harness import match, pairs

    truth = [[0, 0, 10, 10]]
    boxes = [[1, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]]
    assert pairs(boxes, truth) == [(1, 0)]
    assert match(boxes, truth) == (1, 2)


def _write(path, header, rows):
    import csv

    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_a_corrected_folder_joins_the_labels_as_a_second_pass(tmp_path, monkeypatch, capsys):
    import csv

    from benchmarks import real_faces as rf

    labels, out = tmp_path / "labels", tmp_path / "out"
    (labels / "folders").mkdir(parents=True)
    out.mkdir()
    monkeypatch.setattr(rf, "LABELS", labels)
    monkeypatch.setattr(rf, "FOLDERS", labels / "folders")
    _write(out / "candidates.csv", ["id", "frame", "time", "left", "top", "right", "bottom", "found_by"],
           [[0, 0, 0.0, 0, 0, 40, 40, "hog up1"], [1, 0, 0.0, 100, 0, 140, 40, "hog up1"],
            [2, 15, 0.5, 0, 0, 40, 40, "mtcnn min 20"], [3, 15, 0.5, 2, 0, 42, 40, "dlib cnn up1"],
            [4, 30, 1.0, 0, 0, 40, 40, "hog up1"]])
    # as labellers write them: a note's commas unquoted
    (labels / "c.decisions.csv").write_text("id,label,note\n0,ann,left edge, red top\n1,other_1,\n2,bob,\n"
                                            "3,same_as_2,\n4,ann,\n")
    header = ["frame", "time", "left", "top", "right", "bottom", "identity"]
    # the second pass: its own key for the unnamed person, bob's face through the
    # box a duplicate candidate holds, a new face, and one disagreement
    _write(labels / "folders" / "c.csv", header,
           [[0, 0.0, 1, 0, 40, 40, "ann"], [0, 0.0, 101, 0, 140, 40, "other_7"],
            [15, 0.5, 3, 0, 42, 40, "bob"], [15, 0.5, 200, 0, 240, 40, "cy"], [30, 1.0, 0, 0, 40, 40, "bob"]])
    first = rf.folders("c", out)
    assert capsys.readouterr().out.count("decision ann") == 1  # frame 30 only
    assert first == {"clip": "c", "exported": 5, "paired": 4, "new": 1, "agree": 4, "disagree": 1,
                     "labelled_not_exported": 0}
    cands = list(csv.DictReader(open(out / "candidates.csv")))
    assert [c["id"] for c in cands] == ["0", "1", "2", "3", "4", "5"]
    assert cands[5]["found_by"] == rf.FROM_FOLDERS and "cluster-video folders" in cands[0]["found_by"]
    decided = {d["id"]: d for d in csv.DictReader(open(labels / "c.decisions.csv"))}
    assert decided["5"]["label"] == "cy" and decided["0"]["note"] == "left edge, red top"  # kept whole
    # re-run after the new face left the named folders: nothing duplicated, its decision follows
    _write(labels / "folders" / "c.csv", header,
           [[0, 0.0, 1, 0, 40, 40, "ann"], [0, 0.0, 101, 0, 140, 40, "other_7"],
            [15, 0.5, 3, 0, 42, 40, "bob"], [30, 1.0, 0, 0, 40, 40, "ann"]])
    again = rf.folders("c", out)
    assert again["disagree"] == 0 and again["new"] == 1
    assert len(list(csv.DictReader(open(out / "candidates.csv")))) == 6
    decided = {d["id"]: d for d in csv.DictReader(open(labels / "c.decisions.csv"))}
    assert decided["5"]["label"] == "not_a_face"


def test_grouping_variants_are_clustering_settings_typed_as_their_defaults():
    import pytest

    from benchmarks.bench_grouping import parse_variant

    assert parse_variant("cloth_window=30,min_faces=3") == {"cloth_window": 30.0, "min_faces": 3}
    assert parse_variant("defaults") == {}
    for bad in ("fps=3", "mode=fused", "nope=1", "cloth_window"):
        with pytest.raises(SystemExit):
            parse_variant(bad)


def test_grouping_with_two_detectors_has_a_column_each_and_keeps_their_extractions_apart(tmp_path, monkeypatch):
    import pickle

    import benchmarks.bench_grouping as grouping
    from clusterer import FaceAnalyzer

    monkeypatch.setattr(grouping, "WORK", tmp_path)
    for det in ("mtcnn", "hog"):
        name = "v.abc.pkl" if det == "mtcnn" else "v.abc.hog.pkl"
        (tmp_path / name).write_bytes(pickle.dumps(("info", det)))
        assert grouping.extraction(tmp_path / "v.mp4", "abc", FaceAnalyzer(detector=det), None) == ("info", det)
    rows = [{"group": "g", "video": "v", "variant": "defaults", "mode": f"two-stage|{d}", "f": f, "p": 1.0,
             "persons": 3, "det": r} for d, f, r in (("mtcnn", 0.9, 0.95), ("hog", 0.8, 0.7))]
    text = grouping.markdown(rows, ["defaults"], ["two-stage"], "abc", ["mtcnn", "hog"])
    assert "| g | v | 0.900 (1.000) 3, found 0.950 | 0.800 (1.000) 3, found 0.700 |" in text
    assert "defaults (two-stage, hog)" in text


def test_grouping_joins_videos_and_their_ground_truth(tmp_path):
    import json
    import shutil

    import cv2
    import numpy as np
    import pytest

    from benchmarks.bench_grouping import joined

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed (the study joins videos with it)")

    parts = []
    for k, n in enumerate((5, 7)):
        v = tmp_path / f"v{k}.mp4"
        w = cv2.VideoWriter(str(v), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 48))
        for _ in range(n):
            w.write(np.full((48, 64, 3), 40 * k, np.uint8))
        w.release()
        v.with_suffix(".gt.json").write_text(json.dumps({
            "video": v.name, "fps": 5, "n_frames": n, "identities": {f"p{k}": {"photos": 1}, "both": {}},
            "shots": [{"start": 0, "end": n - 1, "people": [[f"p{k}", "a.jpg"]]}],
            "faces": [[n - 1, f"p{k}", 1, 2, 3, 4]]}))
        parts.append(v)
    out = joined(parts, tmp_path / "long" / "both.mp4")
    gt = json.loads(out.with_suffix(".gt.json").read_text())
    assert gt["n_frames"] == 12 and gt["faces"] == [[4, "p0", 1, 2, 3, 4], [11, "p1", 1, 2, 3, 4]]
    assert [(s["start"], s["end"]) for s in gt["shots"]] == [(0, 4), (5, 11)]
    assert set(gt["identities"]) == {"p0", "p1", "both"}
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 12


def test_f_over_every_face_counts_a_face_not_found_as_a_person_of_its_own():
    from benchmarks.harness import f_every

    gt = [(0, "a", [0, 0, 10, 10]), (1, "a", [0, 0, 10, 10]), (0, "b", [50, 50, 60, 60]),
          (1, "b", [50, 50, 60, 60]), (2, "b", [50, 50, 60, 60])]
    pred = [(0, [0, 0, 10, 10], "p1"), (1, [1, 0, 10, 10], "p1")]
    # a: both found, together (recall 1 each); b: missed on frames 0 and 1 (recall 1/2 each);
    # frame 2 was not sampled
    assert f_every(gt, pred, [0, 1]) == pytest.approx(2 * 1 * 0.75 / 1.75, abs=1e-4)
    assert f_every(gt, pred + [(0, [50, 50, 60, 60], "p2"), (1, [50, 50, 60, 60], "p2")], [0, 1]) == 1.0


def test_side_by_side_alternates_the_order_and_means_each_group():
    from benchmarks.harness import side_by_side

    calls = []

    def variant(name):
        def run(video, truth):
            calls.append((video.name, name))
            return {"det": 1.0 if name == "on" else 0.5, "f": 0.8, "p": 1.0, "f_all": 0.7, "persons": 2,
                    "false": 0, "false_in": 0, "wall": 1.0}
        return run

    cases = [(f"v{k} {kind}", Path(f"v{k}"), Path("t")) for k, kind in enumerate(("dark", "colour", "dark"))]
    rows = side_by_side(cases, {"off": variant("off"), "on": variant("on")}, group=lambda n: n.split()[1])
    assert [c[1] for c in calls] == ["off", "on", "on", "off", "off", "on"]
    assert rows[-4:] == ["| mean (sum), dark | off | 0.500 | 0.800 | 0.700 | | (0) | (2.0) |",
                         "| mean (sum), dark | on | 1.000 | 0.800 | 0.700 | | (0) | (2.0) |",
                         "| mean (sum), colour | off | 0.500 | 0.800 | 0.700 | | (0) | (1.0) |",
                         "| mean (sum), colour | on | 1.000 | 0.800 | 0.700 | | (0) | (1.0) |"]


_STUB_CLI = '''
import json, sys
from pathlib import Path
video, out = Path(sys.argv[1]), Path(sys.argv[sys.argv.index("--out") + 1])
if video.name == "broken.mp4":
    sys.exit("cluster-video: error: broken")
face = lambda frame, box: {"frame": frame, "box": box}
report = {"video": {"fps": 25.0}, "sampled": [0, 12],
          "persons": [{"id": "person_001", "faces": [face(0, [0, 0, 10, 10]), face(12, [0, 0, 10, 10]),
                                                     face(0, [200, 200, 210, 210])]}],
          "unknown": [face(0, [50, 50, 60, 60])]}
(out / video.stem).mkdir(parents=True)
(out / video.stem / "clusters.json").write_text(json.dumps(report))
'''


def test_versions_runs_the_other_trees_command_and_scores_its_report(tmp_path):
    from benchmarks.bench_versions import command

    tree = tmp_path / "tree"
    (tree / "clusterer").mkdir(parents=True)
    (tree / "clusterer" / "__init__.py").write_text("")
    (tree / "clusterer" / "cli.py").write_text(_STUB_CLI)
    truth = tmp_path / "truth.csv"
    truth.write_text("frame,left,top,right,bottom,identity\n0,0,0,10,10,a\n12,0,0,10,10,a\n"
                     "0,50,50,60,60,b\n12,50,50,60,60,b\n")
    got = command(tree)(tmp_path / "clip.mp4", truth)
    # a found twice in one person; b found once (in unknown), missed once; one face that is no one's
    assert (got["det"], got["f"], got["p"], got["persons"]) == (0.75, 1.0, 1.0, 1)
    assert got["f_all"] == pytest.approx(2 * 0.75 / 1.75, abs=1e-4)
    assert (got["false"], got["false_in"]) == (1, 1)
    with pytest.raises(SystemExit, match="broken"):
        command(tree)(tmp_path / "broken.mp4", truth)


def test_versions_summary_counts_videos_above_below_and_under_the_precision_bar():
    from benchmarks.bench_versions import summary

    def r(f, f_all, p):
        return {"f": f, "f_all": f_all, "p": p}

    results = [("real", "x", "old", r(0.8, 0.5, 1.0)), ("real", "x", "new", r(0.9, 0.7, 0.95)),
               ("real", "y", "old", r(0.9, 0.6, 0.97)), ("real", "y", "new", r(0.85, 0.6, 1.0)),
               ("long", "z", "old", r(0.7, 0.5, 1.0)), ("long", "z", "new", r(0.7, 0.8, 1.0))]
    assert summary(results, "old", "new") == [
        "- real (2 videos): F over the faces found 1 above, 1 below; F over every face 1 above, 0 below; "
        "precision under 0.98: 1 (the other version: 1)",
        "- long (1 videos): F over the faces found 0 above, 0 below; F over every face 1 above, 0 below; "
        "precision under 0.98: 0 (the other version: 0)"]


def test_layouts_map_a_clips_labels_where_and_when_it_is_shown():
    from benchmarks.bench_layouts import Placed, mapped_truth

    # a 320×180 clip at 30 frames/s, labelled at 0 s (ann) and 0.5 s (bob)
    labels = {"c": {0: [([10, 20, 30, 40], "ann")], 15: [([0, 0, 10, 10], "bob")]}}
    looped = Placed("c", 640, 360, 640, 360, 0.0, 20.0, 1.0, (320, 180), 30.0)   # twice as large, looping each second
    later = Placed("c", 0, 0, 320, 180, 30.0, 60.0, 30.0, (320, 180), 30.0)      # as it is, from 30 s on
    ann, bob = [660, 400, 700, 440], [640, 360, 660, 380]
    # a made video at 50 frames/s: 0 s, 0.5 s, 1.0 s (the loop's start), 0.2 s (nearest label 0 s), 30.5 s
    gt = mapped_truth([looped, later], labels, [0, 25, 50, 10, 1525], 50.0)
    assert gt == [(0, "c:ann", ann), (25, "c:bob", bob), (50, "c:ann", ann), (10, "c:ann", ann),
                  (1525, "c:bob", [0, 0, 10, 10])]
    # no labelled frame within a quarter second: none
    assert mapped_truth([later], {"c": {0: [([1, 1, 2, 2], "ann")]}}, [1515], 50.0) == []
    assert looped.holds(0.5, ann) and not looped.holds(0.5, [10, 20, 30, 40]) and not looped.holds(25.0, ann)


def test_labels_keep_the_faces_added_by_hand(tmp_path, monkeypatch):
    import csv

    from benchmarks import real_faces as rf

    labels, out, real = tmp_path / "labels", tmp_path / "out", tmp_path / "real"
    for d in (labels, out, real / "labels"):
        d.mkdir(parents=True)
    monkeypatch.setattr(rf, "LABELS", labels)
    monkeypatch.setattr(rf, "REAL", real)
    _write(real / "labels" / "c.segments.csv", ["start_s", "end_s", "identities_visible"], [[0, 10, "ann"]])
    _write(out / "candidates.csv", ["id", "frame", "time", "left", "top", "right", "bottom", "found_by"],
           [[0, 0, 0.0, 0, 0, 40, 40, "hog up1"], [1, 15, 0.5, 0, 0, 40, 40, "hog up1"]])
    _write(labels / "c.decisions.csv", ["id", "label", "note"], [[0, "ann", ""], [1, "not_a_face", ""]])
    header = ["frame", "time", "left", "top", "right", "bottom", "identity"]
    assert rf.write_labels("c", out) == []
    assert [r["identity"] for r in csv.DictReader(open(labels / "c.csv"))] == ["ann"]
    _write(labels / "c.added.csv", header + ["note"], [[30, 1.0, 5, 5, 45, 45, "ann", "found by the pipeline"]])
    assert rf.write_labels("c", out) == []
    rows = list(csv.DictReader(open(labels / "c.csv")))
    assert [(r["frame"], r["left"], r["identity"]) for r in rows] == [("0", "0", "ann"), ("30", "5", "ann")]
    assert list(rows[0]) == header


def test_rates_are_scored_on_the_labelled_samples_only():
    from benchmarks.bench_rate import score, scored_frames

    # labels on frames 0 and 12 (2 frames/s of a 24 frames/s clip); sampled at 4 frames/s
    assert scored_frames([0, 6, 12, 18], {0, 12}) == [0, 12]
    assert scored_frames([0, 6], None) == [0, 6]
    box, other = [0, 0, 40, 40], [100, 0, 140, 40]
    gt = [(0, "ann", box), (12, "ann", box), (0, "bob", other), (12, "bob", other)]
    right = [(0, box, "p1"), (12, box, "p1"), (0, other, "p2"), (12, other, "p2")]
    # a face on an unlabelled sample (6) is not scored, whoever it is given to
    s = score(right + [(6, box, "p2"), (6, other, "p1")], [0, 12], gt)
    assert (s["f"], s["p"], s["det"], s["persons"]) == (1.0, 1.0, 1.0, 2)
    mixed = score([(0, box, "p1"), (12, box, "p1"), (0, other, "p1"), (12, other, "p2")], [0, 12], gt)
    assert mixed["p"] < 1.0


def test_blazeface_run_by_torch_finds_the_face_mtcnn_finds_and_nothing_on_a_wall(hopper_bgr, astronaut_bgr):
    """The tflite graph executor is right where it matters: the face it finds on
    two portraits is MTCNN's (a wrong padding or weight layout finds none or
    boxes elsewhere), and a plain wall holds none."""
    import cv2

    from benchmarks.bench_blazeface import BlazeFace
    from clusterer.faces.analyzer import box_iou
    from clusterer.faces.mtcnn import MTCNN

    blaze, mtcnn = BlazeFace(), MTCNN(min_face=20)
    for bgr in (hopper_bgr, astronaut_bgr):
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        boxes, scores = blaze.detect(rgb)
        ref = mtcnn.detect([rgb])[0].box_xyxy
        assert len(boxes) == 1 and scores[0] >= 0.5
        assert max(box_iou(boxes[0], r) for r in ref) >= 0.5
    wall = np.full((360, 640, 3), 128, np.uint8)
    assert len(blaze.detect(wall)[0]) == 0
