"""cluster-video: find every person in a video and group their appearances.

The public API: one function per stage and `run` for the whole job.

    from clusterer import run
    result, folder = run("input.mp4")
"""
from .app import run
from .clothing.embedders import CNNEmbedder, torso_box
from .errors import (ClusterVideoError, ModelNotFound, NoFacesFound, NoFramesDecoded, OutputError,
                     SettingsError, VideoOpenFailure)
from .extraction import extract
from .faces.analyzer import FaceAnalyzer
from .grouping.persons import cluster
from .grouping.fused import FusedClusterer
from .grouping.linkage import FaceClusterer
from .grouping.refine import ClothingRefiner
from .grouping.table import TrackTable
from .output.export import export
from .types import Clothing, Extraction, Face, Person, Result, SampledFrame, Sighting, VideoInfo
from .version import __version__
from .video.sampling import iter_frames, probe

__all__ = [
    "run", "probe", "iter_frames", "extract", "cluster", "export", "torso_box",
    "FaceAnalyzer", "CNNEmbedder", "FaceClusterer", "ClothingRefiner", "FusedClusterer", "TrackTable",
    "Face", "Clothing", "Sighting", "Person", "Result", "Extraction", "SampledFrame", "VideoInfo",
    "ClusterVideoError", "VideoOpenFailure", "NoFramesDecoded", "NoFacesFound", "OutputError",
    "ModelNotFound", "SettingsError", "__version__",
]
