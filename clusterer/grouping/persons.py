"""Grouping: an Extraction's face tracks → persons and unknown sightings, in one of three modes."""
from __future__ import annotations

import numpy as np

from ..settings import check, default
from ..types import Extraction, Person, Sighting, group
from .fused import FusedClusterer
from .linkage import FaceClusterer, join_unambiguous, number_clusters
from .refine import ClothingRefiner


def encode_tracks(ex: Extraction, *, min_quality: float, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Each track's encoding, the mean of its best (up to `budget`) encoded faces
    of at least `min_quality`, and whether it had any such face. A track with
    none gets the mean of all its encoded faces, flagged low-quality."""
    enc = np.zeros((len(ex.tracks), 128))
    good = np.zeros(len(ex.tracks), dtype=bool)
    for k, t in enumerate(ex.tracks):
        coded = sorted((f for f in (ex.faces[i] for i in t.items) if f.encoding is not None),
                       key=lambda f: -f.quality)
        best = [f for f in coded if f.quality >= min_quality][:budget]
        good[k] = bool(best)
        enc[k] = np.mean([f.encoding for f in (best or coded)], axis=0)
    return enc, good


def track_clothing(ex: Extraction) -> list[np.ndarray | None]:
    """Each track's clothing: the normalised mean of its faces' clothing
    embeddings, or None when none of its faces had clothing in view."""
    out: list[np.ndarray | None] = []
    for t in ex.tracks:
        vecs = [ex.clothing[i].embedding for i in t.items
                if ex.clothing is not None and ex.clothing[i].embedding is not None]
        m = np.mean(vecs, axis=0) if vecs else None
        out.append(None if m is None else m / max(float(np.linalg.norm(m)), 1e-12))
    return out


def cluster(ex: Extraction, *, mode: str = default("mode"), threshold: float = default("threshold"),
            min_faces: int = default("min_faces"), min_quality: float = default("min_quality"),
            join_threshold: float = default("join_threshold"), join_ratio: float = default("join_ratio"),
            min_confidence: float = default("min_confidence"),
            track_encodings: int = default("track_encodings"),
            loose_threshold: float = default("loose_threshold"),
            cloth_threshold: float = default("cloth_threshold"), cloth_ratio: float = default("cloth_ratio"),
            cloth_window: float = default("cloth_window"), cloth_weight: float = default("cloth_weight"),
            fused_epsilon: float = default("fused_epsilon"),
            ) -> tuple[tuple[Person, ...], tuple[Sighting, ...]]:
    """Group the extracted tracks into persons (most faces first) and unknown sightings.

    Every decision is taken on tracks; a face follows its track. Unconfirmed
    tracks (one face, detector score under min_confidence) go to unknown.
    Tracks with no face of min_quality do not take part in stage 1; clothing
    may attach them (two-stage), else they go to unknown.
    """
    check("mode", mode)
    if mode != "faces" and ex.clothing is None:
        raise ValueError(f"mode '{mode}' needs clothing: extract with an embedder")
    faces, tracks = ex.faces, ex.tracks
    nt = len(tracks)
    t_enc, t_good = encode_tracks(ex, min_quality=min_quality, budget=track_encodings)
    size = np.array([len(t.items) for t in tracks])
    spans = [frozenset(faces[i].frame for i in t.items) for t in tracks]
    times = np.array([[faces[t.items[0]].time, faces[t.items[-1]].time] for t in tracks]).reshape(nt, 2)
    unconfirmed = np.array([len(t.items) == 1 and faces[t.items[0]].score < min_confidence
                            for t in tracks], dtype=bool)
    t_reason: list[str | None] = ["unconfirmed" if u else None for u in unconfirmed]
    t_how = ["face"] * nt
    labels = np.full(nt, -1)
    if mode == "fused":
        live = np.flatnonzero(~unconfirmed)
        fc = FusedClusterer(cloth_weight=cloth_weight, epsilon=fused_epsilon, min_faces=min_faces)
        cloth = track_clothing(ex)
        fc.fit(t_enc[live], [cloth[k] for k in live], [spans[k] for k in live], size[live])
        labels[live] = fc.labels_
        for k, r in zip(live, fc.reasons_):
            t_reason[k] = r
        t_how = ["fused"] * nt
    else:
        # stage 1: confirmed tracks with a good face, by their encodings
        core = np.flatnonzero(t_good & ~unconfirmed)
        if len(core):
            labels[core] = FaceClusterer(threshold, min_faces=1).fit_predict(
                t_enc[core], [spans[k] for k in core], size[core])
            if join_threshold > threshold:
                labels[core] = join_unambiguous(labels[core], t_enc[core], [spans[k] for k in core],
                                                join_threshold, join_ratio, size[core])
        # low-quality tracks stand alone, for clothing to attach
        low = np.flatnonzero(~t_good & ~unconfirmed)
        labels[low] = labels.max(initial=-1) + 1 + np.arange(len(low))
        live = np.flatnonzero(labels >= 0)
        if mode == "two-stage" and len(live):
            cloth = track_clothing(ex)
            ref = ClothingRefiner(loose_threshold=loose_threshold, cloth_threshold=cloth_threshold,
                                  ratio=cloth_ratio, window=cloth_window)
            merged = ref.fit(labels[live], t_enc[live], [cloth[k] for k in live], times[live],
                             [spans[k] for k in live], size[live]).labels_
            # a merged cluster keeps its core's id: whoever changed id joined by clothing
            for k, a, b in zip(live, labels[live], merged):
                t_how[k] = "clothing" if a != b else "face"
            labels[live] = merged
        for c in np.unique(labels[labels >= 0]):
            m = np.flatnonzero(labels == c)
            if not t_good[m].any():
                labels[m] = -1
                for k in m:
                    t_reason[k] = "low-quality"
    labels = _size_rule(labels, min_faces, size, np.array([min(s) for s in spans] or [0]))
    sightings: list[Sighting] = []
    face_labels: list[int] = []
    for k, t in enumerate(tracks):
        lab = int(labels[k])
        reason = (t_reason[k] or "few-faces") if lab < 0 else None
        how = "unknown" if lab < 0 else t_how[k]
        for i in t.items:
            sightings.append(Sighting(faces[i], ex.clothing[i] if ex.clothing else None, how, reason, t.id))
            face_labels.append(lab)
    return group(sightings, face_labels)


def _size_rule(labels: np.ndarray, min_faces: int, size: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Relabel: groups of at least min_faces faces (item i stands for size[i]
    faces) become 0, 1, … (most faces first, then earliest); the rest -1."""
    labels = np.asarray(labels)
    groups = [np.flatnonzero(labels == k) for k in np.unique(labels[labels >= 0])]
    return number_clusters(groups, np.asarray(size), np.asarray(first), min_faces, len(labels))
