"""The training checkpoint: its format, its atomic rotation, and the RNG state it carries.

``RUN_DIR/checkpoint.safetensors`` holds tensors and one JSON metadata entry ``"vidfuse"``:

- ``model.<name>``: the model's state_dict; ``ema.n_averaged`` and ``ema.module.<name>``: the EMA's
  (:class:`vidfuse.train.ema.InferenceEMA`); ``opt.<phase>.<index>.<name>``: each phase's optimiser state;
  ``rng.torch``, ``rng.numpy`` (and ``rng.cuda``): random generator states;
- metadata: ``version``, ``step``, ``elapsed_s`` (training seconds so far), ``config`` (the TrainConfig),
  ``optim`` (each optimiser's param_groups), ``rng`` (numpy's and python's non-tensor state).

Version 1 (no ``version`` entry) stored the EMA as ``ema.<name>``; :func:`migrate` reads it.
``checkpoint.prev.safetensors`` is the checkpoint before the latest, which ``--resume`` falls back to.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from vidfuse.errors import InputError
from vidfuse.fileio import atomic_path
from vidfuse.pipeline import read_safetensors

CHECKPOINT = "checkpoint.safetensors"
CHECKPOINT_PREV = "checkpoint.prev.safetensors"  # the checkpoint before the latest: the fallback on --resume
VERSION = 2
# temporary files and folders a writer leaves behind when killed mid-write (fileio.atomic_path names files
# .STEM.XXXX.tmp.SUFFIX; save_pretrained stages .model.XXXX.tmp); removed when a run starts
_STRAY_TMP = re.compile(r"^\.(checkpoint|model|config|metrics|loss)\..+\.tmp(\.[a-z]+)?$")


# ---- random generators ----------------------------------------------------------------------------------
def capture_rng() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """torch's (and CUDA's), numpy's and python's generator states: tensors, and JSON for the rest."""
    np_state = np.random.get_state()
    tensors = {"rng.torch": torch.get_rng_state(), "rng.numpy": torch.from_numpy(np_state[1].astype(np.int64))}
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    meta = {
        "numpy": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": json.loads(json.dumps(random.getstate())),
    }
    return tensors, meta


def restore_rng(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    name, pos, has_gauss, gauss = meta["numpy"]
    np.random.set_state((name, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, state, gauss_py = meta["python"]
    random.setstate((version, tuple(state), gauss_py))


# ---- optimisers ------------------------------------------------------------------------------------------
def optimizer_state(optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Each optimiser's state as tensors ``opt.<phase>.<index>.<name>`` and its param_groups as JSON, by phase."""
    tensors: dict[str, torch.Tensor] = {}
    groups = {}
    for phase, opt in optimizers.items():
        sd = opt.state_dict()
        for idx, st in sd["state"].items():
            for name, val in st.items():
                tensors[f"opt.{phase}.{idx}.{name}"] = val if torch.is_tensor(val) else torch.tensor(val)
        groups[phase] = sd["param_groups"]
    return tensors, groups


def load_optimizer_state(
    tensors: dict[str, torch.Tensor], groups: dict[str, Any], optimizers: dict[str, torch.optim.Optimizer]
) -> None:
    """Restore the optimisers from :func:`optimizer_state`'s tensors and param_groups."""
    for phase, opt in optimizers.items():
        state: dict[int, dict[str, torch.Tensor]] = {}
        prefix = f"opt.{phase}."
        for k, v in tensors.items():
            if k.startswith(prefix):
                idx, name = k[len(prefix) :].split(".", 1)
                state.setdefault(int(idx), {})[name] = v
        phase_groups = groups[phase]
        for g in phase_groups:
            g["betas"] = tuple(g["betas"])
        opt.load_state_dict({"state": state, "param_groups": phase_groups})


# ---- the format -----------------------------------------------------------------------------------------
def pack(
    *,
    model: torch.nn.Module,
    ema,
    optimizers: dict[str, torch.optim.Optimizer],
    step: int,
    elapsed_s: float,
    config: dict[str, Any],
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Everything a run needs to continue exactly, as (tensors on the CPU, metadata)."""
    tensors: dict[str, torch.Tensor] = {}
    for k, v in model.state_dict().items():
        tensors[f"model.{k}"] = v
    for k, v in ema.state_dict().items():
        tensors[f"ema.{k}"] = v
    opt_tensors, opt_meta = optimizer_state(optimizers)
    tensors.update(opt_tensors)
    rng_tensors, rng_meta = capture_rng()
    tensors.update(rng_tensors)
    meta = {
        "version": VERSION,
        "step": step,
        "elapsed_s": elapsed_s,
        "config": config,
        "optim": opt_meta,
        "rng": rng_meta,
    }
    return {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, meta


def migrate(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, torch.Tensor]:
    """A checkpoint of an earlier version in this version's names. Version 1 kept the EMA as a dict of
    tensors, ``ema.<name>``; it is ``ema.module.<name>`` with ``ema.n_averaged`` (the initial copy and one
    update a step) since the EMA is an ``AveragedModel``."""
    if int(meta.get("version", 1)) >= 2:
        return tensors
    out = {}
    for k, v in tensors.items():
        out[f"ema.module.{k[4:]}" if k.startswith("ema.") else k] = v
    out["ema.n_averaged"] = torch.tensor(int(meta["step"]) + 1, dtype=torch.long)
    return out


def unpack(
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
    *,
    model: torch.nn.Module,
    ema,
    optimizers: dict[str, torch.optim.Optimizer],
) -> None:
    """Restore model, EMA, optimisers and random generators from :func:`pack`'s output (any version).
    A checkpoint of another model raises KeyError, RuntimeError, ValueError or TypeError."""
    tensors = migrate(tensors, meta)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    load_optimizer_state(tensors, meta["optim"], optimizers)
    restore_rng(tensors, meta["rng"])


# ---- files ----------------------------------------------------------------------------------------------
def write(run: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any], *, keep_latest: bool = True) -> None:
    """Write ``run/checkpoint.safetensors`` atomically; the one it replaces becomes the previous one.

    The new file is complete before the latest becomes the previous (a rename, atomic) and the new one is
    renamed into place: a kill between the two leaves the previous one for --resume. ``keep_latest=False``
    (--resume found the latest unreadable) replaces the latest without burying the good previous one.
    """
    with atomic_path(run / CHECKPOINT) as tmp:
        save_file(tensors, tmp, metadata={"vidfuse": json.dumps(meta)})
        if (run / CHECKPOINT).is_file() and keep_latest:
            os.replace(run / CHECKPOINT, run / CHECKPOINT_PREV)


def read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, metadata) of a training checkpoint; InputError when it is missing, unreadable or not one."""
    fix = "start without --resume, or resume another run"
    if not path.is_file():
        raise InputError(f"--resume: no checkpoint at {path}; start without --resume")
    tensors, metadata = read_safetensors(path, f"checkpoint {path}", fix)
    try:
        meta = json.loads(metadata.get("vidfuse", ""))
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or not {"step", "optim", "rng"} <= set(meta):
        raise InputError(
            f"checkpoint {path} is a safetensors file but not a vidfuse training checkpoint (its "
            f"metadata has no training state); {fix}"
        )
    return tensors, meta


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
