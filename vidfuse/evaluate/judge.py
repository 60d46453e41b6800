"""The judge: a small video classifier that reads a Moving Digits clip's digits, colours and motions.

The judge is a small factorised (2+1)-D CNN trained only on real Moving Digits clips (rendered from
the *train* glyphs by ``bench/train_judge.py``, never on generated clips) — four of them, in fact, read
together as a :class:`JudgeEnsemble`. It ships inside the package: ``vidfuse/judge_model/`` holds
member 0 (``config.json`` + ``model.safetensors``), ``members/1..3/`` the others, and ``ensemble.json``
lists them and records the ensemble's accuracy on real test clips. One member::

    clip uint8 (T, H, W, 3) ─► resample to 16 × 64 × 64 ─► stem: frames 2, 6, 10, 14 (shape, colour)
                                                            ⊕ each 4-frame step (motion) ─► (4, 32, 32)
        ─► (2+1)-D residual CNN ─► tokens (C, t=4, 8, 8)
        tokens ─► per-token digit scores s (10, 4, 8, 8)
                   ├─ presence of digit d    = log-mean-exp of s_d over all tokens
                   ├─ where digit d is       = softmax of s_d over space, one map per time step
                   │     ├─ its trajectory   = the maps' centroids (4 steps × (x, y))
                   │     └─ its features     = the tokens pooled by the maps, averaged over time
                   └─ colour (7) and motion (7) of digit d = MLP(features, trajectory)
        tokens ─► mean ⊕ max pool = the penultimate features (FD-judge) ─► count head: invalid | 1 | 2

Training (``bench/train_judge.py``) also supervises ``s`` densely: tokens near a digit's centre are
labelled with that digit, the rest background, so the judge is a small detector as well.

Design choices, fixed here:

- **Slots are digit values.** Each of the ten digits has its own slot (presence, colour, motion);
  a level-2 clip shows two *different* digits, so its two digits are read in the canonical order
  of their values. One judge serves levels 1 and 2; the count head says how many digits it sees.
- **Invalid clips.** The count head has a class "invalid", trained on black, noise and plain-colour
  clips; the motion head has a 7th class ``static``, trained on frozen real clips (every frame the
  first). A clip judged invalid, or with another number of digits than asked for, is wrong on
  every attribute; a frozen clip is wrong on motion.
- **Reading.** The judge reads ``count`` digits: the ``count`` highest presences (:func:`judge_clips`);
  :func:`vidfuse.evaluate.metrics.score_clips` compares them with a clip's target.
- **An ensemble votes, one member measures.** Members trained apart (seeds, widths) err on different
  glyphs, so together they read more clips right than any one of them (figures:
  ``docs/decisions/evaluation.md``). They vote by their mean log-probabilities; FD-judge uses member 0's
  features only, so adding members never moves an FD-judge figure.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from vidfuse.errors import InputError

JUDGE_DIR = Path(__file__).resolve().parents[1] / "judge_model"
CONFIG_NAME, WEIGHTS_NAME, ENSEMBLE_NAME = "config.json", "model.safetensors", "ensemble.json"
JUDGE_FRAMES, JUDGE_SIZE = 16, 64  # every clip is resampled to 16 × 64 × 64 before judging
STATIC = "static"  # the motion class of a frozen clip
COUNT_CLASSES = ("invalid", "one digit", "two digits")


def motion_classes() -> tuple[str, ...]:
    """The judge's motion classes: the dataset's six motions, then ``static``."""
    from vidfuse.data.moving_digits import MOTIONS

    return (*MOTIONS, STATIC)


def colour_classes() -> tuple[str, ...]:
    from vidfuse.data.moving_digits import COLOURS

    return tuple(COLOURS)


# ─────────────────────────────────────────── network ───────────────────────────────────────────


@dataclass
class JudgeConfig:
    stem: tuple[int, int] = (24, 8)  # 32×32 stem channels: appearance (one frame a step), motion (all frames)
    channels: tuple[int, int] = (48, 96)  # widths at 16×16 and 8×8
    blocks: tuple[int, int, int] = (1, 1, 2)  # (2+1)-D residual blocks at 32×32, 16×16 and 8×8
    time_stride: int = 4  # frames per time step
    hidden: int = 128  # slot MLP width
    num_digits: int = 10
    num_colours: int = 7
    num_motions: int = 7  # six motions + static
    num_counts: int = 3  # invalid | one digit | two digits

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "JudgeConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InputError(f"unknown judge config keys {sorted(unknown)}")
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**d)


def _bn_relu(c: int) -> list[nn.Module]:
    return [nn.BatchNorm3d(c), nn.ReLU(inplace=True)]


class _Block(nn.Module):
    """(2+1)-D residual block: a 1×3×3 spatial conv, then a 3×1×1 temporal conv."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(c, c, (1, 3, 3), padding=(0, 1, 1), bias=False),
            *_bn_relu(c),
            nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(c),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class Judge(nn.Module):
    """forward(video (B, 3, 16, 64, 64) in [0, 1]) -> dict of logits and features (see the module docstring)."""

    def __init__(self, cfg: JudgeConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or JudgeConfig()
        (ca, cm), (c2, c3), (n1, n2, n3), st = cfg.stem, cfg.channels, cfg.blocks, cfg.time_stride
        if JUDGE_FRAMES % st:
            raise InputError(f"time_stride {st} must divide {JUDGE_FRAMES}")
        # stem, (16, 64, 64) → (16 / st, 32, 32): one sharp frame per step for shapes and colours, and
        # all st frames of the step for motion (merging them blurs a digit that moves up to 5 px a frame)
        self.appearance = nn.Conv3d(3, ca, (1, 4, 4), stride=(1, 2, 2), padding=(0, 1, 1), bias=False)
        self.motion_stem = nn.Conv3d(3, cm, (st, 4, 4), stride=(st, 2, 2), padding=(0, 1, 1), bias=False)
        self.backbone = nn.Sequential(
            *_bn_relu(ca + cm),
            *[_Block(ca + cm) for _ in range(n1)],  # (t, 32, 32)
            nn.Conv3d(ca + cm, c2, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False),
            *_bn_relu(c2),
            *[_Block(c2) for _ in range(n2)],  # (t, 16, 16)
            nn.Conv3d(c2, c3, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False),
            *_bn_relu(c3),
            *[_Block(c3) for _ in range(n3)],  # (t, 8, 8)
        )
        self.digit_score = nn.Conv3d(c3, cfg.num_digits, 1)
        self.slot = nn.Sequential(nn.Linear(c3 + 2 * (JUDGE_FRAMES // st), cfg.hidden), nn.ReLU(inplace=True))
        self.colour = nn.Linear(cfg.hidden, cfg.num_colours)
        self.motion = nn.Linear(cfg.hidden, cfg.num_motions)
        self.count = nn.Linear(2 * c3, cfg.num_counts)

    @property
    def feature_dim(self) -> int:
        return 2 * self.cfg.channels[1]

    def forward(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        st = self.cfg.time_stride
        # (B, ca+cm, t, 32, 32)
        stem = torch.cat([self.appearance(video[:, :, st // 2 :: st]), self.motion_stem(video)], 1)
        tokens = self.backbone(stem)  # (B, C, t, h, w)
        b, c, t, h, w = tokens.shape
        features = torch.cat([tokens.mean((2, 3, 4)), tokens.amax((2, 3, 4))], 1).float()  # (B, 2C)
        score = self.digit_score(tokens).float().flatten(3)  # (B, 10, t, h·w)
        presence = torch.logsumexp(score.flatten(2), -1) - math.log(t * h * w)  # (B, 10)
        where = score.softmax(-1)  # (B, 10, t, h·w): per time step, where digit d is
        ys, xs = torch.meshgrid(
            torch.linspace(-1, 1, h, device=video.device), torch.linspace(-1, 1, w, device=video.device), indexing="ij"
        )
        coords = torch.stack([xs.flatten(), ys.flatten()], -1)  # (h·w, 2)
        track = where @ coords  # (B, 10, t, 2)
        track = (track - track.mean(2, keepdim=True)).flatten(2)  # (B, 10, 2t): shape of the path, not its place
        # each digit's tokens, pooled by its maps and averaged over time
        pooled = torch.einsum("bdtn,bctn->bdc", where, tokens.float().flatten(3)) / t  # (B, 10, C)
        hidden = self.slot(torch.cat([pooled, 4 * track], -1))  # (B, 10, hidden)
        return {
            "presence": presence,
            "colour": self.colour(hidden),
            "motion": self.motion(hidden),
            "count": self.count(features),
            "features": features,
            "score": score.view(b, -1, t, h, w),
        }


# ─────────────────────────────────────────── inputs ────────────────────────────────────────────


def clips_to_tensor(clips: np.ndarray | Sequence[np.ndarray] | torch.Tensor) -> torch.Tensor:
    """uint8 clips ``(B, T, H, W, 3)`` (or a list of ``(T, H, W, 3)``) → float ``(B, 3, 16, 64, 64)`` in [0, 1].

    Clips of another length or size are resampled (trilinear) to 16 × 64 × 64.
    """
    if isinstance(clips, (list, tuple)):
        if not clips:
            raise InputError("no clips to judge")
        clips = np.stack([np.asarray(c) for c in clips])
    x = torch.as_tensor(clips)
    if x.ndim == 4:
        x = x[None]
    if x.ndim != 5 or x.shape[-1] != 3 or x.dtype != torch.uint8:
        raise InputError(f"clips must be uint8 (B, T, H, W, 3); got {x.dtype} {tuple(x.shape)}")
    x = x.permute(0, 4, 1, 2, 3).float().div_(255)  # (B, 3, T, H, W)
    if tuple(x.shape[2:]) != (JUDGE_FRAMES, JUDGE_SIZE, JUDGE_SIZE):
        x = F.interpolate(x, size=(JUDGE_FRAMES, JUDGE_SIZE, JUDGE_SIZE), mode="trilinear", align_corners=False)
    return x.contiguous()


# ──────────────────────────────────────── save and load ────────────────────────────────────────


def save_judge(judge: Judge, path: str | os.PathLike = JUDGE_DIR) -> Path:
    """Write ``config.json`` + ``model.safetensors`` (float32) into ``path``, each file atomically."""
    from safetensors.torch import save as save_bytes

    from vidfuse.fileio import atomic_write_bytes, atomic_write_text

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).contiguous()
        for k, v in judge.state_dict().items()
    }
    atomic_write_bytes(path / WEIGHTS_NAME, save_bytes(state, metadata={"format": "pt", "vidfuse": "judge"}))
    atomic_write_text(path / CONFIG_NAME, json.dumps(judge.cfg.to_dict(), indent=2) + "\n")
    return path


def load_judge(
    path: str | os.PathLike | None = None, *, device: str | torch.device | None = None
) -> "Judge | JudgeEnsemble":
    """The judge in eval mode; ``None`` loads the one shipped in the package. Cached per (path, device).

    A folder with ``ensemble.json`` loads as a :class:`JudgeEnsemble` of the judge folders it lists
    (relative to it; ``"."`` is the folder itself), else as one :class:`Judge`.
    """
    from vidfuse.sysinfo import best_device

    folder = JUDGE_DIR if path is None else Path(path)
    return _load_judge(folder.resolve(), str(torch.device(device or best_device())))


@functools.lru_cache(maxsize=4)
def _load_judge(folder: Path, device: str) -> "Judge | JudgeEnsemble":
    listing = folder / ENSEMBLE_NAME
    if listing.is_file():
        members = json.loads(listing.read_text(encoding="utf-8")).get("members")
        if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
            raise InputError(
                f'{listing} must hold {{"members": [folder, ...]}} (non-empty, relative to '
                f"{folder}); got {listing.read_text(encoding='utf-8')[:200]!r}"
            )
        return JudgeEnsemble([_load_one_judge((folder / m).resolve()) for m in members]).to(device).eval()
    return _load_one_judge(folder).to(device).eval()


def _load_one_judge(folder: Path) -> Judge:
    from safetensors.torch import load_file

    if not (folder / CONFIG_NAME).is_file() or not (folder / WEIGHTS_NAME).is_file():
        raise InputError(
            f"{folder} holds no judge ({CONFIG_NAME} + {WEIGHTS_NAME}); train one with `python bench/train_judge.py`"
        )
    judge = Judge(JudgeConfig.from_dict(json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))))
    judge.load_state_dict(load_file(folder / WEIGHTS_NAME))  # strict: a mismatch is an error
    return judge


class JudgeEnsemble(nn.Module):
    """Judges trained apart (other seeds, widths), read together: same inputs and outputs as :class:`Judge`.

    ``count``, ``colour`` and ``motion`` are the members' mean log-probabilities (a product of experts;
    :func:`judge_clips` renormalises), ``presence`` their mean logit. ``features`` and ``score`` are
    the *first* member's: FD-judge is measured in one fixed feature space, so an ensemble that adds
    members changes accuracies, never an FD-judge figure.
    """

    def __init__(self, members: Sequence[Judge]):
        super().__init__()
        if not members:
            raise InputError("a judge ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.cfg = members[0].cfg

    @property
    def feature_dim(self) -> int:
        return self.members[0].feature_dim

    def forward(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        outs = [member(video) for member in self.members]
        mean = lambda key, f: torch.stack([f(o[key].float()) for o in outs]).mean(0)  # noqa: E731
        logp = lambda x: x.log_softmax(-1)  # noqa: E731
        return {
            "presence": mean("presence", lambda x: x),
            "colour": mean("colour", logp),
            "motion": mean("motion", logp),
            "count": mean("count", logp),
            "features": outs[0]["features"],
            "score": outs[0]["score"],
        }


# ─────────────────────────────────────────── verdicts ──────────────────────────────────────────

# a clip played backwards moves the other way: left ↔ right, up ↔ down; bouncing and static stay
_REVERSED_MOTION = [1, 0, 3, 2, 4, 5, 6]


@torch.no_grad()
def judge_clips(
    clips, *, judge: Judge | JudgeEnsemble | None = None, batch_size: int = 64, tta: bool = True
) -> dict[str, np.ndarray]:
    """Run the judge on uint8 clips ``(B, T, H, W, 3)`` (any T, H, W: resampled to 16 × 64 × 64).

    ``tta``: also judge each clip played backwards (its motion mapped back) and average the two
    readings (log-probabilities; presence logits). The reversed clip shows the judge other frames
    of the same glyphs, which helps on two-digit clips (figures: ``docs/decisions/evaluation.md``).
    ``features`` always come from the clip as given.

    Returns numpy arrays: ``count`` (B,) in {0 = invalid, 1, 2}; ``digits`` (B, 2) the digits read,
    ascending, -1 where fewer; ``colour`` / ``motion`` (B, 10): each digit slot's class index
    (:func:`colour_classes`, :func:`motion_classes`); ``presence`` (B, 10) logits; ``features`` (B, F).
    """
    from vidfuse.pipeline import autocast_for

    judge = judge or load_judge()
    device = next(judge.parameters()).device
    n = len(clips)
    if n == 0:
        raise InputError("no clips to judge")
    outs: dict[str, list[torch.Tensor]] = {k: [] for k in ("count", "presence", "colour", "motion", "features")}
    for i in range(0, n, batch_size):
        x = clips_to_tensor(clips[i : i + batch_size]).to(device)
        with autocast_for(device):
            out = {k: v.float() for k, v in judge(x).items()}
            back = {k: v.float() for k, v in judge(x.flip(2)).items()} if tta else None
        logp = {k: out[k].log_softmax(-1) for k in ("count", "colour", "motion")}
        presence = out["presence"]
        if back is not None:
            logp["count"] = logp["count"] + back["count"].log_softmax(-1)
            logp["colour"] = logp["colour"] + back["colour"].log_softmax(-1)
            logp["motion"] = logp["motion"] + back["motion"][..., _REVERSED_MOTION].log_softmax(-1)
            presence = (presence + back["presence"]) / 2
        for k in ("count", "colour", "motion"):
            outs[k].append(logp[k].argmax(-1))
        outs["presence"].append(presence)
        outs["features"].append(out["features"])
    res = {k: torch.cat(v).cpu().numpy() for k, v in outs.items()}
    order = np.argsort(-res["presence"], axis=1, kind="stable")[:, :2]  # the two most present digits
    digits = np.where(np.arange(2)[None] < res["count"][:, None], order, 99)
    digits = np.sort(digits, axis=1)  # ascending, the unread slots (99) last
    res["digits"] = np.where(digits == 99, -1, digits)
    return res
