"""python -m benchmarks STUDY [options]: run one study (each has --help)."""
from __future__ import annotations

import importlib
import sys

STUDIES = {
    "hard": "run_bench", "cache": "bench_cache", "clothing": "bench_clothing", "detectors": "bench_detectors",
    "faces": "bench_faces", "memory": "bench_memory", "speed": "bench_speed", "threshold": "bench_threshold",
    "tracks": "bench_tracks", "real": "real_faces", "identical": "check_identical", "review": "bench_review",
    "library": "bench_library", "search": "bench_search", "grouping": "bench_grouping",
    "resolution": "bench_resolution", "grey": "bench_grey", "dark": "bench_dark", "versions": "bench_versions",
    "layouts": "bench_layouts", "rate": "bench_rate", "blazeface": "bench_blazeface",
}
"""Study name → module of benchmarks/ (its main() reads the remaining arguments)."""


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in STUDIES:
        print(f"usage: python -m benchmarks {{{','.join(STUDIES)}}} [options]", file=sys.stderr)
        return 2
    name = sys.argv.pop(1)
    sys.argv[0] = f"python -m benchmarks {name}"
    return importlib.import_module(f"benchmarks.{STUDIES[name]}").main() or 0


if __name__ == "__main__":
    sys.exit(main())
