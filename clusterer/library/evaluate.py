"""Scoring a library against ground truth: every video's faces, each labelled
with its library person, pooled into one BCubed / WCP score (identities are
the same names across videos, as benchgen writes them). A ground-truth file
belongs to the video whose name it starts with: `hard_s7_60s.gt.json` or
`hard_s7_60s.csv` for the video hard_s7_60s."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..errors import ClusterVideoError
from ..evaluate import load_ground_truth, load_prediction, match, scores
from ..settings import default as run_default
from . import store
from .ops import link_settings, link_videos, unit_names



def gt_by_video(files: Sequence[str | Path], names: Sequence[str]) -> dict[str, Path]:
    """Each ground-truth file's video: the longest video name its file name starts with, then a '.'."""
    out = {}
    for f in map(Path, files):
        hits = [n for n in names if f.name.startswith(n + ".")]
        if not hits:
            raise ClusterVideoError(f"{f}: no video of the library is named like it "
                                    f"(name it VIDEO.gt.json or VIDEO.csv)")
        out[max(hits, key=len)] = f
    return out


def evaluate_library(root: Path, gt_files: Sequence[str | Path], person_of: dict[tuple[str, str], str] | None = None,
                     iou: float = run_default("iou")) -> dict[str, Any]:
    """Library-level figures (evaluate.scores' keys plus `videos`); person_of maps
    (video, its person id) → library person (default: library.json's)."""
    data, videos = store.load(root)
    if person_of is None:
        person_of = {(a["video"], a["person"]): p["id"] for p in data["persons"] for a in p["videos"]}
    gts = gt_by_video(gt_files, [v.name for v in videos])
    pooled = []
    for name, gt_file in sorted(gts.items()):
        pred, sampled, fps = load_prediction(root / store.VIDEOS / name)
        pred = [(fr, box, None if pid is None else person_of.get((name, pid))) for fr, box, pid in pred]
        matched, _, _ = match(load_ground_truth(gt_file, sampled, fps), pred, iou, sampled)
        pooled += [(g, p.replace("__unknown_", f"__unknown_{name}_", 1) if p.startswith("__unknown_") else p)
                   for g, p in matched]
    return {**scores(pooled), "videos": len(gts)}


def sweep(root: Path, gt_files: Sequence[str | Path], thresholds: Sequence[float],
          given: dict[str, Any]) -> list[dict[str, Any]]:
    """Re-link in memory at each link threshold (names as the folders say) and score each."""

    data, videos = store.load(root)
    names = unit_names(root, videos, data.get("written", []))
    rows = []
    for t in thresholds:
        s = link_settings(data, {**given, "link_threshold": t})
        s["link_join_threshold"] = max(s["link_join_threshold"], t)
        linked = link_videos(videos, names, s)
        person_of = {(v.name, u.person): linked.ids[lab]
                     for (v, u), lab in zip([(v, u) for v in videos for u in v.units], linked.labels)}
        rows.append({"link_threshold": t, "library_persons": len(linked.ids),
                     **evaluate_library(root, gt_files, person_of)})
    return rows
