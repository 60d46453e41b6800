"""How much do a model's conditions differ between captions? A model whose Z barely changes with the words
cannot follow them, whatever its generator learns.

    .venv/bin/python bench/condition_spread.py --model runs/layered/model [--model vidfuse/default_model ...]
    .venv/bin/python bench/condition_spread.py --model runs/x/model --checkpoint runs/x/checkpoint.safetensors

For each model: Z = fusion(text encoder(caption)) for level-1 captions built from one template, and the mean
cosine of the pooled vectors between caption pairs that differ in exactly one attribute (digit, colour or
motion), and between all pairs. The shipped default (from-scratch encoder) is the reference; 1.0 means the
conditions do not depend on the words.

The pooled cosine can stay near 1.0 while the words already steer the generator (a large component common
to every caption hides the differences), so a second figure asks the generator itself: the **caption gain**,
its training loss on real test clips given another clip's caption (the batch's captions rolled by one) minus
the loss given their own, with the same noise, times and dropout for both (``--gain-clips`` clips of
``--gain-level``; 0 clips: skip). 0 means the generator ignores the words; it grows as it follows them. It is
reported per loss term (a flow's anchor / mask / motion errors), so it says which part of the clip the words
reach. Eval mode, no image, no dropout. A model folder holds the EMA weights,
which lag the training by ~1/(1 − ema_decay) steps; ``--checkpoint`` reads a run's raw weights instead (with
one ``--model``: the run's own model folder, for its config and tokenizer), to follow a run as it trains.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from vidfuse.fileio import atomic_write_text  # noqa: E402
from vidfuse.pipeline import TextToVideoPipeline  # noqa: E402

DIGITS = (1, 3, 4, 7)
COLOURS = ("red", "blue", "green")
MOTIONS = ("to the left", "to the right", "up and down")


def captions() -> list[tuple[tuple[int, str, str], str]]:
    return [((d, c, m), f"the {c} digit {d} is moving {m}") for d, c, m in itertools.product(DIGITS, COLOURS, MOTIONS)]


@torch.no_grad()
def spread(pipe: TextToVideoPipeline) -> dict[str, float]:
    """Mean pooled-condition cosine over caption pairs differing in one attribute, and over all pairs."""
    model = pipe.model.eval()
    caps = captions()
    ids, mask = pipe.tokenizer.encode([c for _, c in caps])
    pooled = F.normalize(model.condition(ids, mask).pooled.float(), dim=-1)
    cos = pooled @ pooled.T
    groups: dict[str, list[float]] = {"digit": [], "colour": [], "motion": [], "all pairs": []}
    for (i, (a, _)), (j, (b, _)) in itertools.combinations(enumerate(caps), 2):
        diff = [k for k, x, y in zip(("digit", "colour", "motion"), a, b) if x != y]
        if len(diff) == 1:
            groups[diff[0]].append(float(cos[i, j]))
        groups["all pairs"].append(float(cos[i, j]))
    return {k: round(sum(v) / len(v), 4) for k, v in groups.items()}


@torch.no_grad()
def caption_gain(
    pipe: TextToVideoPipeline,
    *,
    clips: int = 64,
    level: tuple[int, ...] = (1, 2),
    seed: int = 0,
    dataset=None,
    first: int = 0,
) -> dict:
    """Training loss (each term) with rolled captions minus with the clips' own, on ``clips`` real test clips of
    Moving Digits ``level``, both languages (or ``dataset[first:first + clips]``: e.g. a run's own training
    data, captions as it trains on them); eval mode, batches of 32, the RNG seeded ``seed`` + the batch's start
    before both passes, so they draw the same noise, times and dropout. ``loss`` is the generator's own (a
    model's text–clip alignment term, ``model.align_weight``, is left out)."""
    from vidfuse.data.collate import collate
    from vidfuse.data.moving_digits import MovingDigits
    from vidfuse.train.sampler import match_video_size

    model = pipe.model.eval()
    m = model.cfg
    phase = model.generator.cond_phase
    if phase is None:
        raise SystemExit("error: this generator has no conditional training loss to compare")
    ds = dataset if dataset is not None else MovingDigits("test", level=level, lang="both", size=clips, seed=seed)
    totals: dict[str, dict[str, float]] = {"own": {}, "rolled": {}}
    for start in range(0, clips, 32):
        if min(start + 32, clips) - start < 2:
            break  # one clip has no other caption to be given
        videos, caps, _ = collate([ds[first + i] for i in range(start, min(start + 32, clips))])
        videos = match_video_size(videos, m.num_frames, m.height, m.width)
        for name, given in (("own", caps), ("rolled", caps[1:] + caps[:1])):
            ids, mask = pipe.tokenizer.encode(given, on_overflow="truncate")
            torch.manual_seed(seed + start)
            losses = model.loss(ids, mask, videos, phase=phase)
            if "align" in losses:  # the generator's loss only: the text–clip alignment is not the generator's
                losses["loss"] = losses["loss"] - m.align_weight * losses["align"]
            for k, v in losses.items():
                if k == "loss" or k.endswith("_mse"):
                    totals[name][k] = totals[name].get(k, 0.0) + float(v) * len(caps)
    return {k: round((totals["rolled"][k] - v) / clips, 4) for k, v in totals["own"].items()}


def levels(text: str) -> tuple[int, ...]:
    """``"1,2"`` → (1, 2): Moving Digits levels on a command line."""
    return tuple(int(x) for x in text.split(","))


def load_raw_weights(pipe: TextToVideoPipeline, checkpoint: Path) -> None:
    """A training checkpoint's raw (not EMA) model weights into ``pipe``'s model."""
    from safetensors import safe_open

    with safe_open(checkpoint, "pt") as f:
        state = {k.removeprefix("model."): f.get_tensor(k) for k in f.keys() if k.startswith("model.")}
    if not state:
        raise SystemExit(f"error: {checkpoint} holds no model weights; give a run's checkpoint.safetensors")
    pipe.model.load_state_dict(state, strict=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="a model folder (repeat for several)")
    ap.add_argument("--checkpoint", type=Path, default=None, help="a run's checkpoint: its raw weights")
    ap.add_argument("--gain-clips", type=int, default=64, help="test clips for the caption gain (0: skip)")
    ap.add_argument(
        "--gain-level", type=levels, default=(1, 2), help="Moving Digits levels of those clips, e.g. 1 or 1,2"
    )
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.checkpoint and len(args.model) != 1:
        ap.error("--checkpoint goes with exactly one --model (the run's model folder)")
    rows = {}
    for m in args.model:
        pipe = TextToVideoPipeline.from_pretrained(m, device="cpu")
        if args.checkpoint:
            load_raw_weights(pipe, args.checkpoint)
            m = f"{m} (raw weights of {args.checkpoint})"
        rows[m] = spread(pipe)
        if args.gain_clips > 0:
            rows[m]["caption gain"] = caption_gain(pipe, clips=args.gain_clips, level=args.gain_level)
    print(f"pooled-condition cosine between captions differing in one attribute; {machine()}\n")
    print("| model | digit | colour | motion | all pairs | caption gain (loss terms) |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for m, r in rows.items():
        gain = ", ".join(f"{k} {v:+.4f}" for k, v in r.get("caption gain", {}).items()) or "—"
        print(f"| {m} | {r['digit']:.3f} | {r['colour']:.3f} | {r['motion']:.3f} | {r['all pairs']:.3f} | {gain} |")
    if args.out:
        atomic_write_text(args.out, json.dumps({"machine": machine(), "models": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
