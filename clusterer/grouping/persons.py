"""Grouping: an Extraction's face tracks → persons and unknown sightings, in one of three modes."""
from __future__ import annotations

import numpy as np

from ..settings import check, default
from ..types import Extraction, Assigned, Mode, Person, Reason, Sighting, group
from .apart import apart_rows, with_cannot_links
from .fused import FusedClusterer
from .linkage import FaceClusterer, attach_by_face, join_nearest_tracks, join_parts, join_unambiguous, number_clusters
from .refine import ClothingRefiner
from .table import TrackTable


NEAREST_JOIN_FACES = 20
"""Two persons join by their nearest tracks (linkage.join_nearest_tracks)
only when the smaller holds at most this many faces (10 s at 2 samples/s):
one close pair of tracks is evidence enough for a person seen briefly
elsewhere, not for two each seen at length. Uncapped, the join made a
person of two people on the composites joined into 7 minutes and with
--detector hog on seed 11 (benchmarks/RESULTS.md, "Session 16")."""

PART_FACES = 15
"""Two persons of at least this many faces each (parts) that are each
other's nearest, under --join-threshold, join when clearly nearer than any
third part that is not itself within --join-threshold of the other of the
two (linkage.join_unambiguous's part_weight). A person seen at length is
often split in parts that are each other's runners-up: on seed 23 one
actor's three parts of 12–17 faces lay 0.365, 0.373 and 0.421 apart,
everyone else 0.55 or more; on the 7-minute composite an actor's parts of
224 and 97 faces were 0.425 apart, each with a fragment of its own at
0.45–0.49; the ratio test alone kept them all apart. Lighter persons lie
between people as often as between their own parts: at 12 faces precision
fell on seed 23, the 7-minute composite and with --detector hog on
fotb_dinner; from 15 up no precision fell by more than 0.0001 on any of 80
extractions, and 15 gains the most: the held-out composites' mean F 0.792
→ 0.839, the 7-minute composite's 0.657 → 0.837 (with HOG 0.798 → 0.928)
(benchmarks/RESULTS.md, "Session 17")."""

PARTS_JOIN_FACES = 10
"""After clothing, two persons of at least this many faces each may join as
parts of one (linkage.join_parts, --part-ratio): a person seen at length is
often left in three or more parts, each near the others and so nobody's
clear nearest. Lighter persons lie between people too often: at 8 faces
precision fell on seed 29 and with --detector hog on seeds 67 and 89; from
10 up on none of 94 extractions (benchmarks/RESULTS.md, "Session 20")."""

PARTS_NEAR = 0.45
"""A third person within this face distance of both of two parts makes them
one person's (linkage.join_parts' `near`); at --join-threshold (0.5) a person
of two identities the faces had made joined one of them on seed 67
(benchmarks/RESULTS.md, "Session 20")."""

NEAREST_JOIN_RATIO = 0.75
"""The join by nearest tracks also needs the nearest track nearer than this
share of any third person's: stricter than --join-ratio (0.85), at which it made people
of two on dark and hazy copies of the real clips (meeting, sweden_psa) and
with --detector hog on seed 43; at 0.8 on three of those. At 0.75 no
precision fell on any of 62 extractions (21 videos and a 7-minute one with
MTCNN and with HOG, 18 dark and hazy copies), while F rose on every set
(benchmarks/RESULTS.md, "Session 16")."""


PERSON_SCORE = 0.25
"""A person needs one face the detector scored at least this (0: its own
cut-off): a group of barely detected faces that nothing else joined is more
often not a face at all. On seeds 11, 53 and 113 a hand on folded arms or a
pattern on clothes made a person of 2–3 detections scored at most 0.03 (0.07
with HOG on seed 139), in every mode; at 0.1 none was left in a person on any
composite, while one real person on sweden_psa, seen at night, went to
unknown (F 0.943 → 0.928) (benchmarks/RESULTS.md, "Session 21"). On the
composites built afresh in session 26 the folded-arms hand of seed 11 scored
up to 0.198 and made a person of 4 faces (also in the 7-minute composite); of
the 54 benchmark videos' persons, the real ones with the weakest best face
scored 0.308 (biden on seed 113) and 0.338: at 0.25 the hand is in unknown
and no F changes (benchmarks/RESULTS.md, "Session 26")."""

CLEAR_FACE = 0.5
"""A person whose best face has at least this quality (faces.quality) is
clearly seen; see POOR_JOIN."""

POOR_JOIN = 0.40
"""Two persons neither of whom has a face of CLEAR_FACE quality join by their
faces after stage 1 (linkage.join_unambiguous and join_nearest_tracks,
under --join-threshold) only when nearer than this: small, blurred and
turned faces encode nearer to other people's. On the grouping benchmark's 54 videos that join made 281
right joins and 5 wrong; three of the wrong, a man and a woman each on seeds
53, 151 and 179, were of persons whose best faces had quality 0.39–0.46,
0.42–0.45 apart, while 10 right joins were of persons so poorly seen, 3 of
them 0.40 or more apart. With the bound, precision under 0.98 on 4 of the 54
instead of 7, mean F 0.856 → 0.859; on 135 extractions it was not chosen on
(16 more composites; dark, hazy and grey copies; CRF 35 and 42 copies; 360p
copies; 0.5, 1 and 4 frames/s) 4 more made 0.98, F rose on 5 and fell on 3
by 0.02–0.04 (seed 23 at 360p in precision, 0.963 → 0.879: the part kept
apart joined another person by clothing)
(benchmarks/RESULTS.md, "Session 29: poorly seen persons"). Lowered with
--threshold as the joins are (under_threshold)."""

RIVAL_SCORE = 0.1
"""A group with no face scored this is no rival in clothing's ratio test
(refine.ClothingRefiner's rival_score): on fotb_dinner a pattern on grandma's
jacket, scored 0.09 and never a person, kept her parts apart. Lower than
PERSON_SCORE: a group scored 0.1–0.25 is no person of its own, yet it may be
someone's weak face, and as a rival it kept seed 67's clothing from joining
two people (precision 1.000; 0.963 with rivals from 0.25) (benchmarks/RESULTS.md,
"Session 26")."""


def poorly_seen(quality: np.ndarray, bound: float):
    """The face joins' veto (linkage.join_unambiguous, join_nearest_tracks):
    two persons (their rows of `quality`, each track's best face's) with no
    face of CLEAR_FACE quality between them, `bound` or more apart (POOR_JOIN)."""
    def veto(a: np.ndarray, b: np.ndarray, distance: float) -> bool:
        return distance >= bound and quality[a].max() < CLEAR_FACE and quality[b].max() < CLEAR_FACE
    return veto


def faces_at(count: float, rate: float | None) -> float:
    """A count of faces chosen at the default sampling rate (NEAREST_JOIN_FACES,
    PART_FACES, PARTS_JOIN_FACES), for an extraction sampled at `rate` a
    second: as many seconds when sampled faster, as many faces when slower.
    Faces a quarter second apart mostly repeat each other, so at 4 a second
    the counts of 2 a second came twice as soon and joined people: precision
    under 0.98 on 6 of 15 composites and 4 of 6 real clips, against 2 and 1
    at 2 a second; with the counts as seconds 4 and 3, real clips' mean F
    0.904 → 0.924. Slower, fewer faces shape a noisier mean: as seconds, at 1
    a second two people's persons of 7 and 10 faces joined as parts on seed
    31 (benchmarks/RESULTS.md, "Session 28: the sampling rate")."""
    return count * max(1.0, (rate or default("fps")) / default("fps"))


def under_threshold(bound: float, threshold: float) -> float:
    """A face bound of the joins after stage 1 (--join-threshold,
    --loose-threshold), given for the default --threshold, at `threshold`:
    scaled down with a lower threshold, left as it is at a higher one.
    Lowering --threshold is how a user keeps different people apart (its
    help says so), yet most persons holding two people are made by those
    joins, not by stage 1: with the bounds fixed, a threshold lowered as far
    as 0.28 brought 1 of the grouping benchmark's 7 such extractions (of 54)
    to precision 0.98, and 5 of 36 among 114 others (dark, hazy, grey,
    compressed and 360p copies, other sampling rates); with them scaled, 6
    and 21. Raised, the bounds stay: loosened with it, precision under 0.98
    at --threshold 0.40 on 17 of the 54 instead of 13 (benchmarks/RESULTS.md,
    "Session 28: the threshold")."""
    return bound * min(1.0, threshold / default("threshold"))


def cluster(ex: Extraction, **settings) -> tuple[tuple[Person, ...], tuple[Sighting, ...]]:
    """Persons (most faces first) and unknown sightings: cluster_apart's, for
    any of its settings."""
    persons, unknown, _ = cluster_apart(ex, **settings)
    return persons, unknown


def cluster_apart(ex: Extraction, *, mode: str = default("mode"), threshold: float = default("threshold"),
            min_faces: int = default("min_faces"), min_quality: float = default("min_quality"),
            join_threshold: float = default("join_threshold"), join_ratio: float = default("join_ratio"),
            min_confidence: float = default("min_confidence"),
            track_encodings: int = default("track_encodings"),
            loose_threshold: float = default("loose_threshold"),
            cloth_threshold: float = default("cloth_threshold"), cloth_ratio: float = default("cloth_ratio"),
            cloth_window: float = default("cloth_window"), layout_threshold: float = default("layout_threshold"),
            part_ratio: float = default("part_ratio"), apart_cut: float = default("apart_cut"),
            cloth_weight: float = default("cloth_weight"),
            fused_epsilon: float = default("fused_epsilon"),
            ) -> tuple[tuple[Person, ...], tuple[Sighting, ...], frozenset[tuple[int, int]]]:
    """Group the extracted tracks into persons (most faces first) and unknown
    sightings; with them, the track ids of each pair (both orders) kept apart
    as look-alikes (for the report).

    Every decision is taken on tracks (a TrackTable); a face follows its track.
    First, look-alikes get cannot-links from a metric fitted to the video
    (apart.apart_rows, at `apart_cut`; 0: none): like two faces on screen
    together, no step joins them.
    In two-stage and faces modes, stage 1 (faces at `threshold`) is followed
    by joins at `join_threshold` / `join_ratio` (it and `loose_threshold`
    lowered with a threshold under the default: under_threshold): persons whose mean faces
    are clearly nearest (linkage.join_unambiguous; persons of PART_FACES or
    more judged against each other only; two with no clear face, CLEAR_FACE,
    only under POOR_JOIN), then, after clothing (two-stage:
    refine.ClothingRefiner, by the clothing's embedding, then its layout),
    persons left in parts, when every person near either is near both
    (linkage.join_parts, PARTS_JOIN_FACES, PARTS_NEAR, `part_ratio`), and a
    brief person and the person holding its clearly nearest track
    (linkage.join_nearest_tracks, NEAREST_JOIN_FACES, NEAREST_JOIN_RATIO);
    sampled faster than the default, those counts of faces count seconds (faces_at).
    A person none of whose faces the detector scored PERSON_SCORE goes to
    unknown (unconfirmed). Unconfirmed tracks (TrackTable: one face scored
    under min_confidence, or no face at the detector's cut-off) start no
    person: once the others are grouped, each with a good face joins the
    person it is clearly nearest to under `threshold`
    (linkage.attach_by_face), or goes to unknown. A weak find on the body
    at the neck below a face seen with it (body.tracks_on_body: a necklace,
    a tie's knot) is unconfirmed too, and joins no person. The weak
    detections that start a track (--track-start) are kept only if it ends
    in a person: in unknown a track keeps its faces from its first confident
    one (a track of weak detections only, none), as a weak detection that
    continues no track is dropped. Tracks with no face of min_quality do not
    take part in stage 1; clothing may attach them (two-stage), else they go
    to unknown.
    """
    mode = Mode(check("mode", mode))
    join_threshold = under_threshold(join_threshold, threshold)
    loose_threshold = under_threshold(loose_threshold, threshold)
    poor_join = under_threshold(POOR_JOIN, threshold)
    if mode != Mode.FACES and ex.clothing is None:
        raise ValueError(f"mode '{mode}' needs clothing: extract with an embedder")
    table = TrackTable.of(ex, min_quality=min_quality, budget=track_encodings, min_confidence=min_confidence,
                          with_clothing=mode != Mode.FACES)
    pairs = apart_rows(table, ex, apart_cut) if apart_cut > 0 else []
    table = with_cannot_links(table, pairs)
    apart = frozenset(p for i, j in pairs for p in ((ex.tracks[i].id, ex.tracks[j].id), (ex.tracks[j].id, ex.tracks[i].id)))
    nt = len(table)
    t_reason: list[Reason | None] = [Reason.UNCONFIRMED if u else None for u in table.unconfirmed]
    t_assigned = [Assigned.FACE] * nt
    labels = np.full(nt, -1)
    if mode == Mode.FUSED:
        live = np.flatnonzero(~table.unconfirmed)
        fc = FusedClusterer(cloth_weight=cloth_weight, epsilon=fused_epsilon, min_faces=min_faces)
        t = table[live]
        fc.fit(t)
        labels[live] = fc.labels_
        for k, r in zip(live, fc.reasons_):
            t_reason[k] = r
        t_assigned = [Assigned.FUSED] * nt
    else:
        # stage 1: confirmed tracks with a good face, by their encodings
        core = np.flatnonzero(table.good & ~table.unconfirmed)
        if len(core):
            t = table[core]
            labels[core] = FaceClusterer(threshold, min_faces=1).fit_predict(t)
            if join_threshold > threshold:
                labels[core] = join_unambiguous(labels[core], t.encoding, list(t.spans), join_threshold, join_ratio,
                                                t.size, veto=poorly_seen(t.quality, poor_join),
                                                part_weight=faces_at(PART_FACES, ex.rate))
        # low-quality tracks stand alone, for clothing to attach
        low = np.flatnonzero(~table.good & ~table.unconfirmed)
        labels[low] = labels.max(initial=-1) + 1 + np.arange(len(low))
        live = np.flatnonzero(labels >= 0)
        if mode == Mode.TWO_STAGE and len(live):
            t = table[live]
            ref = ClothingRefiner(loose_threshold=loose_threshold, cloth_threshold=cloth_threshold,
                                  ratio=cloth_ratio, window=cloth_window, layout_threshold=layout_threshold,
                                  rival_score=RIVAL_SCORE)
            merged = ref.fit(labels[live], t).labels_
            # a merged cluster keeps its core's id: whoever changed id joined by clothing
            for k, a, b in zip(live, labels[live], merged):
                t_assigned[k] = Assigned.CLOTHING if a != b else Assigned.FACE
            labels[live] = merged
        if join_threshold > threshold and part_ratio > 0 and len(live):
            t = table[live]
            labels[live] = join_parts(labels[live], t.encoding, list(t.spans), join_threshold, part_ratio,
                                      PARTS_NEAR, weights=t.size, usable=t.good,
                                      min_weight=faces_at(PARTS_JOIN_FACES, ex.rate))
        if join_threshold > threshold and len(live):
            # persons whose nearest tracks are clearly nearest, last: before
            # clothing, such joins changed which clothes were clearly nearest
            t = table[live]
            labels[live] = join_nearest_tracks(labels[live], t.encoding, list(t.spans), join_threshold,
                                               min(join_ratio, NEAREST_JOIN_RATIO), usable=t.good,
                                               weights=t.size, max_smaller=faces_at(NEAREST_JOIN_FACES, ex.rate),
                                               veto=poorly_seen(t.quality, poor_join))
        for c in np.unique(labels[labels >= 0]):
            m = np.flatnonzero(labels == c)
            if not table.good[m].any():
                labels[m] = -1
                for k in m:
                    t_reason[k] = Reason.LOW_QUALITY
    labels = _unconfirmed_persons(labels, table.top, t_reason)
    late = np.flatnonzero(table.unconfirmed & table.good & ~table.on_body)
    if len(late):
        labels = attach_by_face(labels, late, table.encoding, list(table.spans), threshold, join_ratio, table.size)
        for k in late[labels[late] >= 0]:
            t_reason[k] = None
    labels = _size_rule(labels, min_faces, table.size, np.array([min(s) for s in table.spans] or [0]))
    sightings: list[Sighting] = []
    face_labels: list[int] = []
    for k, t in enumerate(ex.tracks):
        lab = int(labels[k])
        reason = (t_reason[k] or Reason.FEW_FACES) if lab < 0 else None
        assigned = Assigned.UNKNOWN if lab < 0 else t_assigned[k]
        items = t.items
        if lab < 0:  # in unknown, without the weak detections that started it
            items = items[next((j for j, i in enumerate(items) if ex.faces[i].score >= 0.0), len(items)):]
        for i in items:
            sightings.append(Sighting(ex.faces[i], ex.clothing[i] if ex.clothing else None, assigned, reason, t.id))
            face_labels.append(lab)
    return (*group(sightings, face_labels), apart)


def _unconfirmed_persons(labels: np.ndarray, best: np.ndarray, reasons: list) -> np.ndarray:
    """Labels with every person whose tracks' best detector scores (`best`)
    all lie under PERSON_SCORE made unknown (reason: unconfirmed)."""
    live = np.flatnonzero(labels >= 0)
    top = np.full(labels.max(initial=-1) + 1, -np.inf)
    np.maximum.at(top, labels[live], best[live])
    drop = live[top[labels[live]] < PERSON_SCORE]
    labels = labels.copy()
    labels[drop] = -1
    for k in drop:
        reasons[k] = Reason.UNCONFIRMED
    return labels


def _size_rule(labels: np.ndarray, min_faces: int, size: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Relabel: groups of at least min_faces faces (item i stands for size[i]
    faces) become 0, 1, … (most faces first, then earliest); the rest -1."""
    labels = np.asarray(labels)
    groups = [np.flatnonzero(labels == k) for k in np.unique(labels[labels >= 0])]
    return number_clusters(groups, np.asarray(size), np.asarray(first), min_faces, len(labels))
