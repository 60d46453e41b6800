"""A story's scene: what the planner makes of a script and what the composer renders."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Scene"]


@dataclass(frozen=True)
class Scene:
    """One scene of a story.

    ``narration`` is spoken and subtitled; ``prompt`` is what the text-to-video model sees;
    ``duration_s`` (optional) is the least the scene lasts, in seconds (it lasts longer when
    its narration needs more); ``lang`` is ``"en"`` or ``"zh"`` (a scene with any Chinese
    character is ``"zh"`` unless the language was forced).
    """

    narration: str
    prompt: str
    duration_s: float | None = None
    lang: str = "en"
