"""The flow sampler every flow family shares: Euler integration with classifier-free guidance.

A rectified flow carries noise (t = 0) to data (t = 1) along a velocity field v(x, t, Z). A family's state
may be several tensors (the latent flow: one latent video; the anchor flow: a first-frame latent and a
motion path); the sampler steps them together.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from vidfuse.models.base import Condition

State = tuple[torch.Tensor, ...]
# velocity(state, t (B,), cond, doubled) -> one velocity per state tensor; ``doubled``: the batch is the
# conditional and the unconditional halves stacked (guidance), for families that carry per-sample flags
Velocity = Callable[[State, torch.Tensor, Condition, bool], State]


def cat_conditions(a: Condition, b: Condition) -> Condition:
    """Stack two conditions along the batch, padding the token axis (masked) to the longer one."""
    n = max(a.tokens.shape[1], b.tokens.shape[1])

    def pad(c: Condition) -> tuple[torch.Tensor, torch.Tensor]:
        extra = n - c.tokens.shape[1]
        return F.pad(c.tokens, (0, 0, 0, extra)), F.pad(c.mask, (0, extra), value=False)

    (ta, ma), (tb, mb) = pad(a), pad(b)
    both = Condition(torch.cat([ta, tb]), torch.cat([ma, mb]), torch.cat([a.pooled, b.pooled]))
    if a.image is not None and b.image is not None:
        both.image, both.has_image = torch.cat([a.image, b.image]), torch.cat([a.has_image, b.has_image])
    return both


def euler_flow(
    velocity: Velocity,
    state: State,
    *,
    cond: Condition,
    steps: int,
    uncond: Condition | None = None,
    guidance_scale: float = 1.0,
    pin: Callable[[State], State] | None = None,
) -> State:
    """Integrate dx/dt = v(x, t, Z) from the noise ``state`` at t = 0 to t = 1 in ``steps`` Euler steps.

    With ``uncond`` and ``guidance_scale`` s ≠ 1: v = v_u + s·(v_c − v_u) (classifier-free guidance), both
    branches in one batched call. ``pin`` re-imposes what is given (e.g. a first frame) after every step and
    before the first. Velocities are taken in float32 whatever the network's precision.
    """
    b = cond.batch_size
    guided = uncond is not None and guidance_scale != 1.0
    both = cat_conditions(cond, uncond) if guided else cond
    pin = pin or (lambda s: s)
    state = pin(state)
    device = state[0].device
    for i in range(steps):
        t = torch.full((b,), i / steps, device=device)
        if guided:
            v_both = velocity(tuple(torch.cat([x, x]) for x in state), torch.cat([t, t]), both, True)
            v = []
            for vb in v_both:
                v_c, v_u = vb.float().chunk(2)
                v.append(v_u + guidance_scale * (v_c - v_u))
        else:
            v = [vb.float() for vb in velocity(state, t, cond, False)]
        state = pin(tuple(x + vx / steps for x, vx in zip(state, v)))
    return state
