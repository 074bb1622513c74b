"""Where the torch models (face encoder, clothing CNN) run."""
from __future__ import annotations

from .errors import ClusterVideoError


def resolve_device(device: str) -> str:
    """'auto' → 'cuda' when torch sees a GPU, else 'cpu'; 'cuda' without one is an error."""
    import torch

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
