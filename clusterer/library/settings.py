"""The library's tunable defaults, defined once (the same Setting table as
clusterer/defaults.py, kept here so that the per-video CLI stays as it is)."""
from __future__ import annotations

from typing import Any

from ..settings import Setting


SETTINGS: dict[str, Setting] = {
    "link_threshold": Setting(
        0.42,
        "face distance between two videos' persons (their track encodings' mean) below which "
        "they are one library person. Lower it if different people share a library person; "
        "raise it if one person is split over several.",
        min=0.0, max=2.0),
    "link_pair_threshold": Setting(
        0.36,
        "the linkage's bound for two library persons each seen in one video only (nothing else "
        "links one to the other), stricter than --link-threshold, which a person already seen in two "
        "or more videos links under; the two may still join as each other's clear nearest "
        "(--link-join-threshold). Raise it (up to --link-threshold) if one person seen in two "
        "videos stays split; lower it if two videos' different people are linked.",
        min=0.0, max=2.0),
    "link_join_threshold": Setting(
        0.52,
        "after --link-threshold, two library persons closer than this join when each is the "
        "other's nearest and clearly so (--link-join-ratio), and a brief one joins its clear "
        "nearest under it (--link-attach-ratio). Lower it if different people join.",
        min=0.0, max=2.0),
    "link_join_ratio": Setting(
        0.8,
        "how clearly nearest a join must be: at most this share of the next nearest distance. "
        "Lower it if different people join.",
        min=0.0, max=1.0),
    "link_attach_ratio": Setting(
        0.85,
        "a smaller library person joins its nearest larger one (under --link-join-threshold) when "
        "that one is nearer than this share of the next nearest. Lower it if a person seen briefly "
        "is put with someone else; raise it if they stay apart.",
        min=0.0, max=1.0),
    "link_cast_ratio": Setting(
        0.92,
        "as --link-attach-ratio, for a library person already seen in two or more videos (one of the "
        "cast): a brief person (under --link-min-faces, in one video or several) joins it when it is nearer "
        "than this share of the next nearest. Set "
        "it to --link-attach-ratio to treat every library person alike.",
        min=0.0, max=1.0),
    "link_rival_ratio": Setting(
        0.95,
        "a video's person still alone links to another video's only when nearer than this share of "
        "its distance to the nearest other person of its own video (whom that video's run judged "
        "someone else). Lower it if different people are linked; raise it if one person stays "
        "split across videos.",
        min=0.0, max=10.0),
    "link_min_faces": Setting(
        10,
        "a video's person with fewer faces (as many seconds hold at 2 frames/s, for a video run "
        "faster) takes no part in the centroid linkage; it joins a library "
        "person only as its clear nearest (--link-attach-ratio, or --link-cast-ratio towards one of "
        "the cast). Raise it if brief persons are put with someone else.",
        min=0, max=10_000),
    "link_layout_threshold": Setting(
        0.04,
        "after the face link, a library person of under 3 × --link-min-faces faces joins the one "
        "whose clothing layouts (colours on a 3 × 3 grid of the torso) in other videos are nearest, "
        "when under this, at 0.3 × the next nearest or less, and their faces within 0.6: the same "
        "clothes in the same framing in two videos (rushes of one shoot). 0 turns it off; lower it "
        "if different people in like clothes are linked.",
        min=0.0, max=2.0),
    "crops": Setting(
        4,
        "face crops of each person of each video copied into LIB/people/ (the best by quality).",
        min=1, max=50),
    "chunk_seconds": Setting(
        None,
        "extract a video longer than this many seconds in chunks of about this length, one task "
        "each (tracks joined at the borders), so that one long video spreads over many workers. "
        "Lower it for more parallel tasks; each chunk loads the models once.",
        min=1.0),
    "executor": Setting(
        "serial",
        "where videos are processed: 'serial' (this process, one after another) or 'ray' "
        "(one task a video over Ray; --ray-address for an existing cluster).",
        choices=("serial", "ray")),
}


def default(name: str) -> Any:
    return SETTINGS[name].default


def check(name: str, value: Any) -> Any:
    return SETTINGS[name].check(name, value)
