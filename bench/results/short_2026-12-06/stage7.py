"""Stage 7 of the default's distillation, continued from the shipped model's text encoder (step 3,300 of the
recipe; the optimiser state of that run did not survive, so Adam starts fresh)."""

import os
import sys

from vidfuse.pipeline import TextToVideoPipeline
from vidfuse.train.distil_text import DistilConfig, Distiller

out, steps, short, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
init = sys.argv[5] if len(sys.argv) > 5 else None
cfg = DistilConfig(
    teacher="/tmp/m_559b7de",
    out=out,
    steps=steps,
    lr=2e-4,
    contrast=1.0,
    contrast_on="digit,colour,motion",
    short=short,
    seed=seed,
)
resume = os.path.exists(f"{out}/checkpoint.safetensors")
d = Distiller(cfg, resume=resume)
if not resume:
    src = TextToVideoPipeline.from_pretrained(init).model if init else None
    state = {k: v.float() for k, v in src.text_encoder.state_dict().items() if not k.startswith("backbone.")}
    missing, unexpected = d.student.text_encoder.load_state_dict(state, strict=False)
    assert not unexpected and not [k for k in missing if not k.startswith("backbone.")], (missing, unexpected)
    d.step = 3300
print(d.fit())
