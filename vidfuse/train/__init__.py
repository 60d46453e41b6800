"""Training: one loop from this 2-core CPU to many GPUs.

    vidfuse train --preset small --data moving-digits --steps 2000 --out runs/md
    torchrun --nproc_per_node=8 -m vidfuse.cli train --preset base --data /data/webvid/captions.csv ...

Modules: ``config`` (preset → file → overrides; the dataset a run names), ``sampler`` (each step's batch, a
pure function of the seed and the step, so resuming is exact), ``trainer`` (the Trainer and :func:`train`),
``distributed`` (torchrun; one DistributedDataParallel per phase), ``ema`` (the EMA of the inference weights,
an ``AveragedModel``), ``checkpoint`` (format, atomic rotation, RNG state), ``runlog`` (progress, metrics,
plots). Only rank 0 writes files.

Files in RUN_DIR: ``config.json`` (the resolved TrainConfig), ``checkpoint.safetensors`` (model, EMA,
optimisers, step, RNG states; written atomically), ``checkpoint.prev.safetensors`` (the one before it,
which ``--resume`` falls back to, with a warning, when the latest is unreadable), ``model/`` (a
``from_pretrained`` folder with the EMA weights), ``metrics.jsonl``, ``loss.png``,
``samples/step_NNNNNN.png``, ``tb/`` (TensorBoard). Temporary files a kill left are removed at start.
"""

from vidfuse.train.checkpoint import CHECKPOINT, CHECKPOINT_PREV, clean_stray_files
from vidfuse.train.config import build_dataset, corpus_captions, resolve_config
from vidfuse.train.distributed import init_distributed
from vidfuse.train.ema import InferenceEMA
from vidfuse.train.runlog import RunLog
from vidfuse.train.sampler import StepBatchSampler, match_video_size
from vidfuse.train.trainer import Trainer, train

__all__ = [
    "CHECKPOINT",
    "CHECKPOINT_PREV",
    "InferenceEMA",
    "RunLog",
    "StepBatchSampler",
    "Trainer",
    "build_dataset",
    "clean_stray_files",
    "corpus_captions",
    "init_distributed",
    "match_video_size",
    "resolve_config",
    "train",
]
