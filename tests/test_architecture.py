"""The package's shape: layers and no cycles (import-linter, pyproject.toml), and
no import of the package's own modules hidden inside a function."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def inner_imports(path: Path) -> list[int]:
    """Lines of `from .x import y` / `import clusterer.x` inside a function or class body."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for inner in ast.walk(node):
                if (isinstance(inner, ast.ImportFrom) and (inner.level > 0 or (inner.module or "").startswith("clusterer"))
                        or isinstance(inner, ast.Import) and any(a.name.startswith("clusterer") for a in inner.names)):
                    found.add(inner.lineno)
    return sorted(found)


def test_no_function_level_imports_of_the_package():
    found = {str(p.relative_to(ROOT)): inner_imports(p) for p in sorted((ROOT / "clusterer").rglob("*.py"))}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_check_sees_a_hidden_import(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("import os\n\n\ndef f():\n    import json\n    from .cache import load\n    return load\n")
    assert inner_imports(bad) == [6]


def test_import_contracts_kept():
    pytest.importorskip("importlinter")
    done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                                                 "lint_imports_command()"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout
