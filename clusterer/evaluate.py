"""Scoring a clustering against ground truth, with the meaning of
../shared/bench/score.py's figures.

Ground truth: benchgen's JSON ({"faces": [[frame, identity, left, top, right,
bottom], ...]}) or a CSV a person can write, with a header and the columns
frame,left,top,right,bottom,identity (or time instead of frame, in seconds:
each row is then scored at the sampled frame nearest that time, if one lies
within half a sampling interval).

Each predicted face is matched to the ground-truth face of the same frame
with the highest IoU (>= iou, one-to-one, best pairs first). Over matched
faces: BCubed precision/recall/F, pairwise F, weighted cluster purity (WCP),
NMI, persons vs identities, and the unknown rate; unknown faces count as
singleton clusters. det_recall is the share of ground-truth faces on the
sampled frames that were detected; false_faces the predicted faces with no
match.
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Sequence

from .settings import check, default
from .errors import ClusterVideoError
from .geometry import box_iou as iou

GTFace = tuple[int, str, list[float]]
"""(frame, identity, [left, top, right, bottom])"""
PredFace = tuple[int, list[float], str | None]
"""(frame, [left, top, right, bottom], person id or None for unknown)"""


def load_prediction(path: str | os.PathLike) -> tuple[list[PredFace], list[int], float]:
    """Faces, sampled frames and fps from a clusters.json (a file or its folder)."""
    p = Path(path)
    if p.is_dir():
        p = p / "clusters.json"
    try:
        d = json.loads(p.read_text())
        faces = [(int(f["frame"]), _box(f["box"]), str(person["id"]))
                 for person in d["persons"] for f in person["faces"]]
        faces += [(int(f["frame"]), _box(f["box"]), None) for f in d.get("unknown", [])]
        return faces, [int(x) for x in d.get("sampled", [])], float(d["video"]["fps"])
    except FileNotFoundError:
        raise ClusterVideoError(f"{p}: no such file (give a result folder or its clusters.json)") from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ClusterVideoError(f"{p}: not a cluster-video clusters.json ({type(e).__name__}: {e})") from None


def load_ground_truth(path: str | os.PathLike, sampled: Sequence[int], fps: float) -> list[GTFace]:
    """Ground-truth faces from benchgen JSON or a hand-written CSV (see module doc)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV may start with a BOM
    except OSError as e:
        raise ClusterVideoError(f"{p}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise ClusterVideoError(f"{p}: not a text file (ground truth is benchgen JSON or a CSV)") from None
    if p.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            faces = json.loads(text)["faces"]
            return [_gt_row(*row) for row in faces]
        except (ValueError, KeyError, TypeError) as e:
            raise ClusterVideoError(f"{p}: not a ground-truth JSON with a 'faces' list of "
                                    f"[frame, identity, left, top, right, bottom] ({e})") from None
    rows = list(csv.DictReader(text.splitlines()))
    need = {"left", "top", "right", "bottom", "identity"}
    if not rows or not need <= set(rows[0]) or not ({"frame", "time"} & set(rows[0])):
        raise ClusterVideoError(f"{p}: CSV needs a header frame|time,left,top,right,bottom,identity")
    out = []
    times = sorted((f / fps, f) for f in sampled)
    half = 0.5 * (min(b[0] - a[0] for a, b in zip(times, times[1:])) if len(times) > 1 else 1.0)
    for n, r in enumerate(rows, start=2):
        try:
            box = _box([r[k] for k in ("left", "top", "right", "bottom")])
            if r.get("frame") not in (None, ""):
                frame = int(r["frame"])
            else:
                t = float(r["time"])
                if not math.isfinite(t):
                    raise ValueError(t)
                dt, frame = min(((abs(ts - t), f) for ts, f in times), default=(float("inf"), -1))
                if dt > half + 1e-9:
                    continue  # no sampled frame near this time: not scored
        except (ValueError, TypeError):
            raise ClusterVideoError(f"{p}: line {n}: expected numbers, got {dict(r)}") from None
        out.append((frame, r["identity"], box))
    return out


def _box(values) -> list[float]:
    """Four finite numbers (left, top, right, bottom), else ValueError."""
    box = [float(v) for v in values]
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise ValueError(f"a box is 4 finite numbers, got {list(values)}")
    return box


def _gt_row(frame, identity, *box) -> GTFace:
    """One benchgen row [frame, identity, left, top, right, bottom], checked."""
    if isinstance(frame, bool) or not isinstance(frame, (int, float)) or frame != int(frame):
        raise ValueError(f"a frame is a whole number, got {frame!r}")
    return int(frame), str(identity), _box(box)


def match(gt: Iterable[GTFace], pred: Sequence[PredFace], thr: float,
          sampled: Sequence[int] | None = None) -> tuple[list[tuple[str, str]], int, int]:
    """(ground-truth identity, predicted label) per matched face (unknown faces get a
    label of their own), the number of false faces, and GT faces on the sampled frames."""
    gt_by_frame: dict[int, list[GTFace]] = defaultdict(list)
    for g in gt:
        gt_by_frame[g[0]].append(g)
    pred_by_frame: dict[int, list[int]] = defaultdict(list)
    for i, (fr, _, _) in enumerate(pred):
        pred_by_frame[fr].append(i)
    seen = set(sampled) if sampled else set(pred_by_frame)
    on_seen = sum(len(gt_by_frame.get(fr, [])) for fr in seen)
    matched: list[tuple[str, str]] = []
    false_faces = 0
    for fr, idxs in pred_by_frame.items():
        gts = gt_by_frame.get(fr, [])
        pairs = sorted(((iou(pred[i][1], g[2]), i, j) for i in idxs for j, g in enumerate(gts)), reverse=True)
        used_p, used_g = set(), set()
        for v, i, j in pairs:
            if v < thr or i in used_p or j in used_g:
                continue
            used_p.add(i)
            used_g.add(j)
            matched.append((gts[j][1], pred[i][2] if pred[i][2] is not None else f"__unknown_{i}"))
        false_faces += len(idxs) - len(used_p)
    return matched, false_faces, on_seen


def scores(matched: Sequence[tuple[str, str]]) -> dict[str, float | int]:
    """BCubed, pairwise F, WCP, NMI, counts (see module doc)."""
    n = len(matched)
    if n == 0:
        return {"matched": 0}
    from sklearn.metrics import normalized_mutual_info_score

    by_pred: dict[str, list[str]] = defaultdict(list)
    gt_count = Counter(g for g, _ in matched)
    for g, p in matched:
        by_pred[p].append(g)
    prec = rec = 0.0
    for gs in by_pred.values():
        for g, k in Counter(gs).items():
            prec += k * k / len(gs)
            rec += k * k / gt_count[g]
    prec, rec = prec / n, rec / n
    tp = sum(k * (k - 1) / 2 for gs in by_pred.values() for k in Counter(gs).values())
    pred_pairs = sum(len(gs) * (len(gs) - 1) / 2 for gs in by_pred.values())
    gt_pairs = sum(k * (k - 1) / 2 for k in gt_count.values())
    pp = tp / pred_pairs if pred_pairs else 1.0
    pr = tp / gt_pairs if gt_pairs else 1.0
    unknown = sum(1 for _, p in matched if p.startswith("__unknown_"))
    return {
        "matched": n,
        "bcubed_p": round(prec, 4), "bcubed_r": round(rec, 4),
        "bcubed_f": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0,
        "pairwise_f": round(2 * pp * pr / (pp + pr), 4) if pp + pr else 0.0,
        "wcp": round(sum(max(Counter(gs).values()) for gs in by_pred.values()) / n, 4),
        "nmi": round(float(normalized_mutual_info_score([g for g, _ in matched], [p for _, p in matched])), 4),
        "persons": sum(1 for p in by_pred if not p.startswith("__unknown_")),
        "identities": len(gt_count),
        "unknown_rate": round(unknown / n, 4),
    }


def evaluate(pred: Sequence[PredFace], sampled: Sequence[int], gt: Sequence[GTFace],
             iou_threshold: float = default("iou")) -> dict[str, float | int]:
    """All figures for one prediction."""
    matched, false_faces, on_seen = match(gt, pred, iou_threshold, sampled)
    s = scores(matched)
    s["false_faces"] = false_faces
    s["det_recall"] = round(len(matched) / on_seen, 4) if on_seen else 0.0
    return s


def evaluate_output(output: str | os.PathLike, gt_file: str | os.PathLike,
                    iou_threshold: float = default("iou")) -> dict[str, float | int]:
    """`cluster-video evaluate`: score a result folder (or clusters.json) against a GT file."""
    check("iou", iou_threshold)
    pred, sampled, fps = load_prediction(output)
    return evaluate(pred, sampled, load_ground_truth(gt_file, sampled, fps), iou_threshold)


def predictions(persons, unknown) -> list[PredFace]:
    """PredFace list from in-memory persons and unknown sightings."""
    out: list[PredFace] = [(s.face.frame, list(s.face.box_xyxy), p.id) for p in persons for s in p.sightings]
    return out + [(s.face.frame, list(s.face.box_xyxy), None) for s in unknown]
