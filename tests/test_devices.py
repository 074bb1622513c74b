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


@pytest.fixture
def python_ctrl_c():
    """Python's own Ctrl-C handler for the test (a background shell may have started
    the run with SIGINT ignored), the one before put back after."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are the main thread's")
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_during_the_import_interrupts_after_it(python_ctrl_c):
    """Ctrl-C inside the block (torch's import, whose C++ set-up aborts the
    process when a KeyboardInterrupt is raised in it) is held back, then raised
    as KeyboardInterrupt once the block is done, Python's handler back in place."""
    import signal

    from clusterer.devices import ctrl_c_after

    done = []
    with pytest.raises(KeyboardInterrupt):
        with ctrl_c_after():
            signal.raise_signal(signal.SIGINT)
            done.append("the rest of the import")
    assert done == ["the rest of the import"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with ctrl_c_after():  # no Ctrl-C: nothing raised
        done.append("again")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_ctrl_c_stays_ignored(python_ctrl_c):
    import signal

    from clusterer.devices import ctrl_c_after

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with ctrl_c_after():
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


CTRL_C_IN_IMPORT = """import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
class CtrlC:  # Ctrl-C pressed as torch's import begins
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            signal.raise_signal(signal.SIGINT)
sys.meta_path.insert(0, CtrlC())
from clusterer.devices import import_torch
try:
    import_torch()
except KeyboardInterrupt:
    print("interrupted", "torch" in sys.modules)"""


def test_import_torch_finishes_before_a_ctrl_c_interrupts():
    out = subprocess.run([sys.executable, "-c", CTRL_C_IN_IMPORT], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["interrupted", "True"], out.stderr[-2000:]
