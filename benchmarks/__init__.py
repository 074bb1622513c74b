"""Benchmark studies of cluster-video: `python -m benchmarks STUDY [options]` (see __main__)."""
