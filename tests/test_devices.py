"""Where torch comes from: its first import, paid by every run."""
from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """import gc, sys
full = []
gc.callbacks.append(lambda phase, info: full.append(1) if phase == "start" and info["generation"] == 2 else None)
if sys.argv[1] == "off":
    gc.disable()
if sys.argv[2] == "plain":
    import torch
else:
    from clusterer.devices import import_torch
    torch = import_torch()
    assert import_torch() is torch
print(len(full), gc.isenabled(), torch.__name__)"""


@pytest.mark.parametrize("collector", ["on", "off"])
def test_torch_imported_without_full_collections(collector):
    """The first import of torch runs no full collection (a plain import runs some,
    0.2 s of it), and leaves the collector as it found it: on, or off if the caller
    had turned it off."""
    def probe(how):
        return subprocess.run([sys.executable, "-c", PROBE, collector, how],
                              capture_output=True, text=True, check=True).stdout.split()

    full, enabled, name = probe("ours")
    assert (int(full), enabled, name) == (0, str(collector == "on"), "torch")
    if collector == "on":
        assert int(probe("plain")[0]) > 0  # what the pause saves: else this test proves nothing
