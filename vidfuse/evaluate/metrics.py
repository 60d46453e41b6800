"""Scoring the judge's verdicts against targets, and FD-judge (the Fréchet distance of judge features).

- **Verdict.** A target digit is matched to the predicted digit of the same value; target digits the
  judge did not see are paired with its leftover predictions (in digit order), so colour and motion
  are still scored one to one. A clip is jointly right when the count is right and every digit's
  digit, colour and motion are right.
- **FD-judge** is the Fréchet distance between Gaussians fitted to the penultimate features (the
  pooled tokens, mean ⊕ max: 2 × 96 numbers) of member 0, for two clip sets, computed in float64 with
  ``torch.linalg.eigh``: ``tr(√(Σ₁ Σ₂))`` is the sum of the square roots of the eigenvalues of
  the symmetric PSD product ``√Σ₁ Σ₂ √Σ₁``, with ``√Σ₁`` itself from an eigen-decomposition.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from vidfuse.errors import InputError
from vidfuse.evaluate.judge import colour_classes, motion_classes

# FD-judge fits Gaussians to 192 judge features: below about 200 clips the covariances are rank-deficient
# and the figure is noise (an example: docs/decisions/evaluation.md)
FD_MIN_N = 200
FD_ERROR_ROUNDS = 20


def score_clips(verdict: dict[str, np.ndarray], targets: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Compare the judge's verdict with each clip's target (``digits``, ``colours``, ``motions``).

    Returns per clip: ``digit``, ``colour``, ``motion`` (fraction of the target's digits with that
    attribute right), ``per_digit`` (fraction with all three right) and ``joint`` (the count right and
    every digit all right), as float arrays (B,).
    """
    colours, motions = colour_classes(), motion_classes()
    n = len(targets)
    if len(verdict["count"]) != n:
        raise InputError(f"{len(verdict['count'])} verdicts for {n} targets")
    out = {k: np.zeros(n) for k in ("digit", "colour", "motion", "per_digit", "joint")}
    for b, t in enumerate(targets):
        want = list(zip(t["digits"], t["colours"], t["motions"]))
        if int(verdict["count"][b]) != len(want):
            continue  # invalid, or another number of digits: wrong on everything
        seen = [int(d) for d in verdict["digits"][b] if d >= 0]
        # pair target digits with the same predicted digit, then the rest in digit order
        left = [d for d in seen if d not in {w[0] for w in want}]
        pairs = [(w, w[0] if w[0] in seen else left.pop(0)) for w in sorted(want, key=lambda w: w[0])]
        right = np.array(
            [
                (d == p, colours[verdict["colour"][b, p]] == c, motions[verdict["motion"][b, p]] == m)
                for (d, c, m), p in pairs
            ],
            dtype=float,
        )  # (digits, 3)
        out["digit"][b], out["colour"][b], out["motion"][b] = right.mean(0)
        out["per_digit"][b] = right.all(1).mean()
        out["joint"][b] = float(right.all())
    return out


def summarise_scores(scores: dict[str, np.ndarray], mask: np.ndarray | None = None) -> dict[str, float | int | None]:
    """``{n, digit, colour, motion, per_digit, joint}`` over the clips in ``mask`` (None when there are none)."""
    mask = np.ones(len(scores["joint"]), bool) if mask is None else mask
    res: dict[str, float | int | None] = {"n": int(mask.sum())}
    for k in ("digit", "colour", "motion", "per_digit", "joint"):
        res[k] = round(float(scores[k][mask].mean()), 4) if mask.any() else None
    return res


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric PSD matrix by eigen-decomposition (tiny negative eigenvalues → 0)."""
    w, v = torch.linalg.eigh(m)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N, F)`` and ``(M, F)``.

    ``|μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁ Σ₂)``, with ``tr √(Σ₁ Σ₂) = Σ √λ(√Σ₁ Σ₂ √Σ₁)``: the
    product ``√Σ₁ Σ₂ √Σ₁`` is symmetric PSD, so ``eigvalsh`` is exact where a general ``sqrtm`` of
    the non-symmetric ``Σ₁ Σ₂`` would need scipy. float64 throughout.
    """
    a, b = (torch.as_tensor(np.asarray(x), dtype=torch.float64) for x in (a, b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise InputError(
            f"frechet_distance needs two feature sets (N ≥ 2, F) of the same F; got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    s1, s2 = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    r1 = _sqrt_psd(s1)
    m = r1 @ s2 @ r1
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    fd = (a.mean(0) - b.mean(0)).square().sum() + s1.trace() + s2.trace() - 2 * tr_sqrt
    return float(fd.clamp_min(0))


def frechet_distance_with_error(a, b, *, rounds: int = FD_ERROR_ROUNDS, seed: int = 0) -> tuple[float, float]:
    """:func:`frechet_distance` and an estimate of its standard error: the spread of the distance over
    ``rounds`` random halves of both feature sets (drawn without replacement), times √½ for the full size.

    A plain bootstrap (resampling with replacement) overstates it two- to threefold here: duplicated rows
    shrink the covariances and push every resampled FD up (the comparison: ``docs/decisions/evaluation.md``).
    """
    a, b = np.asarray(a), np.asarray(b)
    rng = np.random.default_rng(seed)
    halves = [
        frechet_distance(a[rng.permutation(len(a))[: len(a) // 2]], b[rng.permutation(len(b))[: len(b) // 2]])
        for _ in range(rounds)
    ]
    spread = float(np.std(halves, ddof=1)) * math.sqrt(0.5) if rounds > 1 else float("nan")
    return frechet_distance(a, b), spread
