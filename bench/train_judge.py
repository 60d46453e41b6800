"""Train one judge (vidfuse/evaluate.py) on real Moving Digits clips and write it to a folder.

    .venv/bin/python bench/train_judge.py            # member 0: 4,500 steps × 48, 32 min on the 2-core machine
    python3 bench/train_judge.py --device cuda --steps 1000000 --minutes 4.4 --batch-size 64 --workers 14 \
        --seed 3 --stem 32,8 --channels 64,128 --out vidfuse/judge_model/members/3   # member 3, on an H100
    .venv/bin/python bench/train_judge.py --eval-only   # score the shipped ensemble (writes ensemble.json)

The shipped judge is an ensemble (``vidfuse/judge_model/ensemble.json``; results and the members' logs in
``bench/results/judge_ensemble_2026-11-26/``). On a GPU the clip renderer is the bottleneck (≈ 460 clips/s
per CPU core), so ``--workers`` sets the pace; ``--minutes`` runs the learning-rate cosine over a
wall-clock budget instead of a step count.

The judge must know every (digit, motion) pair, held-out ones included, while never seeing a test
glyph: so its clips are drawn here with the dataset's own functions — ``sample_attributes`` for
positions, speeds and motions, ``render_clip`` for the pixels — from the *train* glyphs, with the
digit (and colour) redrawn uniformly so that all 60 pairs and 7 colours are equally common. Glyphs
are augmented (small affine + elastic warps, stroke width, brightness): 4,000 train glyphs are few
for ≥ 99% on unseen ones. Every batch is fresh (no epochs). Mixed in: frozen clips (motion
``static``) and black / noise / plain clips (count ``invalid``). It ends by scoring the judge on
real test clips (test glyphs, seen and held-out pairs, levels 1 and 2) and writes the numbers beside
the weights (``training.json``: time, machine, accuracy).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from vidfuse.data.moving_digits import (
    COLOURS,
    GLYPH_SIZE,
    MOTIONS,
    load_glyph_bank,  # noqa: E402
    render_clip,
    sample_attributes,
)
from vidfuse.evaluate import (
    ENSEMBLE_NAME,
    INVALID_KINDS,
    JUDGE_DIR,
    Judge,
    JudgeConfig,
    clips_to_tensor,  # noqa: E402
    freeze,
    invalid_clips,
    judge_clips,
    load_judge,
    occluded,
    real_test_clips,
    save_judge,
    score_clips,
    summarise_scores,
)
from vidfuse.fileio import atomic_write_text  # noqa: E402

COLOUR_NAMES = tuple(COLOURS)
IGNORE = -100
TOKEN_WEIGHT = torch.tensor([3.0] * 10 + [1.0])  # a digit's token counts 3× a background token
NEAR = 1.2  # tokens whose centre is this close (in tokens) to a digit's centre are labelled with it


def augment_glyphs(glyphs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """(n, 28, 28) in [0, 1] → randomly warped copies: affine (rotate ±12°, scale, shear), elastic, stroke,
    brightness."""
    n = glyphs.shape[0]
    u = lambda lo, hi: torch.rand(n, generator=gen) * (hi - lo) + lo  # noqa: E731
    angle, scale, aspect, shear = u(-0.21, 0.21), u(0.85, 1.05), u(0.9, 1.1), u(-0.25, 0.25)
    sx, sy = scale * aspect.sqrt(), scale / aspect.sqrt()
    cos, sin = angle.cos(), angle.sin()
    # the matrix maps output to input coordinates; its parameters are drawn symmetrically, so it is as
    # random a warp as its inverse would be
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos / sx, (-sin + shear) / sx
    theta[:, 1, 0], theta[:, 1, 1] = sin / sy, cos / sy
    theta[:, :, 2] = (torch.rand(n, 2, generator=gen) - 0.5) * 0.1
    grid = F.affine_grid(theta, (n, 1, GLYPH_SIZE, GLYPH_SIZE), align_corners=False)
    # elastic: a smooth random displacement field, ≈ 0.5 px typical, rarely over 1.5 px
    field = torch.randn(n, 2, 5, 5, generator=gen) * u(0.0, 0.035)[:, None, None, None]
    grid = grid + F.interpolate(field, size=(GLYPH_SIZE, GLYPH_SIZE), mode="bicubic", align_corners=False).permute(
        0, 2, 3, 1
    )
    out = F.grid_sample(glyphs[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # stroke width: blend with a dilated / eroded copy
    stroke = torch.rand(n, generator=gen)
    grown = F.max_pool2d(out, 3, 1, 1)
    shrunk = -F.max_pool2d(-out, 3, 1, 1)
    mix = u(0.3, 0.6)[:, None, None, None]
    out = torch.where((stroke < 0.15)[:, None, None, None], (1 - mix) * out + mix * grown, out)
    out = torch.where((stroke > 0.85)[:, None, None, None], (1 - mix) * out + mix * shrunk, out)
    dim = torch.where(torch.rand(n, generator=gen) < 0.3, u(0.7, 1.0), torch.ones(n))
    return (out[:, 0] * dim[:, None, None]).clamp(0, 1)


# BT.709 RGB → (Y, Cb, Cr), as vidfuse's MP4 writer tags and converts it
_TO_YCC = np.array([[0.2126, 0.7152, 0.0722], [-0.1146, -0.3854, 0.5], [0.5, -0.4542, -0.0458]], np.float32)


def yuv420(clips: np.ndarray) -> np.ndarray:
    """What H.264 ``yuv420p`` does to colours: chroma averaged over 2×2 pixels and interpolated back.
    Thin coloured strokes lose saturation this way (yellow drifts towards white), so a judge of
    exported MP4s must have seen it."""
    ycc = clips.astype(np.float32) @ _TO_YCC.T  # (B, T, H, W, 3): Y, Cb, Cr
    b, t, h, w, _ = ycc.shape
    chroma = torch.from_numpy(ycc[..., 1:]).reshape(b * t, h, w, 2).permute(0, 3, 1, 2)
    chroma = F.interpolate(F.avg_pool2d(chroma, 2), size=(h, w), mode="bilinear", align_corners=False)
    ycc[..., 1:] = chroma.permute(0, 2, 3, 1).reshape(b, t, h, w, 2).numpy()
    return np.clip(ycc @ np.linalg.inv(_TO_YCC).T + 0.5, 0, 255).astype(np.uint8)


def synth_batch(
    rng: np.random.Generator,
    gen: torch.Generator,
    n: int,
    bank,
    *,
    grid: tuple[int, int, int],
    p_level2: float = 0.5,
    p_frozen: float = 0.1,
    p_invalid: float = 0.08,
    augment: bool = True,
):
    """A training batch: uint8 clips (n, 16, 64, 64, 3) and targets (count, presence, colour, motion, where).

    ``where`` (n, t, h, w) labels the judge's token grid ``grid``: tokens within ``NEAR`` tokens of a
    digit's centre (averaged over the frames of their time step) get that digit (the nearer one where
    two digits meet), the rest 10 (background). Dense labels teach the digit classifier far faster
    than the clip-level presence alone.
    """
    # fixed shares per batch, so that BatchNorm's batch statistics match its running ones
    n_invalid = round(n * p_invalid)
    n_real = n - n_invalid
    levels = rng.permutation(np.repeat([1, 2], [n_real - round(n_real * p_level2), round(n_real * p_level2)]))
    attrs_list, glyph_ids = [], []
    for level in levels:
        level = int(level)
        attrs = sample_attributes(rng, "train", level, glyph_bank=bank)  # positions, speeds, motions
        digits = [int(d) for d in rng.choice(10, size=level, replace=False)]  # every (digit, motion) pair
        attrs["digits"] = digits
        attrs["colours"] = [COLOUR_NAMES[i] for i in rng.integers(len(COLOUR_NAMES), size=level)]
        pools = [bank.pool("train", d) for d in digits]
        glyph_ids += [int(p[rng.integers(len(p))]) for p in pools]
        attrs_list.append(attrs)
    glyphs = torch.from_numpy(bank.images[glyph_ids])
    if augment:
        glyphs = augment_glyphs(glyphs, gen)
    warped = types.SimpleNamespace(images=glyphs.numpy())  # render_clip reads only .images
    clips = np.empty((n, 16, 64, 64, 3), np.uint8)
    count = np.zeros(n, np.int64)
    presence = np.zeros((n, 10), np.float32)
    colour = np.full((n, 10), IGNORE, np.int64)
    motion = np.full((n, 10), IGNORE, np.int64)
    frozen = rng.permutation(n_real) < round(n_real * p_frozen)
    gt, gh, gw = grid
    where = np.full((n, gt, gh, gw), 10, np.int64)
    ty, tx = np.meshgrid(np.arange(gh) + 0.5, np.arange(gw) + 0.5, indexing="ij")
    token_centres = np.stack([tx.ravel(), ty.ravel()], -1)  # (h·w, 2) as (x, y)
    j = 0
    for i, attrs in enumerate(attrs_list):
        level = len(attrs["digits"])
        attrs["glyph_indices"] = list(range(j, j + level))
        j += level
        clips[i] = render_clip(attrs, warped)
        count[i] = level
        pos = np.asarray(attrs["positions"], np.float32)  # (T, n, 2) top-left corners (x, y)
        if frozen[i]:
            pos = np.repeat(pos[:1], len(pos), axis=0)
        # each digit's centre per time step, in token units: (t, n, 2) as (x, y)
        centre = (pos.reshape(gt, -1, level, 2).mean(1) + GLYPH_SIZE / 2) / 64 * [gw, gh]
        dist = np.linalg.norm(token_centres[:, None, None] - centre[None], axis=-1)  # (h·w, t, n)
        nearest = dist.argmin(-1)  # (h·w, t)
        label = np.where(dist.min(-1) < NEAR, np.asarray(attrs["digits"])[nearest], 10)  # (h·w, t)
        where[i] = label.T.reshape(gt, gh, gw)
        for d, c, m in zip(attrs["digits"], attrs["colours"], attrs["motions"]):
            presence[i, d] = 1
            colour[i, d] = COLOUR_NAMES.index(c)
            motion[i, d] = 6 if frozen[i] else MOTIONS.index(m)
    clips[:n_real][frozen] = freeze(clips[:n_real][frozen])
    if n_invalid:
        kinds = np.resize(rng.permutation(INVALID_KINDS), n_invalid)
        for kind in set(kinds):
            idx = n_real + np.flatnonzero(kinds == kind)
            clips[idx] = invalid_clips(str(kind), len(idx), rng)
    if augment:  # MP4 chroma on a third of the clips, mild sensor noise on another third
        squeezed = np.flatnonzero(rng.random(n) < 0.3)
        if len(squeezed):
            clips[squeezed] = yuv420(clips[squeezed])
        noisy = np.flatnonzero(rng.random(n) < 0.3)
        if len(noisy):
            sigma = rng.uniform(1, 10, (len(noisy), 1, 1, 1, 1)).astype(np.float32)
            noise = rng.standard_normal(clips[noisy].shape, dtype=np.float32) * sigma
            clips[noisy] = np.clip(clips[noisy] + noise, 0, 255)
    return (
        clips,
        torch.from_numpy(count),
        torch.from_numpy(presence),
        torch.from_numpy(colour),
        torch.from_numpy(motion),
        torch.from_numpy(where),
    )


class JudgeStream(torch.utils.data.IterableDataset):
    """An endless stream of training batches, drawn in a worker process while the judge trains."""

    def __init__(self, batch_size: int, seed: int, grid: tuple[int, int, int]):
        super().__init__()
        self.batch_size, self.seed, self.grid = batch_size, seed, grid

    def __iter__(self):
        torch.set_num_threads(1)
        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0  # each data worker draws its own stream
        rng, gen = np.random.default_rng([self.seed, 1, wid]), torch.Generator().manual_seed(self.seed * 1000 + wid)
        bank = load_glyph_bank()
        while True:
            clips, *targets = synth_batch(rng, gen, self.batch_size, bank, grid=self.grid)
            yield (clips_to_tensor(clips), *targets)


def judge_loss(out: dict, count, presence, colour, motion, where) -> tuple[torch.Tensor, dict]:
    score = out["score"]  # (B, 10, t, h, w); background's logit is 0
    token_logits = torch.cat([score, torch.zeros_like(score[:, :1])], 1)
    l_where = F.cross_entropy(token_logits, where, weight=TOKEN_WEIGHT.to(score.device))
    l_count = F.cross_entropy(out["count"], count)
    l_presence = F.binary_cross_entropy_with_logits(out["presence"], presence)
    l_colour = F.cross_entropy(out["colour"].flatten(0, 1), colour.flatten(), ignore_index=IGNORE)
    l_motion = F.cross_entropy(out["motion"].flatten(0, 1), motion.flatten(), ignore_index=IGNORE)
    total = l_count + 10 * l_presence + l_colour + l_motion + l_where
    return total, {
        "count": l_count.item(),
        "presence": l_presence.item(),
        "where": l_where.item(),
        "colour": l_colour.item(),
        "motion": l_motion.item(),
    }


def score(judge: Judge, n: int) -> dict:
    """Accuracy on real test clips: ``n`` per level, drawn as four seeds of ``n / 4`` (seeds 1-4)."""
    out = {"real_test_clips_per_level": n}
    for level in (1, 2):
        clips, attrs = [], []
        for seed in range(1, 5):
            c, _, a = real_test_clips(n // 4, level=level, seed=seed)
            clips.append(c)
            attrs += a
        scores = score_clips(judge_clips(np.concatenate(clips), judge=judge), attrs)
        held = np.array([a["held_out"] for a in attrs])
        report = {
            "all": summarise_scores(scores),
            "seen": summarise_scores(scores, ~held),
            "held_out": summarise_scores(scores, held),
        }
        if level == 2:
            report["separable"] = summarise_scores(scores, ~np.array([occluded(a) for a in attrs]))
        out[f"level{level}"] = report
        print(f"level {level}: " + json.dumps(report), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=4500)
    ap.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="wall-clock budget: the learning-rate cosine runs over whichever of --steps or this ends first",
    )
    ap.add_argument("--batch-size", type=int, default=48)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="compute threads; the data worker takes another core")
    ap.add_argument("--workers", type=int, default=1, help="data worker processes (1 on the 2-core machine)")
    ap.add_argument("--device", type=str, default="cpu", help="cpu or cuda")
    ap.add_argument("--stem", type=str, default="24,8", help="appearance,motion stem channels")
    ap.add_argument("--channels", type=str, default="48,96")
    ap.add_argument("--blocks", type=str, default="1,1,2")
    ap.add_argument("--eval-n", type=int, default=4000, help="real test clips per level for the final score")
    ap.add_argument("--out", type=Path, default=JUDGE_DIR)
    ap.add_argument(
        "--eval-only",
        action="store_true",
        help="only score the judge in --out (an ensemble too) and update its record (ensemble.json or training.json)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.eval_only:  # an ensemble's score goes beside its member list, a single judge's beside its weights
        record_file = args.out / (ENSEMBLE_NAME if (args.out / ENSEMBLE_NAME).is_file() else "training.json")
        record = json.loads(record_file.read_text())
        t0 = time.perf_counter()
        record.update(score(load_judge(args.out, device="cpu"), args.eval_n))
        record["score_seconds"], record["score_machine"] = round(time.perf_counter() - t0, 1), machine()
        atomic_write_text(record_file, json.dumps(record, indent=2) + "\n")
        return
    torch.manual_seed(args.seed)
    ints = lambda text: tuple(int(c) for c in text.split(","))  # noqa: E731
    cfg = JudgeConfig(stem=ints(args.stem), channels=ints(args.channels), blocks=ints(args.blocks))
    device = torch.device(args.device)
    judge = Judge(cfg).to(device, memory_format=torch.channels_last_3d)  # ≈ 25% faster convolutions on this CPU
    n_params = sum(p.numel() for p in judge.parameters())
    print(f"judge: {n_params:,} parameters; {machine()}", flush=True)
    opt = torch.optim.AdamW(judge.parameters(), lr=args.lr, weight_decay=1e-4)
    warmup, budget_s = 100, (args.minutes or math.inf) * 60

    def progress(step: int) -> float:  # 0 → 1 over the run: by steps or by wall-clock, whichever is further
        return min(1.0, max(step / args.steps, (time.perf_counter() - t0) / budget_s))

    with torch.no_grad():
        grid = tuple(
            judge.eval()(torch.zeros(1, 3, 16, 64, 64, device=device))["score"].shape[2:]
        )  # the token grid (t, h, w)
    stream = iter(
        torch.utils.data.DataLoader(
            JudgeStream(args.batch_size, args.seed, grid),
            batch_size=None,
            num_workers=args.workers,
            prefetch_factor=4,
            persistent_workers=True,
        )
    )
    t0, t_data = time.perf_counter(), 0.0
    judge.train()
    step = 0
    while progress(step) < 1.0:
        for group in opt.param_groups:
            group["lr"] = args.lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * progress(step)))
        td = time.perf_counter()
        x, *targets = (t.to(device, non_blocking=True) for t in next(stream))
        x = x.contiguous(memory_format=torch.channels_last_3d)
        t_data += time.perf_counter() - td
        with torch.autocast(device.type, dtype=torch.bfloat16):
            out = judge(x)
        loss, parts = judge_loss(out, *targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 1 or progress(step) >= 1.0:
            el = time.perf_counter() - t0
            print(
                f"step {step:5d} loss {loss.item():.4f} "
                + " ".join(f"{k} {v:.4f}" for k, v in parts.items())
                + f" | {el:.0f}s, {step * args.batch_size / el:.0f} clips/s, data {t_data / el:.0%}",
                flush=True,
            )
    train_s = time.perf_counter() - t0
    judge.eval()
    metrics = {
        "train_seconds": round(train_s, 1),
        "steps": step,
        "batch_size": args.batch_size,
        "clips_seen": step * args.batch_size,
        "seed": args.seed,
        "lr": args.lr,
        "parameters": n_params,
        "machine": machine(),
    }
    save_judge(judge, args.out)
    metrics.update(score(judge, args.eval_n))
    atomic_write_text(args.out / "training.json", json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {args.out} in {train_s:.0f}s of training", flush=True)


if __name__ == "__main__":
    main()
