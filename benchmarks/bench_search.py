#!/usr/bin/env python3
"""When to search the whole frame (issue 14): ways of finding the faces that
the tracked-region searches miss (a cut the cut detector misses, a face that
enters mid-shot), side by side on the real clips and the hard composites.

Every variant runs the default pipeline (extraction with clothing, then
two-stage clustering) with one thing changed, on the same videos, one
process, alternated per video; scored against the per-face labels
(benchmarks/labels/) or the composites' .gt.json.

    python -m benchmarks search [--videos friends_episode,hard_s7] [--variants base,every2]
    python -m benchmarks search --diagnose friends_episode,sweden_psa,fotb_dinner

--diagnose: which labelled faces the default pipeline misses, and why
(see `diagnose`).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections import Counter
from pathlib import Path
from unittest import mock

import numpy as np

from benchmarks.harness import CLIPS, LABELS, REAL, ROOT, SAME_FACE, commit
from clusterer import FaceAnalyzer, cluster, extract, probe
from clusterer import extraction as extraction_module
from clusterer.clothing.embedders import make_embedder
from clusterer.evaluate import evaluate, load_ground_truth, match, predictions, scores
from clusterer.faces.detectors import MtcnnDetector
from clusterer.geometry import box_iou
from clusterer.settings import default

COMPOSITES = ROOT / "bench-out"
TUNE_SEEDS = (7, 11, 23)
HELD_OUT = (17, 19, 29, 31)


def video_path(name: str) -> tuple[Path, Path]:
    """(video, ground truth) of a real clip's name or a composite's (hard_s7)."""
    if name in CLIPS:
        return REAL / f"{name}.mp4", LABELS / f"{name}.csv"
    v = COMPOSITES / f"{name}_60s.mp4"
    return v, v.with_suffix(".gt.json")


VARIANTS: dict[str, dict] = {
    "default": {},
    "base": {"search_change": 255.0},
    "every2": {"detect_every": 2, "search_change": 255.0},
    "every3": {"detect_every": 3, "search_change": 255.0},
    "every1": {"detect_every": 1, "search_change": 255.0},
    "start02": {"track_start": -0.2},
    "full": {"full": True},
}
for _n in (4, 6, 8, 10, 12):
    VARIANTS[f"grey{_n}"] = {"search_change": float(_n)}
"""Variant name → extract() keyword arguments (base: before --search-change;
start02: --track-start -0.2; full: the periodic whole-frame searches down
to --min-face, as before session 9; greyN: --search-change N); more are made from the names, by patching the
extraction with search_change off (hist0.2: a whole search when the sample's
colour histogram lies 0.2 from the last whole-searched sample's; blk12: when
the most changed of 4 × 4 blocks of the small grey copies changed by 12;
coarse40: every in-between sample also searched whole for faces of 40 px or
more)."""


def variant_kwargs(name: str) -> dict:
    """The keyword arguments of a variant's name (parts joined by +: every2+grey8)."""
    out: dict = {}
    for part in name.split("+"):
        if part in VARIANTS:
            out.update(VARIANTS[part])
            continue
        prefix = next((p for p in ("hist", "grey", "blk", "coarse") if part.startswith(p)), None)
        if prefix is None:
            raise SystemExit(f"unknown variant {part}")
        out[prefix] = float(part[len(prefix):])
        out["search_change"] = 255.0
    return out


def _hist(image):
    import cv2

    small = cv2.resize(image[::4, ::4], (96, 54), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, [16, 8, 8], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(h, None).ravel()


def _grey(image):
    import cv2

    g = cv2.cvtColor(image[::4, ::4], cv2.COLOR_BGR2GRAY)
    return cv2.resize(g, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)


def change(kind: str, a, b) -> float:
    import cv2

    if kind == "hist":
        return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))
    if kind == "blk":  # the most changed of 4 × 4 blocks
        return float(np.abs(a - b).reshape(4, 9, 4, 16).mean(axis=(1, 3)).max())
    return float(np.abs(a - b).mean())


@contextlib.contextmanager
def patched(kind: str | None, bar: float, counter: dict, coarse: float | None, analyzer: FaceAnalyzer):
    """extraction._detect_ahead with a change trigger; FaceAnalyzer.candidates
    with a coarse whole-frame search added to the tracked regions' search."""
    import cv2

    orig_ahead = extraction_module._detect_ahead
    orig_cand = analyzer.candidates
    orig_batch = analyzer.candidates_batch

    def counted(rgbs, weak=False, smallest=None):
        counter["batch"] = counter.get("batch", 0) + len(rgbs)
        return orig_batch(rgbs, weak, smallest)
    measure = {"hist": _hist, "grey": _grey, "blk": _grey}.get(kind or "")

    def ahead(frames, analyzer, cuts, change_detector, detect_every, workers, clock):
        import collections
        from concurrent.futures import ThreadPoolExecutor

        pending = collections.deque()
        since_full, scene_seen, ref = 0, -1, None
        batch = extraction_module._SearchBatch(analyzer)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while True:
                frame = next(frames, None)
                if frame is not None:
                    scene = cuts.update(frame.image)
                    rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
                    since_full += 1
                    m = measure(frame.image) if measure else None
                    moved = m is not None and ref is not None and change(kind, ref, m) >= bar
                    if scene != scene_seen or since_full >= detect_every or moved:
                        counter["whole"] = counter.get("whole", 0) + 1
                        counter["triggered"] = counter.get("triggered", 0) + (
                            moved and scene == scene_seen and since_full < detect_every)
                        since_full, scene_seen, ref = 0, scene, m
                        pending.append((frame, scene, rgb, batch.add(rgb, pool)))
                    else:
                        pending.append((frame, scene, rgb, None))
                while pending and (frame is None or len(pending) > 4 * workers + batch.size):
                    if pending[0][3] is not None:
                        batch.flush(pool)
                    yield pending.popleft()
                if frame is None:
                    return

    coarse_det = MtcnnDetector(int(coarse)) if coarse else None

    def candidates(rgb, near=None, weak=False):
        if near is None or coarse_det is None:
            return orig_cand(rgb, near, weak)
        found = analyzer.detect_near(rgb, near, weak) if near else []
        d = coarse_det.detect([rgb], weak=weak)[0]
        found += analyzer._kept(d, rgb.shape[1], rgb.shape[0])
        kept = []
        for box, score in sorted(found, key=lambda bs: -bs[1]):
            if all(box_iou(box, k) < 0.5 for k, _ in kept):
                kept.append((box, score))
        return analyzer._describe(rgb, kept)

    if measure is not None:
        extraction_module._detect_ahead = ahead
    analyzer.candidates = candidates
    analyzer.candidates_batch = counted
    try:
        yield
    finally:
        extraction_module._detect_ahead = orig_ahead
        analyzer.candidates = orig_cand
        analyzer.candidates_batch = orig_batch


def run_one(name: str, variant: str, embedder) -> dict:
    video, gt_path = video_path(name)
    info = probe(video)
    kw = variant_kwargs(variant)
    analyzer = FaceAnalyzer()
    counter: dict = {}
    kind = next((k for k in ("hist", "grey", "blk") if k in kw), None)
    periodic = 1.0 if kw.pop("full", False) else extraction_module.PERIODIC_FACE
    with patched(kind, kw.get(kind, 0.0), counter, kw.get("coarse"), analyzer), \
            mock.patch.object(extraction_module, "PERIODIC_FACE", periodic):
        c0, t0 = time.process_time(), time.perf_counter()
        ex = extract(video, info, analyzer, embedder,
                     **{k: kw[k] for k in ("detect_every", "search_change", "track_start") if k in kw})
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    gt = load_ground_truth(gt_path, ex.sampled, info.fps)
    truth: dict[int, list] = {}
    for fr, _, box in gt:
        truth.setdefault(fr, []).append(box)
    whole = counter.get("whole")
    if whole is None:  # not patched: the searches counted from the extraction's own calls
        whole = counter.get("batch", 0)
    row = {"video": name, "variant": variant, "samples": len(ex.sampled), "whole": whole,
           "triggered": counter.get("triggered", 0), "faces": len(ex.faces), "cpu_s": round(cpu, 1),
           "wall_s": round(wall, 1), "load": round(os.getloadavg()[0], 1)}
    false_in = 0
    for mode in ("two-stage", "fused"):
        persons, unknown = cluster(ex, mode=mode)
        f = evaluate(predictions(persons, unknown), ex.sampled, gt)
        false_in = max(false_in, sum(1 for p in persons for sg in p.sightings if not any(
            box_iou(sg.face.box_xyxy, b) >= SAME_FACE for b in truth.get(sg.face.frame, []))))
        if mode == "two-stage":
            row.update(det_recall=f["det_recall"], false_faces=f["false_faces"], f=f.get("bcubed_f"),
                       p=f.get("bcubed_p"), persons=f.get("persons"), f_all=f_all(persons, unknown, ex.sampled, gt))
    row["false_in_persons"] = false_in
    return row


def f_all(persons, unknown, sampled, gt) -> float:
    """BCubed F over every labelled face on the sampled frames, a missed one
    counting as a singleton: not raised by finding fewer, harder faces."""
    matched, _, _ = match(gt, predictions(persons, unknown), default("iou"), sampled)
    missed = _missed_identities(gt, matched, set(sampled))
    return scores(list(matched) + [(g, f"__missed_{k}") for k, g in enumerate(missed)]).get("bcubed_f", 0.0)


def _missed_identities(gt, matched, seen) -> list[str]:
    """The identities of the labelled faces not matched (counted per identity)."""
    left = Counter(g[1] for g in gt if g[0] in seen)
    left.subtract(Counter(g for g, _ in matched))
    return [ident for ident, n in left.items() for _ in range(max(n, 0))]


def diagnose(name: str, embedder) -> dict:
    """Each labelled face the default pipeline misses, by cause:
    - small / not found whole: a whole-frame search of that sample (default
      detector, confident finds) misses it too (small: under 30 px high);
    - after a missed cut: not labelled on the sample before (no face of that
      identity there) and the sample's colour histogram lies >= 0.2 from the
      one before (a change the cut detector, at 0.5, does not call a cut);
    - enters mid-shot: not labelled on the sample before, the histogram under 0.2;
    - lost track: labelled on the sample before too and found there;
    - still missed: labelled and missed on the sample before too (the same cause
      as that miss, counted apart: how long misses last)."""
    import cv2

    video, gt_path = video_path(name)
    info = probe(video)
    analyzer = FaceAnalyzer()
    ex = extract(video, info, analyzer, embedder)
    gt = load_ground_truth(gt_path, ex.sampled, info.fps)
    found = {(f.frame, tuple(f.box_xyxy)) for f in ex.faces}
    by_frame: dict[int, list] = {}
    for fr, ident, box in gt:
        by_frame.setdefault(fr, []).append((ident, box))
    frames = {f.index: f.image for f in extraction_module.iter_frames(video, fps=2.0, info=info)}
    det = MtcnnDetector()
    counts: dict[str, int] = {}
    prev_hits: dict[str, bool] = {}
    prev_hist = None
    for fr in ex.sampled:
        img = frames[fr]
        hist = _hist(img)
        d_prev = change("hist", prev_hist, hist) if prev_hist is not None else 1.0
        prev_hist = hist
        mine = [b for (f, b) in found if f == fr]
        whole = None
        hits: dict[str, bool] = {}
        for ident, box in by_frame.get(fr, []):
            hit = any(box_iou(box, b) >= SAME_FACE for b in mine)
            hits[ident] = hit
            if hit:
                continue
            if whole is None:
                rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
                dd = det.detect([rgb])[0]
                whole = [b for b, s in zip(dd.box_xyxy.tolist(), dd.score.tolist()) if s >= 0]
            if not any(box_iou(box, b) >= SAME_FACE for b in whole):
                cause = "small" if box[3] - box[1] < 30 else "not found whole"
            elif ident in prev_hits:
                cause = "lost track" if prev_hits[ident] else "still missed"
            else:
                cause = "after a missed cut" if d_prev >= 0.2 else "enters mid-shot"
            counts[cause] = counts.get(cause, 0) + 1
        prev_hits = hits
    total = len(gt)
    return {"video": name, "labelled": total, "missed": sum(counts.values()), **counts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default=",".join(CLIPS) + ",hard_s7,hard_s11,hard_s23")
    ap.add_argument("--variants", default="base,every2")
    ap.add_argument("--diagnose", default="")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    print(json.dumps({"commit": commit(), "load": os.getloadavg()}), flush=True)
    embedder = make_embedder(None, "cpu")
    run_one("herapheri", "base", embedder)  # models loaded and warm before anything is timed
    rows = []
    if a.diagnose:
        for name in a.diagnose.split(","):
            rows.append(diagnose(name, embedder))
            print(json.dumps(rows[-1]), flush=True)
    else:
        variants = a.variants.split(",")
        for k, name in enumerate(a.videos.split(",")):
            order = variants if k % 2 == 0 else variants[::-1]
            for v in order:
                rows.append(run_one(name, v, embedder))
                print(json.dumps(rows[-1]), flush=True)
    if a.out:
        Path(a.out).write_text("\n".join(json.dumps(r) for r in rows) + "\n")


if __name__ == "__main__":
    main()
