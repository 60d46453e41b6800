"""Stage 7 of the default's distillation (600 steps at lr 2e-4; digit, colour and motion contrast; short wordings)
from a given text encoder's state after stage 6 (or any later one), as the Makefile runs it with --resume; the
optimiser state is not in a model folder, so Adam starts fresh.

    python stage7.py OUT INIT_MODEL SEED SHORT NEAR [DROP_ARTICLES]
"""

import os
import sys

from vidfuse.pipeline import TextToVideoPipeline
from vidfuse.train.distil_text import DistilConfig, Distiller

out, init, seed, short, near = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
bare = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
cfg = DistilConfig(
    teacher="/tmp/m_559b7de",
    out=out,
    steps=3900,
    lr=2e-4,
    contrast=1.0,
    contrast_on="digit,colour,motion",
    contrast_near=near,
    drop_articles=bare,
    short=short,
    seed=seed,
)
resume = os.path.exists(f"{out}/checkpoint.safetensors")
d = Distiller(cfg, resume=resume, quiet=True)
if not resume:
    src = TextToVideoPipeline.from_pretrained(init).model
    state = {k: v.float() for k, v in src.text_encoder.state_dict().items() if not k.startswith("backbone.")}
    missing, unexpected = d.student.text_encoder.load_state_dict(state, strict=False)
    assert not unexpected and not [k for k in missing if not k.startswith("backbone.")], (missing, unexpected)
    d.step = 3300
print(d.fit())
