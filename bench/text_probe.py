"""How readable are e5's states for digit / colour / motion, under each input normalisation of the adapter?

    .venv/bin/python bench/text_probe.py layernorm standardise [raw]

A probe, not a video model: frozen e5 → normalisation → projection to 128 → 2 Transformer blocks → masked
mean → three linear heads, trained 250 steps (batch 32, Adam 8e-4, one thread) on level-1 training captions
(templates + 25% paraphrases), scored on 256 other training-split captions at steps 50, 100 and 250.
``layernorm``: per token (the adapter of vidfuse.models.text_encoder); ``standardise``: per dimension with
the mean and standard deviation of e5's states over 256 captions' tokens (removes e5's shared direction);
``raw``: none. About 2.7 min per mode here.
"""

import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidfuse.data.e5 import get_tokenizer, load_e5
from vidfuse.data.moving_digits import COLOURS, MOTIONS, MovingDigits
from vidfuse.models.layers import TransformerBlock

torch.set_num_threads(1)
torch.manual_seed(0)
ds = MovingDigits("train", level=1, lang="both", size=10**6, seed=5, paraphrase=0.25)


def batch(i0, n):
    caps, y = [], []
    for i in range(i0, i0 + n):
        _, c, a = ds.clip(i)
        caps.append(c)
        y.append((a["digits"][0], list(COLOURS).index(a["colours"][0]), MOTIONS.index(a["motions"][0])))
    return caps, torch.tensor(y)


e5 = load_e5()
tok = get_tokenizer()


@torch.no_grad()
def states(caps):
    ids, m = tok(caps)
    return e5(ids, m).last_hidden_state, m.bool()


# per-dimension statistics of e5 states over 256 training captions' tokens (for the standardised variant)
hs, ms = states(batch(10**5, 256)[0])
flat = hs[ms]
mu, sd = flat.mean(0), flat.std(0)


class Probe(nn.Module):
    def __init__(s, mode):
        super().__init__()
        s.mode = mode
        s.norm = nn.LayerNorm(384)
        s.proj = nn.Linear(384, 128)
        s.blocks = nn.ModuleList(TransformerBlock(128, 4) for _ in range(2))
        s.out = nn.LayerNorm(128)
        s.heads = nn.ModuleList([nn.Linear(128, 10), nn.Linear(128, len(COLOURS)), nn.Linear(128, len(MOTIONS))])

    def forward(s, h, m):
        x = s.norm(h) if s.mode == "layernorm" else (h - mu) / (sd + 1e-6) if s.mode == "standardise" else h
        x = s.proj(x)
        for b in s.blocks:
            x = b(x, mask=m)
        x = s.out(x)
        w = m.float()[..., None]
        p = (x * w).sum(1) / w.sum(1)
        return [hd(p) for hd in s.heads]


test_caps, test_y = batch(2 * 10**5, 256)
th, tm = states(test_caps)
for mode in sys.argv[1:]:
    torch.manual_seed(0)
    pr = Probe(mode)
    opt = torch.optim.Adam(pr.parameters(), 8e-4)
    t0 = time.time()
    for step in range(250):
        caps, y = batch(step * 32, 32)
        h, m = states(caps)
        loss = sum(F.cross_entropy(o, y[:, k]) for k, o in enumerate(pr(h, m)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in (49, 99, 249):
            with torch.no_grad():
                acc = [(o.argmax(-1) == test_y[:, k]).float().mean().item() for k, o in enumerate(pr(th, tm))]
            print(
                mode,
                step + 1,
                "digit/colour/motion",
                [round(a, 3) for a in acc],
                f"{time.time() - t0:.0f}s",
                flush=True,
            )
