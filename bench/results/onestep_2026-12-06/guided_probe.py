"""Classifier-free guidance on a one-step model, at generation only (probe; nothing in vidfuse changes).

The one-step student (anchor-add) draws ε + v(ε, 0 | Z) and was trained without guidance. Guidance was the flow's
largest lever (no guidance 89–92%, guidance 2–3 99%: NOTES, 2026-11-26), and the one-step stage loses ≈ 3 points of
its e5 flow on other wordings. Here the same pass is also run with the null token for text, and the step is
ε + v_u + w (v_c − v_u). Judged on the 600 level-1 test captions (text only) and the ten one-digit blind sets, seed 0,
like bench/evaluate_default.py.        python guided_probe.py MODEL_DIR OUT.json W [W …]
"""

import json
import sys
from pathlib import Path

import torch

from vidfuse.evaluate import evaluate_captions_file, evaluate_model
from vidfuse.fileio import atomic_write_text
from vidfuse.models.anchor_distilled import AnchorDistilled
from vidfuse.pipeline import TextToVideoPipeline

BENCH = Path(__file__).resolve().parents[2]
SETS = ["novel", "novel_v2", "novel_v3", "novel_v4", "novel_v5", "novel_v6", "novel_zh", "novel_zh2", "novel_zh3"]
SETS.append("novel_zh4")


def guided_draw(self, cond, noise, *, uncond, guidance_scale, steps):
    if uncond is None:
        return self.one_step(cond, noise["anchor"], noise["path"])
    given = self._given(cond)
    a0, m0 = self.pin(given, noise["anchor"], noise["path"])
    t = torch.zeros(a0.shape[0], device=a0.device)
    va, vm = self.transformer(a0, m0, t, cond, given[2])
    ua, um = self.transformer(a0, m0, t, uncond, given[2])
    w = guidance_scale
    a = a0 + ua.float() + w * (va.float() - ua.float())
    m = m0 + um.float() + w * (vm.float() - um.float())
    return self.pin(given, a, m)


AnchorDistilled.supports_guidance = True
AnchorDistilled.draw_parts = guided_draw

model, out = sys.argv[1], sys.argv[2]
pipe = TextToVideoPipeline.from_pretrained(model)
res = {"model": model}
for w in [float(x) for x in sys.argv[3:]]:
    r = {"text": evaluate_model(pipe, n=600, level=1, seed=0, guidance_scale=w)["groups"]}
    r["blind"] = {
        k: evaluate_captions_file(
            pipe, BENCH / f"novel_captions{k.removeprefix('novel')}.jsonl", seed=0, guidance_scale=w
        )["all"]["joint"]
        for k in SETS
    }
    r["blind_mean"] = sum(r["blind"].values()) / len(SETS)
    res[str(w)] = {
        "seen": r["text"]["seen"]["joint"],
        "held_out_en": r["text"]["held_out/en"]["joint"],
        "held_out_zh": r["text"]["held_out/zh"]["joint"],
        "blind_mean": r["blind_mean"],
        "blind": r["blind"],
    }
    print(w, json.dumps(res[str(w)]), flush=True)
atomic_write_text(out, json.dumps(res, indent=2) + "\n")
