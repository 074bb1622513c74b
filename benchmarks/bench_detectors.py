#!/usr/bin/env python3
"""Face detectors side by side on the hard benchmark videos: recall, false
detections and time per frame, on the same sampled frames (2 a second), one
core for every detector (torch and dlib each on one thread).

Also, on faces that both MTCNN and HOG find: the fit of MTCNN's boxes to
dlib's box convention (faces.detectors.TO_DLIB_BOX), and how far the face
encodings from MTCNN boxes lie from those from HOG boxes on the same face,
for the ways of aligning MTCNN's faces (raw box, box mapped to dlib's
convention, each through dlib's 5-point landmark model).

    python -m benchmarks detectors [--seeds 7,11,23] [--append] [--fit]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import BENCH, ROOT, build_video, commit, match, report

from clusterer.faces.detectors import HogDetector, MtcnnDetector, to_dlib_boxes
from clusterer.faces.analyzer import box_iou
from clusterer.settings import default
from clusterer.video.sampling import iter_frames, probe

GT_IOU = default("iou")
"""A detection matches a ground-truth face at this overlap (score.py's default)."""


def frames_of(video: Path, fps: float = 2.0):
    import cv2

    info = probe(video)
    return [(f.index, cv2.cvtColor(f.image, cv2.COLOR_BGR2RGB)) for f in iter_frames(video, fps=fps, info=info)]


def detectors():
    """name → (detector, min box height kept)."""
    return {"hog up1": (HogDetector(1), 20), "hog up2": (HogDetector(2), 20),
            "mtcnn min 40": (MtcnnDetector(40), 40), "mtcnn min 30": (MtcnnDetector(30), 30),
            "mtcnn min 20 (default)": (MtcnnDetector(20), 20), "mtcnn min 14": (MtcnnDetector(14), 14)}


def run_video(video: Path, only: str = "") -> list[dict]:
    gt = json.loads(video.with_suffix(".gt.json").read_text())
    truth: dict[int, list] = {}
    for fr, _name, *box in gt["faces"]:
        truth.setdefault(int(fr), []).append(box)
    frames = frames_of(video)
    n_truth = sum(len(truth.get(i, [])) for i, _ in frames)
    rows = []
    for name, (det, min_h) in detectors().items():
        if only not in name:
            continue
        det.detect([frames[0][1]])  # load models outside the timing
        found = false = 0
        t0 = time.perf_counter()
        for i, rgb in frames:
            d = det.detect([rgb])[0]
            boxes = [b for b in d.box_xyxy.tolist() if b[3] - b[1] >= min_h]
            f, x = match(boxes, truth.get(i, []))
            found, false = found + f, false + x
        ms = 1000 * (time.perf_counter() - t0) / len(frames)
        rows.append({"video": video.stem, "detector": name, "recall": round(found / n_truth, 3),
                     "false": false, "ms_frame": round(ms, 1), "gt_faces": n_truth})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def fit_boxes(videos: list[Path]) -> str:
    """Fit MTCNN → dlib boxes on faces both find, and compare encodings."""
    import dlib

    from clusterer import models
    from clusterer.faces.encoder import TorchEncoder

    hog, mt = HogDetector(1), MtcnnDetector(20)
    pred = models.load("landmarks_5")
    enc = TorchEncoder("cpu")
    ratios, dist = [], {"dlib's 5-point model on MTCNN's raw box": [],
                        "dlib's 5-point model on MTCNN's box mapped to dlib's convention": []}
    pairs = []  # (video index, rgb, HOG box, HOG-box shape, MTCNN landmarks, HOG-box encoding)
    for v, video in enumerate(videos):
        for _i, rgb in frames_of(video):
            hb = hog.detect([rgb])[0].box_xyxy
            found = mt.net.detect([rgb])[0]
            raw = found.box_xyxy
            for b in hb:
                ious = [box_iou(b, m) for m in to_dlib_boxes(raw)] if len(raw) else []
                if not ious or max(ious) < 0.4:
                    continue
                k = int(np.argmax(ious))
                m = raw[k]
                mw, mh = m[2] - m[0], m[3] - m[1]
                ratios.append((((b[0] + b[2]) - (m[0] + m[2])) / 2 / mw, ((b[1] + b[3]) - (m[1] + m[3])) / 2 / mh,
                               (b[2] - b[0]) / mw, (b[3] - b[1]) / mh))
                shapes = [pred(rgb, dlib.rectangle(*[int(round(x)) for x in box]))
                          for box in (b, m, to_dlib_boxes(m[None])[0])]
                e = enc.encode(rgb, shapes)
                raw_d, mapped_d = dist.values()
                raw_d.append(float(np.linalg.norm(e[0] - e[1])))
                mapped_d.append(float(np.linalg.norm(e[0] - e[2])))
                pairs.append((v, rgb, b, shapes[0], found.landmarks[k], e[0]))
    dist["MTCNN's own five landmarks mapped to dlib's five (linear map fitted on the first video, "
         "measured on the others)"] = _landmark_map(pairs, enc)
    r = np.median(np.array(ratios), axis=0)
    lines = ["### MTCNN boxes in dlib's convention", "",
             f"{len(ratios)} faces found by both HOG (upsample 1) and MTCNN on {len(videos)} hard videos; "
             f"median dlib box relative to MTCNN's: centre moved by ({r[0]:+.3f}, {r[1]:+.3f}) of its size, "
             f"width × {r[2]:.3f}, height × {r[3]:.3f} (TO_DLIB_BOX).", "",
             "| landmarks from | encoding distance to the HOG-box encoding: median | p90 |", "|---|---|---|"]
    for k, v in dist.items():
        lines.append(f"| {k} | {np.median(v):.4f} | {np.percentile(v, 90):.4f} |")
    return "\n".join(lines) + "\n"


def _frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """A similarity frame from MTCNN's eye centres: origin, x axis, y axis, scale."""
    a, b = points[0], points[1]
    scale = float(np.linalg.norm(b - a)) or 1.0
    ex = (b - a) / scale
    return (a + b) / 2, ex, scale, np.array([-ex[1], ex[0]])


def _landmark_map(pairs, enc) -> list[float]:
    """The other way to align: dlib's five points predicted from MTCNN's five
    by a linear map in the eyes' frame, fitted on the first video's faces and
    applied to the other videos' (then dlib cuts the chip as usual)."""
    import dlib

    def feats(lm):
        o, ex, s, ey = _frame(lm)
        q = (lm - o) @ np.stack([ex, ey], 1) / s
        return np.concatenate([q.ravel(), [1.0]])

    def target(shape, lm):
        o, ex, s, ey = _frame(lm)
        pts = np.array([(p.x, p.y) for p in shape.parts()], float)
        return ((pts - o) @ np.stack([ex, ey], 1) / s).ravel()

    train = [p for p in pairs if p[0] == 0]
    test = [p for p in pairs if p[0] != 0] or train
    X = np.stack([feats(p[4]) for p in train])
    Y = np.stack([target(p[3], p[4]) for p in train])
    W, *_ = np.linalg.lstsq(X, Y, rcond=None)
    out = []
    for _v, rgb, b, _shape, lm, e_hog in test:
        o, ex, s, ey = _frame(lm)
        q = (feats(lm) @ W).reshape(5, 2)
        pts = o + s * (q[:, :1] * ex + q[:, 1:] * ey)
        rect = dlib.rectangle(*[int(round(x)) for x in b])
        shape = dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y))) for x, y in pts])
        out.append(float(np.linalg.norm(enc.encode(rgb, [shape])[0] - e_hog)))
    return out


MODES = ("faces", "two-stage", "fused")


def pipeline_row(video: Path, detector: str) -> tuple[dict, dict]:
    """The whole extraction (tracks, clothing) with `detector`, every mode
    scored; also each mode's labels per ground-truth face (for the fair
    comparisons of `compare`)."""
    from clusterer import FaceAnalyzer, cluster, extract
    from clusterer.evaluate import evaluate, load_ground_truth, predictions
    from clusterer.clothing.embedders import make_embedder

    info = probe(video)
    t0 = time.perf_counter()
    ex = extract(video, info, FaceAnalyzer(detector=detector), make_embedder(None, "cpu"))
    wall = time.perf_counter() - t0
    gt = load_ground_truth(video.with_suffix(".gt.json"), ex.sampled, info.fps)
    by_frame: dict[int, list] = {}
    for fr, _, box in gt:
        by_frame.setdefault(fr, []).append(box)
    row = {"video": video.stem, "detector": detector, "n_faces": len(ex.faces), "extract_s": round(wall, 1),
           "rtf": round(info.duration / wall, 2)}
    labels = {"gt": [g for g in gt if g[0] in set(ex.sampled)]}
    for mode in MODES:
        persons, unknown = cluster(ex, mode=mode)
        pred = predictions(persons, unknown)
        f = evaluate(pred, ex.sampled, gt)
        row[mode] = (round(f["bcubed_f"], 3), round(f["bcubed_p"], 3))
        row["det_recall"], row["false_faces"] = round(f["det_recall"], 3), f["false_faces"]
        row[mode + " false in persons"] = sum(
            1 for p in persons for s in p.sightings
            if not any(box_iou(s.face.box_xyxy, b) >= GT_IOU for b in by_frame.get(s.face.frame, [])))
        labels[mode] = gt_labels(labels["gt"], pred)
    print(json.dumps(row), flush=True)
    return row, labels


def gt_labels(gt: list, pred: list) -> dict[int, str]:
    """Ground-truth face index → the predicted label of the face matched to
    it (evaluate's one-to-one matching by IoU; unknown faces get their own)."""
    by_frame: dict[int, list[int]] = {}
    for j, g in enumerate(gt):
        by_frame.setdefault(g[0], []).append(j)
    preds: dict[int, list[int]] = {}
    for i, p in enumerate(pred):
        preds.setdefault(p[0], []).append(i)
    out = {}
    for fr, idx in preds.items():
        pairs = sorted(((box_iou(pred[i][1], gt[j][2]), i, j) for i in idx for j in by_frame.get(fr, [])),
                       reverse=True)
        up, ug = set(), set()
        for v, i, j in pairs:
            if v >= GT_IOU and i not in up and j not in ug:
                up.add(i)
                ug.add(j)
                out[j] = pred[i][2] if pred[i][2] is not None else f"__unknown_{i}"
    return out


def compare(labels: dict[str, dict]) -> dict:
    """BCubed F of each detector's clustering (every mode) on the same faces:
    those both detectors found ("common"), and every ground-truth face on the
    sampled frames, a face it missed counting as a singleton ("all")."""
    from clusterer.evaluate import scores

    gt = labels["hog"]["gt"]
    out = {}
    for mode in MODES:
        both = set(labels["hog"][mode]) & set(labels["mtcnn"][mode])
        for det in ("hog", "mtcnn"):
            got = labels[det][mode]
            common = scores([(gt[j][1], got[j]) for j in sorted(both)])
            every = scores([(g[1], got.get(j, f"__missed_{j}")) for j, g in enumerate(gt)])
            out[(det, mode)] = (common["bcubed_f"], common["bcubed_p"], every["bcubed_f"], every["bcubed_p"])
    return out


def pipeline_markdown(rows: list[dict], commit_id: str) -> str:
    out = [f"## Detectors in the whole pipeline (commit `{commit_id}`)", "",
           "Extraction at defaults (tracks, whole-frame search at scene starts and every 4th sample, "
           "clothing) with each detector, alternated video by video; every mode clustered at its "
           "defaults. Seconds: extraction with clothing, 2 cores; rtf: × real time of extraction.", "",
           "| video | detector | det_recall | faces | false faces (in persons, any mode) | "
           + " | ".join(f"{m} F (P)" for m in MODES) + " | extract s | rtf |",
           "|" + "---|" * (7 + len(MODES))]
    for r in rows:
        fip = max(r[m + " false in persons"] for m in MODES)
        out.append(f"| {r['video']} | {r['detector']} | {r['det_recall']:.3f} | {r['n_faces']} | "
                   f"{r['false_faces']} ({fip}) | "
                   + " | ".join(f"{r[m][0]:.3f} ({r[m][1]:.3f})" for m in MODES)
                   + f" | {r['extract_s']} | {r['rtf']} |")
    for d in dict.fromkeys(r["detector"] for r in rows):
        sel = [r for r in rows if r["detector"] == d]
        out.append(f"| mean (min P) | {d} | {np.mean([r['det_recall'] for r in sel]):.3f} | "
                   f"{sum(r['n_faces'] for r in sel)} | {sum(r['false_faces'] for r in sel)} "
                   f"({sum(max(r[m + ' false in persons'] for m in MODES) for r in sel)}) | "
                   + " | ".join(f"{np.mean([r[m][0] for r in sel]):.3f} ({min(r[m][1] for r in sel):.3f})"
                                for m in MODES)
                   + f" | {sum(r['extract_s'] for r in sel):.1f} | |")
    return "\n".join(out) + "\n"


def fair_markdown(fair: dict) -> str:
    out = ["The same comparison on the same faces. score.py's BCubed (above) is computed over the faces "
           "each run detected, so a detector that finds more, harder faces is scored on a harder set. "
           "Here: BCubed F (P) over the ground-truth faces both detectors found (common), and over every "
           "ground-truth face on the sampled frames, each missed face counting as a singleton (all).", "",
           "| video | mode | hog common | mtcnn common | hog all | mtcnn all |", "|---|---|---|---|---|---|"]
    for video, res in fair.items():
        for mode in MODES:
            h, m = res[("hog", mode)], res[("mtcnn", mode)]
            out.append(f"| {video} | {mode} | {h[0]:.3f} ({h[1]:.3f}) | {m[0]:.3f} ({m[1]:.3f}) | "
                       f"{h[2]:.3f} ({h[3]:.3f}) | {m[2]:.3f} ({m[3]:.3f}) |")
    for mode in MODES:
        vals = [[res[(d, mode)] for res in fair.values()] for d in ("hog", "mtcnn")]
        out.append(f"| mean | {mode} | " + " | ".join(
            f"{np.mean([v[k] for v in vals[d]]):.3f}" for k, d in ((0, 0), (0, 1), (2, 0), (2, 1))) + " |")
    return "\n".join(out) + "\n"


def markdown(rows: list[dict], commit_id: str) -> str:
    names = list(dict.fromkeys(r["detector"] for r in rows))
    videos = list(dict.fromkeys(r["video"] for r in rows))
    out = [f"## Detectors side by side (commit `{commit_id}`)", "",
           "Whole-frame search of every sample at 2 frames/s (no tracking), one core each, "
           "models loaded before timing. recall: ground-truth faces found (IoU ≥ 0.3); false: "
           "detections matching no ground-truth face; ms: per 1280×720 frame.", "",
           "| detector | " + " | ".join(f"{v} recall / false / ms" for v in videos) + " | mean recall |",
           "|---|" + "---|" * (len(videos) + 1)]
    for n in names:
        rs = [next(r for r in rows if r["detector"] == n and r["video"] == v) for v in videos]
        out.append(f"| {n} | " + " | ".join(f"{r['recall']:.3f} / {r['false']} / {r['ms_frame']:.0f}" for r in rs)
                   + f" | {np.mean([r['recall'] for r in rs]):.3f} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="7,11,23")
    ap.add_argument("--out", default=str(ROOT / "bench-out"))
    ap.add_argument("--append", action="store_true")
    ap.add_argument("--fit", action="store_true", help="also fit the box mapping and compare encodings")
    ap.add_argument("--only", default="", help="only the detectors whose name holds this (e.g. mtcnn)")
    ap.add_argument("--pipeline", action="store_true",
                    help="only the whole pipeline with each detector (not the per-frame table)")
    args = ap.parse_args()
    if not (BENCH / "benchgen.py").exists():
        sys.exit(f"benchmark media not found at {BENCH}")
    commit_id = commit()
    videos = [build_video(Path(args.out), int(s), 60, "hard") for s in args.seeds.split(",")]
    if args.pipeline:
        from clusterer import FaceAnalyzer, extract
        from clusterer.clothing.embedders import make_embedder

        # warm-up: imports and model loading outside the timed runs
        for d in ("hog", "mtcnn"):
            extract(videos[0], probe(videos[0]), FaceAnalyzer(detector=d), make_embedder(None, "cpu"), end=2.0)
        rows, fair = [], {}
        for v in videos:
            labels = {}
            for d in ("hog", "mtcnn"):
                row, labels[d] = pipeline_row(v, d)
                rows.append(row)
            fair[v.stem] = compare(labels)
        rows.sort(key=lambda r: r["detector"])
        report(pipeline_markdown(rows, commit_id) + "\n" + fair_markdown(fair), args.append)
        return
    import torch

    torch.set_num_threads(1)
    table = markdown([r for v in videos for r in run_video(v, args.only)], commit_id)
    if args.fit:
        table += "\n" + fit_boxes(videos)
    report(table, args.append)


if __name__ == "__main__":
    main()
