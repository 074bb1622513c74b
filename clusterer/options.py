"""The command-line options every command that runs the pipeline offers, derived
from the settings table (settings.SETTINGS): one place for their types, metavars
and groups, shared by `cluster-video` and `cluster-video library`."""
from __future__ import annotations

import argparse
import difflib
import re
import sys

from .settings import SETTINGS

PROG = "cluster-video"

_TIMECODE = re.compile(r"(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?|\.\d+)s?")


def timecode(text: str) -> float:
    """Seconds from a time as users write it: `90`, `90s`, `1:30.5`, `00:01:30`
    (the settings table keeps seconds); minutes and seconds past the hour/minute
    are below 60 when a larger unit is given. A plain number is float()'s, so that
    the settings table's check refuses a negative or non-finite one, as for any setting."""
    try:
        return float(text)
    except ValueError:
        pass
    m = _TIMECODE.fullmatch(text.strip())
    if m is None or (text.strip().endswith("s") and ":" in text):
        raise argparse.ArgumentTypeError(f"{text!r}: not a time (give seconds, 90s, 1:30.5 or 00:01:30)")
    h, mi, s = m.groups()
    if (mi is not None and float(s) >= 60) or (h is not None and int(mi) >= 60):
        raise argparse.ArgumentTypeError(f"{text!r}: minutes and seconds go up to 59 in a time like 00:01:30")
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s)


class Parser(argparse.ArgumentParser):
    """argparse whose errors take one line (not the usage, pages long here), and
    that names the option meant when one is mistyped:
    `cluster-video: error: unrecognized option --treshold (did you mean --threshold?)`."""

    def parse_known_args(self, args=None, namespace=None):
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message):
        unknown = [a for a in _option_words(getattr(self, "_argv", ())) if not _known(self, a)]
        if unknown:
            word, options = unknown[0], sorted(_options(self))
            close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            self.exit(2, f"{PROG}: error: unrecognized option {word}{hint}\n")
        self.exit(2, f"{PROG}: error: {message} (see {self.prog} --help)\n")  # one line, not the usage


def _option_words(argv):
    """The words of argv written as options (up to a bare `--`), without `=value`."""
    for a in argv:
        if a == "--":
            return
        if a.startswith("-") and len(a) > 1 and not _NUMBER.fullmatch(a):
            yield a.split("=", 1)[0]


_NUMBER = re.compile(r"-\d*\.?\d+(e-?\d+)?")


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of parser and of its sub-commands."""
    found = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def _known(parser: argparse.ArgumentParser, word: str) -> bool:
    options = _options(parser)
    if word in options or (not word.startswith("--") and word[:2] in options):  # -ofile
        return True
    return word.startswith("--") and any(o.startswith(word) for o in options)  # an abbreviation


TYPES = {"start": timecode, "end": timecode, "cloth_model": str, "min_face": int}
"""Types of the settings whose default (None) does not tell."""

METAVARS = {"threshold": "DIST", "join_threshold": "DIST", "loose_threshold": "DIST", "cloth_threshold": "DIST",
            "layout_threshold": "DIST", "fused_epsilon": "DIST", "fps": "N", "start": "TIME", "end": "TIME",
            "cloth_window": "SEC",
            "min_face": "PX", "cloth_model": "PATH", "cloth_colour": "WEIGHT",
            "out": "DIR"}


def add_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, name: str) -> None:
    """An option derived from settings.SETTINGS: type, choices, help and default."""
    s = SETTINGS[name]
    shown = {"end": "the end", "cloth_model": "ImageNet MobileNetV2",
             "min_face": "by the frame's size"}.get(name, s.default)
    kw = dict(default=s.default, help=f"{s.help} (default: {shown})")
    if s.choices:
        kw["choices"] = s.choices
    else:
        kw["type"] = TYPES.get(name, type(s.default))
        kw["metavar"] = METAVARS.get(name, name.split("_")[-1].upper())
    parser.add_argument("--" + name.replace("_", "-"), dest=name, **kw)


GROUPS = {
    "grouping": ("mode", "threshold", "min_faces", "join_threshold", "join_ratio", "loose_threshold", "cloth_threshold", "cloth_ratio",
                 "cloth_window", "layout_threshold", "part_ratio", "apart_cut", "cloth_weight", "fused_epsilon", "min_quality", "min_confidence"),
    "sampling and detection": ("fps", "start", "end", "detector", "upsample", "min_face", "cut_threshold",
                               "track_iou", "track_gap", "track_score", "track_start", "track_encodings", "detect_every", "search_change",
                               "workers",
                               "crop_margin"),
    "models": ("encoder", "cloth_model", "cloth_colour", "device"),
}
"""Every setting the CLI offers, in help order (each appears once)."""
