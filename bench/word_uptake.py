"""How fast does a recipe's generator start to follow the words? A few hundred flow steps, measured as they go.

    .venv/bin/python bench/word_uptake.py --autoencoder runs/layered/model --config configs/layered_small.yaml \\
        [--generator anchor] [--text-encoder scratch] [--level 1] [--lang both] [--paraphrase 0] \\
        [--steps 300] [--every 50] --out runs/uptake/layered_scratch_l1.jsonl

A latent flow family trains its autoencoder first (1,000 steps of the recipes here, ~40 minutes of a 2-core
CPU without AVX-512) and learns the words only in its flow phase, so comparing recipes on the words need not
pay for the autoencoder again: the run starts from ``--autoencoder``'s trained autoencoder (any model folder
of a latent family with the same latent settings; only ``generator.autoencoder.*`` is taken, the latent and
motion scales are measured again on the first batch) and trains the flow phase alone
(``gen.ae_steps`` = 0) for ``--steps`` steps of the recipe's batch and learning rates. Every ``--every``
steps, on the raw (not EMA) weights: the pooled-condition cosine and the caption gain of
``bench/condition_spread.py``, on 64 clips of the run's own training data that its batches never draw
(indices from 10⁸; batches draw below), noise seeded 123 (``--gain-split test``: 64 real test clips of
``--level`` instead). ``--gen KEY=VALUE`` overrides one of the family's settings (e.g. ``layers=1``). One JSON
line per measurement, with the mean training losses since the last one (``train``).

The figures compare recipes with each other on one machine, not with a full run: the flow starts from an
autoencoder that another run trained, and there is no EMA.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from vidfuse.data.collate import collate  # noqa: E402
from vidfuse.train import Trainer, resolve_config  # noqa: E402

_spec = importlib.util.spec_from_file_location("condition_spread", Path(__file__).parent / "condition_spread.py")
condition_spread = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(condition_spread)


def build(args: argparse.Namespace, out: Path) -> Trainer:
    """The recipe's trainer with the flow phase from step 0 and the given autoencoder loaded
    (``vidfuse train --autoencoder-from``)."""
    gen = {}
    for item in args.gen:
        key, _, value = item.partition("=")
        gen[key] = json.loads(value)
    model = {"gen": gen}
    if args.generator:
        model["generator"] = args.generator
    if args.text_encoder:
        model["text_encoder"] = args.text_encoder
    cfg = resolve_config(
        args.preset,
        args.config,
        out=str(out),
        autoencoder_from=str(args.autoencoder),
        seed=args.seed,  # the initial weights and the training noise
        model=model,
        level=list(args.level),
        lang=args.lang,
        paraphrase=args.paraphrase,
    )
    return Trainer(cfg, quiet=True)


HELD_OUT = 10**8  # training batches draw indices below this; the gain's own-data clips start here


def measure(trainer: Trainer, level: tuple[int, ...], split: str) -> dict:
    """Spread and caption gain; the gain seeds its own noise, so the training RNG is put back after it."""
    pipe = argparse.Namespace(model=trainer.model, tokenizer=trainer.tokenizer)
    own = {"dataset": trainer.dataset, "first": HELD_OUT} if split == "train" else {}
    with torch.random.fork_rng(devices=[]):
        row = condition_spread.spread(pipe)
        row["caption gain"] = condition_spread.caption_gain(pipe, clips=64, level=level, seed=123, **own)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--autoencoder", type=Path, required=True, help="a model folder whose autoencoder to start from")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--config", type=Path, default=Path("configs/layered_small.yaml"), help="the recipe")
    ap.add_argument("--generator", default=None, help="override the recipe's family (a latent flow family)")
    ap.add_argument("--text-encoder", default=None, help="override the recipe's text encoder (scratch, e5, …)")
    ap.add_argument("--level", type=condition_spread.levels, default=(1, 2), help="e.g. 1 or 1,2")
    ap.add_argument("--lang", default="both")
    ap.add_argument("--paraphrase", type=float, default=0.0)
    ap.add_argument("--gen", action="append", default=[], metavar="KEY=VALUE", help="a family setting (JSON value)")
    ap.add_argument("--gain-split", choices=("train", "test"), default="train")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True, help="JSON lines, one per measurement")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    trainer = build(args, args.out.with_suffix(".run"))
    ds, batch = trainer.dataset, trainer.cfg.batch_size
    draw = torch.Generator().manual_seed(args.seed + 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    head = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}
    t0 = time.monotonic()
    since: dict[str, list[float]] = {}  # training losses since the last measurement
    with open(args.out, "w", encoding="utf-8") as log:
        log.write(json.dumps(head) + "\n")
        for step in range(args.steps + 1):
            if step % args.every == 0 or step == args.steps:
                row = {
                    "step": step,
                    "minutes": round((time.monotonic() - t0) / 60, 2),
                    **measure(trainer, args.level, args.gain_split),
                    "train": {k: round(sum(v) / len(v), 4) for k, v in since.items()},
                }
                since = {}
                print(json.dumps(row), flush=True)
                log.write(json.dumps(row) + "\n")
                log.flush()
            if step == args.steps:
                break
            idx = torch.randint(0, min(len(ds), HELD_OUT), (batch,), generator=draw).tolist()
            videos, captions, _ = collate([ds[i] for i in idx])
            for k, v in trainer.train_step(videos, captions).items():
                if isinstance(v, float):
                    since.setdefault(k, []).append(v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
