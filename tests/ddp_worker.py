"""Run by tests/test_train.py under torchrun: train a few steps, then each rank dumps its weights."""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from vidfuse.train import Trainer, resolve_config

out = Path(sys.argv[1])
# a budget that is never reached: every step still asks rank 0 whether to stop (a broadcast)
cfg = resolve_config("tiny", steps=3, batch_size=2, out=str(out / "run"), ckpt_every=100, sample_every=100,
                     max_minutes=60)
trainer = Trainer(cfg, quiet=True)
trainer.fit()
rank = torch.distributed.get_rank()
assert trainer.step == 3, trainer.step
save_file({k: v.contiguous() for k, v in trainer.model.state_dict().items()}, out / f"rank{rank}.safetensors")
