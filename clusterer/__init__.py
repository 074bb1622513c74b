"""cluster-video: find every person in a video and group their appearances.

The public API: one function per stage and `run` for the whole job.

    from clusterer import run
    result, folder = run("input.mp4")
"""
__version__ = "0.3.0"

from .clothing.embedders import CNNEmbedder, Clothing, torso_box  # noqa: E402
from .grouping.linkage import FaceClusterer  # noqa: E402
from .errors import (ClusterVideoError, ModelNotFound, NoFacesFound, NoFramesDecoded,  # noqa: E402
                     OutputError, VideoOpenFailure)
from .output.export import export  # noqa: E402
from .faces.analyzer import Face, FaceAnalyzer  # noqa: E402
from .grouping.fused import FusedClusterer  # noqa: E402
from .app import Extraction, cluster, extract, run  # noqa: E402
from .grouping.refine import ClothingRefiner  # noqa: E402
from .types import Person, Result, Sighting  # noqa: E402
from .video.sampling import SampledFrame, VideoInfo, iter_frames, probe  # noqa: E402

__all__ = [
    "run", "probe", "iter_frames", "extract", "cluster", "export", "torso_box",
    "FaceAnalyzer", "CNNEmbedder", "FaceClusterer", "ClothingRefiner", "FusedClusterer",
    "Face", "Clothing", "Sighting", "Person", "Result", "Extraction", "SampledFrame", "VideoInfo",
    "ClusterVideoError", "VideoOpenFailure", "NoFramesDecoded", "NoFacesFound", "OutputError",
    "ModelNotFound",
]
