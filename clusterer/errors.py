"""Named exceptions for bad input. The CLI prints their message as one line."""
from __future__ import annotations


class ClusterVideoError(Exception):
    """Base class: anything the user can fix (bad input, settings, output folder)."""


class VideoOpenFailure(ClusterVideoError):
    """The input is missing, not a file, or not a video OpenCV can decode."""


class NoFramesDecoded(ClusterVideoError):
    """The video opened but no frame could be decoded (empty or truncated)."""


class NoFacesFound(ClusterVideoError):
    """The sampled frames held no face."""


class OutputError(ClusterVideoError):
    """The output folder exists and may not be written, or cannot be written."""


class SettingsError(ClusterVideoError, ValueError):
    """A setting's value is out of its range, not one of its choices, or
    contradicts another setting (a ValueError too, for callers of the library)."""


class ModelNotFound(ClusterVideoError):
    """A model file that should come with an installed package is missing."""
