"""Locate and load dlib's face models from the `face_recognition_models` package.

The package's own `__init__` imports `pkg_resources`, which setuptools >= 81
no longer ships, so it is never imported: its folder is found with
`importlib.util.find_spec`, which does not execute the package.
Models load on first use, never at import time: once per process (SHARED)
or once per thread (the others).
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

from .errors import ModelNotFound

MODEL_FILES = {
    "landmarks_5": "shape_predictor_5_face_landmarks.dat",
    "cnn_detector": "mmod_human_face_detector.dat",
    "encoder": "dlib_face_recognition_resnet_model_v1.dat",
}
"""Model name → file name inside face_recognition_models/models/."""


def package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"package '{name}' is not installed (pip install {name.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations)))


def model_path(key: str) -> Path:
    """Path of one dlib model file (see MODEL_FILES)."""
    path = package_dir("face_recognition_models") / "models" / MODEL_FILES[key]
    if not path.is_file():
        raise ModelNotFound(f"model file missing: {path} (reinstall face_recognition_models)")
    return path


_local = threading.local()
_pickled: dict[str, bytes] = {}
_pickled_lock = threading.Lock()

_shared: dict[str, object] = {}
_shared_lock = threading.Lock()

COPIED = ("hog_detector",)
"""Models each thread gets as a copy of one built instance: building dlib's
HOG detector parses text for 0.65 s, a pickled copy loads in 1 ms."""

SHARED = ("landmarks_5",)
"""Models every thread uses one instance of: dlib documents its shape_predictor
as usable from many threads at once. A copy per thread cost 0.05 s to unpickle
in each of a run's four threads, holding the GIL while the run starts."""


def load(key: str):
    """The dlib object for a model: a detector, shape predictor or encoder.

    Cached per thread, but for SHARED: dlib's detectors keep scratch state
    and crash when one instance runs in two threads at once (seen with the
    HOG detector), so each thread that searches frames gets its own (see COPIED)."""
    if key in SHARED:
        model = _shared.get(key)  # built: no lock (every frame's search asks)
        if model is None:
            with _shared_lock:
                if key not in _shared:
                    _shared[key] = _build(key)
                model = _shared[key]
        return model
    cache = _local.__dict__.setdefault("models", {})
    if key not in cache:
        cache[key] = _copy(key) if key in COPIED else _build(key)
    return cache[key]


def _copy(key: str):
    import pickle

    with _pickled_lock:
        if key not in _pickled:
            _pickled[key] = pickle.dumps(_build(key))
        blob = _pickled[key]
    return pickle.loads(blob)


def _build(key: str):
    import dlib

    if key == "hog_detector":
        return dlib.get_frontal_face_detector()
    path = str(model_path(key))
    if key.startswith("landmarks"):
        return dlib.shape_predictor(path)
    if key == "cnn_detector":
        return dlib.cnn_face_detection_model_v1(path)
    if key == "encoder":
        return dlib.face_recognition_model_v1(path)
    raise KeyError(key)
