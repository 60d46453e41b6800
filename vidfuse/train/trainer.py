"""The Trainer (model, EMA, optimisers; one step, save and load, the loop) and :func:`train`, what
``vidfuse train`` runs.

What a step does: for each of the generator's active phases (``("d", "g")`` for the GAN, ``("main",)`` for
the VAE, ``("ae",)`` then ``("main",)`` for the latent flows): loss under bf16 autocast → backward (under
DDP, the phase's gradients averaged across processes) → clip → AdamW. Then the EMA of the inference
weights, which sampling and the saved model use. The trainer knows a generator's phases only through its
API: ``phases``, ``active_phases``, ``phase_start``, ``phase_parameters``, ``cond_phase``, ``phase_lr_fields``,
``no_ema_prefixes``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from vidfuse.config import TrainConfig, derive_model_config
from vidfuse.data.tokenizer import CharTokenizer
from vidfuse.errors import InputError
from vidfuse.fileio import atomic_write_text
from vidfuse.pipeline import WEIGHTS_NAME, TextToVideoPipeline, autocast_for, build_model
from vidfuse.train import checkpoint
from vidfuse.train.checkpoint import CHECKPOINT, CHECKPOINT_PREV, clean_stray_files
from vidfuse.train.config import build_dataset, corpus_captions
from vidfuse.train.distributed import (
    barrier,
    broadcast_state,
    init_distributed,
    mean_across_processes,
    phase_network,
    rank0_decides,
)
from vidfuse.train.ema import InferenceEMA
from vidfuse.train.runlog import RunLog
from vidfuse.train.sampler import StepBatchSampler, match_video_size
from vidfuse.train.schedule import lr_scale

logger = logging.getLogger(__name__)


class Trainer:
    """Holds model, EMA, optimisers; ``train_step`` / ``save`` / ``load`` / ``fit``."""

    def __init__(self, cfg: TrainConfig, *, tokenizer=None, dataset=None, quiet: bool = False, resume: bool = False):
        """``resume``: the run is to be restored from its checkpoint (:meth:`load`), so nothing is loaded from
        ``cfg.autoencoder_from``."""
        self.cfg = cfg
        self.rank, self.world, self.device = init_distributed()
        self.is_main = self.rank == 0
        self.quiet = quiet
        self.out = Path(cfg.out)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        random.seed(cfg.seed)
        self.dataset = dataset if dataset is not None else build_dataset(cfg)
        start = self._starting_model() if tokenizer is None and not resume else None
        if start is not None:
            tokenizer = start.tokenizer
        if tokenizer is None:
            tokenizer = self._tokenizer_for_run()
        self.tokenizer = tokenizer
        if cfg.data == "moving-digits":  # the saved model's record of how many digits it draws at once
            tokenizer.subjects = max(getattr(tokenizer, "subjects", None) or 0, *cfg.level)
        if cfg.model.text_encoder == "scratch":
            cfg.model.vocab_size = tokenizer.vocab_size
        if cfg.autoencoder_from and hasattr(cfg.model.gen, "ae_steps"):
            cfg.model.gen.ae_steps = 0  # the flow phase from step 0
        self.model = build_model(cfg.model).to(self.device)
        if cfg.autoencoder_from and "ae" not in self.model.generator.unconditional_phases:
            raise InputError(
                f"--autoencoder-from: the {cfg.model.generator} family trains no autoencoder phase; "
                "use a latent flow family (flow, anchor, layered)"
            )
        if start is not None:
            self._load_start(start)
        if cfg.autoencoder_from and not resume:  # a resumed run's checkpoint holds its autoencoder
            self._load_autoencoder(Path(cfg.autoencoder_from))
        if self.world > 1:
            self.model.generator.mean_across_processes = mean_across_processes
            broadcast_state(self.model)
        self.phases = self.model.generator.phases
        self.optimizers = {}
        self.phase_nets = {}  # phase -> the module its loss runs through (its own DDP under torchrun)
        for phase in self.phases:
            self.optimizers[phase] = torch.optim.AdamW(
                self.model.phase_parameters(phase),
                lr=self.phase_lr(phase),
                betas=tuple(cfg.betas),
                weight_decay=cfg.weight_decay,
            )
            self.phase_nets[phase] = phase_network(self.model, phase, self.device, self.world)
        self.ema = InferenceEMA(self.model, cfg.ema_decay)
        self.step = 0
        self._latest_unreadable = False  # set when load() fell back to the previous checkpoint
        self.elapsed_before = 0.0  # training seconds of earlier invocations of this run (from the checkpoint)
        self._t_start = time.monotonic()

    def elapsed(self) -> float:
        """Wall-clock seconds this run has trained, earlier invocations (before --resume) included."""
        return self.elapsed_before + time.monotonic() - self._t_start

    def _over_budget(self, last_step_s: float) -> bool:
        """True when another step (as long as the last one) would overrun ``cfg.max_minutes``; rank 0's clock
        decides for every process, so all ranks stop after the same step."""
        if self.cfg.max_minutes <= 0:
            return False
        return rank0_decides(self.elapsed() + last_step_s > self.cfg.max_minutes * 60, self.device, self.world)

    def _starting_model(self):
        """``cfg.init_from``'s pipeline for a fresh run (its model settings become the run's, with the recipe's
        family); None without it. A resumed run never reads it: its checkpoint holds the weights and its
        config.json the settings, so the folder may have changed or gone since."""
        if not self.cfg.init_from:
            return None
        from vidfuse.pipeline import TextToVideoPipeline

        start = TextToVideoPipeline.from_pretrained(self.cfg.init_from)
        self.cfg.model = derive_model_config(start.config, self.cfg.model)
        return start

    def _load_start(self, start) -> None:
        """The starting folder's weights into the run's model; the family's own extras (a critic, a teacher
        copy) keep their fresh initialisation, and the family is told (``after_init_from``)."""
        allowed = self.model.generator.starts_from
        if allowed is not None and start.config.generator not in allowed:
            raise InputError(
                f"--init-from {self.cfg.init_from}: its generator is {start.config.generator}; "
                f"{self.cfg.model.generator} runs start from a trained {' or '.join(allowed)} model (the folder to "
                "distil from)"
            )
        state = start.model.state_dict()
        own = self.model.state_dict()
        misfit = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
        if misfit:
            raise InputError(
                f"--init-from {self.cfg.init_from}: {len(misfit)} weights do not fit this model's sizes "
                f"(first: {misfit[0]}); start from a folder of the same preset"
            )
        self.model.load_state_dict(state, strict=False)
        self.model.generator.after_init_from()
        logger.info("started from %s (%d of %d tensors)", self.cfg.init_from, len(state), len(own))

    def _load_autoencoder(self, folder: Path) -> None:
        """``generator.autoencoder.*`` of ``folder``'s weights into the run's model; the latent (and motion)
        statistics are measured again on the first flow batch, also when ``--init-from`` brought others."""
        from safetensors.torch import load_file

        path = folder / WEIGHTS_NAME
        if not path.is_file():
            raise InputError(f"--autoencoder-from: {path} not found; give a model folder of a latent family")
        state = {k: v for k, v in load_file(path).items() if k.startswith("generator.autoencoder.")}
        if not state:
            raise InputError(f"--autoencoder-from: {path} holds no autoencoder; give a model folder of a latent family")
        own = self.model.state_dict()
        misfit = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
        if misfit:
            raise InputError(
                f"--autoencoder-from: {folder}'s autoencoder does not fit this run's (first: {misfit[0]}); "
                "use a folder trained with the same preset and latent settings"
            )
        self.model.load_state_dict(state, strict=False)
        gen = self.model.generator
        for flag in ("latent_stats_set", "bounds_set"):  # statistics of another autoencoder's latents
            if hasattr(gen, flag):
                getattr(gen, flag).fill_(False)
        logger.info("autoencoder from %s (%d tensors); its phase is skipped", folder, len(state))

    def _tokenizer_for_run(self):
        """Reuse the run's saved tokenizer on resume (the vocabulary must not change); else build one."""
        from vidfuse.pipeline import load_tokenizer

        if (self.out / "model" / "tokenizer.json").is_file() or self.cfg.model.text_encoder != "scratch":
            return load_tokenizer(self.cfg.model, self.out / "model")

        return CharTokenizer.build(
            corpus_captions(self.dataset), max_length=self.cfg.model.max_text_len, max_words=self.cfg.model.text_words
        )

    def _fitting(self, captions: list[str]) -> list[str]:
        """The captions that fit the text encoder's length limit; warns about the others, which training
        truncates: a truncated caption may lose what it says last (a second digit's motion)."""
        fits = []
        for c in captions:
            try:
                self.tokenizer.encode(c)
                fits.append(c)
            except InputError:
                pass
        if len(fits) < len(captions) and self.is_main:
            logger.warning(
                "%d of %d sampled captions exceed model.max_text_len=%d tokens and are truncated in "
                "training; raise max_text_len in the config",
                len(captions) - len(fits),
                len(captions),
                self.cfg.model.max_text_len,
            )
        return fits or [c[:8] for c in captions]

    # ---- one step -----------------------------------------------------------------------------
    def phase_lr(self, phase: str) -> float:
        return getattr(self.cfg, self.model.generator.phase_lr_fields.get(phase, "lr"))

    def lr_scale(self, step: int, phase: str = "main") -> float:
        """Warm-up from the phase's first step; with ``cooldown_steps``, a decay over the run's last steps."""
        c = self.cfg
        start = self.model.generator.phase_start(phase)
        return lr_scale(step, start=start, warmup=c.warmup_steps, end=c.steps, cooldown=c.cooldown_steps)

    def train_step(self, videos: torch.Tensor, captions: list[str]) -> dict[str, float]:
        self.model.train()
        # only the scratch tokenizer spells words (e5's tokenizer also records words, for the vocabulary check);
        # spelling draws from python's RNG, which the checkpoint carries
        spelling = self.cfg.spell_p and isinstance(self.tokenizer, CharTokenizer)
        spell = {"spell_p": self.cfg.spell_p} if spelling else {}
        ids, mask = self.tokenizer.encode(captions, on_overflow="truncate", **spell)
        m = self.cfg.model
        videos = match_video_size(videos.to(self.device), m.num_frames, m.height, m.width)
        ids, mask = ids.to(self.device), mask.to(self.device)
        logs: dict[str, float] = {}
        use_bf16 = self.cfg.bf16
        for phase in self.model.generator.active_phases(self.step):
            opt = self.optimizers[phase]
            for group in opt.param_groups:
                group["lr"] = self.phase_lr(phase) * self.lr_scale(self.step, phase)
            opt.zero_grad(set_to_none=True)
            with autocast_for(self.device) if use_bf16 else contextlib.nullcontext():
                losses = self.phase_nets[phase](ids, mask, videos)
            loss = losses["loss"]
            if not torch.isfinite(loss):
                raise RuntimeError(
                    f"loss became {loss.item()} at step {self.step} (phase {phase}); lower --lr "
                    "or resume from the last checkpoint"
                )
            loss.backward()  # under DDP the phase's gradients arrive averaged across processes
            params = [p for g in opt.param_groups for p in g["params"]]
            gnorm = torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
            opt.step()
            logs.update(
                {
                    (k if phase == "main" else f"{phase}/{k}") if k == "loss" else k: float(v.detach())
                    for k, v in losses.items()
                }
            )
            logs[f"grad_norm/{phase}"] = float(gnorm)
        # the EMA of the conditioning phase's weights (fusion, encoders, generator) starts with that phase:
        # a latent generator's first steps train only its autoencoder, and averaging in untrained weights
        # for them would leave the EMA far behind
        gen = self.model.generator
        self.ema.update(self.step - (0 if gen.cond_phase is None else gen.phase_start(gen.cond_phase)))
        self.step += 1
        return logs

    # ---- persistence --------------------------------------------------------------------------
    def ema_pipeline(self) -> TextToVideoPipeline:
        with torch.random.fork_rng(devices=[]):  # building a model must not move the training RNG
            model = build_model(self.cfg.model)
        model.load_state_dict(self.model.state_dict())
        model.load_state_dict(self.ema.weights(), strict=False)
        return TextToVideoPipeline(model, self.tokenizer, device=self.device)

    def save(self) -> None:
        """Checkpoint (atomic) + model folder + config. Rank 0 only."""
        if not self.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        tensors, meta = checkpoint.pack(
            model=self.model,
            ema=self.ema,
            optimizers=self.optimizers,
            step=self.step,
            elapsed_s=self.elapsed(),
            config=self.cfg.to_dict(),
        )
        checkpoint.write(self.out, tensors, meta, keep_latest=not self._latest_unreadable)
        self._latest_unreadable = False
        self.ema_pipeline().save_pretrained(self.out / "model")
        atomic_write_text(self.out / "config.json", json.dumps(self.cfg.to_dict(), indent=2))

    def load(self, path: str | Path | None = None) -> None:
        """Restore everything from a checkpoint: the next step continues exactly.

        Without ``path``: the run's latest checkpoint, or, when that one is missing or unreadable (truncated,
        empty, not a checkpoint), the previous one, with a warning saying so."""
        if path is not None:
            return self._load_from(Path(path))
        latest, prev = self.out / CHECKPOINT, self.out / CHECKPOINT_PREV
        if not latest.is_file() and not prev.is_file():
            raise InputError(f"--resume: no checkpoint at {latest}; start without --resume")
        try:
            if not latest.is_file():
                raise InputError(f"{latest} is missing")
            return self._load_from(latest)
        except InputError as e:
            if not prev.is_file():
                raise
            if self.is_main:
                logger.warning("%s; resuming from the previous checkpoint, %s", e, prev)
            try:
                self._load_from(prev)
            except InputError as e2:
                raise InputError(f"--resume: neither checkpoint of {self.out} can be read: {e}; and {e2}") from e2
            self._latest_unreadable = True

    def _load_from(self, path: Path) -> None:
        tensors, meta = checkpoint.read(path)
        try:
            checkpoint.unpack(tensors, meta, model=self.model, ema=self.ema, optimizers=self.optimizers)
            self.step = int(meta["step"])
            self.elapsed_before = float(meta.get("elapsed_s", 0.0))
        except (KeyError, RuntimeError, ValueError, TypeError) as e:  # another model's, or a damaged one
            raise InputError(
                f"checkpoint {path} does not fit this run's model and optimisers "
                f"({str(e).splitlines()[0] if str(e) else type(e).__name__}); resume the run "
                "it came from"
            ) from e
        self._t_start = time.monotonic()

    # ---- the loop -----------------------------------------------------------------------------
    def fit(self) -> Path:
        from vidfuse.data.collate import collate

        cfg = self.cfg
        sampler = StepBatchSampler(
            len(self.dataset),
            cfg.batch_size,
            seed=cfg.seed,
            start_step=self.step,
            steps=cfg.steps,
            rank=self.rank,
            world=self.world,
        )
        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=cfg.num_workers,
            # its own generator: creating the iterator must not draw from
            # the global RNG, or a resumed run would drift from a straight one
            generator=torch.Generator().manual_seed(cfg.seed + self.step),
        )
        log = RunLog(self.out, enabled=self.is_main, quiet=self.quiet, start=self.step, total=cfg.steps)
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out / "config.json", json.dumps(cfg.to_dict(), indent=2))
        sample_captions = self._fitting(corpus_captions(self.dataset, 64))[:8]
        t_prev = time.monotonic()
        try:
            for videos, captions, _ in loader:
                t0 = time.perf_counter()
                logs = self.train_step(videos, captions)
                logs["clips_per_s"] = len(captions) * self.world / (time.perf_counter() - t0)
                logs["elapsed_min"] = self.elapsed() / 60
                log.step(self.step, logs)
                now = time.monotonic()
                stop = self.step < cfg.steps and self._over_budget(now - t_prev)
                t_prev = now
                if stop and self.is_main:
                    logger.warning(
                        "stopping at step %d of %d: the run's wall-clock budget (max_minutes=%g) "
                        "would be overrun by another step; --resume with a larger --max-minutes "
                        "continues it",
                        self.step,
                        cfg.steps,
                        cfg.max_minutes,
                    )
                last = self.step == cfg.steps or stop
                if self.step % cfg.ckpt_every == 0 or last:
                    self.save()
                    log.plot()
                if self.is_main and (self.step % cfg.sample_every == 0 or last):
                    self.write_samples(sample_captions)
                if stop:
                    break
        finally:
            log.close()
        barrier(self.world)
        return self.out / "model"

    def write_samples(self, captions: list[str]) -> Path:
        from vidfuse.media.video_io import contact_sheet

        frames = self.ema_pipeline()(captions, seed=0)
        path = self.out / "samples" / f"step_{self.step:06d}.png"
        contact_sheet(list(frames), captions, path=path)
        return path


def train(cfg: TrainConfig, *, resume: bool = False, quiet: bool = False) -> Path:
    """Train per ``cfg``; returns the path of the ``from_pretrained`` model folder (RUN_DIR/model)."""
    run = Path(cfg.out)
    if int(os.environ.get("RANK", "0")) == 0:
        for p in clean_stray_files(run):
            logger.info("removed %s, left by an interrupted write", p)
    if resume and ((run / CHECKPOINT).is_file() or (run / CHECKPOINT_PREV).is_file()):
        try:
            saved = TrainConfig.from_dict(json.loads((run / "config.json").read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(
                f"--resume: cannot read the run's config {run / 'config.json'} ({e}); restore it, "
                "or start a new run without --resume"
            ) from e
        if cfg.init_from and Path(cfg.init_from).resolve() != Path(saved.init_from or "").resolve():
            raise InputError(
                f"--resume: {run} started from {saved.init_from or 'scratch'}, not --init-from {cfg.init_from}; "
                "resume it as it began, or give another --out for a run from the new folder"
            )
        saved.steps = cfg.steps  # a resumed run may be extended
        saved.max_minutes = cfg.max_minutes  # ... or given more time
        saved.out = cfg.out  # the folder named is the run, also when it is a copy of another run's folder
        saved.allow_outside_paths = saved.allow_outside_paths or cfg.allow_outside_paths
        cfg = saved
    trainer = Trainer(cfg, quiet=quiet, resume=resume)
    if resume:
        trainer.load()
    return trainer.fit()
