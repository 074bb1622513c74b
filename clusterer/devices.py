"""Where the torch models (face encoder, clothing CNN) run."""
from __future__ import annotations

import contextlib
import gc
import signal
import sys
import threading

from .errors import ClusterVideoError


@contextlib.contextmanager
def ctrl_c_after():
    """Ctrl-C (SIGINT) held back until the block ends, then delivered to the
    handler that was in place. In the main thread only (no other may set a
    handler, nor receives the signal), and only where Python's own handler
    would raise KeyboardInterrupt: ignored or default signals stay as they are."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    held = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if held:
        raise KeyboardInterrupt


def import_torch():
    """torch, imported with the cyclic collector paused: its import otherwise runs
    full collections over its own hundreds of thousands of new objects (three,
    0.2 s of the 1.3 s import, measured), for a few dozen bits of garbage. Each
    function that may be the first to need torch (device checks, model loading,
    extraction's thread setting) gets it here.

    Ctrl-C waits for the import to end (ctrl_c_after): a KeyboardInterrupt
    raised inside torch's C++ module set-up aborted the process ("terminate
    called after throwing an instance of 'pybind11::error_already_set'", exit
    -6) in 2 of 110 imports interrupted, 0 of 110 with the hold, instead of
    the clean exit 130 of any other moment (benchmarks/RESULTS.md, "Session
    24: Ctrl-C during torch's import")."""
    if "torch" not in sys.modules:
        was_on = gc.isenabled()
        gc.disable()
        try:
            with ctrl_c_after():
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
