"""How much does the e5 adapter's reading of unseen English wording depend on its seed, and what narrows it?

    .venv/bin/python bench/adapter_spread.py --variants base,tokdrop --seeds 0,1,2 --steps 1500

A probe, not a video model (like ``bench/text_probe.py``): frozen e5 → the adapter of
:class:`vidfuse.models.text_encoder.PretrainedTextEncoder` (per-dimension standardisation, projection to 128,
two Transformer blocks) → masked mean → linear heads for digit, colour and motion, trained on the captions the
distillation's last stage hands its student (templates, the paraphrase grammar at 75%, short wordings at 25%,
English and Chinese; :func:`vidfuse.train.distil_text._student_captions`) and scored on caption sets written by
people who never saw that grammar. e5's states are computed once for a fixed pool of training captions, so a
probe trains in seconds and many seeds fit in minutes. Variants:

- ``base``: as the distillation's student;
- ``tokdrop``: each token's state is left out of the adapter's attention with probability 0.15 in training;
- ``wd``: AdamW with weight decay 0.1.

Prints, per variant and seed, each set's accuracy (all three right) and motion accuracy at a few steps, then the
spread over seeds. Writes nothing. The sets it reads are the ones already read (v1, v2, v5); held-out sets stay
for the real model.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from vidfuse.data.e5 import get_tokenizer, load_e5
from vidfuse.data.moving_digits import COLOURS, MOTIONS, load_glyph_bank, sample_attributes
from vidfuse.models.layers import TransformerBlock
from vidfuse.train.distil_text import _student_captions

BENCH = Path(__file__).resolve().parent
SETS = {"v1": "novel_captions.jsonl", "v2": "novel_captions_v2.jsonl", "v5": "novel_captions_v5.jsonl"}


def pool(n: int, seed: int = 5):
    """``n`` training captions as the last distillation stage draws them, with their labels."""
    bank = load_glyph_bank()
    caps, ys = [], []
    for i in range(n):
        attrs = sample_attributes(np.random.default_rng([seed, i]), "train", 1, glyph_bank=bank)
        cap, _ = _student_captions(attrs, i, 0.75, seed, contrast=None, short=0.25)
        caps.append(cap)
        ys.append((attrs["digits"][0], list(COLOURS).index(attrs["colours"][0]), MOTIONS.index(attrs["motions"][0])))
    return caps, torch.tensor(ys)


def read_set(name: str):
    rows = [json.loads(line) for line in (BENCH / SETS[name]).read_text().splitlines() if line.strip()]
    ys = [(r["digit"], list(COLOURS).index(r["colour"]), MOTIONS.index(r["motion"])) for r in rows]
    return [r["caption"] for r in rows], torch.tensor(ys)


@torch.no_grad()
def states(e5, tok, caps, batch=64):
    """e5's last hidden states, padded to the pool's longest caption: (N, L, 384) and the mask (N, L)."""
    hs, ms = [], []
    for i in range(0, len(caps), batch):
        ids, m = tok(caps[i : i + batch])
        hs.append(e5(ids, m).last_hidden_state)
        ms.append(m.bool())
    width = max(h.shape[1] for h in hs)
    h = torch.cat([F.pad(x, (0, 0, 0, width - x.shape[1])) for x in hs])
    m = torch.cat([F.pad(x, (0, width - x.shape[1])) for x in ms])
    return h, m


class Probe(nn.Module):
    def __init__(self, mu, sd, tokdrop: float = 0.0):
        super().__init__()
        self.register_buffer("mu", mu)
        self.register_buffer("sd", sd)
        self.tokdrop = tokdrop
        self.proj = nn.Linear(384, 128)
        self.blocks = nn.ModuleList(TransformerBlock(128, 4) for _ in range(2))
        self.out = nn.LayerNorm(128)
        self.heads = nn.ModuleList([nn.Linear(128, 10), nn.Linear(128, len(COLOURS)), nn.Linear(128, len(MOTIONS))])

    def forward(self, h, m):
        if self.training and self.tokdrop > 0:
            keep = torch.rand(m.shape) >= self.tokdrop
            keep[:, 0] = True  # never an empty caption
            m = m & keep
        x = self.proj((h - self.mu) / (self.sd + 1e-6))
        for b in self.blocks:
            x = b(x, mask=m)
        x = self.out(x)
        w = m.float()[..., None]
        p = (x * w).sum(1) / w.sum(1)
        return [hd(p) for hd in self.heads]


def scores(probe, h, m, y):
    probe.eval()
    with torch.no_grad():
        pred = torch.stack([o.argmax(-1) for o in probe(h, m)], 1)
    probe.train()
    return (pred == y).all(1).float().mean().item(), (pred[:, 2] == y[:, 2]).float().mean().item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", default="base,tokdrop")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--pool", type=int, default=8000)
    ap.add_argument("--sets", default="v1,v2,v5")
    args = ap.parse_args()
    torch.set_num_threads(2)
    e5, tok = load_e5(), get_tokenizer()
    t0 = time.time()
    caps, y = pool(args.pool)
    h, m = states(e5, tok, caps)
    flat = h[m]
    mu, sd = flat.mean(0), flat.std(0)
    tests = {}
    for name in args.sets.split(","):
        c, yy = read_set(name)
        tests[name] = (*states(e5, tok, c), yy)
    print(f"e5 states for {len(caps)} + test captions: {time.time() - t0:.0f}s", flush=True)
    marks = {args.steps // 6, args.steps // 3, args.steps}
    summary = {}
    for variant in args.variants.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            torch.manual_seed(seed)
            probe = Probe(mu, sd, tokdrop=0.15 if variant == "tokdrop" else 0.0)
            wd = 0.1 if variant == "wd" else 0.0
            opt = torch.optim.AdamW(probe.parameters(), 8e-4, weight_decay=wd)
            order = torch.randperm(len(caps), generator=torch.Generator().manual_seed(seed))
            for step in range(args.steps):
                j = order[(step * 32) % len(caps) : (step * 32) % len(caps) + 32]
                loss = sum(F.cross_entropy(o, y[j, k]) for k, o in enumerate(probe(h[j], m[j])))
                opt.zero_grad()
                loss.backward()
                opt.step()
                if step + 1 in marks:
                    row = {n: scores(probe, *t) for n, t in tests.items()}
                    text = "  ".join(f"{n} {a:.3f}/{mo:.3f}" for n, (a, mo) in row.items())
                    print(f"{variant:8s} seed {seed} step {step + 1:5d}  all/motion  {text}", flush=True)
            summary.setdefault(variant, []).append(row)
    for variant, rows in summary.items():
        for n in tests:
            a = np.array([r[n][0] for r in rows])
            print(f"{variant:8s} {n}: all {a.mean():.3f} (min {a.min():.3f}, max {a.max():.3f})")


if __name__ == "__main__":
    main()
