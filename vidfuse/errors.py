"""Errors meant for people. The CLI prints these without a traceback; anything else is a bug."""

from __future__ import annotations


class VidfuseError(Exception):
    """Base class: the message says what was wrong, with which input, and what to do."""


class InputError(VidfuseError, ValueError):
    """A user-supplied input (prompt, file, option) is unusable."""


class MissingDependencyError(VidfuseError, RuntimeError):
    """An optional system or Python dependency is missing; the message carries the install line."""
