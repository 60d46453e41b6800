"""The package version: one place, importable from any layer without importing the rest of vidfuse."""

__version__ = "0.1.0"  # equal to pyproject.toml [project] version (tests/test_layering.py)
