"""Layering checks that import-linter cannot express (its contracts run in `make test`: pyproject.toml)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import vidfuse

PACKAGE = Path(vidfuse.__file__).parent


def _imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Attribute) and ast.unparse(node).startswith("torch.distributed"):
            names.add("torch.distributed")
    return names


def test_models_do_not_call_torch_distributed():
    """Statistics that must agree across processes go through ``VideoGenerator.mean_across_processes``, which
    the trainer sets; import-linter cannot forbid a subpackage of an external package, so this test does."""
    for path in sorted((PACKAGE / "models").glob("*.py")):
        used = {n for n in _imported_names(path) if n.startswith("torch.distributed")}
        assert not used, f"{path.name} uses {sorted(used)}"


def test_one_version():
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert vidfuse.__version__ == pyproject["project"]["version"]
