"""A real-size open video model on this machine: Wan 2.1 T2V 1.3B's denoising Transformer, random weights.

    python bench/diffusers_real_size.py [--frames 9] [--size 128] [--dtypes float32,bfloat16] [--steps 2]

No pretrained weights ship offline, so this measures what does not depend on them: the Transformer's weight
memory per dtype (``--dtype``) and the seconds of one denoising step (one forward; classifier-free guidance
doubles it) at a small clip size, on this machine's device. The text encoder (UMT5-XXL, 5.7 B parameters)
and the VAE are left out: their cost is paid once per prompt / once per clip, not per step. Offload modes
(``--offload model|sequential|group``) move weights to a GPU and need one; on a CPU they are refused.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

# Wan-AI/Wan2.1-T2V-1.3B-Diffusers, transformer/config.json
WAN_1_3B = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=12,
    attention_head_dim=128,
    in_channels=16,
    out_channels=16,
    text_dim=4096,
    freq_dim=256,
    ffn_dim=8960,
    num_layers=30,
    cross_attn_norm=True,
    qk_norm="rms_norm_across_heads",
    eps=1e-6,
    rope_max_seq_len=1024,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=9, help="clip frames (4k + 1)")
    ap.add_argument("--size", type=int, default=128, help="clip height = width (a multiple of 16)")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--steps", type=int, default=2, help="timed forwards after one untimed")
    args = ap.parse_args()
    from diffusers import WanTransformer3DModel

    print(machine())
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.perf_counter()
    with torch.device("meta"):
        model = WanTransformer3DModel(**WAN_1_3B)
    model = model.to_empty(device=device)
    for p in model.parameters():  # random weights of a sane scale; the values do not change the cost
        torch.nn.init.normal_(p, std=0.02)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"Wan 2.1 1.3B Transformer: {n_params / 1e9:.2f} B parameters, built in {time.perf_counter() - t0:.0f} s")
    latent_t, latent_hw = (args.frames - 1) // 4 + 1, args.size // 8  # the Wan VAE: 4x in time, 8x in space
    tokens = latent_t * (latent_hw // 2) ** 2
    for name in args.dtypes.split(","):
        dtype = getattr(torch, name)
        model = model.to(dtype)
        weights_gb = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e9
        x = torch.randn(1, 16, latent_t, latent_hw, latent_hw, device=device, dtype=dtype)
        text = torch.randn(1, 512, 4096, device=device, dtype=dtype)
        t = torch.tensor([500], device=device)
        with torch.no_grad():
            model(x, t, text, return_dict=False)
            start = time.perf_counter()
            for _ in range(args.steps):
                model(x, t, text, return_dict=False)
            step_s = (time.perf_counter() - start) / args.steps
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(
            f"{name}: weights {weights_gb:.2f} GB; {args.frames} frames at {args.size}x{args.size} ({tokens} "
            f"tokens): {step_s:.2f} s a denoising step ({2 * step_s:.2f} s with guidance); peak RSS so far "
            f"{peak_gb:.1f} GB"
        )


if __name__ == "__main__":
    main()
