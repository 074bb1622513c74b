"""The command-line options every command that runs the pipeline offers, derived
from the settings table (settings.SETTINGS): one place for their types, metavars
and groups, shared by `cluster-video` and `cluster-video library`."""
from __future__ import annotations

import argparse

from .settings import SETTINGS

PROG = "cluster-video"

TYPES = {"end": float, "cloth_model": str}
"""Types of the settings whose default (None) does not tell."""

METAVARS = {"threshold": "DIST", "join_threshold": "DIST", "loose_threshold": "DIST", "cloth_threshold": "DIST",
            "fused_epsilon": "DIST", "fps": "N", "start": "SEC", "end": "SEC", "cloth_window": "SEC",
            "min_face": "PX", "cloth_model": "PATH", "cloth_colour": "WEIGHT",
            "out": "DIR"}


def add_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, name: str) -> None:
    """An option derived from settings.SETTINGS: type, choices, help and default."""
    s = SETTINGS[name]
    shown = {"end": "the end", "cloth_model": "ImageNet MobileNetV2"}.get(name, s.default)
    kw = dict(default=s.default, help=f"{s.help} (default: {shown})")
    if s.choices:
        kw["choices"] = s.choices
    else:
        kw["type"] = TYPES.get(name, type(s.default))
        kw["metavar"] = METAVARS.get(name, name.split("_")[-1].upper())
    parser.add_argument("--" + name.replace("_", "-"), dest=name, **kw)


GROUPS = {
    "grouping": ("mode", "threshold", "min_faces", "join_threshold", "join_ratio", "loose_threshold", "cloth_threshold", "cloth_ratio",
                 "cloth_window", "cloth_weight", "fused_epsilon", "min_quality", "min_confidence"),
    "sampling and detection": ("fps", "start", "end", "detector", "upsample", "min_face", "cut_threshold",
                               "track_iou", "track_gap", "track_score", "track_encodings", "detect_every", "workers",
                               "crop_margin"),
    "models": ("encoder", "cloth_model", "cloth_colour", "device"),
}
"""Every setting the CLI offers, in help order (each appears once)."""
