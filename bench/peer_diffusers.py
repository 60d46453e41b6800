"""The peer baseline: what a user would pick instead of vidfuse — a diffusers text-to-video UNet.

    python bench/peer_diffusers.py --minutes 60 --out runs/peer          # train 60 min, then judge
    python bench/peer_diffusers.py --minutes 0.3 --eval-n 8 --batch-size 4 --out /tmp/peer_smoke

Needs the optional extra ``bench`` (``pip install -e '.[bench]'``: diffusers).

What it trains: ``diffusers.UNet3DConditionModel`` — the ModelScope text-to-video architecture (2-D
ResNet blocks + temporal 1-D convolutions, spatial self/cross-attention and temporal attention
Transformers, a temporal Transformer on the input) — built from a config, nothing downloaded, with a
``DDPMScheduler`` (ε-prediction, 1,000 steps, linear betas 1e-4…0.02, the DDPM defaults) and the
standard diffusers recipe (AdamW, linear warm-up then a constant learning rate, gradient clipping at
1.0, ``EMAModel`` weights for sampling). Sampling uses a ``DDIMScheduler`` built from the same config:
25 deterministic steps (η = 0) by default, with classifier-free guidance (``--guidance-scale``, default
3; 1 turns it off and halves the cost).

What is the same as vidfuse's default model (``configs/anchor_small.yaml`` on preset ``small``):

- **data**: Moving Digits level 1, captions in English and Chinese, drawn in the same order by the same
  ``StepBatchSampler`` and ``DataLoader`` as ``vidfuse.train.Trainer.fit`` (same seed → same clips);
- **text conditioning**: the same from-scratch tokenizer (frequent words one token each, other text by
  characters; built from the same captions) and
  the same ``ScratchTextEncoder`` (``dim`` 128, ``text_layers`` 2, 4 heads), trained jointly from
  scratch; its token outputs (B, L, 128) are the UNet's ``encoder_hidden_states``
  (``cross_attention_dim`` = 128). 10% of training captions are replaced by the empty caption (just
  begin and end markers) so that classifier-free guidance works (vidfuse drops 10% too, to a learned
  null token). Prompts are padded to the fixed ``max_text_len`` (128), as diffusers pipelines pad CLIP
  prompts to 77, because ``UNet3DConditionModel`` takes no attention mask for the text;
- **parameter count**: UNet + text encoder within ~1.5% of the whole vidfuse model (counted in the run and
  printed; ``--channels`` resizes the UNet);
- **wall-clock budget**: ``--minutes`` of training on the same machine; give it the time vidfuse's
  default training took (both phases), and run both in the same session;
- **precision**: bf16 autocast where vidfuse uses it (``vidfuse.pipeline.autocast_for``);
- **judge**: ``vidfuse.evaluate.evaluate_model`` on the same test captions (seed 0, as ``vidfuse eval``).

What differs, and why:

- **pixel space at 32 × 32** (16 frames), upsampled (bilinear) to 64 × 64 for the judge. The
  ModelScope model is a latent diffusion model, but its VAE is pretrained (a download) and training one
  would spend the peer's budget; so the peer diffuses pixels. At 64 × 64 one training step costs about
  4× more on this CPU (≈ 20 s vs ≈ 5 s a step at batch 4 on one busy core), and sampling 600 clips with
  25 guided steps would take hours, so the peer works at 32 × 32: the digits (28 px glyphs at 64)
  stay ≈ 14 px tall. The judge still reads real test clips taken through the same 64 → 32 → 64
  round trip: 98.3% joint vs 99.3% native on 300 clips; the run measures this ceiling on its own
  test clips (``judge_on_real_resampled`` in peer.json). ``--size 64`` runs the native resolution
  where the budget allows it (e.g. on a GPU);
- **the UNet's shape**: block widths (32, 64, 80, 112), one ResNet per level, cross-attention only at
  the two lowest resolutions (8 × 8 and 4 × 4 at size 32) and in the mid block — spatial attention over
  32 × 32 = 1,024 tokens a frame would dominate the step on a CPU. Heads are 8 channels wide
  (``attention_head_dim`` = 8: in ``UNet3DConditionModel`` that number is the *width* of a head in the
  blocks, and the temporal Transformer on the input gets 8 heads of it; it runs on every pixel, so the
  default 64 — 512 channels there — would dwarf everything else, and 16 costs ≈ 25% more time than 8).
  GroupNorm uses 16 groups (80 and 112 channels);
- no image conditioning: vidfuse's model also takes an optional first frame (its visual encoder is
  counted in its parameters); the peer is text-only, like the ModelScope model, and the judge asks for
  text → video only.

On CUDA the fused attention kernels are switched off (PyTorch's math kernel runs instead): on an H100
with torch 2.11, cuDNN's failed in the backward pass on the 8-wide heads and the flash/memory-efficient
ones launched too large a grid for the temporal attention (one 16-token sequence per pixel). That makes
a step about 0.46 s at batch 32 and 64 × 64 there (``bench/results/h100_peer_2026-11-26/``).
``bench/peer_vs_vidfuse.sh`` runs vidfuse's default recipe and the peer one after the other with the same
budget and judges both.

Writes ``OUT/peer.json`` (parameter counts, the UNet and scheduler configs, steps, clips seen, training
and generation clips/s, the whole ``evaluate_model`` result, the machine) and ``OUT/heldout_sheet.png``
(held-out-pair samples with the judge's reading); ``--save-weights`` also writes ``OUT/weights/``
(``unet/`` as a diffusers folder, the text encoder as safetensors, the tokenizer).

Cost here (2-core AMD EPYC, bf16, both threads, the hour-long run of 2026-11-26 in
``bench/results/cpu_peer_2026-11-26/``): a training step takes 21.8 s at batch 32 (1.47 clips/s, 165
steps in the hour; vidfuse's flow trains ≈ 60 clips/s); judging generates 0.10 clips/s (25 guided DDIM
steps = 50 UNet passes a clip, batch 50), so 300 clips took 52 minutes and 600 would take 1 h 45 min
(``--guidance-scale 1`` halves it, ``--sample-steps`` scales it, ``--eval-n`` sets the count). The training budget is
checked before each step, so training may overrun it by one step (``train_seconds`` in peer.json).

Training clips/s is counted like vidfuse's ``clips_per_s`` log (clips / time inside training steps);
``train_clips_per_s_wall`` also counts drawing the batches. Generation clips/s is ``evaluate_model``'s
``clips_per_second`` (n clips / seconds generating them).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from vidfuse.data.collate import collate  # noqa: E402
from vidfuse.data.moving_digits import MovingDigits  # noqa: E402
from vidfuse.data.tokenizer import CharTokenizer  # noqa: E402
from vidfuse.errors import InputError  # noqa: E402
from vidfuse.models.text_encoder import build_text_encoder  # noqa: E402
from vidfuse.pipeline import autocast_for, video_to_uint8  # noqa: E402
from vidfuse.train import StepBatchSampler, corpus_captions, match_video_size, resolve_config  # noqa: E402

try:
    from diffusers import DDIMScheduler, DDPMScheduler, UNet3DConditionModel
    from diffusers.training_utils import EMAModel
except ImportError as e:  # pragma: no cover - depends on the optional extra
    raise SystemExit(
        "bench/peer_diffusers.py needs diffusers: pip install -e '.[bench]'  "
        f"(or pip install 'diffusers>=0.30'); import failed: {e}"
    ) from e

DEFAULT_RECIPE = ("small", "configs/anchor_small.yaml")  # vidfuse's default model: preset + config file
NUM_FRAMES, JUDGE_SIZE = 16, 64
ATTN_LEVELS = 2  # UNet levels from the top (full resolution) without attention
HEAD_WIDTH = 8  # UNet3DConditionModel's attention_head_dim (see the module docstring)


# ---- the two models --------------------------------------------------------------------------
def vidfuse_default(level: int, seed: int):
    """(TrainConfig, dataset, tokenizer, parameter count) of vidfuse's default model, built as Trainer does."""
    from vidfuse.models.model import VidFuseModel

    root = Path(__file__).resolve().parent.parent
    cfg = resolve_config(DEFAULT_RECIPE[0], root / DEFAULT_RECIPE[1], level=[level], seed=seed)
    dataset = MovingDigits("train", level=tuple(cfg.level), lang=cfg.lang, size=10**9, seed=cfg.seed)
    tokenizer = CharTokenizer.build(
        corpus_captions(dataset), max_length=cfg.model.max_text_len, max_words=cfg.model.text_words
    )
    cfg.model.vocab_size = tokenizer.vocab_size
    with torch.random.fork_rng(devices=[]):  # counting must not move the RNG the peer is seeded with
        params = sum(p.numel() for p in VidFuseModel(cfg.model).parameters())
    return cfg, dataset, tokenizer, params


def build_unet(channels: tuple[int, ...], text_dim: int) -> UNet3DConditionModel:
    """The ModelScope UNet, small: RGB in and out (ε), cross-attention below the top ATTN_LEVELS levels."""
    n = len(channels)
    down = tuple("CrossAttnDownBlock3D" if i >= ATTN_LEVELS else "DownBlock3D" for i in range(n))
    up = tuple("CrossAttnUpBlock3D" if i >= ATTN_LEVELS else "UpBlock3D" for i in reversed(range(n)))
    groups = math.gcd(*channels, 32)
    return UNet3DConditionModel(
        in_channels=3,
        out_channels=3,
        block_out_channels=tuple(channels),
        layers_per_block=1,
        down_block_types=down,
        up_block_types=up,
        cross_attention_dim=text_dim,
        attention_head_dim=HEAD_WIDTH,
        norm_num_groups=groups,
    )


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class Peer(torch.nn.Module):
    """Text encoder + UNet; tokenisation pads every prompt to the fixed ``max_length`` (no text mask in the UNet)."""

    def __init__(self, text_encoder: torch.nn.Module, unet: UNet3DConditionModel, tokenizer: CharTokenizer, size: int):
        super().__init__()
        self.text_encoder, self.unet, self.tokenizer, self.size = text_encoder, unet, tokenizer, size

    def tokens(
        self, captions: list[str], drop: torch.Tensor | None = None, spell_p: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """ids, mask (B, max_length); rows in ``drop`` become the empty caption (begin + end markers);
        ``spell_p``: training's BPE-dropout spelling, as vidfuse's trainer (``TrainConfig.spell_p``)."""
        tok = self.tokenizer
        ids, _ = tok.encode(captions, on_overflow="truncate", spell_p=spell_p)
        full = torch.full((len(captions), tok.max_length), tok.pad_id, dtype=torch.long)
        full[:, : ids.shape[1]] = ids
        if drop is not None and drop.any():
            full[drop] = tok.pad_id
            full[drop, 0], full[drop, 1] = tok.bos_id, tok.eos_id
        return full, full != tok.pad_id

    def encode(self, captions: list[str], drop: torch.Tensor | None = None, spell_p: float = 0.0) -> torch.Tensor:
        ids, mask = self.tokens(captions, drop, spell_p)
        device = next(self.parameters()).device
        return self.text_encoder(ids.to(device), mask.to(device))  # (B, L, D)


# ---- training --------------------------------------------------------------------------------
def train(
    peer: Peer,
    dataset,
    *,
    minutes: float,
    batch_size: int,
    lr: float,
    warmup: int,
    seed: int,
    p_drop: float,
    spell_p: float,
    device: torch.device,
    log_every: int,
) -> dict:
    """Train until ``minutes`` of wall-clock are spent (checked before each step). Returns the tallies."""
    noise_sched = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", prediction_type="epsilon")
    params = [p for p in peer.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=1e-2)
    ema = EMAModel(params, decay=0.999)  # decay ramps as (1 + step) / (10 + step), as vidfuse's EMA
    sampler = StepBatchSampler(len(dataset), batch_size, seed=seed, start_step=0, steps=10**9)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, collate_fn=collate, num_workers=0, generator=torch.Generator().manual_seed(seed)
    )
    budget = minutes * 60
    step, clips, step_s, losses = 0, 0, 0.0, []
    peer.train()
    t_start = time.perf_counter()
    for videos, captions, _ in loader:
        if time.perf_counter() - t_start >= budget:
            break
        t0 = time.perf_counter()
        x0 = match_video_size(videos.to(device), NUM_FRAMES, peer.size, peer.size)  # (B, 3, T, s, s), area
        b = x0.shape[0]
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (step + 1) / max(1, warmup))
        noise = torch.randn_like(x0)
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (b,), device=device)
        xt = noise_sched.add_noise(x0, noise, t)
        with autocast_for(device):
            h = peer.encode(captions, drop=torch.rand(b) < p_drop, spell_p=spell_p)
            eps = peer.unet(xt, t, encoder_hidden_states=h).sample
        loss = F.mse_loss(eps.float(), noise)
        if not torch.isfinite(loss):
            raise RuntimeError(f"loss became {loss.item()} at step {step}; lower --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema.step(params)
        step += 1
        clips += b
        dt = time.perf_counter() - t0
        step_s += dt
        losses.append(loss.item())
        if step <= 3 or step % log_every == 0:
            print(
                f"step {step}  loss {np.mean(losses[-log_every:]):.4f}  {dt:.2f} s/step  "
                f"{time.perf_counter() - t_start:.0f}/{budget:.0f} s",
                flush=True,
            )
    wall = time.perf_counter() - t_start
    ema.copy_to(params)  # sample with the EMA weights, as vidfuse does
    peer.eval()
    return dict(
        steps=step,
        clips_seen=clips,
        train_seconds=round(wall, 2),
        step_seconds=round(step_s, 2),
        s_per_step=round(step_s / max(1, step), 3),
        train_clips_per_s=round(clips / max(step_s, 1e-9), 3),
        train_clips_per_s_wall=round(clips / max(wall, 1e-9), 3),
        final_loss=round(float(np.mean(losses[-50:])), 4) if losses else None,
        scheduler=dict(noise_sched.config),
    )


# ---- generation ------------------------------------------------------------------------------
class PeerGenerator:
    """``f(prompts, image=None, *, seed, num_frames) -> uint8 (B, T, 64, 64, 3)``, what ``evaluate_model`` calls."""

    def __init__(self, peer: Peer, scheduler_config, *, steps: int, guidance_scale: float, device: torch.device):
        self.peer, self.steps, self.guidance_scale, self.device = peer, steps, guidance_scale, device
        self.scheduler = DDIMScheduler.from_config(scheduler_config)

    @torch.no_grad()
    def __call__(
        self, prompts, image=None, *, seed: int = 0, num_frames: int = NUM_FRAMES, guidance_scale: float | None = None
    ) -> np.ndarray:
        if image is not None:
            raise InputError("the diffusers peer is text-only; it takes no first frame")
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        w = self.guidance_scale if guidance_scale is None else guidance_scale
        b, s = len(prompts), self.peer.size
        gen = torch.Generator(device="cpu").manual_seed(seed)
        x = torch.randn(b, 3, num_frames, s, s, generator=gen).to(self.device)
        guided = w != 1.0
        with autocast_for(self.device):
            h = self.peer.encode(prompts)
            if guided:  # conditional and unconditional (empty caption) branches in one batch
                h = torch.cat([h, self.peer.encode(prompts, drop=torch.ones(b, dtype=torch.bool))])
        sched = self.scheduler
        sched.set_timesteps(self.steps, device=self.device)
        for t in sched.timesteps:
            with autocast_for(self.device):
                eps = self.peer.unet(torch.cat([x, x]) if guided else x, t, encoder_hidden_states=h).sample.float()
            if guided:
                eps_c, eps_u = eps.chunk(2)
                eps = eps_u + w * (eps_c - eps_u)
            x = sched.step(eps, t, x, eta=0.0).prev_sample
        if s != JUDGE_SIZE:  # (B, 3, T, s, s) → (B, 3, T, 64, 64), frame by frame
            x = F.interpolate(x, size=(num_frames, JUDGE_SIZE, JUDGE_SIZE), mode="trilinear", align_corners=False)
        return video_to_uint8(x)


def judge_resampled_real(n: int, *, level: int, size: int) -> dict | None:
    """The judge on the real test clips after the peer's resolution round trip (64 → size, area → 64,
    trilinear): the best score a perfect peer could get. None at the native size."""
    from vidfuse.evaluate import judge_clips, real_test_clips, score_clips, summarise_scores

    if size == JUDGE_SIZE:
        return None
    real, _, attrs = real_test_clips(n, level=level, seed=0)
    x = torch.as_tensor(real).permute(0, 4, 1, 2, 3).float()  # (B, 3, T, 64, 64), 0…255
    x = match_video_size(x, NUM_FRAMES, size, size)
    x = F.interpolate(x, size=(NUM_FRAMES, JUDGE_SIZE, JUDGE_SIZE), mode="trilinear", align_corners=False)
    clips = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 4, 1).numpy()
    return summarise_scores(score_clips(judge_clips(clips), attrs))


# ---- main ------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, required=True, help="wall-clock training budget")
    ap.add_argument("--batch-size", type=int, default=32, help="clips a step (vidfuse's default: 32)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--warmup-steps", type=int, default=50)
    ap.add_argument("--eval-n", type=int, default=600, help="test captions to judge (as `vidfuse eval --n`)")
    ap.add_argument("--eval-batch", type=int, default=32)
    ap.add_argument("--level", type=int, default=1, choices=(1, 2))
    ap.add_argument("--seed", type=int, default=0, help="training seed (the test captions always use seed 0)")
    ap.add_argument("--size", type=int, default=32, help="frame size the UNet works at (64 = native)")
    ap.add_argument("--channels", default="32,64,80,112", help="UNet block widths")
    ap.add_argument("--sample-steps", type=int, default=25, help="DDIM steps")
    ap.add_argument("--guidance-scale", type=float, default=3.0, help="classifier-free guidance (1 = off)")
    ap.add_argument("--p-drop-text", type=float, default=0.1, help="caption dropout (for guidance)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--save-weights", action="store_true", help="also write OUT/weights/")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if JUDGE_SIZE % args.size or args.size % 2 ** (len(args.channels.split(",")) - 1):
        ap.error(f"--size must divide {JUDGE_SIZE} and be divisible by 2^(levels-1)")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        # the fused attention kernels failed here (torch 2.11, H100): cuDNN's in its backward on 8-wide heads,
        # and the others launch too large a grid for the temporal attention (one sequence per pixel:
        # 32 × 64 × 64 × heads); with 16-token sequences the plain (math) kernel costs little
        for backend in ("cudnn", "flash", "mem_efficient"):
            getattr(torch.backends.cuda, f"enable_{backend}_sdp")(False)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    cfg, dataset, tokenizer, vidfuse_params = vidfuse_default(args.level, args.seed)
    text_encoder = build_text_encoder(
        cfg.model
    )  # scratch: no pretrained backbone to load  # the same class and config as vidfuse's default
    unet = build_unet(tuple(int(c) for c in args.channels.split(",")), cfg.model.dim)
    peer = Peer(text_encoder, unet, tokenizer, args.size).to(device)
    n_unet, n_text = count(unet), count(text_encoder)
    ratio = (n_unet + n_text) / vidfuse_params
    print(f"machine: {machine()}")
    print(
        f"parameters: peer {(n_unet + n_text) / 1e6:.3f} M (UNet {n_unet / 1e6:.3f} M + text encoder "
        f"{n_text / 1e6:.3f} M)  vs  vidfuse default {vidfuse_params / 1e6:.3f} M  ({100 * (ratio - 1):+.1f}%)"
    )
    if abs(ratio - 1) > 0.1:
        print("warning: parameter counts differ by more than 10%; adjust --channels", flush=True)
    print(
        f"training {args.minutes:g} min at batch {args.batch_size}, {args.size}x{args.size}x{NUM_FRAMES} pixels, "
        f"lr {args.lr:g}",
        flush=True,
    )

    tally = train(
        peer,
        dataset,
        minutes=args.minutes,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup=args.warmup_steps,
        seed=args.seed,
        p_drop=args.p_drop_text,
        spell_p=cfg.spell_p,
        device=device,
        log_every=args.log_every,
    )
    print(
        f"trained {tally['steps']} steps, {tally['clips_seen']} clips, {tally['s_per_step']} s/step, "
        f"{tally['train_clips_per_s']} clips/s",
        flush=True,
    )

    from vidfuse.evaluate import evaluate_model, fd_summary

    args.out.mkdir(parents=True, exist_ok=True)
    noise_scheduler = tally.pop("scheduler")
    generator = PeerGenerator(
        peer, noise_scheduler, steps=args.sample_steps, guidance_scale=args.guidance_scale, device=device
    )
    print(
        f"judging {args.eval_n} clips ({args.sample_steps} DDIM steps, guidance {args.guidance_scale:g})…", flush=True
    )
    result = evaluate_model(
        generator,
        n=args.eval_n,
        level=args.level,
        seed=0,
        batch_size=args.eval_batch,
        sheet=args.out / "heldout_sheet.png",
    )

    ceiling = judge_resampled_real(args.eval_n, level=args.level, size=args.size)
    g = {k: (v["joint"] if v["joint"] is not None else float("nan")) for k, v in result["groups"].items()}
    report = {
        "system": "diffusers UNet3DConditionModel + DDPM (peer)",
        "params": {
            "unet": n_unet,
            "text_encoder": n_text,
            "total": n_unet + n_text,
            "vidfuse_default": vidfuse_params,
            "ratio": round(ratio, 4),
        },
        "unet_config": {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in unet.config.items() if not k.startswith("_")
        },
        "training": tally
        | {
            "minutes_budget": args.minutes,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "warmup_steps": args.warmup_steps,
            "size": args.size,
            "seed": args.seed,
            "p_drop_text": args.p_drop_text,
            "level": args.level,
        },
        "noise_scheduler": {k: v for k, v in noise_scheduler.items() if not k.startswith("_")},
        "sampling": {
            "scheduler": "DDIMScheduler",
            "steps": args.sample_steps,
            "guidance_scale": args.guidance_scale,
            "eta": 0.0,
        },
        "train_clips_per_s": tally["train_clips_per_s"],
        "generate_clips_per_s": result["clips_per_second"],
        "eval": result,
        "judge_on_real_resampled": ceiling,
        "machine": machine(),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    (args.out / "peer.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.save_weights:
        from safetensors.torch import save_file

        w = args.out / "weights"
        unet.save_pretrained(w / "unet")
        save_file({k: v.contiguous() for k, v in text_encoder.state_dict().items()}, w / "text_encoder.safetensors")
        tokenizer.save(w)
    print(
        f"peer: joint all {g['all']:.3f} · held-out en {g['held_out/en']:.3f} · "
        f"held-out zh {g['held_out/zh']:.3f} · seen {g['seen']:.3f} · "
        f"{fd_summary(result)} · "
        + (f"ceiling at {args.size} px {ceiling['joint']:.3f} · " if ceiling else "")
        + f"train {tally['train_clips_per_s']:.2f} clips/s · generate {result['clips_per_second']:.2f} clips/s"
    )
    print(f"wrote {args.out / 'peer.json'}")


if __name__ == "__main__":
    main()
