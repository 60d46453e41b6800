"""Generator families by name: the class that draws, and (in vidfuse.config) the settings it reads.

``build_generator(cfg)`` builds ``cfg.generator``'s class with ``cfg``; ``families()`` lists every family with
one line on what it is, for ``--help`` and error messages. A new family adds one entry here and one in
:data:`vidfuse.config.GENERATOR_CONFIGS`, and the contract suite (tests/test_generator_contract.py) runs
over it unchanged.
"""

from __future__ import annotations

import importlib

from vidfuse.config import GENERATOR_CONFIGS, ModelConfig
from vidfuse.models.base import VideoGenerator

# name → "module:Class"; imported when first built
_CLASSES: dict[str, str] = {
    "anchor": "vidfuse.models.anchor:AnchorFlow",
    "flow": "vidfuse.models.flow:LatentFlow",
    "gan": "vidfuse.models.gan:VideoGAN",
    "vae": "vidfuse.models.vae:VideoVAE",
    "anchor-gan": "vidfuse.models.anchor_gan:AnchorGAN",
    "anchor-vae": "vidfuse.models.anchor_vae:AnchorVAE",
    "anchor-add": "vidfuse.models.anchor_distilled:AnchorDistilled",
    "layered": "vidfuse.models.layered:LayeredFlow",
}
assert set(_CLASSES) == set(GENERATOR_CONFIGS), "every family needs a class and a settings class"


def generator_class(name: str) -> type[VideoGenerator]:
    if name not in _CLASSES:
        raise ValueError(f"unknown generator {name!r}; choose one of {', '.join(_CLASSES)}")
    module, cls = _CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def supports_guidance(name: str) -> bool:
    """Whether family ``name`` takes a guidance scale (one-pass generators draw without classifier-free guidance)."""
    return bool(generator_class(name).supports_guidance)


def build_generator(cfg: ModelConfig) -> VideoGenerator:
    return generator_class(cfg.generator)(cfg)


def families() -> dict[str, str]:
    """Every family's name → the first line of its settings class's docstring."""
    return {name: (GENERATOR_CONFIGS[name].__doc__ or "").strip().splitlines()[0] for name in _CLASSES}
