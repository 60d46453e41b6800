"""Errors meant for people. The CLI prints these without a traceback; anything else is a bug."""

from __future__ import annotations


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none: what a one-line error
    quotes of a failure from below (a library, the allocator)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class VidfuseError(Exception):
    """Base class: the message says what was wrong, with which input, and what to do."""


class InputError(VidfuseError, ValueError):
    """A user-supplied input (prompt, file, option) is unusable."""


class MissingDependencyError(VidfuseError, RuntimeError):
    """An optional system or Python dependency is missing; the message carries the install line."""
