"""Write the model folders and reference clips that pin loading compatibility (tests/test_legacy_models.py).

    python scripts/make_legacy_fixtures.py [--out tests/data/legacy] [--default-only]

For every generator family: a tiny model trained a few steps with the code of the time, saved as a model folder
(config.json in that release's format, model.safetensors, tokenizer.json), and the clips it generates for fixed
prompts and seeds as uint8 arrays. For the shipped default model: its clips only (the folder ships anyway).

Run once, with the release whose format is to be pinned; the test then loads the folders with today's code and
compares the clips. Do not regenerate the files to make that test pass: they are the earlier release.
``--default-only`` rewrites only the default model's clips, when a new default ships.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from vidfuse.pipeline import SHIPPED_MODEL_DIR, TextToVideoPipeline
from vidfuse.train import Trainer, resolve_config

PROMPTS = ["the red digit 3 is moving to the left", "数字7向上移动", "a blue 5 bouncing"]
SEED = 1234


def clips(pipe: TextToVideoPipeline) -> dict[str, np.ndarray]:
    torch.manual_seed(0)
    return {
        "text": pipe(PROMPTS, seed=SEED),
        "longer": pipe(PROMPTS[:1], seed=SEED + 1, num_frames=2 * pipe.num_frames + 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("tests/data/legacy"))
    ap.add_argument(
        "--default-only",
        action="store_true",
        help="rewrite only the shipped default model's clips (after a new default ships); the tiny folders "
        "pin earlier releases' code and are kept",
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sums_file = args.out / "sha256.json"
    sums = json.loads(sums_file.read_text()) if args.default_only and sums_file.is_file() else {}
    for family in () if args.default_only else ("gan", "vae", "flow", "anchor"):
        with tempfile.TemporaryDirectory() as tmp:
            torch.manual_seed(0)
            cfg = resolve_config(
                "tiny", out=tmp, steps=6, batch_size=4, bf16=False, seed=0, model={"generator": family}
            )
            trainer = Trainer(cfg, quiet=True)
            ds = trainer.dataset
            for step in range(6):
                items = [ds[(4 * step + i) % len(ds)] for i in range(4)]
                trainer.train_step(torch.stack([it[0] for it in items]), [it[1] for it in items])
            folder = args.out / family
            trainer.ema_pipeline().save_pretrained(folder)
        pipe = TextToVideoPipeline.from_pretrained(folder, device="cpu")
        out = clips(pipe)
        np.savez_compressed(folder / "clips.npz", **out)
        sums[family] = {k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in out.items()}
    pipe = TextToVideoPipeline.from_pretrained(SHIPPED_MODEL_DIR, device="cpu")  # not a user-installed one
    out = clips(pipe)
    np.savez_compressed(args.out / "default_model_clips.npz", **out)
    sums["default_model"] = {k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in out.items()}
    sums_file.write_text(json.dumps(sums, indent=2) + "\n")
    print(json.dumps(sums, indent=2))


if __name__ == "__main__":
    main()
