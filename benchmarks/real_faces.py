#!/usr/bin/env python3
"""Per-face labels for the real clips in ../shared/real: the faces to label,
and detection recall against the labels made.

`prepare`: samples each clip at 2 frames/s (the tool's default), runs every
detector listed in DETECTORS on every sample, and joins their boxes into one
list of candidate faces per frame (boxes of different detectors overlapping
by IoU >= 0.3 are one face). Writes, per clip, under bench-out/real/<clip>/:
candidates.csv (id, frame, time, box in dlib's convention, which detectors
found it), contact sheets (sheets/*.png: each candidate's crop with its
id and time) and the samples with the candidates' boxes and ids drawn
(frames/*.png), for a person to label.

`labels`: a labeller's decisions (benchmarks/labels/<clip>.decisions.csv:
id,label,note with an identity key of the hand labels, other_N, not_a_face,
same_as_<id> (a second box of a face already labelled) or unsure), and the
faces added by hand that no candidate holds (<clip>.added.csv) →
benchmarks/labels/<clip>.csv, and a list of the faces whose identity the
hand labels do not list at that second, to resolve by looking.

`recall`: given benchmarks/labels/<clip>.csv (the `evaluate` CSV: frame, time,
left, top, right, bottom, identity), the share of labelled faces each
detector finds on the same samples, and its detections that no labelled
face matches (false or unlabelled faces).

    python -m benchmarks real prepare [--clips avengers,meeting]
    python -m benchmarks real add --detector "dlib cnn up1"   # a detector joins the union later
    python -m benchmarks real folders --clips meeting   # a corrected result folder, as a second pass
    python -m benchmarks real labels
    python -m benchmarks real recall [--append]
    python -m benchmarks real clusters [--append]   # the whole pipeline, each detector

Faces no detector found are not labelled: recall here is against the union
of the detectors run, an upper bound on the true recall.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import CLIPS, LABELS, REAL, ROOT, SAME_FACE, commit, match, pairs, report
from clusterer.faces.detectors import DlibCnnDetector, HogDetector, MtcnnDetector
from clusterer.geometry import box_iou
from clusterer.settings import default
from clusterer.video.sampling import iter_frames, probe


def detectors(with_cnn: bool) -> dict:
    """name → detector: the candidates' sources (issue 13: HOG upsampled twice,
    dlib's CNN, and every detector added since)."""
    out = {"hog up1": HogDetector(1), "hog up2": HogDetector(2), "mtcnn min 20": MtcnnDetector(20),
           "mtcnn min 14": MtcnnDetector(14)}
    if with_cnn:
        out["dlib cnn up1"] = DlibCnnDetector(1)
        # fotb_dinner is 1280×720, twice the others' width: its frames not
        # upsampled are searched at the pixels the others' upsampled once are.
        out["dlib cnn up0"] = DlibCnnDetector(0)
    return out


def sample(clip: str):
    import cv2

    video = REAL / f"{clip}.mp4"
    info = probe(video)
    return info, [(f.index, f.time, f.image, cv2.cvtColor(f.image, cv2.COLOR_BGR2RGB))
                  for f in iter_frames(video, fps=2.0, info=info)]


def join(rows: list[dict], index: int, t: float, d, name: str) -> list[dict]:
    """Adds detector `name`'s detections `d` of one sample to the candidates:
    one overlapping a candidate of that frame (IoU >= SAME_FACE) adds `name`
    to its found_by; the others are appended. Returns the appended rows."""
    added = []
    for box, score in zip(d.box_xyxy.tolist(), d.score.tolist()):
        if score < 0 or box[3] - box[1] < 10:
            continue
        same = [r for r in rows if r["frame"] == index and box_iou(r["box"], box) >= SAME_FACE]
        if same:
            same[0]["found_by"].add(name)
            continue
        rows.append({"frame": index, "time": round(t, 3), "box": [round(v) for v in box], "found_by": {name}})
        added.append(rows[-1])
    return added


def prepare(clip: str, out: Path, with_cnn: bool) -> dict:
    import cv2

    info, frames = sample(clip)
    dets = detectors(with_cnn)
    rows, crops = [], []
    seconds = {}
    for name, det in dets.items():
        t0 = time.perf_counter()
        found = [det.detect([rgb])[0] for _, _, _, rgb in frames]
        seconds[name] = time.perf_counter() - t0
        for (index, t, bgr, _), d in zip(frames, found):
            join(rows, index, t, d, name)
    rows.sort(key=lambda r: (r["frame"], r["box"][0]))
    out.mkdir(parents=True, exist_ok=True)
    (out / "sheets").mkdir(exist_ok=True)
    images = {index: bgr for index, _, bgr, _ in frames}
    for i, r in enumerate(rows):
        r["id"] = i
        crops.append(_tile(images[r["frame"]], r))
    write_candidates(out, rows)
    per_sheet = 48
    for s in range(0, len(crops), per_sheet):
        cv2.imwrite(str(out / "sheets" / f"{clip}_{s // per_sheet:02d}.png"), _grid(crops[s:s + per_sheet]))
    annotate(clip, out)
    summary = {"clip": clip, "samples": len(frames), "candidates": len(rows),
               "seconds": {k: round(v, 1) for k, v in seconds.items()}}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary), flush=True)
    return summary


def add(clip: str, out: Path, name: str) -> dict:
    """Adds a detector to the union after labelling began: every sample searched
    by `name`; its boxes that overlap an existing candidate (IoU >= SAME_FACE)
    add it to that candidate's found_by, the others become new candidates with
    ids after the last one, so that the decisions already made keep their ids.
    The new candidates' crops go to sheets/<clip>_new_<name>.png for labelling."""
    import cv2

    with open(out / "candidates.csv", newline="") as fh:
        rows = [{"id": int(r["id"]), "frame": int(r["frame"]), "time": float(r["time"]),
                 "box": [int(r[k]) for k in ("left", "top", "right", "bottom")],
                 "found_by": set(r["found_by"].split(";"))} for r in csv.DictReader(fh)]
    det = detectors(with_cnn=True)[name]
    _, frames = sample(clip)
    t0 = time.perf_counter()
    new = []
    for index, t, bgr, rgb in frames:
        new += join(rows, index, t, det.detect([rgb])[0], name)
    for i, r in enumerate(rows):  # the ids run 0…n-1 in file order: new ones continue them
        r.setdefault("id", i)
    seconds = time.perf_counter() - t0
    write_candidates(out, rows)
    if new:
        images = {index: bgr for index, _, bgr, _ in frames}
        cv2.imwrite(str(out / "sheets" / f"{clip}_new_{name.replace(' ', '_')}.png"),
                    _grid([_tile(images[r["frame"]], r) for r in new]))
        annotate(clip, out)
    summary = {"clip": clip, "detector": name, "samples": len(frames), "new": [r["id"] for r in new],
               "seconds": round(seconds, 1)}
    print(json.dumps(summary), flush=True)
    return summary

FOLDERS = LABELS / "folders"
"""`cluster-video labels` exports of corrected high-recall runs, one per clip."""

FROM_FOLDERS = "cluster-video folders"
"""The found_by name of the faces a corrected result folder holds."""

FOLDER_NOTE = "folder workflow"
"""The note that marks a decision taken from the folders (updated on a re-run)."""


def read_decisions(clip: str) -> list[dict]:
    """id, label, note; a hand-written note may hold unquoted commas: the rest
    of the line is the note."""
    with open(LABELS / f"{clip}.decisions.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    return [{"id": r[0], "label": r[1], "note": ",".join(r[2:])} for r in rows[1:] if r]


def write_decisions(clip: str, rows: list[dict]) -> None:
    with open(LABELS / f"{clip}.decisions.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "label", "note"])
        w.writerows([r["id"], r["label"], r["note"]] for r in rows)


def folders(clip: str, out: Path) -> dict:
    """Joins the labels exported from a corrected result folder
    (benchmarks/labels/folders/<clip>.csv: a high-recall run of the tool, its
    folders renamed and its crops moved by hand, then `cluster-video labels`)
    into the clip's candidates and decisions, as a second labelling pass:

    - each exported face is paired with the candidate of its frame it overlaps
      most (IoU >= SAME_FACE, one to one, as scoring pairs faces); the
      candidate's found_by gains FROM_FOLDERS and the two identities are
      compared (a `same_as_<id>` decision through the face it repeats; the
      clip's other_N keys, arbitrary in each pass, through the pairing most of
      their faces share);
    - an exported face no candidate overlaps becomes a new candidate (its id
      after the last), decided by its folder (note FOLDER_NOTE);
    - a decision taken from the folders on an earlier run follows the folders
      now (not_a_face when the face has left every named folder), so a re-run
      after a correction is safe.

    Prints every disagreement (to resolve by looking: move the crop and
    re-export, or fix the decision) and returns the counts."""
    with open(out / "candidates.csv", newline="") as fh:
        rows = [{"id": int(r["id"]), "frame": int(r["frame"]), "time": float(r["time"]),
                 "box": [int(r[k]) for k in ("left", "top", "right", "bottom")],
                 "found_by": set(r["found_by"].split(";"))} for r in csv.DictReader(fh)]
    with open(FOLDERS / f"{clip}.csv", newline="") as fh:
        exported = [{"frame": int(r["frame"]), "time": float(r["time"]),
                     "box": [round(float(r[k])) for k in ("left", "top", "right", "bottom")],
                     "identity": r["identity"]} for r in csv.DictReader(fh)]
    decisions = read_decisions(clip)
    decided = {int(d["id"]): d for d in decisions}

    def root(i: int) -> int:
        """The candidate whose face `i` is (itself, or the one its same_as_ names)."""
        lab = decided[i]["label"].strip() if i in decided else ""
        return root(int(lab[len("same_as_"):])) if lab.startswith("same_as_") else i

    def label(i: int) -> str:
        return decided[root(i)]["label"].strip() if root(i) in decided else ""

    by_frame: dict[int, list[dict]] = {}
    for r in rows:
        by_frame.setdefault(r["frame"], []).append(r)
    paired, new = [], []
    for frame in sorted({e["frame"] for e in exported}):
        faces = [e for e in exported if e["frame"] == frame]
        cands = by_frame.get(frame, [])
        for i, j in pairs([e["box"] for e in faces], [c["box"] for c in cands], SAME_FACE):
            paired.append((faces[i], cands[j]))
        taken = {id(f) for f, _ in paired}
        new += [e for e in faces if id(e) not in taken]
    # a face added by an earlier run of this command pairs with itself above;
    # such candidates are followed, never duplicated
    for e, c in paired:
        c["found_by"].add(FROM_FOLDERS)
    for e in new:
        rows.append({"id": max(r["id"] for r in rows) + 1, "frame": e["frame"], "time": round(e["time"], 3), "box": e["box"],
                     "found_by": {FROM_FOLDERS}})
        paired.append((e, rows[-1]))
    followed = {c["id"]: e["identity"] for e, c in paired}
    for r in rows:
        d = decided.get(r["id"])
        if d is not None and not d["note"].startswith(FOLDER_NOTE):
            continue
        if r["id"] in followed:
            entry = {"id": str(r["id"]), "label": followed[r["id"]], "note": f"{FOLDER_NOTE}: its folder's name"}
        elif d is not None:
            entry = {"id": str(r["id"]), "label": "not_a_face", "note": f"{FOLDER_NOTE}: in no named folder now"}
        else:
            continue
        if d is None:
            decisions.append(entry)
        else:
            d.update(entry)
        decided[r["id"]] = entry
    # other_N keys are per pass: map each folder key to the decision key most of its faces carry
    votes: dict[str, dict[str, int]] = {}
    for e, c in paired:
        if e["identity"].startswith("other_"):
            votes.setdefault(e["identity"], {}).setdefault(label(c["id"]), 0)
            votes[e["identity"]][label(c["id"])] += 1
    alias = {k: max(v, key=v.get) for k, v in votes.items()}
    disagree = []
    for e, c in paired:
        theirs, mine = label(c["id"]), alias.get(e["identity"], e["identity"])
        if theirs != mine:
            disagree.append(f"{clip} #{c['id']} at {e['time']:.1f} s (frame {e['frame']}, box {e['box']}): "
                            f"folder {e['identity']}, decision {theirs or '(none)'}")
    write_candidates(out, rows)
    write_decisions(clip, sorted(decisions, key=lambda d: int(d["id"])))
    labelled = {c for c, d in decided.items() if label(c) not in ("not_a_face", "unsure", "")
                and not decided[c]["label"].startswith("same_as_")}
    only = sum(1 for r in rows if r["found_by"] == {FROM_FOLDERS})
    summary = {"clip": clip, "exported": len(exported), "paired": len(paired) - only, "new": only,
               "agree": len(paired) - len(disagree), "disagree": len(disagree),
               "labelled_not_exported": len(labelled - {root(c) for c in followed})}
    print("\n".join(disagree))
    print(json.dumps(summary), flush=True)
    return summary


def annotate(clip: str, out: Path) -> None:
    """frames/<time>.png: each sample with its candidates' boxes and ids, so that
    a labeller sees where each face sits and what the person wears."""
    import cv2

    with open(out / "candidates.csv", newline="") as fh:
        cands = list(csv.DictReader(fh))
    (out / "frames").mkdir(exist_ok=True)
    _, frames = sample(clip)
    for index, t, bgr, _ in frames:
        img = bgr.copy()
        for c in (c for c in cands if int(c["frame"]) == index):
            l, tp, r, b = (int(c[k]) for k in ("left", "top", "right", "bottom"))
            cv2.rectangle(img, (l, tp), (r, b), (0, 255, 255), 2)
            cv2.putText(img, f"#{c['id']}", (l, max(12, tp - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                        (0, 255, 255), 2, cv2.LINE_AA)
        if img.shape[1] > 960:
            img = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(out / "frames" / f"t{t:06.1f}_f{index:05d}.png"), img)


def write_candidates(out: Path, rows: list[dict]) -> None:
    """candidates.csv: id, frame, time, box, the detectors that found it."""
    with open(out / "candidates.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "frame", "time", "left", "top", "right", "bottom", "found_by"])
        for r in rows:
            w.writerow([r["id"], r["frame"], r["time"], *r["box"], ";".join(sorted(r["found_by"]))])


def _grid(tiles: list[np.ndarray], across: int = 8) -> np.ndarray:
    """Tiles in rows of `across`, the last row padded with black."""
    tiles = tiles + [np.zeros_like(tiles[0])] * (-len(tiles) % across)
    return np.vstack([np.hstack(tiles[k:k + across]) for k in range(0, len(tiles), across)])


def _tile(bgr: np.ndarray, r: dict, size: int = 150) -> np.ndarray:
    """The face with a margin, scaled to size×size, its id and time written under it."""
    import cv2

    l, t, rr, b = r["box"]
    m = int(0.4 * max(rr - l, b - t))
    h, w = bgr.shape[:2]
    crop = bgr[max(0, t - m):min(h, b + m), max(0, l - m):min(w, rr + m)]
    tile = np.zeros((size + 22, size, 3), np.uint8)
    if crop.size:
        s = size / max(crop.shape[:2])
        c = cv2.resize(crop, (max(1, int(crop.shape[1] * s)), max(1, int(crop.shape[0] * s))))
        tile[:c.shape[0], :c.shape[1]] = c
    cv2.putText(tile, f"#{r['id']} {r['time']:.1f}s", (3, size + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def hand_labels(clip: str) -> list[tuple[float, float, set[str]]]:
    """(start, end, identities visible) from ../shared/real/labels: segments,
    or one second per row."""
    seg = REAL / "labels" / f"{clip}.segments.csv"
    out = []
    if seg.exists():
        with open(seg, newline="") as fh:
            for r in csv.DictReader(fh):
                ids = r.get("identities_visible") or r.get("anonymous_ids") or ""
                out.append((float(r["start_s"]), float(r["end_s"]), {i for i in ids.split(";") if i}))
    else:
        with open(REAL / "labels" / f"{clip}.per_second.csv", newline="") as fh:
            for r in csv.DictReader(fh):
                t = float(r["t_sec"])
                out.append((t, t + 1.0, {i for i in r["identities_visible"].split(";") if i}))
    return out


def write_labels(clip: str, out: Path) -> list[str]:
    """benchmarks/labels/<clip>.csv (the `evaluate` CSV) from the candidates and
    a labeller's decisions (<clip>.decisions.csv: id,label,note), not-a-face
    rows left out; returns the disagreements with the hand labels: faces
    whose identity the hand labels do not list at that time."""
    with open(out / "candidates.csv", newline="") as fh:
        cands = {int(r["id"]): r for r in csv.DictReader(fh)}
    with open(LABELS / f"{clip}.decisions.csv", newline="") as fh:
        decided = {int(r["id"]): r for r in csv.DictReader(fh)}
    missing = sorted(set(cands) - set(decided))
    if missing:
        raise SystemExit(f"{clip}: no decision for candidates {missing[:10]}")
    spans = hand_labels(clip)
    issues = []
    with open(LABELS / f"{clip}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["frame", "time", "left", "top", "right", "bottom", "identity"])
        for i, c in sorted(cands.items()):
            label = decided[i]["label"].strip()
            if label == "not_a_face" or label.startswith("same_as_"):  # not a face, or one already labelled
                continue
            t = float(c["time"])
            w.writerow([c["frame"], c["time"], c["left"], c["top"], c["right"], c["bottom"], label])
            listed = set().union(*(ids for a, b, ids in spans if a <= t < b)) if spans else set()
            if label != "unsure" and not label.startswith("other_") and label not in listed:
                issues.append(f"{clip} #{i} at {t:.1f} s: {label} (hand labels: {', '.join(sorted(listed)) or 'nobody'})")
        for row in added_faces(clip):
            w.writerow([row[k] for k in ("frame", "time", "left", "top", "right", "bottom", "identity")])
    return issues


def added_faces(clip: str) -> list[dict]:
    """Faces added by hand that no candidate holds (benchmarks/labels/<clip>.added.csv:
    the evaluate CSV's columns and a note): a face the pipeline finds that none
    of the union's sources did, looked at and labelled."""
    path = LABELS / f"{clip}.added.csv"
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def load_labels(clip: str) -> dict[int, list[tuple[list[float], str]]]:
    """Labelled faces per frame: (box, identity)."""
    out: dict[int, list] = {}
    with open(LABELS / f"{clip}.csv", newline="") as fh:
        for row in csv.DictReader(line for line in fh if not line.startswith("#")):
            box = [float(row[k]) for k in ("left", "top", "right", "bottom")]
            out.setdefault(int(row["frame"]), []).append((box, row["identity"]))
    return out


def recall(clips: list[str], with_cnn: bool) -> list[dict]:
    rows = []
    for clip in clips:
        if not (LABELS / f"{clip}.csv").exists():
            continue
        labels = load_labels(clip)
        info, frames = sample(clip)
        total = sum(len(labels.get(i, [])) for i, *_ in frames)
        for name, det in detectors(with_cnn).items():
            found = false = 0
            t0 = time.perf_counter()
            for index, _, _, rgb in frames:
                d = det.detect([rgb])[0]
                boxes = [b for b, s in zip(d.box_xyxy.tolist(), d.score.tolist()) if s >= 0]
                f, x = match(boxes, [b for b, _ in labels.get(index, [])])
                found, false = found + f, false + x
            ms = 1000 * (time.perf_counter() - t0) / len(frames)
            rows.append({"clip": clip, "detector": name, "labelled": total, "recall": round(found / max(total, 1), 3),
                         "unmatched": false, "ms_frame": round(ms, 1), "size": f"{info.width}×{info.height}"})
            print(json.dumps(rows[-1]), flush=True)
    return rows


MODES = ("faces", "two-stage", "fused")


def clusters(clips: list[str]) -> list[dict]:
    """The whole pipeline at defaults with each detector on each labelled
    clip, every mode scored against the labels (evaluate's figures), plus
    the detections in persons that match no labelled face."""
    from clusterer import FaceAnalyzer, cluster, extract
    from clusterer.evaluate import evaluate, load_ground_truth, predictions
    from clusterer.clothing.embedders import make_embedder

    rows = []
    for clip in clips:
        if not (LABELS / f"{clip}.csv").exists():
            continue
        video = REAL / f"{clip}.mp4"
        info = probe(video)
        for det in ("hog", "mtcnn"):
            t0 = time.perf_counter()
            ex = extract(video, info, FaceAnalyzer(detector=det), make_embedder(None, "cpu"))
            wall = time.perf_counter() - t0
            gt = load_ground_truth(LABELS / f"{clip}.csv", ex.sampled, info.fps)
            truth: dict[int, list] = {}
            for fr, _, box in gt:
                truth.setdefault(fr, []).append(box)
            row = {"clip": clip, "detector": det, "n_faces": len(ex.faces), "extract_s": round(wall, 1),
                   "rtf": round(info.duration / wall, 2), "identities": len({g[1] for g in gt})}
            for mode in MODES:
                persons, unknown = cluster(ex, mode=mode)
                f = evaluate(predictions(persons, unknown), ex.sampled, gt)
                false_in = sum(1 for p in persons for sg in p.sightings
                               if not any(box_iou(sg.face.box_xyxy, b) >= SAME_FACE for b in truth.get(sg.face.frame, [])))
                row[mode] = {k: f.get(k) for k in ("bcubed_f", "bcubed_p", "bcubed_r", "wcp", "persons", "unknown_rate")}
                row[mode]["false_in_persons"] = false_in
                if mode == default("mode"):  # faces found: those the default mode outputs
                    row["det_recall"], row["false_faces"] = f["det_recall"], f["false_faces"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def clusters_markdown(rows: list[dict], commit_id: str) -> str:
    out = [f"## Real footage: the whole pipeline with each detector (commit `{commit_id}`)", "",
           "`benchmarks/real_faces.py clusters`: defaults (2 frames/s, tracks, clothing), scored by "
           "`evaluate` against the per-face labels. det_recall: labelled faces found; false: detections "
           "matching no labelled face (in persons, worst mode); per mode BCubed F (P), persons; "
           "identities: labelled people (other_N extras included).", "",
           "| clip | detector | det_recall | faces | false (in persons) | "
           + " | ".join(f"{m} F (P) persons" for m in MODES) + " | identities | extract s | rtf |",
           "|" + "---|" * (8 + len(MODES))]
    for r in rows:
        fip = max(r[m]["false_in_persons"] for m in MODES)
        out.append(f"| {r['clip']} | {r['detector']} | {r['det_recall']:.3f} | {r['n_faces']} | {r['false_faces']} ({fip}) | "
                   + " | ".join(f"{r[m]['bcubed_f']:.3f} ({r[m]['bcubed_p']:.3f}) {r[m]['persons']}" for m in MODES)
                   + f" | {r['identities']} | {r['extract_s']} | {r['rtf']} |")
    for det in dict.fromkeys(r["detector"] for r in rows):
        sel = [r for r in rows if r["detector"] == det]
        out.append(f"| mean (min P) | {det} | {np.mean([r['det_recall'] for r in sel]):.3f} | "
                   f"{sum(r['n_faces'] for r in sel)} | {sum(r['false_faces'] for r in sel)} "
                   f"({sum(max(r[m]['false_in_persons'] for m in MODES) for r in sel)}) | "
                   + " | ".join(f"{np.mean([r[m]['bcubed_f'] for r in sel]):.3f} "
                                f"({min(r[m]['bcubed_p'] for r in sel):.3f})" for m in MODES)
                   + f" | | {sum(r['extract_s'] for r in sel):.1f} | |")
    out += ["", "Per clip and mode: BCubed P / R / F, WCP, persons against identities, unknown rate "
            "(share of the labelled faces found that were left in unknown/).", "",
            "| clip | detector | mode | P | R | F | WCP | persons / identities | unknown |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for m in MODES:
            x = r[m]
            out.append(f"| {r['clip']} | {r['detector']} | {m} | {x['bcubed_p']:.3f} | {x.get('bcubed_r', float('nan')):.3f} | "
                       f"{x['bcubed_f']:.3f} | {x['wcp']:.3f} | {x['persons']} / {r['identities']} | "
                       f"{x['unknown_rate']:.3f} |")
    return "\n".join(out) + "\n"


def markdown(rows: list[dict], commit_id: str) -> str:
    names = list(dict.fromkeys(r["detector"] for r in rows))
    clips = list(dict.fromkeys(r["clip"] for r in rows))
    out = [f"## Real footage: detection recall against the per-face labels (commit `{commit_id}`)", "",
           "`benchmarks/real_faces.py recall`: every sample at 2 frames/s searched whole (no tracking), one "
           "core. recall: labelled faces found (IoU ≥ 0.3; the labels cover the faces any of these "
           "detectors found, so this is an upper bound); unmatched: detections matching no labelled face "
           "(false faces, or faces labelled not-a-face); ms per frame.", "",
           "| detector | " + " | ".join(f"{c} ({next(r['size'] for r in rows if r['clip'] == c)}, "
                                       f"{next(r['labelled'] for r in rows if r['clip'] == c)} faces)"
                                       for c in clips) + " | all |",
           "|---|" + "---|" * (len(clips) + 1)]
    for n in names:
        rs = [next(r for r in rows if r["detector"] == n and r["clip"] == c) for c in clips]
        tot = sum(r["labelled"] for r in rs)
        hit = sum(r["recall"] * r["labelled"] for r in rs)
        out.append(f"| {n} | " + " | ".join(f"{r['recall']:.3f} / {r['unmatched']} / {r['ms_frame']:.0f}"
                                           for r in rs)
                   + f" | {hit / max(tot, 1):.3f} / {sum(r['unmatched'] for r in rs)} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("prepare", "add", "folders", "frames", "labels", "recall", "clusters"))
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--out", default=str(ROOT / "bench-out" / "real"))
    ap.add_argument("--cnn", action="store_true", help="also dlib's CNN detector (slow: seconds a frame)")
    ap.add_argument("--detector", default="dlib cnn up1", help="add: the detector whose faces join the union")
    ap.add_argument("--append", action="store_true")
    a = ap.parse_args()
    if not REAL.exists():
        sys.exit(f"real clips not found at {REAL}")
    import torch

    torch.set_num_threads(1)
    clips = a.clips.split(",")
    if a.what == "prepare":
        for c in clips:
            prepare(c, Path(a.out) / c, a.cnn)
    elif a.what == "add":
        for c in clips:
            add(c, Path(a.out) / c, a.detector)
    elif a.what == "folders":
        for c in clips:
            folders(c, Path(a.out) / c)
    elif a.what == "frames":
        for c in clips:
            annotate(c, Path(a.out) / c)
    elif a.what == "labels":
        for c in clips:
            if (LABELS / f"{c}.decisions.csv").exists():
                print("\n".join(write_labels(c, Path(a.out) / c)) or f"{c}: agrees with the hand labels")
    elif a.what == "clusters":
        report(clusters_markdown(clusters(clips), commit()), a.append)
    else:
        report(markdown(recall(clips, a.cnn), commit()), a.append)


if __name__ == "__main__":
    main()
