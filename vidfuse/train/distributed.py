"""Many processes under ``torchrun``: process-group setup, and one ``DistributedDataParallel`` per phase.

Every process holds a full replica; they start identical (rank 0's state broadcast) and stay identical
because each phase's gradients are averaged by DDP during that phase's backward. gloo on CPU, NCCL on GPU.

A phase trains one network (the GAN's ``"d"`` its discriminators, ``"g"`` its generator with the
conditioning encoders; a latent flow's ``"ae"`` its autoencoder), so each network gets its own DDP, as
StyleGAN2-ADA gives G and D theirs: a reducer only waits for the gradients of its own parameters, and only
in the phase whose forward ran through it. What DDP wraps is :class:`PhaseLoss`, a module that registers
exactly the phase's parameters (shared with the model, not copied) and whose forward is the model's loss
for that phase — the generator calls its sub-networks itself, so the models need not know about DDP.
The reasons, and what was weighed, are in docs/decisions/training.md.
"""

from __future__ import annotations

import functools
import os

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel


def init_distributed() -> tuple[int, int, torch.device]:
    """(rank, world, device); sets up the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cpu":  # share the cores between the processes on this machine
            local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    return rank, world, device


def mean_across_processes(t: torch.Tensor) -> torch.Tensor:
    """The mean of ``t`` over all processes (what a generator's ``mean_across_processes`` is set to under DDP)."""
    t = t.clone()
    dist.all_reduce(t)
    return t / dist.get_world_size()


def broadcast_state(model: nn.Module) -> None:
    """Every tensor of ``model``'s state (parameters and buffers) set to rank 0's."""
    for t in model.state_dict().values():
        dist.broadcast(t, 0)


def rank0_decides(flag: bool, device: torch.device, world: int) -> bool:
    """Rank 0's ``flag`` on every process (so that, e.g., all ranks stop after the same step)."""
    t = torch.tensor([float(flag)], device=device)
    if world > 1:
        dist.broadcast(t, 0)
    return bool(t.item())


def barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


class PhaseLoss(nn.Module):
    """One phase's network, as DDP sees it: the phase's parameters, and a forward that is the phase's loss.

    ``forward(ids, mask, videos)`` returns ``model.loss(ids, mask, videos, phase=phase)``. The parameters are
    registered (the model's own Parameter objects), the model is not: it holds no buffers of its own, so
    DDP has none to broadcast and never overwrites the statistics a generator measures once and averages
    across processes itself (the flow's latent shift and scale).
    """

    def __init__(self, model: nn.Module, phase: str):
        super().__init__()
        self.phase = phase
        self.params = nn.ParameterList(model.phase_parameters(phase))
        self._loss = functools.partial(model.loss, phase=phase)  # a plain attribute: not a submodule

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, videos: torch.Tensor) -> dict[str, torch.Tensor]:
        return self._loss(ids, mask, videos)


def phase_network(model: nn.Module, phase: str, device: torch.device, world: int) -> nn.Module:
    """The module a phase's loss is computed through: :class:`PhaseLoss`, in its own DDP when ``world > 1``.

    ``find_unused_parameters``: a phase's parameters need not all receive a gradient every step (the visual
    encoder runs only for samples drawn with an image), and may differ between ranks; DDP averages the
    gradient of a parameter used on some ranks, and leaves one used on none without a gradient, as a single
    process would.
    """
    net = PhaseLoss(model, phase)
    if world == 1 or not any(p.requires_grad for p in net.parameters()):
        return net
    return DistributedDataParallel(
        net, device_ids=[device] if device.type == "cuda" else None, find_unused_parameters=True
    )
