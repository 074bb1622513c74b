"""evaluate: figures on hand-made cases with known answers, agreement with
../shared/bench/score.py, ground-truth formats, the sweep, and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from clusterer.evaluate import evaluate, evaluate_output, load_ground_truth
from clusterer.tuning import parse_sweep
from conftest import SHARED_BENCH, cli_in_process

# six faces of two people, A on frames 0-3 and B on frames 0-1 (two per frame on 0 and 1)
GT = [(0, "A", [0, 0, 10, 10]), (1, "A", [0, 0, 10, 10]), (2, "A", [0, 0, 10, 10]), (3, "A", [0, 0, 10, 10]),
      (0, "B", [50, 0, 60, 10]), (1, "B", [50, 0, 60, 10])]
SAMPLED = [0, 1, 2, 3]


def pred(labels):
    return [(fr, box, lab) for (fr, _, box), lab in zip(GT, labels)]


def test_perfect():
    s = evaluate(pred(["p1"] * 4 + ["p2"] * 2), SAMPLED, GT)
    assert (s["bcubed_p"], s["bcubed_r"], s["bcubed_f"], s["pairwise_f"], s["wcp"], s["nmi"]) == (1, 1, 1, 1, 1, 1)
    assert (s["persons"], s["identities"], s["unknown_rate"], s["det_recall"], s["false_faces"]) == (2, 2, 0, 1, 0)


def test_all_singletons():
    s = evaluate(pred([None] * 6), SAMPLED, GT)
    assert s["bcubed_p"] == 1.0 and s["wcp"] == 1.0 and s["persons"] == 0 and s["unknown_rate"] == 1.0
    # recall: A's faces each 1/4, B's 1/2 → (4·1/4 + 2·1/2) / 6
    assert s["bcubed_r"] == pytest.approx(2 / 6, abs=1e-4)
    assert s["pairwise_f"] == 0.0


def test_all_merged():
    s = evaluate(pred(["p"] * 6), SAMPLED, GT)
    assert s["bcubed_r"] == 1.0
    assert s["bcubed_p"] == pytest.approx((4 * 4 / 6 + 2 * 2 / 6) / 6, abs=1e-4)
    assert s["wcp"] == pytest.approx(4 / 6, abs=1e-4) and s["nmi"] == pytest.approx(0.0, abs=1e-6)


def test_false_faces_and_recall():
    p = pred(["p1"] * 4 + ["p2"] * 2)[:-1] + [(2, [100, 100, 120, 120], "p2")]
    s = evaluate(p, SAMPLED, GT)
    assert s["false_faces"] == 1 and s["det_recall"] == pytest.approx(5 / 6, abs=1e-4)


def write_case(tmp_path, labels):
    persons = {}
    unknown = []
    for (fr, box, lab) in pred(labels):
        rec = {"frame": fr, "time": fr / 25, "box": box, "file": "x.jpg"}
        (persons.setdefault(lab, []) if lab else unknown).append(rec)
    data = {"version": 1, "video": {"path": "v.mp4", "fps": 25.0, "frames": 4, "duration": 0.16,
                                    "width": 100, "height": 100},
            "sampled": SAMPLED, "persons": [{"id": k, "faces": v} for k, v in persons.items()],
            "unknown": unknown}
    out = tmp_path / "res"
    out.mkdir()
    (out / "clusters.json").write_text(json.dumps(data))
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"faces": [[fr, n, *b] for fr, n, b in GT]}))
    return out, gt


@pytest.mark.parametrize("labels", [["p1"] * 4 + ["p2"] * 2, [None] * 6, ["p"] * 6,
                                    ["p1", "p1", "p2", None, "p2", "p3"]])
def test_agrees_with_score_py(tmp_path, labels):
    if not (SHARED_BENCH / "score.py").exists():
        pytest.skip("../shared/bench/score.py is not present")
    out, gt = write_case(tmp_path, labels)
    ref = json.loads(subprocess.run([sys.executable, str(SHARED_BENCH / "score.py"), str(gt),
                                     str(out / "clusters.json"), "--json"],
                                    capture_output=True, text=True, check=True).stdout)
    ours = evaluate_output(out, gt)
    for k, v in ref.items():
        assert ours[k] == pytest.approx(v, abs=1e-4), k


def test_csv_by_frame_and_by_time(tmp_path):
    by_frame = tmp_path / "f.csv"
    by_frame.write_text("frame,left,top,right,bottom,identity\n" +
                        "".join(f"{fr},{b[0]},{b[1]},{b[2]},{b[3]},{n}\n" for fr, n, b in GT))
    by_time = tmp_path / "t.csv"
    # times near (not at) the sampled frames; one far from any sample is not scored
    by_time.write_text("time,left,top,right,bottom,identity\n" +
                       "".join(f"{fr / 25 + 0.01},{b[0]},{b[1]},{b[2]},{b[3]},{n}\n" for fr, n, b in GT) +
                       "9.0,0,0,10,10,A\n")
    assert load_ground_truth(by_frame, SAMPLED, 25.0) == [(fr, n, [float(v) for v in b]) for fr, n, b in GT]
    assert load_ground_truth(by_time, SAMPLED, 25.0) == load_ground_truth(by_frame, SAMPLED, 25.0)


def test_bad_ground_truth(tmp_path):
    from clusterer.errors import ClusterVideoError

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ClusterVideoError, match="header"):
        load_ground_truth(bad, SAMPLED, 25.0)


@pytest.mark.parametrize("spec, want", [("0.30:0.40:0.05", [0.3, 0.35, 0.4]), ("0.3,0.5", [0.3, 0.5])])
def test_parse_sweep(spec, want):
    assert parse_sweep(spec) == want


@pytest.mark.parametrize("spec", ["0.5:0.3:0.1", "x", "0.3:0.5:0", ""])
def test_parse_sweep_bad(spec):
    with pytest.raises(ValueError, match="--sweep"):
        parse_sweep(spec)


def test_evaluate_cli(tmp_path):
    out, gt = write_case(tmp_path, ["p1"] * 4 + ["p2"] * 2)
    r = cli_in_process("evaluate", out, gt, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["bcubed_f"] == 1.0
    r = cli_in_process("evaluate", tmp_path / "nope", gt)
    assert r.returncode == 1 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_sweep_rows_follow_threshold(tmp_path, demo_video):
    """Higher thresholds merge more: persons never increase and the largest never shrinks
    (the join after --threshold off, which would rejoin what the strictest one splits)."""
    out = tmp_path / "out"
    cmd = [demo_video, "--out", out, "--quiet", "--mode", "faces", "--join-threshold", "0",
           "--sweep", "0.05,0.2,0.36,0.8"]
    r = cli_in_process(*cmd)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.strip().splitlines()[1:]]
    persons = [int(x[1]) for x in rows]
    largest = [int(x[3]) for x in rows]
    assert len(rows) == 4
    assert persons == sorted(persons, reverse=True) and largest == sorted(largest)
    # strict splits people; even at 0.8 the two stay apart: they share frames
    assert persons[0] > persons[2] and persons[-1] == 2
    # only the cache was written
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["demo/cache/features.json", "demo/cache/features.npz"]
    # a normal run afterwards uses that folder without --overwrite
    r = cli_in_process(*cmd[:-2])
    assert r.returncode == 0, r.stderr


def test_evaluate_explains_its_columns(tmp_path):
    """Each figure of the table is named in the legend under it, and in --help."""
    out, gt = write_case(tmp_path, ["p1"] * 4 + ["p2"] * 2)
    r = cli_in_process("evaluate", out, gt)
    assert r.returncode == 0, r.stderr
    table, legend = r.stdout.split("\n\n", 1)
    keys = [line.split()[0] for line in table.splitlines()]
    assert "bcubed_f" in keys and all(k + ":" in legend or k + "," in legend for k in keys), legend
    shown = cli_in_process("evaluate", "--help").stdout
    assert "unknown_rate: share" in " ".join(shown.split())
