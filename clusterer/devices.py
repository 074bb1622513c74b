"""Where the torch models (face encoder, clothing CNN) run."""
from __future__ import annotations

import gc
import sys

from .errors import ClusterVideoError


def import_torch():
    """torch, imported on first use with the cyclic collector paused: its import
    otherwise runs full collections over its own hundreds of thousands of new
    objects (three, 0.2 s of the 1.3 s import, measured), for a few dozen bits of
    garbage. Every first use of torch comes through here."""
    if "torch" not in sys.modules:
        paused = gc.isenabled()
        gc.disable()
        try:
            import torch  # noqa: F401
        finally:
            if paused:
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
