"""Where the torch models (face encoder, clothing CNN) run."""
from __future__ import annotations

import gc
import sys

from .errors import ClusterVideoError


def import_torch():
    """torch, imported with the cyclic collector paused: its import otherwise runs
    full collections over its own hundreds of thousands of new objects (three,
    0.2 s of the 1.3 s import, measured), for a few dozen bits of garbage. Each
    function that may be the first to need torch (device checks, model loading,
    extraction's thread setting) gets it here."""
    if "torch" not in sys.modules:
        was_on = gc.isenabled()
        gc.disable()
        try:
            import torch  # noqa: F401
        finally:
            if was_on:
                gc.enable()
    return sys.modules["torch"]


def resolve_device(device: str) -> str:
    """'auto' → 'cuda' when torch sees a GPU, else 'cpu'; 'cuda' without one is an error."""
    torch = import_torch()

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ClusterVideoError("--device cuda: no CUDA GPU is available to torch")
    return device


def check_early(device: str) -> str:
    """The device to keep until first use: 'cuda' is resolved (and refused
    without a GPU) at once, before any work; 'auto' waits, because resolving
    it imports torch, which takes seconds."""
    return resolve_device(device) if device == "cuda" else device
