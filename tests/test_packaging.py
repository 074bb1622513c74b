"""The package as pip builds it (`make demo` on a fresh clone): setuptools
builds the wheel without a warning (no pages of "Package would be ignored" or
deprecations) and the wheel holds every file the code reads."""
from __future__ import annotations

import shutil
import warnings
import zipfile
from pathlib import Path

from setuptools import build_meta

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_builds_quietly_and_ships_every_file(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    shutil.copytree(ROOT / "clusterer", src / "clusterer", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(src)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # setuptools' BuildBackendWarning and deprecations
        wheel = build_meta.build_wheel(str(tmp_path / "dist"))
    shipped = set(zipfile.ZipFile(tmp_path / "dist" / wheel).namelist())
    wanted = {p.relative_to(src).as_posix() for p in (src / "clusterer").rglob("*") if p.is_file()}
    assert wanted and wanted <= shipped, sorted(wanted - shipped)
