"""Which wordings of one digit does the model misread? A battery of phrasings, each over the ten digits.

    .venv/bin/python bench/phrase_reads.py [--model DIR] [--seeds 2] [--below 0.8] [--out bench/results/…/x.json]
        [--battery FILE.jsonl [--part dev|held|all]]

A two-digit prompt is drawn one clause per digit, so what a clause says around its digit — the verb of moving, how
the colour is attached, a "then" or "please" — is read by the model on its own. This draws a fixed battery of
phrasings, written from how people ask for a clip and not from any bench set (English and Chinese: verbs of moving
for each of the six motions, ways of naming the digit and its colour, words before and after a clause), each for the
ten digits with the palette colours in turn, ``--seeds`` times, judged against its digit, colour and motion. A
phrasing right in few of its draws is one the model reads wrongly: a candidate for :mod:`vidfuse.data.wording` to put
in words the model was taught, once a probe shows the taught words are read right. It found the thirty-second
session's round 11 (NOTES.md).

``--battery`` draws another battery instead, one JSON object a line: ``{"lang": "en"|"zh", "template": …, "motion":
…}`` (a battery written blind, by someone who read no project file), or with ``"motion2"`` for a template of two
digits, each with its own colour and motion. ``--part`` splits it in two by a hash of each template, so that rules may
be written from one half's misses and judged on the other's: ``dev``, ``held`` or ``all``.

The placeholders: ``{c}`` an English palette colour, ``{d}`` the digit as a numeral, ``{w}`` as an English word,
``{zc}`` a Chinese palette colour, ``{z}`` the digit as a Chinese numeral; for the second digit of a two-digit
template ``{c2}``, ``{d2}``, ``{w2}``, ``{zc2}``, ``{z2}``. A two-digit template is drawn for ten pairs: the digits 0–9
first, each with another digit (a different offset per template) and another palette colour; a draw is right when
both digits are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import warnings
from pathlib import Path

from vidfuse.data.caption_words import COLOUR_ZH, EN_NUMBERS, ZH_NUMBERS
from vidfuse.evaluate.harness import evaluate_captions
from vidfuse.fileio import atomic_write_text
from vidfuse.pipeline import TextToVideoPipeline

# the palette in the order the battery gives it to the digits (the measured figures rest on it)
COLOURS = ("red", "green", "blue", "yellow", "cyan", "magenta", "white")
LR, UD = "left and right", "up and down"

# verbs of moving after "a {c} {d}", by the motion they say
EN_VERBS = {
    "left": "moving left|moves left|going left|goes to the left|heading left|drifting left|slides left|sliding "
    "leftward|travels to the left|scrolls left|runs left|walks to the left|moves from right to left|crossing the "
    "screen from right to left|leftwards|left|to the left|glides left|zooms left|floating left|moves towards the "
    "left edge|moving to the left side|shifts left|creeping left",
    "right": "moving right|heads right|drifts to the right|moves from left to right|rightward|right|marches right|"
    "rolls to the right|shoots off to the right|moving towards the right edge|sliding right|travelling right",
    "up": "moving up|rises|rising|floats up|climbs|climbing|ascends|ascending|goes upward|flies up|drifts upward|"
    "moves toward the top|up|floating to the top|soars|rising slowly|moving upwards|going up the screen|lifting up",
    "down": "moving down|falls|falling|sinks|sinking|drops|dropping|descends|descending|goes downward|moves toward the "
    "bottom|down|slides down|tumbles down|comes down|falling slowly|moving downwards|going down the screen|drifting "
    "down",
    LR: "bouncing left and right|moving side to side|swinging side to side|going back and forth|bounces horizontally|"
    "sways left and right|oscillates horizontally|ping-pongs left and right|wobbles side to side|moves back and forth "
    "horizontally|side to side|left and right|back and forth|bounces between the left and right edges|sliding left "
    "and right|moving left and right repeatedly",
    UD: "bouncing up and down|bobbing up and down|hopping up and down|jumping up and down|bounces vertically|goes up "
    "and down|oscillates vertically|moving up and down|bouncing|bobbing|hopping|jumping|up and down|bouncing like a "
    "ball|yo-yoing up and down|bouncing between the top and bottom",
}
# ways to name the digit and its colour, each moving left
EN_SUBJECTS = (
    "a {c} {d}|{c} {d}|the {c} digit {d}|a {d} in {c}|a {c} number {w}|{w}, {c},|the number {d} in {c}|{d} ({c})|"
    "a {c}-coloured {d}|a {d} coloured {c}|a {d} that is {c}|digit {d}, colour {c},|a {c} {w}|{c} {w}|the {w} in {c}|"
    "number {d} which is {c}|a {d}, painted {c},|a bright {c} {d}|a big {c} {d}|a small {c} {d}|a {c} handwritten {d}"
)
# words before and after "a {c} {d} moving left"
EN_BEFORE = (
    "please make|i want|can you show|show me|draw|generate|create a video of|make a clip where|animate|let's see|"
    "next,|then|also|and|plus|meanwhile|at the same time|finally,|lastly,|first,|after that,|on top of that,|"
    "additionally,|oh and|and also|and then|now|and finally|besides that,|the other one:|second:|2)|-|*|b."
)
EN_AFTER = (
    ", please|too|as well|, thanks|slowly|quickly|steadily|smoothly|the whole time|across the screen|all the way|"
    "continuously|in a loop|for the whole clip|!|:)|lol|, nice and slow|at a steady pace|, like a sprite|in a cartoon "
    "style|, bold strokes|at the same time|simultaneously|meanwhile|on the right|on the left side|in the middle|"
    "at the top|at the bottom|, ok?|, thx|please|, got it?|, and that's it|, nothing else|again"
)
ZH_VERBS = {
    "left": "往左移动|向左走|向左滑动|往左边飘|从右往左移动|朝左跑|向左平移|慢慢往左挪|左移|往左|向左|一直往左走|"
    "往屏幕左边移动",
    "right": "往右移动|向右滑|从左到右移动|往右边跑|右移|往右|向右飘去|朝右边走",
    "up": "往上飘|向上升|上升|慢慢升起|往上飞|飘上去|向上爬|升上去|往屏幕顶部移动|往上|向上移动|上移",
    "down": "往下掉|向下落|下降|掉下来|往下沉|落下|往下走|向下滑|往下|下移|慢慢落下去|掉到底部",
    LR: "左右来回移动|左右摇摆|左右晃动|来回摆动|左右弹跳|左右来回跑|水平来回移动|横向来回移动|左右晃来晃去|"
    "在左右之间来回弹",
    UD: "上下弹跳|上下跳动|上下来回移动|一上一下|上下晃动|蹦蹦跳跳|跳上跳下|上下浮动|上下来回弹|垂直来回移动",
}
ZH_SUBJECTS = (
    "一个{zc}的{d}|{zc}的数字{z}|{zc}{d}|数字{d}，{zc}，|{zc}的{z}|一个{d}，颜色是{zc}，|{d}号，{zc}，|一个大大的{zc}{d}|"
    "{zc}数字{d}|一个{zc}的阿拉伯数字{d}"
)
ZH_BEFORE = "请|帮我|我想要|能不能|然后|再|同时|另外|还有|接着|最后|首先|第二个|另一个是|再来|其次|并且|而|旁边|还要"
ZH_AFTER = (
    "吧|哦|就行|谢谢|，一直|，不停地|，整个视频|。|，速度慢一点|，动作流畅|，持续两秒|，在画面中间|，好吗|！|啊|呀"
)


def battery() -> list[tuple[str, str, str]]:
    """(group, template, motion) for every phrasing of the battery (one digit each)."""
    out = []
    for motion, verbs in EN_VERBS.items():
        out += [("en verb", "a {c} {d} " + v, motion) for v in verbs.split("|")]
    out += [("en subject", s + " moving left", "left") for s in EN_SUBJECTS.split("|")]
    out += [("en before", b + " a {c} {d} moving left", "left") for b in EN_BEFORE.split("|")]
    out += [
        ("en after", "a {c} {d} moving left" + ("" if a[0] in ",!:" else " ") + a, "left") for a in EN_AFTER.split("|")
    ]
    for motion, verbs in ZH_VERBS.items():
        out += [("zh verb", "一个{zc}的{d}" + v, motion) for v in verbs.split("|")]
    out += [("zh subject", s + "往左移动", "left") for s in ZH_SUBJECTS.split("|")]
    out += [("zh before", b + "一个{zc}的{d}往左移动", "left") for b in ZH_BEFORE.split("|")]
    out += [("zh after", "一个{zc}的{d}往左移动" + a, "left") for a in ZH_AFTER.split("|")]
    return out


def read_battery(path: Path, part: str = "all") -> list[tuple[str, str, str | tuple[str, str]]]:
    """A battery file's rows as (group, template, motion): group "<lang> blind", motion a pair for a template of two
    digits ("motion2"); ``part`` its dev or held half."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        motions = (row["motion"], row["motion2"]) if "motion2" in row else (row["motion"],)
        for m in motions:
            if m not in EN_VERBS:
                raise SystemExit(f"{path}:{n}: motion {m!r} is not one of {sorted(EN_VERBS)}")
        if part != "all" and (part == "held") != bool(hashlib.sha1(row["template"].encode()).digest()[0] & 1):
            continue
        rows.append((f"{row['lang']} blind", row["template"], motions if len(motions) == 2 else motions[0]))
    return rows


def _fill(d: int, colour: str, suffix: str = "") -> dict[str, object]:
    """The placeholders of one digit and its colour (``suffix`` "2" for a template's second digit)."""
    fields = {"c": colour, "d": d, "w": EN_NUMBERS[d], "zc": COLOUR_ZH[colour], "z": ZH_NUMBERS[d]}
    return {k + suffix: v for k, v in fields.items()}


def captions(template: str, motion: str | tuple[str, str], shift: int) -> tuple[list[str], list[dict]]:
    """The template for the ten digits, the palette colours in turn from ``shift``, with their targets; for a pair of
    motions, each digit with a second one ``1 + shift % 9`` after it and a palette colour three after its own."""
    caps, targets = [], []
    for d in range(10):
        colour = COLOURS[(d + shift) % len(COLOURS)]
        if isinstance(motion, str):
            caps.append(template.format(**_fill(d, colour)))
            targets.append({"digits": [d], "colours": [colour], "motions": [motion]})
            continue
        d2, colour2 = (d + 1 + shift % 9) % 10, COLOURS[(d + shift + 3) % len(COLOURS)]
        caps.append(template.format(**_fill(d, colour), **_fill(d2, colour2, "2")))
        targets.append({"digits": [d, d2], "colours": [colour, colour2], "motions": list(motion)})
    return caps, targets


def _motions(motion: str | tuple[str, str]) -> dict[str, str]:
    """A row's motion as the battery file writes it: "motion", and "motion2" for a second digit."""
    return {"motion": motion} if isinstance(motion, str) else {"motion": motion[0], "motion2": motion[1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--seeds", type=int, default=2, help="draws of each caption (seeds 0, 1000, 2000, …)")
    ap.add_argument("--below", type=float, default=0.8, help="list the phrasings right in fewer of their draws")
    ap.add_argument("--out", default=None, help="write every phrasing's share right as JSON here")
    ap.add_argument("--battery", default=None, help="draw this battery (JSONL: lang, template, motion) instead")
    ap.add_argument("--part", choices=("dev", "held", "all"), default="all", help="which half of --battery")
    args = ap.parse_args()
    pipe = TextToVideoPipeline.from_pretrained(args.model)
    rows = battery() if args.battery is None else read_battery(Path(args.battery), args.part)
    caps, targets, which = [], [], []
    for k, (_, template, motion) in enumerate(rows):
        c, t = captions(template, motion, shift=k)
        caps += c
        targets += t
        which += [k] * len(c)
    right = [0] * len(rows)
    with warnings.catch_warnings():  # the battery's unknown words are the point
        warnings.simplefilter("ignore")
        for s in range(args.seeds):
            out = evaluate_captions(pipe, caps, targets, seed=1000 * s)
            for k, clip in zip(which, out["clips"]):
                right[k] += bool(clip["joint"])
    share = [r / (10 * args.seeds) for r in right]
    groups = sorted({g for g, _, _ in rows})
    for g in groups:
        ks = [k for k, row in enumerate(rows) if row[0] == g]
        print(f"{g}: {len(ks)} phrasings, {sum(share[k] for k in ks) / len(ks):.1%} right")
    print(f"right in fewer than {args.below:.0%} of their draws:")
    for k in sorted(range(len(rows)), key=lambda k: share[k]):
        if share[k] < args.below:
            print(f"  {share[k]:6.1%}  {rows[k][0]:10s}  {rows[k][1]!r} ({' / '.join(_motions(rows[k][2]).values())})")
    if args.out:
        res = [{"group": g, "template": t, **_motions(m), "right": s} for (g, t, m), s in zip(rows, share)]
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(args.out), json.dumps(res, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
