"""The benchmark harness: RESULTS.md sections replaced by name, studies found by name."""
import subprocess
import sys

from benchmarks.__main__ import STUDIES
from benchmarks.harness import ROOT, replace_section, section_name

RESULTS = "# Results\n\n## Speed (commit `aaa`)\nold rows\n\n## Memory\nm\n"


def test_a_rerun_replaces_its_section_and_keeps_the_others():
    new = replace_section(RESULTS, "## Speed (commit `bbb`)\nnew rows\n")
    assert new == "# Results\n\n## Speed (commit `bbb`)\nnew rows\n\n## Memory\nm\n"
    last = replace_section(RESULTS, "## Memory\nm2\n")
    assert last.endswith("## Memory\nm2\n") and "old rows" in last


def test_a_new_section_is_appended():
    new = replace_section(RESULTS, "## Tracks\nt\n")
    assert new.startswith(RESULTS.rstrip("\n")) and new.endswith("\n\n## Tracks\nt\n")


def test_the_commit_is_not_part_of_a_sections_name():
    assert section_name("## Detectors side by side (commit `abc`)") == section_name("## Detectors side by side (commit `d1`)")
    assert section_name("## Speed: a.mp4 at `abc`") == section_name("## Speed: a.mp4 at `d1`")
    assert section_name("## Speed") != section_name("## Memory")


def test_every_study_is_a_module_with_main():
    for module in STUDIES.values():
        assert (ROOT / "benchmarks" / f"{module}.py").is_file(), module
    r = subprocess.run([sys.executable, "-m", "benchmarks", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "cache" in r.stderr
