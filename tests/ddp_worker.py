"""Run by tests/test_train.py under torchrun: train a few steps, then each rank dumps its weights.

The default tiny model (the anchor flow: its autoencoder phase, then the flow phase, whose latent statistics
are measured on its first batch and averaged across the processes), then the GAN (phases d and g each step)."""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.nn.parallel import DistributedDataParallel

from vidfuse.train import Trainer, resolve_config

out = Path(sys.argv[1])
for folder, model in ((out, None), (out / "gan", {"generator": "gan"})):
    # a budget that is never reached: every step still asks rank 0 whether to stop (a broadcast)
    cfg = resolve_config(
        "tiny",
        steps=3,
        batch_size=2,
        out=str(folder / "run"),
        ckpt_every=100,
        sample_every=100,
        max_minutes=60,
        model=model,
    )
    trainer = Trainer(cfg, quiet=True)
    assert all(isinstance(net, DistributedDataParallel) for net in trainer.phase_nets.values())
    trainer.fit()
    rank = torch.distributed.get_rank()
    assert trainer.step == 3, trainer.step
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in trainer.model.state_dict().items()}, folder / f"rank{rank}.safetensors")
