"""Training: one loop from this 2-core CPU to many GPUs.

    vidfuse train --preset small --data moving-digits --steps 2000 --out runs/md
    torchrun --nproc_per_node=8 -m vidfuse.cli train --preset base --data /data/webvid/captions.csv ...

What a step does: draw the step's batch (a pure function of the seed and the step, so resuming is
exact), then for each of the generator's phases (``("d", "g")`` for the GAN, ``("main",)`` for the
VAE): loss under bf16 autocast → backward → gradient average across processes → clip → AdamW. Then
the EMA of the inference weights, which sampling and the saved model use.

Distributed: under ``torchrun`` every process holds a full replica; they start identical (broadcast
from rank 0) and stay identical because gradients are averaged with one bucketed all-reduce per
phase — DistributedDataParallel's semantics, done by hand because a GAN's alternating phases
freeze and unfreeze parameter sets, which DDP's reducer does not allow. gloo on CPU, NCCL on GPU.
Only rank 0 writes files.

Files in RUN_DIR: ``config.json`` (the resolved TrainConfig), ``checkpoint.safetensors`` (model, EMA,
optimisers, step, RNG states; written atomically), ``checkpoint.prev.safetensors`` (the one before it,
which ``--resume`` falls back to, with a warning, when the latest is unreadable), ``model/`` (a
``from_pretrained`` folder with the EMA weights), ``metrics.jsonl``, ``loss.png``,
``samples/step_NNNNNN.png``, ``tb/`` (TensorBoard). Temporary files a kill left are removed at start.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import save_file

from vidfuse.config import TrainConfig, load_config_file, merge_model_layers
from vidfuse.errors import InputError
from vidfuse.fileio import atomic_path, atomic_write_text
from vidfuse.pipeline import TextToVideoPipeline, autocast_for, build_model, read_safetensors, video_to_uint8

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.safetensors"
CHECKPOINT_PREV = "checkpoint.prev.safetensors"  # the checkpoint before the latest: the fallback on --resume
# temporary files and folders a writer leaves behind when killed mid-write (fileio.atomic_path names files
# .STEM.XXXX.tmp.SUFFIX; save_pretrained stages .model.XXXX.tmp); removed when a run starts
_STRAY_TMP = re.compile(r"^\.(checkpoint|model|config|metrics|loss)\..+\.tmp(\.[a-z]+)?$")


# ---- configuration --------------------------------------------------------------------------
def resolve_config(preset: str = "small", config_file: str | Path | None = None,
                   **overrides: Any) -> TrainConfig:
    """Preset, then a YAML/JSON file, then explicit overrides (None values are ignored). The model's family is
    the last ``generator`` named; its preset settings come first (:func:`vidfuse.config.merge_model_layers`)."""
    data = TrainConfig(preset=preset).to_dict()
    file_data = load_config_file(config_file) if config_file else {}
    file_model = file_data.pop("model", None) or {}
    model_over = overrides.pop("model", None) or {}
    data.update(file_data)
    data.update({k: v for k, v in overrides.items() if v is not None})
    data["model"] = merge_model_layers(preset, [file_model, model_over])
    return TrainConfig.from_dict(data)


# ---- data -----------------------------------------------------------------------------------
def build_dataset(cfg: TrainConfig):
    if cfg.data == "moving-digits":
        from vidfuse.data.moving_digits import MovingDigits

        m = cfg.model
        return MovingDigits("train", level=tuple(cfg.level), lang=cfg.lang, size=10**9, seed=cfg.seed,
                            paraphrase=cfg.paraphrase)
    from vidfuse.data.folder import open_dataset

    m = cfg.model
    return open_dataset(cfg.data, num_frames=m.num_frames, size=(m.height, m.width), hflip_p=0.5,
                        allow_outside_paths=cfg.allow_outside_paths)


def corpus_captions(dataset, n: int = 4000) -> list[str]:
    """Captions to build the tokenizer's vocabulary from (any character outside it still encodes, as bytes)."""
    if hasattr(dataset, "captions"):
        caps = dataset.captions
        return list(caps(n) if callable(caps) else caps)
    return [dataset[i][1] for i in range(min(n, len(dataset)))]


def match_video_size(video: torch.Tensor, num_frames: int, height: int, width: int) -> torch.Tensor:
    """(B, C, T, H, W) → (B, C, num_frames, height, width): frames picked evenly in time, area-resized in space.

    Lets a small preset (tests: 4 frames of 16×16) train on any dataset without the dataset knowing.
    """
    b, c, t, h, w = video.shape
    if t != num_frames:
        idx = torch.linspace(0, t - 1, num_frames).round().long()
        video = video[:, :, idx]
    if (h, w) != (height, width):
        frames = video.transpose(1, 2).reshape(b * num_frames, c, h, w)
        frames = torch.nn.functional.interpolate(frames, size=(height, width), mode="area")
        video = frames.reshape(b, num_frames, c, height, width).transpose(1, 2)
    return video


class StepBatchSampler(torch.utils.data.Sampler):
    """Batches as a pure function of (seed, step, rank): resuming at step s replays exactly what follows.

    Finite datasets are walked in a fresh permutation each epoch; very large virtual datasets (Moving
    Digits renders clip i from a seed derived from i) are walked in order.
    """

    def __init__(self, n: int, batch_size: int, *, seed: int, start_step: int, steps: int, rank: int = 0,
                 world: int = 1):
        self.n, self.bs, self.seed, self.start, self.steps, self.rank, self.world = (
            n, batch_size, seed, start_step, steps, rank, world)

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def indices(self, step: int) -> list[int]:
        first = (step * self.world + self.rank) * self.bs
        out = []
        for g in range(first, first + self.bs):
            epoch, pos = divmod(g, self.n)
            if self.n <= 10_000_000:
                perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch))
                pos = int(perm[pos])
            out.append(pos)
        return out

    def __iter__(self):
        for step in range(self.start, self.steps):
            yield self.indices(step)


# ---- distributed ----------------------------------------------------------------------------
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


def average_gradients(params: list[torch.nn.Parameter], world: int) -> None:
    """One bucketed all-reduce of the gradients of ``params`` (what DDP does after backward)."""
    if world == 1:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for p, g in zip(params, grads):
        n = g.numel()
        p.grad = flat[offset:offset + n].view_as(p).clone()
        offset += n


# ---- checkpoints ----------------------------------------------------------------------------
def _mean_across_processes(t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    dist.all_reduce(t)
    return t / dist.get_world_size()


def _rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    np_state = np.random.get_state()
    tensors = {"rng.torch": torch.get_rng_state(), "rng.numpy": torch.from_numpy(np_state[1].astype(np.int64))}
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    meta = {"numpy": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
            "python": json.loads(json.dumps(random.getstate()))}
    return tensors, meta


def _set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    name, pos, has_gauss, gauss = meta["numpy"]
    np.random.set_state((name, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, state, gauss_py = meta["python"]
    random.setstate((version, tuple(state), gauss_py))


class Trainer:
    """Holds model, EMA, optimisers; ``train_step`` / ``save`` / ``load`` / ``fit``."""

    def __init__(self, cfg: TrainConfig, *, tokenizer=None, dataset=None, quiet: bool = False):
        self.cfg = cfg
        self.rank, self.world, self.device = init_distributed()
        self.is_main = self.rank == 0
        self.quiet = quiet
        self.out = Path(cfg.out)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        random.seed(cfg.seed)
        self.dataset = dataset if dataset is not None else build_dataset(cfg)
        if tokenizer is None:
            tokenizer = self._tokenizer_for_run()
        self.tokenizer = tokenizer
        if cfg.model.text_encoder == "scratch":
            cfg.model.vocab_size = tokenizer.vocab_size
        self.model = build_model(cfg.model).to(self.device)
        if self.world > 1:
            self.model.generator.mean_across_processes = _mean_across_processes
            for t in self.model.state_dict().values():
                dist.broadcast(t, 0)
        self.phases = self.model.generator.phases
        self.optimizers = {}
        for phase in self.phases:
            self.optimizers[phase] = torch.optim.AdamW(self.model.phase_parameters(phase), lr=self.phase_lr(phase),
                                                       betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
        self.ema = {k: v.detach().float().clone() for k, v in self.model.inference_state_dict().items()}
        self._buffer_names = {name for name, _ in self.model.named_buffers()}
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
        stop = torch.tensor([float(self.elapsed() + last_step_s > self.cfg.max_minutes * 60)], device=self.device)
        if self.world > 1:
            dist.broadcast(stop, 0)
        return bool(stop.item())

    def _tokenizer_for_run(self):
        """Reuse the run's saved tokenizer on resume (the vocabulary must not change); else build one."""
        from vidfuse.pipeline import load_tokenizer

        if (self.out / "model" / "tokenizer.json").is_file() or self.cfg.model.text_encoder != "scratch":
            return load_tokenizer(self.cfg.model, self.out / "model")
        from vidfuse.data.tokenizer import CharTokenizer

        return CharTokenizer.build(corpus_captions(self.dataset), max_length=self.cfg.model.max_text_len,
                                   max_words=self.cfg.model.text_words)

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
            logger.warning("%d of %d sampled captions exceed model.max_text_len=%d tokens and are truncated in "
                           "training; raise max_text_len in the config", len(captions) - len(fits), len(captions),
                           self.cfg.model.max_text_len)
        return fits or [c[:8] for c in captions]

    # ---- one step -----------------------------------------------------------------------------
    def phase_lr(self, phase: str) -> float:
        return getattr(self.cfg, self.model.generator.phase_lr_fields.get(phase, "lr"))

    def lr_scale(self, step: int, phase: str = "main") -> float:
        """Linear warm-up from the phase's first step."""
        since = step - self.model.generator.phase_start(phase)
        return min(1.0, (since + 1) / max(1, self.cfg.warmup_steps))

    def train_step(self, videos: torch.Tensor, captions: list[str]) -> dict[str, float]:
        self.model.train()
        spell = {"spell_p": self.cfg.spell_p} if self.cfg.spell_p and hasattr(self.tokenizer, "words") else {}
        ids, mask = self.tokenizer.encode(captions, on_overflow="truncate", **spell)  # spelling: python's RNG, checkpointed
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
                losses = self.model.loss(ids, mask, videos, phase=phase)
            loss = losses["loss"]
            if not torch.isfinite(loss):
                raise RuntimeError(f"loss became {loss.item()} at step {self.step} (phase {phase}); lower --lr "
                                   "or resume from the last checkpoint")
            loss.backward()
            params = [p for g in opt.param_groups for p in g["params"]]
            average_gradients(params, self.world)
            gnorm = torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
            opt.step()
            logs.update({(k if phase == "main" else f"{phase}/{k}") if k == "loss" else k: float(v.detach())
                         for k, v in losses.items()})
            logs[f"grad_norm/{phase}"] = float(gnorm)
        self._update_ema()
        self.step += 1
        return logs

    @torch.no_grad()
    def _update_ema(self) -> None:
        # the EMA of the conditioning phase's weights (fusion, encoders, generator) starts with that phase:
        # a latent generator's first steps train only its autoencoder, and averaging in untrained weights
        # for them would leave the EMA far behind
        since = self.step - self.model.generator.phase_start(self.model.generator.cond_phase)
        decay = min(self.cfg.ema_decay, (1 + since) / (10 + since)) if since >= 0 else 0.0
        current = self.model.inference_state_dict()
        copy = tuple(f"generator.{p}" for p in self.model.generator.no_ema_prefixes)
        for k, v in self.ema.items():
            cur = current[k]
            # buffers are statistics, not weights: copied (e.g. the flow's latent shift and scale)
            if cur.dtype.is_floating_point and not k.startswith(copy) and k not in self._buffer_names:
                v.mul_(decay).add_(cur.float(), alpha=1 - decay)
            else:
                v.copy_(cur)

    # ---- persistence --------------------------------------------------------------------------
    def ema_pipeline(self) -> TextToVideoPipeline:
        with torch.random.fork_rng(devices=[]):  # building a model must not move the training RNG
            model = build_model(self.cfg.model)
        model.load_state_dict(self.model.state_dict())
        model.load_state_dict({k: v for k, v in self.ema.items()}, strict=False)
        return TextToVideoPipeline(model, self.tokenizer, device=self.device)

    def save(self) -> None:
        """Checkpoint (atomic) + model folder + config. Rank 0 only."""
        if not self.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, torch.Tensor] = {}
        for k, v in self.model.state_dict().items():
            tensors[f"model.{k}"] = v
        for k, v in self.ema.items():
            tensors[f"ema.{k}"] = v
        opt_meta = {}
        for phase, opt in self.optimizers.items():
            sd = opt.state_dict()
            for idx, st in sd["state"].items():
                for name, val in st.items():
                    tensors[f"opt.{phase}.{idx}.{name}"] = val if torch.is_tensor(val) else torch.tensor(val)
            opt_meta[phase] = sd["param_groups"]
        rng_tensors, rng_meta = _rng_state()
        tensors.update(rng_tensors)
        meta = {"step": self.step, "elapsed_s": self.elapsed(), "config": self.cfg.to_dict(), "optim": opt_meta, "rng": rng_meta}
        tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        with atomic_path(self.out / CHECKPOINT) as tmp:
            save_file(tensors, tmp, metadata={"vidfuse": json.dumps(meta)})
            # the new file is complete: the latest becomes the previous (a rename, atomic), then the new one
            # is renamed into place; a kill between the two leaves the previous one for --resume
            # (not when --resume found the latest unreadable: that would bury the good previous one)
            if (self.out / CHECKPOINT).is_file() and not self._latest_unreadable:
                os.replace(self.out / CHECKPOINT, self.out / CHECKPOINT_PREV)
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

    def _read_checkpoint(self, path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        fix = "start without --resume, or resume another run"
        if not path.is_file():
            raise InputError(f"--resume: no checkpoint at {path}; start without --resume")
        tensors, metadata = read_safetensors(path, f"checkpoint {path}", fix)
        try:
            meta = json.loads(metadata.get("vidfuse", ""))
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or not {"step", "optim", "rng"} <= set(meta):
            raise InputError(f"checkpoint {path} is a safetensors file but not a vidfuse training checkpoint (its "
                             f"metadata has no training state); {fix}")
        return tensors, meta

    def _load_from(self, path: Path) -> None:
        tensors, meta = self._read_checkpoint(path)
        try:
            self._restore(tensors, meta)
        except (KeyError, RuntimeError, ValueError, TypeError) as e:  # another model's, or a damaged one
            raise InputError(f"checkpoint {path} does not fit this run's model and optimisers "
                             f"({str(e).splitlines()[0] if str(e) else type(e).__name__}); resume the run "
                             "it came from") from e

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        # on the training device (a GPU run resumed would otherwise mix CUDA and CPU tensors in the EMA update)
        self.ema = {k[4:]: v.float().to(self.device) for k, v in tensors.items() if k.startswith("ema.")}
        for phase, opt in self.optimizers.items():
            state: dict[int, dict[str, torch.Tensor]] = {}
            prefix = f"opt.{phase}."
            for k, v in tensors.items():
                if k.startswith(prefix):
                    idx, name = k[len(prefix):].split(".", 1)
                    state.setdefault(int(idx), {})[name] = v
            groups = meta["optim"][phase]
            for g in groups:
                g["betas"] = tuple(g["betas"])
            opt.load_state_dict({"state": state, "param_groups": groups})
        _set_rng_state(tensors, meta["rng"])
        self.step = int(meta["step"])
        self.elapsed_before = float(meta.get("elapsed_s", 0.0))
        self._t_start = time.monotonic()

    # ---- the loop -----------------------------------------------------------------------------
    def fit(self) -> Path:
        from vidfuse.data.collate import collate

        cfg = self.cfg
        sampler = StepBatchSampler(len(self.dataset), cfg.batch_size, seed=cfg.seed, start_step=self.step,
                                   steps=cfg.steps, rank=self.rank, world=self.world)
        loader = torch.utils.data.DataLoader(self.dataset, batch_sampler=sampler, collate_fn=collate,
                                             num_workers=cfg.num_workers,
                                             # its own generator: creating the iterator must not draw from
                                             # the global RNG, or a resumed run would drift from a straight one
                                             generator=torch.Generator().manual_seed(cfg.seed + self.step))
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
                    logger.warning("stopping at step %d of %d: the run's wall-clock budget (max_minutes=%g) "
                                   "would be overrun by another step; --resume with a larger --max-minutes "
                                   "continues it", self.step, cfg.steps, cfg.max_minutes)
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
        if self.world > 1:
            dist.barrier()
        return self.out / "model"

    def write_samples(self, captions: list[str]) -> Path:
        from vidfuse.media.video_io import contact_sheet

        frames = self.ema_pipeline()(captions, seed=0)
        path = self.out / "samples" / f"step_{self.step:06d}.png"
        contact_sheet(list(frames), captions, path=path)
        return path


class RunLog:
    """Progress bar with ETA, metrics.jsonl, TensorBoard scalars and a loss-curve PNG (rank 0 only)."""

    def __init__(self, out: Path, *, enabled: bool, quiet: bool, start: int, total: int):
        self.enabled, self.out = enabled, out
        self.progress = self.writer = None
        if not enabled:
            return
        out.mkdir(parents=True, exist_ok=True)
        self._truncate_metrics(start)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(out / "tb"), purge_step=start)
        if not quiet:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                     TextColumn("{task.fields[info]}"))
            self.task = self.progress.add_task("train", total=total, completed=start, info="")
            self.progress.start()

    def _truncate_metrics(self, start: int) -> None:
        """On resume, drop metrics logged after the checkpoint (they will be logged again)."""
        path = self.out / "metrics.jsonl"
        if path.is_file():
            keep = [l for l in path.read_text().splitlines() if l.strip() and json.loads(l)["step"] <= start]
            atomic_write_text(path, "".join(l + "\n" for l in keep))

    def step(self, step: int, logs: dict[str, float]) -> None:
        if not self.enabled:
            return
        with open(self.out / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"step": step, **logs}) + "\n")
        for k, v in logs.items():
            self.writer.add_scalar(k, v, step)
        if self.progress is not None:
            info = " ".join(f"{k}={v:.3g}" for k, v in logs.items() if k.endswith("loss") or k == "clips_per_s")
            self.progress.update(self.task, completed=step, info=info)

    def plot(self) -> None:
        if not self.enabled:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = [json.loads(l) for l in (self.out / "metrics.jsonl").read_text().splitlines() if l.strip()]
        keys = sorted({k for r in rows for k in r if k.endswith("loss")})
        fig, ax = plt.subplots(figsize=(7, 4))
        for k in keys:
            pts = [(r["step"], r[k]) for r in rows if k in r]
            ax.plot(*zip(*pts), label=k, linewidth=1)
        ax.set_xlabel("step")
        ax.legend()
        ax.grid(alpha=0.3)
        with atomic_path(self.out / "loss.png") as tmp:
            fig.savefig(tmp, dpi=100, bbox_inches="tight")
        plt.close(fig)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        if self.writer is not None:
            self.writer.close()


def clean_stray_files(run: Path) -> list[Path]:
    """Remove what a kill mid-write leaves in a run folder (``.checkpoint.*.tmp*``, ``.model.*.tmp``, …), and
    put ``model/`` back from ``.model.old`` if a kill came between the two renames that replace it.
    Returns what was removed."""
    removed = []
    if not run.is_dir():
        return removed
    for p in sorted(run.iterdir()):
        if _STRAY_TMP.match(p.name):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
    old, model = run / ".model.old", run / "model"
    if old.is_dir() and not model.exists():
        os.replace(old, model)
    return removed


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
            raise InputError(f"--resume: cannot read the run's config {run / 'config.json'} ({e}); restore it, "
                             "or start a new run without --resume") from e
        saved.steps = cfg.steps  # a resumed run may be extended
        saved.max_minutes = cfg.max_minutes  # ... or given more time
        saved.out = cfg.out  # the folder named is the run, also when it is a copy of another run's folder
        saved.allow_outside_paths = saved.allow_outside_paths or cfg.allow_outside_paths
        cfg = saved
    trainer = Trainer(cfg, quiet=quiet)
    if resume:
        trainer.load()
    return trainer.fit()
