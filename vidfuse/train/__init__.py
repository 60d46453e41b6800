"""Training (vidfuse/train/trainer.py; split along its seams in the next commit)."""
from vidfuse.train.trainer import (CHECKPOINT, CHECKPOINT_PREV, StepBatchSampler, Trainer,  # noqa: F401
                                   build_dataset, clean_stray_files, corpus_captions, match_video_size,
                                   resolve_config, train)
