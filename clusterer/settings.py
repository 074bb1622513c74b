"""Every tunable default, defined once, with its range and help text.

The CLI derives its options from this table and the library's function
signatures read their defaults from it, so the two never drift apart.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from .errors import SettingsError


class Stage(str, Enum):
    """Which part of the job a setting changes (a str: it compares equal to its value)."""

    EXTRACTION = "extraction"
    """What extraction produces: a change invalidates the feature cache."""
    CLUSTERING = "clustering"
    """How tracks are grouped: a change re-uses the cache."""
    OUTPUT = "output"
    """What is written, and where."""
    RUN = "run"
    """How the work runs (threads): results do not depend on it."""
    EVALUATION = "evaluation"
    """Scoring against ground truth (cluster-video evaluate)."""


@dataclass(frozen=True)
class Setting:
    """One tunable value: its default, its valid range or choices, and help
    text that says which way to turn it."""

    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    stages: tuple[Stage, ...] = ()
    """The stages whose result the setting changes (track_encodings: two)."""

    def check(self, name: str, value: Any) -> Any:
        """Return `value` unchanged, or raise SettingsError naming the valid range."""
        if self.choices is not None and value not in self.choices:
            raise SettingsError(f"{name} must be one of {', '.join(self.choices)}, got {value!r}")
        # NaN passes every comparison and an infinity every one-sided range:
        # every number must be finite, whether or not a range is given
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(f"{name} must be a finite number, got {value}")
        if self.min is not None and value is not None and value < self.min:
            raise SettingsError(f"{name} must be >= {self.min}, got {value}")
        if self.max is not None and value is not None and value > self.max:
            raise SettingsError(f"{name} must be <= {self.max}, got {value}")
        return value


SETTINGS: dict[str, Setting] = {
    "threshold": Setting(
        0.36,
        "face distance below which two faces are the same person (face_recognition's "
        "scale: 0.6 is its usual tolerance). Lower it if different people share a "
        "folder (--join-threshold and --loose-threshold are lowered with it); raise it if "
        "one person is split over several folders.",
        min=0.0, max=2.0, stages=(Stage.CLUSTERING,)),
    "fps": Setting(
        2.0,
        "frames sampled per second of video. Raise it to catch short appearances; "
        "lower it to run faster. The other defaults were chosen at 2; sampled faster, "
        "grouping's joins count a person's seconds, not faces.",
        min=0.01, max=240.0, stages=(Stage.EXTRACTION,)),
    "start": Setting(0.0, "where in the video to start: seconds (90, 90s) or a time (1:30.5, 00:01:30).",
                     min=0.0, stages=(Stage.EXTRACTION,)),
    "end": Setting(None, "where in the video to stop: seconds or a time, as for --start.",
                   min=0.0, stages=(Stage.EXTRACTION,)),
    "detector": Setting(
        "mtcnn",
        "face detector: 'mtcnn' (a CNN cascade run by torch: side views, tilted and small "
        "faces; on the GPU with --device), dlib's 'hog' (frontal faces only) or dlib's "
        "'cnn' (much slower without a GPU).",
        choices=("mtcnn", "hog", "cnn"), stages=(Stage.EXTRACTION,)),
    "upsample": Setting(
        1,
        "hog and cnn detectors: times the frame is upsampled before detection. Raise it to "
        "find smaller faces (each step doubles the size and about quadruples the time).",
        min=0, max=4, stages=(Stage.EXTRACTION,)),
    "min_face": Setting(
        None,
        "smallest face, in pixels of box height in the original frame: smaller boxes are "
        "ignored, and mtcnn searches no smaller (so it sets mtcnn's cost: halving it "
        "about quadruples the search). Default: the frame's shorter side / 36, at least 20 "
        "(20 up to 720p, 30 at 1080p, 60 at 4K), so that a large frame costs what a 720p one "
        "does. Lower it to find smaller faces in a large frame; raise it to run faster or "
        "drop tiny faces.",
        min=0, max=4096, stages=(Stage.EXTRACTION,)),
    "min_faces": Setting(
        2,
        "persons with fewer faces than this go to unknown. Raise it to keep only "
        "people seen often.",
        min=1, max=1000, stages=(Stage.CLUSTERING,)),
    "join_threshold": Setting(
        0.5,
        "two-stage and faces modes: after --threshold, two persons whose mean faces are under "
        "this distance join when each is the other's nearest and clearly nearer than any third "
        "(--join-ratio): the small, dark or turned faces of one person; and, last, a person "
        "whose nearest track is another's, under this distance and clearly nearer than any "
        "third person's, when one of the two is brief: one person seen in two settings. "
        "Lower it if different people are "
        "joined; --join-threshold at or under --threshold turns both off. Given for --threshold's "
        "default: a lower --threshold scales it down in proportion.",
        min=0.0, max=2.0, stages=(Stage.CLUSTERING,)),
    "join_ratio": Setting(
        0.85,
        "two-stage and faces modes: a join needs the nearest person closer than this share of "
        "the next nearest, for one of the two (by their nearest tracks, this or 0.75, whichever "
        "is lower; and an unconfirmed track its nearest person so, to join it). Lower it to "
        "demand less ambiguous joins.",
        min=0.0, max=1.0, stages=(Stage.CLUSTERING,)),
    "loose_threshold": Setting(
        0.6,
        "two-stage mode: clothing may join faces only when their face distance is under this "
        "looser bound. Lower it if clothing joins different people; raise it to join more. "
        "Given for --threshold's default: a lower --threshold scales it down in proportion.",
        min=0.0, max=2.0, stages=(Stage.CLUSTERING,)),
    "cloth_threshold": Setting(
        0.28,
        "two-stage mode: clothing distance (cosine, 0 = identical) under which two sightings "
        "wear the same clothes. Lower it if people in similar clothes are joined.",
        min=0.0, max=2.0, stages=(Stage.CLUSTERING,)),
    "cloth_ratio": Setting(
        0.75,
        "two-stage mode: a clothing match counts only if it is closer than this share of the "
        "second-best match (among groups that could be a person: barely detected 'faces' such as "
        "a pattern on a jacket are no rival). Lower it to demand less ambiguous matches; raise it "
        "(0.8) to join more where people's clothes all differ.",
        min=0.0, max=1.0, stages=(Stage.CLUSTERING,)),
    "cloth_window": Setting(
        60.0,
        "two-stage mode: clothing is compared only with sightings at most this many seconds "
        "apart (people change clothes between scenes). Raise it for long scenes.",
        min=0.0, stages=(Stage.CLUSTERING,)),
    "layout_threshold": Setting(
        0.04,
        "two-stage mode: after clothing, persons whose clothing has the same layout (colours in "
        "the same places: the same clothes in the same framing, such as one camera set-up seen "
        "again) under this distance join, when clearly nearer than any other's and their faces "
        "are under --loose-threshold. 0 turns it off; lower it if people dressed alike in one "
        "framing are joined.",
        min=0.0, max=2.0, stages=(Stage.CLUSTERING,)),
    "part_ratio": Setting(
        0.9,
        "two-stage and faces modes: after clothing, two persons of at least 10 faces each under "
        "--join-threshold join when every other person nearer to either than their distance / "
        "this ratio lies within 0.45 of both (one person seen at length in several parts, each "
        "near the others). 0 turns it off; lower it if different people are joined.",
        min=0.0, max=1.0, stages=(Stage.CLUSTERING,)),
    "apart_cut": Setting(
        0.7,
        "all modes: before grouping, two tracks under 0.45 by face are kept apart (as two faces "
        "on screen together) when a metric fitted to the video's own tracks seen together puts "
        "them at least this share of its seen-together pairs' median distance apart (look-alikes "
        "such as siblings). 0 turns it off; raise it if one person is split in two.",
        min=0.0, stages=(Stage.CLUSTERING,)),
    "mode": Setting(
        "two-stage",
        "how faces become persons: 'two-stage' (faces at --threshold, then clothing joins "
        "what faces left apart), 'fused' (face and clothing in one distance, HDBSCAN), or "
        "'faces' (faces only, no clothing).",
        choices=("two-stage", "fused", "faces"), stages=(Stage.CLUSTERING,)),
    "cloth_weight": Setting(
        0.3,
        "fused mode: weight of clothing in the fused distance (0 = faces only). Raise it when "
        "faces are poor and clothes are distinctive.",
        min=0.0, max=1.0, stages=(Stage.CLUSTERING,)),
    "fused_epsilon": Setting(
        0.4,
        "fused mode: HDBSCAN merges clusters closer than this fused distance. Lower it if "
        "different people share a folder.",
        min=0.0, max=2.0, stages=(Stage.CLUSTERING,)),
    "encoder": Setting(
        "torch",
        "face encoder: dlib's face ResNet run by 'torch' (batched, ~12x faster on a CPU, "
        "equal to dlib's output to within float rounding) or by 'dlib' itself (byte for "
        "byte face_recognition.face_encodings).",
        choices=("torch", "dlib"), stages=(Stage.EXTRACTION,)),
    "device": Setting(
        "auto",
        "where the torch models (face encoder, clothing CNN) run: 'auto' (a CUDA GPU when "
        "torch sees one), 'cpu' or 'cuda'.",
        choices=("auto", "cpu", "cuda"), stages=(Stage.EXTRACTION,)),
    "cloth_model": Setting(
        None,
        "a fashion-trained clothing checkpoint: a torchvision architecture's state dict, saved "
        "as {'arch': NAME, 'state_dict': ...} (see README). Default: ImageNet MobileNetV2.", stages=(Stage.EXTRACTION,)),
    "cloth_colour": Setting(
        0.2,
        "share of the clothing distance taken by a colour histogram of the torso, beside "
        "the CNN (0 = the CNN alone). Raise it when outfits differ mostly by colour.",
        min=0.0, max=1.0, stages=(Stage.EXTRACTION,)),
    "cut_threshold": Setting(
        0.4,
        "scene cut detection: colour-histogram (Bhattacharyya) distance between consecutive "
        "sampled frames above which a new scene starts. Lower it to find subtler cuts (two "
        "shots of one set); raise it if motion within a shot starts new scenes.",
        min=0.0, max=1.0, stages=(Stage.EXTRACTION,)),
    "track_iou": Setting(
        0.3,
        "tracking: box overlap (IoU) between consecutive samples for two detections to be "
        "one track. Lower it for fast motion or a low --fps.",
        min=0.0, max=1.0, stages=(Stage.EXTRACTION,)),
    "track_gap": Setting(
        2,
        "tracking: samples a face may be missed before its track ends.",
        min=0, max=100, stages=(Stage.EXTRACTION,)),
    "track_score": Setting(
        -0.3,
        "tracking: a detection scoring under 0 (the detector's own cut-off; for mtcnn a face "
        "probability of 0.9, and -0.3 is about 0.5) is kept only where it continues a track "
        "(or, from --track-start up, starts a weak one), and only down to this score. 0 keeps confident detections only; lower finds more of "
        "a tracked face in blur and shade.",
        min=-3.0, max=0.0, stages=(Stage.EXTRACTION,)),
    "track_start": Setting(
        -0.2,
        "tracking: a detection scoring under 0 but at least this may also start a track of "
        "its own (for mtcnn -0.2 is a face probability of about 0.7). Such a track never "
        "makes a person: it joins one only where its face matches that person's at "
        "--threshold, else its weak faces are dropped. 0 turns it off: fewer faces found, "
        "a little less split.",
        min=-3.0, max=0.0, stages=(Stage.EXTRACTION,)),
    "track_encodings": Setting(
        5,
        "tracking: a track encodes only this many of its best faces (plus any whose link is "
        "in doubt). Raise it for a steadier track encoding at the cost of time.",
        min=1, max=1000, stages=(Stage.EXTRACTION, Stage.CLUSTERING)),
    "detect_every": Setting(
        4,
        "search the whole frame for faces on each scene's first sample and then every N "
        "samples; in between, only around the faces being tracked. 1 searches every sample: "
        "slower, but finds a face entering mid-scene at once.",
        min=1, max=1000, stages=(Stage.EXTRACTION,)),
    "search_change": Setting(
        6.0,
        "search the whole frame also when a sample differs from the last one searched whole "
        "by this mean grey-level difference (0-255, on a small copy), however soon: a face "
        "that walks in, or comes after a cut the cut detector misses, is found at once. "
        "Lower finds more, slower; 255 leaves it to --detect-every. A still shot never triggers it.",
        min=0.0, max=255.0, stages=(Stage.EXTRACTION,)),
    "workers": Setting(
        min(2, os.cpu_count() or 1),
        "threads that search frames for faces ahead of tracking (dlib releases Python's lock "
        "there). Results do not depend on it; raise it on machines with more cores.",
        min=1, max=64, stages=(Stage.RUN,)),
    "min_quality": Setting(
        0.35,
        "faces under this quality (0..1: size, sharpness, detector confidence, frontal pose) "
        "are kept and exported but do not shape a person's encoding.",
        min=0.0, max=1.0, stages=(Stage.CLUSTERING,)),
    "min_confidence": Setting(
        0.3,
        "a detection seen in one sample only, with a detector score under this, is "
        "'unconfirmed' and goes to unknown. Raise it if non-faces end up in persons.",
        min=-10.0, max=10.0, stages=(Stage.CLUSTERING,)),
    "merge_gap": Setting(
        2.0,
        "appearances.csv and the page's timeline: sightings of a person less than this many "
        "seconds apart are one continuous appearance.",
        min=0.0, stages=(Stage.OUTPUT,)),
    "crop_margin": Setting(
        0.4,
        "margin added around each exported face crop, as a share of the face size.",
        min=0.0, max=3.0, stages=(Stage.EXTRACTION,)),
    "out": Setting("output", "folder for results; each video gets OUT/<video name>/.", stages=(Stage.OUTPUT,)),
    "iou": Setting(0.3, "evaluate: box overlap (IoU) for a predicted face to match a ground-truth one.",
                   min=0.0, max=1.0, stages=(Stage.EVALUATION,)),
}
"""The table itself: name → Setting. Names match the library's keyword arguments."""


MIN_FACE_FLOOR = 20
"""--min-face's default is never under this many pixels: a smaller face's encoding
is taken from a chip upscaled over 7×, and MTCNN's 12-pixel window is near."""

MIN_FACE_LINES = 36
"""--min-face's default is the frame's shorter side over this (720 / 36 = 20): a
face is searched down to the same share of the frame at every resolution, so
the whole-frame search of a 1080p or 4K frame costs what a 720p one does
(benchmarks/RESULTS.md, "Large frames: the smallest face scaled to the frame")."""


def min_face_px(min_face: int | None, width: int, height: int) -> int:
    """The smallest face searched in a width × height frame: `min_face` when given,
    else the default for that size (MIN_FACE_LINES, MIN_FACE_FLOOR)."""
    if min_face is not None:
        return int(min_face)
    return max(MIN_FACE_FLOOR, int(round(min(width, height) / MIN_FACE_LINES)))


def default(name: str) -> Any:
    """The default value of setting `name`."""
    return SETTINGS[name].default


def check(name: str, value: Any) -> Any:
    """Validate `value` for setting `name` (see Setting.check)."""
    return SETTINGS[name].check(name, value)


def _stage_checked(obj) -> None:
    """Check every field of a stage's settings against the table (SettingsError)."""
    for f in fields(obj):
        check(f.name, getattr(obj, f.name))


@dataclass(frozen=True)
class ExtractionSettings:
    """The settings that change what extraction produces, checked against the
    table; they key the feature cache (cache.cache_key), in this field order:
    reordering them makes every existing cache read as stale."""

    fps: float = default("fps")
    start: float = default("start")
    end: float | None = default("end")
    detector: str = default("detector")
    upsample: int = default("upsample")
    min_face: int | None = default("min_face")
    encoder: str = default("encoder")
    cloth_model: str | None = default("cloth_model")
    cloth_colour: float = default("cloth_colour")
    device: str = default("device")
    crop_margin: float = default("crop_margin")
    cut_threshold: float = default("cut_threshold")
    track_iou: float = default("track_iou")
    track_gap: int = default("track_gap")
    track_score: float = default("track_score")
    track_encodings: int = default("track_encodings")
    detect_every: int = default("detect_every")
    search_change: float = default("search_change")
    track_start: float = default("track_start")

    def __post_init__(self):
        _stage_checked(self)
        if self.end is not None and self.end <= self.start:
            raise SettingsError(f"end ({self.end}) must be after start ({self.start})")

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ClusteringSettings:
    """The settings of the grouping stage, checked against the table: changing
    only these re-uses the feature cache."""

    mode: str = default("mode")
    threshold: float = default("threshold")
    min_faces: int = default("min_faces")
    join_threshold: float = default("join_threshold")
    join_ratio: float = default("join_ratio")
    loose_threshold: float = default("loose_threshold")
    cloth_threshold: float = default("cloth_threshold")
    cloth_ratio: float = default("cloth_ratio")
    cloth_window: float = default("cloth_window")
    layout_threshold: float = default("layout_threshold")
    part_ratio: float = default("part_ratio")
    apart_cut: float = default("apart_cut")
    cloth_weight: float = default("cloth_weight")
    fused_epsilon: float = default("fused_epsilon")
    min_quality: float = default("min_quality")
    min_confidence: float = default("min_confidence")
    track_encodings: int = default("track_encodings")

    def __post_init__(self):
        _stage_checked(self)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def of_stage(stage: Stage) -> tuple[str, ...]:
    """The names of the settings of `stage`, in table order."""
    return tuple(name for name, s in SETTINGS.items() if stage in s.stages)


EXTRACTION = tuple(f.name for f in fields(ExtractionSettings))
"""Settings that change what extraction produces (and so key the feature cache)."""

CLUSTERING = tuple(f.name for f in fields(ClusteringSettings))
"""Settings of the clustering stage: changing only these re-uses the cache."""

OTHER = ("merge_gap", "workers")
"""Settings that change neither extraction's result nor clustering: the
export's, and how many threads search frames (results do not depend on it)."""


def stage_settings(settings: dict[str, Any]) -> tuple[ExtractionSettings, ClusteringSettings]:
    """The extraction and clustering settings of keyword `settings` (any name of
    EXTRACTION, CLUSTERING or OTHER), defaults filled in, every value checked."""
    unknown = set(settings) - set(EXTRACTION) - set(CLUSTERING) - set(OTHER)
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    extraction = ExtractionSettings(**{k: settings[k] for k in EXTRACTION if k in settings})
    clustering = ClusteringSettings(**{k: settings[k] for k in CLUSTERING if k in settings})
    for name in OTHER:
        check(name, settings.get(name, default(name)))
    return extraction, clustering


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """stage_settings as two dicts (name → value, in the dataclasses' field order)."""
    extraction, clustering = stage_settings(settings)
    return extraction.as_dict(), clustering.as_dict()
