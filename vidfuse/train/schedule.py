"""The learning-rate schedule every training loop shares: warm-up, stable, decay."""

from __future__ import annotations


def lr_scale(step: int, *, start: int = 0, warmup: int = 0, end: int = 0, cooldown: int = 0) -> float:
    """The factor on a phase's learning rate at ``step``: a linear warm-up over ``warmup`` steps from ``start``
    (the phase's first step), then constant, then with ``cooldown`` a linear decay over the last ``cooldown``
    steps before ``end`` (the run's --steps), its last step at 1/cooldown (never zero: each step taken learns).
    A run that decays at its end reads like a much longer constant-rate run; its end is known when it starts, so
    the decay needs no guess at a total length beyond the one asked for."""
    scale = min(1.0, (step - start + 1) / max(1, warmup))
    if cooldown:
        scale *= min(1.0, (end - step) / cooldown)
    return max(0.0, scale)
