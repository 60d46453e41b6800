"""The exponential moving average of the inference weights, which sampling and the saved model use.

torch's :class:`~torch.optim.swa_utils.AveragedModel` keeps the average (``get_ema_multi_avg_fn``: one
``_foreach_lerp_`` per device and dtype). What it averages is a float32 copy of the model's
``inference_state_dict()`` only (no discriminators, no frozen pretrained backbone), held under the model's
own names: the weights as parameters, which it averages; buffers (statistics such as the flow's latent
shift and scale), non-float tensors and the generator's ``no_ema_prefixes`` weights as buffers, which it
copies.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def _tensor_module(tensors: dict[str, torch.Tensor], averaged: set[str]) -> nn.Module:
    """A module whose state_dict is ``tensors`` under the same dotted names; those named in ``averaged`` are
    parameters (without gradients), the others buffers."""
    root = nn.Module()
    for name, t in tensors.items():
        *path, leaf = name.split(".")
        mod = root
        for part in path:
            if part not in mod._modules:
                mod.add_module(part, nn.Module())
            mod = mod._modules[part]
        if name in averaged:
            mod.register_parameter(leaf, nn.Parameter(t, requires_grad=False))
        else:
            mod.register_buffer(leaf, t)
    return root


class _Live:
    """The model's current tensors in the order of the average's parameters and buffers: the ``model``
    that :meth:`AveragedModel.update_parameters` reads (it asks only for ``parameters()`` and ``buffers()``)."""

    def __init__(self, params: list[torch.Tensor], buffers: list[torch.Tensor]):
        self._params, self._buffers = params, buffers

    def parameters(self):
        return iter(self._params)

    def buffers(self):
        return iter(self._buffers)


class InferenceEMA:
    """EMA of ``model.inference_state_dict()``; ``update(since)`` after every optimiser step.

    The decay warms up as ``min(max_decay, (1 + since) / (10 + since))``, ``since`` counted in steps from the
    conditioning phase's start; before it (``since < 0``: a latent generator training only its autoencoder)
    the average is a copy, so it does not start from untrained weights. The average starts as a copy of the
    model it is built from (``n_averaged`` counts that copy too).
    """

    def __init__(self, model: nn.Module, max_decay: float):
        self.model, self.max_decay = model, max_decay
        live = model.inference_state_dict()
        buffers = {name for name, _ in model.named_buffers()}
        copied = tuple(f"generator.{p}" for p in model.generator.no_ema_prefixes)
        averaged = {
            k for k, v in live.items() if v.is_floating_point() and k not in buffers and not k.startswith(copied)
        }
        start = _tensor_module({k: v.detach().float().clone() for k, v in live.items()}, averaged)
        self.decay = 0.0
        self.average = AveragedModel(start, multi_avg_fn=self._lerp)
        self._param_names = [n for n, _ in self.average.module.named_parameters()]
        self._buffer_names = [n for n, _ in self.average.module.named_buffers()]
        self.average.update_parameters(self._live())  # the first update copies

    def _live(self) -> _Live:
        current = self.model.inference_state_dict()
        return _Live(
            [current[n].detach().float() for n in self._param_names], [current[n].detach() for n in self._buffer_names]
        )

    def _lerp(self, averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        get_ema_multi_avg_fn(self.decay)(averaged, current, n_averaged)

    @torch.no_grad()
    def update(self, since: int) -> None:
        """Average in the model's current weights, ``since`` steps after the conditioning phase started."""
        self.decay = min(self.max_decay, (1 + since) / (10 + since)) if since >= 0 else 0.0
        self.average.update_parameters(self._live())

    def weights(self) -> dict[str, torch.Tensor]:
        """The averaged inference state, by the model's own names (float32)."""
        return self.average.module.state_dict()

    def state_dict(self) -> dict[str, torch.Tensor]:
        """What a checkpoint stores: ``n_averaged`` and ``module.<name>`` for every averaged tensor."""
        return self.average.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`state_dict` (strict: every tensor present, no others; cast to float32 on the
        average's device)."""
        self.average.load_state_dict(state)
