"""Run by tests/test_train.py under torchrun: train a few steps, then each rank dumps its weights."""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from vidfuse.train import Trainer, resolve_config

out = Path(sys.argv[1])
cfg = resolve_config("tiny", steps=3, batch_size=2, out=str(out / "run"), ckpt_every=100, sample_every=100)
trainer = Trainer(cfg, quiet=True)
trainer.fit()
rank = torch.distributed.get_rank()
save_file({k: v.contiguous() for k, v in trainer.model.state_dict().items()}, out / f"rank{rank}.safetensors")
