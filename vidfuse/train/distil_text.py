"""A trained model's text encoder replaced by a pretrained multilingual one, taught by the model itself.

A model trained on template captions understands template wording: its from-scratch encoder has never seen
"drifting leftward" or "从右往左". Retraining it with a paraphrase grammar teaches the words but costs
digits (README, "Captions in other words"). This module keeps the trained model whole — visual encoder,
fusion and generator frozen — and trains only a new text encoder (multilingual-e5-small, frozen, with
``text_layers`` trainable blocks on top) so that, for a caption in any wording or language, the frozen
generator moves the way the old model moved for the template caption of the same clip. The generator reads
Z in two places: its adaptive norms read the pooled vector, and every block's cross-attention reads the tokens.
Both are taught directly, at one flow training point ``x_t`` of a real clip (:meth:`AnchorFlow.flow_batch`):

    loss = mean over blocks k of ‖cross_k(q_k, Z_student) − cross_k(q_k, Z_teacher)‖² / ‖cross_k(q_k, Z_teacher)‖²
           + ‖pooled_student − pooled_teacher‖² / var(pooled_teacher)

with ``q_k`` the queries the teacher's own forward pass put to block k. Equal reads everywhere give the
teacher's velocity exactly. Teaching each block's read directly is what makes this fast: the first version
matched only the final velocity, through six frozen blocks, and in 120 steps its velocity error fell no lower
than what dropping the text altogether gives (0.17 against 0.16–0.26; NOTES.md, fourteenth session).

Those relative errors are dominated by what every caption shares (motion, colour, the frame); the digit is a
small part of a read, so a student that draws an "average" digit already scores well. With ``contrast`` > 0
each clip also comes with a second caption pair one digit apart (or, with ``contrast_on``, one colour or one
motion apart; :func:`contrast_pair`), and the student's reads must change between its two captions as the
teacher's change between theirs (:func:`distil_loss`).

The student reads a paraphrase (:func:`vidfuse.data.paraphrase.make_paraphrase`) or a template caption, or
with ``short`` > 0 a short wording (:func:`vidfuse.data.paraphrase.make_short`: "3, green, right", "the 3 is
green and moves right", "a left-right bounce"), in either language, whatever the teacher's language; the
teacher always reads the template caption the clip came with. Guidance needs nothing more: the unconditional
branch is the fusion's null token, unchanged.

The student's model folder records the words it was taught (the teacher's vocabulary and the paraphrase
grammar's) in ``vocabulary.json``, so prompts far outside them still warn (:mod:`vidfuse.data.vocabulary`).
Run folder: ``checkpoint.safetensors`` (the trainable weights, optimiser, step, RNG; atomic, ``--resume``),
``metrics.jsonl``, ``model/`` (the student, a ``from_pretrained`` folder, written at every checkpoint).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from vidfuse.config import ModelConfig
from vidfuse.data.digit_captions import LANGS, make_caption
from vidfuse.data.moving_digits import COLOURS, MOTIONS, MovingDigits, is_held_out
from vidfuse.data.paraphrase import make_paraphrase, make_short
from vidfuse.data.vocabulary import Vocabulary, moving_digits_vocabulary
from vidfuse.errors import InputError
from vidfuse.fileio import atomic_write_text
from vidfuse.models.base import Condition
from vidfuse.models.model import VidFuseModel
from vidfuse.pipeline import TextToVideoPipeline, autocast_for, build_model, load_tokenizer, pad_tokens
from vidfuse.train import checkpoint
from vidfuse.train.runlog import truncate_metrics
from vidfuse.train.sampler import match_video_size
from vidfuse.train.schedule import lr_scale

CONTRAST_KINDS = ("digit", "colour", "motion")
# each motion's nearest others: the same axis, one-way against bounce
NEAR_MOTIONS = {
    "left": ("left and right",),
    "right": ("left and right",),
    "up": ("up and down",),
    "down": ("up and down",),
    "left and right": ("left", "right"),
    "up and down": ("up", "down"),
}
DATA_SIZE = 10**9  # clip indices: step · batch + i, so a run never repeats a clip


@dataclass
class DistilConfig:
    teacher: str | None = None  # model folder (None: the default model)
    out: str = "runs/distil"
    text_encoder: str = "e5"
    text_layers: int = 2  # trainable Transformer blocks on the frozen encoder
    paraphrase: float = 0.75  # share of student captions from the paraphrase grammar (the rest: templates)
    short: float = 0.0  # share of student captions in short wordings (make_short), taken from either of those
    level: int = 1
    batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 50
    steps: int = 1000
    # linear decay of lr over this invocation's last N steps (to --steps; a later --resume stage starts at lr again)
    cooldown_steps: int = 0
    max_minutes: float | None = None
    ckpt_every: int = 100
    pooled_weight: float = 1.0
    contrast: float = 0.0  # weight of the contrast term (0: no contrast pairs; see distil_loss)
    contrast_on: str = "digit"  # what a contrast pair changes, comma-separated: digit, colour, motion
    # share of motion changes that swap a one-way motion and the bounce on its axis (right <-> left and right,
    # up and down <-> up or down): the closest pair, the one a student reads wrong first (see change_attribute)
    contrast_near: float = 0.0
    # share of English student captions with their articles dropped ("red 3 drifting left", "show blue 0 moving
    # up"): headline English, which a student taught only on sentences with articles can read as no motion at all
    drop_articles: float = 0.0
    seed: int = 0

    @property
    def contrast_kinds(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.contrast_on.split(",") if k.strip())

    def check(self) -> None:
        for name in ("paraphrase", "short", "contrast_near", "drop_articles"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"{name} is a share in [0, 1], got {getattr(self, name)}")
        if self.cooldown_steps < 0:
            raise InputError(f"cooldown_steps must be at least 0, got {self.cooldown_steps}")
        for name in ("batch_size", "steps", "ckpt_every"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.text_encoder == "scratch":
            raise InputError("the student needs a pretrained text encoder (e5, minilm or a folder), not 'scratch'")
        if not self.lr > 0:
            raise InputError(f"lr must be positive, got {self.lr}")
        if not self.contrast >= 0:
            raise InputError(f"contrast is a loss weight, at least 0, got {self.contrast}")
        kinds = self.contrast_kinds
        if not kinds or not set(kinds) <= set(CONTRAST_KINDS) or len(set(kinds)) < len(kinds):
            raise InputError(
                f"contrast_on lists what a pair changes, each once, from {', '.join(CONTRAST_KINDS)}; "
                f"got {self.contrast_on!r}"
            )
        if self.level not in (1, 2):
            raise InputError(f"level must be 1 or 2, got {self.level}")
        if self.contrast_near > 0 and "motion" not in kinds:
            raise InputError(
                f"contrast_near {self.contrast_near} swaps motions, but the pairs change only {self.contrast_on!r}: "
                "add motion to --contrast-on"
            )
        if self.contrast == 0 and kinds != ("digit",):
            raise InputError(
                f"contrast_on {self.contrast_on!r} changes nothing without the contrast term: add --contrast W (W > 0)"
            )


def student_config(teacher: ModelConfig, text_encoder: str, text_layers: int) -> ModelConfig:
    """The teacher's config with the new text encoder (frozen backbone, ``text_layers`` trainable blocks)."""
    d = teacher.to_dict()
    d.update(text_encoder=text_encoder, text_layers=text_layers, vocab_size=0, freeze_text=True)
    return ModelConfig.from_dict(d)


def build_student(teacher: VidFuseModel, cfg: ModelConfig) -> VidFuseModel:
    """The student: every weight but the text encoder's copied from the teacher and frozen; the text
    encoder's own layers (not its pretrained backbone) trainable."""
    if not hasattr(teacher.generator, "flow_batch"):
        raise InputError(
            f"distilling a text encoder needs a flow generator (anchor, layered); the teacher's is "
            f"{teacher.cfg.generator!r}"
        )
    if not bool(getattr(teacher.generator, "latent_stats_set", True)):
        raise InputError("the teacher has never been trained (its latent statistics are unset): train it first")
    student = build_model(cfg)
    own = {k: v for k, v in teacher.state_dict().items() if not k.startswith(("text_encoder.", "alignment."))}
    missing, unexpected = student.load_state_dict(own, strict=False)
    bad = [k for k in missing if not k.startswith("text_encoder.")] + list(unexpected)
    if bad:
        raise InputError(f"the teacher's weights do not fit the student ({bad[:3]}); is the teacher folder whole?")
    student.eval().requires_grad_(False)  # frozen modules stay in eval mode; train_step trains the text encoder
    for p in trainable(student):
        p.requires_grad_(True)
    return student


def trainable(student: VidFuseModel) -> list[nn.Parameter]:
    return [p for n, p in student.text_encoder.named_parameters() if not n.startswith("backbone.")]


def text_state(student: VidFuseModel) -> dict[str, torch.Tensor]:
    """The student's own text-encoder tensors (parameters and buffers), not the pretrained backbone's."""
    return {k: v for k, v in student.text_encoder.state_dict().items() if not k.startswith("backbone.")}


def caption_pair(
    data: MovingDigits, index: int, paraphrase: float, seed: int, short: float = 0.0, drop_articles: float = 0.0
) -> tuple[torch.Tensor, list[str]]:
    """Clip ``index`` (C, T, H, W) and two captions: its template caption (the teacher's) and a caption of the
    same clip for the student: a paraphrase with probability ``paraphrase``, else another template caption, in
    either language; with probability ``short`` either is a short wording instead (:func:`make_short`); with
    probability ``drop_articles`` an English one loses its articles."""
    video, teacher_caption, attrs = data[index]
    student, _ = _student_captions(
        attrs, index, paraphrase, seed, contrast=None, short=short, drop_articles=drop_articles
    )
    return video, [teacher_caption, student]


def contrast_pair(
    data: MovingDigits,
    index: int,
    paraphrase: float,
    seed: int,
    on: tuple[str, ...] = ("digit",),
    short: float = 0.0,
    near: float = 0.0,
    drop_articles: float = 0.0,
) -> tuple[torch.Tensor, list[str]]:
    """Clip ``index`` and four captions: the teacher's and the student's for the clip (as :func:`caption_pair`),
    then the same two with one attribute of one digit changed (its kind drawn from ``on``: digit, colour,
    motion; ``near``: :func:`change_attribute`). The student's two are worded alike (one grammar draw replayed),
    so what tells them apart is that attribute; the teacher's other caption is a template caption of the changed
    attributes."""
    video, teacher_caption, attrs = data[index]
    (student, other_student), other = _student_captions(
        attrs, index, paraphrase, seed, contrast=on, short=short, near=near, drop_articles=drop_articles
    )
    rng = np.random.default_rng([seed, 11, index])
    other_teacher = make_caption(other, LANGS[int(rng.integers(len(LANGS)))], rng)
    return video, [teacher_caption, student, other_teacher, other_student]


def change_attribute(attrs: dict, kind: str, which: int, rng: np.random.Generator, near: float = 0.0) -> dict:
    """``attrs`` with digit ``which``'s ``kind`` replaced by another value of the same kind. A colour is changed
    only where the caption names one (an unnamed colour is the white no caption mentions): else the digit.
    With probability ``near`` a motion is changed to its nearest other (:data:`NEAR_MOTIONS`: a one-way motion to
    the bounce on its axis, a bounce to a one-way motion on its axis), the pair closest in meaning ("moving up" /
    "moving up and down"; the grammar picks each motion's own verbs, so the student's two captions may differ in
    more words than that); else to any other.
    The changed clip stays a training clip: no held-out (digit, motion) pair, no digit twice in one clip
    (the value is drawn again until it is; a draw that is already one costs nothing more, so the captions of
    earlier runs that never hit one are unchanged)."""
    if kind == "colour" and attrs["colour_named"][which]:
        named = [c for c in COLOURS if c not in ("white", attrs["colours"][which])]
        colours = list(attrs["colours"])
        colours[which] = named[int(rng.integers(len(named)))]
        return {**attrs, "colours": colours}
    digits, motions = list(attrs["digits"]), list(attrs["motions"])
    others = [m for m in MOTIONS if m != attrs["motions"][which]]
    if kind == "motion" and near > 0 and rng.random() < near:  # no draw at 0: earlier runs' pairs stay theirs
        # the near ones that keep the clip a training clip; a digit whose near ones are all held out takes any
        nearest = [m for m in NEAR_MOTIONS[attrs["motions"][which]] if not is_held_out(digits[which], m)]
        others = nearest or others
    for _ in range(100):
        if kind == "motion":
            motions[which] = others[int(rng.integers(len(others)))]
        else:
            digits[which] = (attrs["digits"][which] + 1 + int(rng.integers(9))) % 10  # any other digit
        if not is_held_out(digits[which], motions[which]) and digits.count(digits[which]) == 1:
            return {**attrs, "digits": digits, "motions": motions}
    raise AssertionError(f"no training value for a {kind} change of {attrs['digits']} / {attrs['motions']}")


def _student_captions(
    attrs: dict,
    index: int,
    paraphrase: float,
    seed: int,
    *,
    contrast: tuple[str, ...] | None,
    short: float = 0.0,
    near: float = 0.0,
    drop_articles: float = 0.0,
):
    rng = np.random.default_rng([seed, 7, index])
    lang = LANGS[int(rng.integers(len(LANGS)))]
    make = make_paraphrase if rng.random() < paraphrase else make_caption
    if short > 0 and rng.random() < short:  # no draw at 0: the captions of runs before short wordings stay theirs
        make = make_short
    if lang == "en" and drop_articles > 0 and rng.random() < drop_articles:  # no draw at 0, as above
        make = _without_articles(make)
    if not contrast:
        return make(attrs, lang, rng), None
    which = int(rng.integers(len(attrs["digits"])))
    # one kind draws nothing, so a digit-only run's captions are the ones it always had (a resumed run's too)
    kind = contrast[int(rng.integers(len(contrast)))] if len(contrast) > 1 else contrast[0]
    other = change_attribute(attrs, kind, which, rng, near)
    state = rng.bit_generator.state
    first = make(attrs, lang, rng)
    rng.bit_generator.state = state  # the same draws: the same wording, the other digit
    return (first, make(other, lang, rng)), other


def _without_articles(make):
    """``make`` with every article taken out of its caption: "show a red 3 drifting to the left" → "show red 3
    drifting to left"."""

    def make_bare(attrs, lang, rng):
        return _ARTICLE.sub(lambda m: "1" if m.group(1) else "", make(attrs, lang, rng))

    return make_bare


# an article and the word after it, kept in "all the time" / "the whole time"; "a one" becomes "1", as a bare "one"
# reads as a pronoun ("make blue one move up")
_ARTICLE = re.compile(r"(?<!\ball )\b(?:[Aa]n?|[Tt]he) (?:(one)(?![\w-])|(?!whole\b)(?=\S))")


def cross_reads(generator: nn.Module) -> list[nn.Module]:
    """The blocks of a flow generator's Transformer that read Z by cross-attention (``cross_norm`` → ``cross``)."""
    blocks = getattr(getattr(generator, "transformer", None), "blocks", None) or []
    reads = [b for b in blocks if hasattr(b, "cross") and hasattr(b, "cross_norm")]
    if not reads:
        raise InputError(f"the {type(generator).__name__} generator has no cross-attention blocks to teach through")
    return reads


def distil_loss(
    teacher: VidFuseModel,
    student: VidFuseModel,
    video: torch.Tensor,
    teacher_tokens: tuple[torch.Tensor, torch.Tensor],
    student_tokens: tuple[torch.Tensor, torch.Tensor],
    *,
    pooled_weight: float = 1.0,
    velocity: bool = False,
    other_tokens: tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
    contrast_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """The distillation loss on one batch (module docstring): real clips (B, C, T, H, W), each side's
    (token ids, mask). A share ``p_image`` of the samples is given its first frame, as in training.

    ``cross``: every cross-attention block's read of the student's Z, with the queries the teacher's own
    forward pass put to it, against the teacher's read (squared error relative to the read's energy, mean
    over blocks); ``pooled``: Z's pooled vector against the teacher's (relative to its variance). Equal
    reads in every block and equal pooled vectors give the teacher's velocity exactly; each block's read
    is taught directly, not through the blocks above it. With ``velocity`` the student's whole velocity
    error is measured too (no gradient): what guidance and sampling will see.

    ``other_tokens`` (the teacher's, the student's) are a second caption per sample that differs from the first
    in one attribute, a digit by default (:func:`contrast_pair`). Both are taught as above, at the first
    caption's queries, and the ``contrast`` term asks that the student's reads change from one to the other
    as the teacher's do: ‖(s₁ − s₂) − (t₁ − t₂)‖² / ‖t₁ − t₂‖² per block, and the same for the pooled vector.
    The digit is a small part of a read's energy, so the plain term barely sees a student that draws the
    average digit; this term is all that attribute. Samples given their first frame are left out of it (the
    frame, not the caption, carries their digit and colour)."""
    b = video.shape[0]
    has_image = torch.rand(b) < teacher.cfg.p_image
    image = video[:, :, 0] if has_image.any() else None
    has = None if image is None else has_image.to(video.device)
    reads = cross_reads(teacher.generator)
    seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [
        blk.cross.register_forward_hook(lambda mod, args, out, i=i: seen.__setitem__(i, (args[0], out)))
        for i, blk in enumerate(reads)
    ]
    # the student's visual encoder is the teacher's, frozen (build_student): the first frames are encoded once
    # for the four conditions of a contrast step, not once each
    with torch.no_grad():
        visual = None if image is None else teacher.encode_images(image, has)
    try:
        with torch.no_grad():
            ct = teacher.condition(*teacher_tokens, image, has_image=has, visual=visual)
            point = teacher.generator.flow_batch(video, ct)
            va_t, vm_t = teacher.generator.velocity(point, ct)
    finally:
        for h in hooks:
            h.remove()
    cs = student.condition(*student_tokens, image, has_image=has, visual=visual)
    student_reads = cross_reads(student.generator)
    queries = [seen[i][0] for i in range(len(reads))]  # every block read Z in the teacher's pass
    reads_t = [seen[i][1].float() for i in range(len(reads))]
    reads_s = _reads(student_reads, queries, cs)
    cross = _mean_relative(reads_s, reads_t)
    pooled = _relative(cs.pooled.float(), ct.pooled.float(), ct.pooled.float().var())
    out = {"loss": cross + pooled_weight * pooled, "cross": cross.detach(), "pooled": pooled.detach()}
    if other_tokens is not None:
        with torch.no_grad():
            ct2 = teacher.condition(*other_tokens[0], image, has_image=has, visual=visual)
            reads_t2 = _reads(reads, queries, ct2)
        cs2 = student.condition(*other_tokens[1], image, has_image=has, visual=visual)
        reads_s2 = _reads(student_reads, queries, cs2)
        text = ~has_image.to(video.device)
        cross2 = _mean_relative(reads_s2, reads_t2)
        pooled2 = _relative(cs2.pooled.float(), ct2.pooled.float(), ct2.pooled.float().var())
        if text.any():
            diff = _mean_relative(
                [(a - b)[text] for a, b in zip(reads_s, reads_s2)], [(a - b)[text] for a, b in zip(reads_t, reads_t2)]
            )
            pdiff = (cs.pooled.float() - cs2.pooled.float())[text]
            tdiff = (ct.pooled.float() - ct2.pooled.float())[text]
            contrast = diff + pooled_weight * _relative(pdiff, tdiff)
        else:
            contrast = cross2.new_zeros(())
        out["loss"] = (out["loss"] + cross2 + pooled_weight * pooled2) / 2 + contrast_weight * contrast
        out["contrast"] = contrast.detach()
    if velocity:
        with torch.no_grad():
            va_s, vm_s = student.generator.velocity(point, cs.detach())
        out["velocity"] = (va_s.float() - va_t.float()).pow(2).mean() + (vm_s.float() - vm_t.float()).pow(2).mean()
    return out


def _reads(blocks: list[nn.Module], queries: list[torch.Tensor], cond: Condition) -> list[torch.Tensor]:
    """Each block's cross-attention read of ``cond``'s tokens for the given queries (float32)."""
    return [blk.cross(q, cond.tokens, cond.mask).float() for blk, q in zip(blocks, queries)]


def _mean_relative(xs: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack([_relative(x, t) for x, t in zip(xs, targets)]).mean()


def _relative(x: torch.Tensor, target: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
    """‖x − target‖² relative to ``scale`` (default: the target's energy), both as means."""
    scale = target.pow(2).mean() if scale is None else scale
    return (x - target).pow(2).mean() / scale.clamp_min(1e-8)


@torch.no_grad()
def reference_errors(teacher: VidFuseModel, video: torch.Tensor, tokens: tuple[torch.Tensor, torch.Tensor]) -> dict:
    """What the velocity term reads for a student that says nothing (the text dropped) and for one that says
    another clip's caption: the scale against which the logged ``velocity`` is read."""
    ct = teacher.condition(*tokens)
    point = teacher.generator.flow_batch(video, ct)
    va, vm = teacher.generator.velocity(point, ct)
    drop = torch.ones(video.shape[0], dtype=torch.bool, device=video.device)
    out = {}
    for name, other in (("null", teacher.condition(*tokens, drop_text=drop)), ("other", ct.roll(1))):
        wa, wm = teacher.generator.velocity(point, _text_only(other))
        out[name] = float((wa - va).pow(2).mean() + (wm - vm).pow(2).mean())
    return out


def _text_only(cond: Condition) -> Condition:
    return Condition(cond.tokens, cond.mask, cond.pooled)


def student_vocabulary(teacher_pipe: TextToVideoPipeline) -> Vocabulary:
    """The words the student was taught: the teacher's and the paraphrase grammar's."""
    words, chars = moving_digits_vocabulary()
    teacher = teacher_pipe.vocabulary
    if teacher is not None:
        words, chars = words | teacher.words, chars | teacher.chars
    if teacher is None:
        return Vocabulary(words, chars)
    return Vocabulary(words, chars, trained_on=teacher.trained_on, subjects=teacher.subjects)


class Distiller:
    def __init__(self, cfg: DistilConfig, *, resume: bool = False, quiet: bool = False):
        cfg.check()
        self.cfg, self.quiet = cfg, quiet
        self.out = Path(cfg.out)
        torch.manual_seed(cfg.seed)
        teacher_pipe = TextToVideoPipeline.from_pretrained(cfg.teacher, device="cpu")
        self.teacher = teacher_pipe.model.eval().requires_grad_(False)
        self.teacher_tok = teacher_pipe.tokenizer
        scfg = student_config(self.teacher.cfg, cfg.text_encoder, cfg.text_layers)
        self.student = build_student(self.teacher, scfg)
        self.student_tok = load_tokenizer(scfg, None)
        vocab = student_vocabulary(teacher_pipe)
        if not hasattr(self.student_tok, "words"):
            raise InputError(f"text encoder {cfg.text_encoder!r}: its tokenizer keeps no vocabulary record; use e5")
        self.student_tok.words, self.student_tok.chars = sorted(vocab.words), sorted(vocab.chars)  # vocabulary.json
        self.student_tok.subjects = vocab.subjects
        self.params = trainable(self.student)
        self.opt = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=0.0)
        self.data = MovingDigits(split="train", level=cfg.level, lang="both", size=DATA_SIZE, seed=cfg.seed)
        self.step, self.elapsed_s = 0, 0.0
        self.out.mkdir(parents=True, exist_ok=True)
        checkpoint.clean_stray_files(self.out)
        if resume:
            self._load()
        elif (self.out / checkpoint.CHECKPOINT).exists():
            raise InputError(
                f"{self.out} already holds a distillation checkpoint; add --resume, or choose another --out"
            )

    # ---- one step ---------------------------------------------------------------------------
    def batch(self, step: int) -> tuple[torch.Tensor, list[list[str]]]:
        """The step's clips and caption columns: the teacher's and the student's, then (with ``contrast``) the
        same two with one attribute changed."""
        idx = range(step * self.cfg.batch_size, (step + 1) * self.cfg.batch_size)
        p, seed, short = self.cfg.paraphrase, self.cfg.seed, self.cfg.short
        if self.cfg.contrast > 0:
            near, bare = self.cfg.contrast_near, self.cfg.drop_articles
            rows = [contrast_pair(self.data, i, p, seed, self.cfg.contrast_kinds, short, near, bare) for i in idx]
        else:
            rows = [caption_pair(self.data, i, p, seed, short, self.cfg.drop_articles) for i in idx]
        c = self.teacher.cfg
        video = match_video_size(torch.stack([r[0] for r in rows]), c.num_frames, c.height, c.width)
        return video, [list(column) for column in zip(*(r[1] for r in rows))]

    def tokens(self, tokenizer, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return pad_tokens(*tokenizer.encode(captions, on_overflow="truncate"))

    def train_step(self) -> dict[str, float]:
        video, caps = self.batch(self.step)
        other = None
        if len(caps) == 4:
            other = (self.tokens(self.teacher_tok, caps[2]), self.tokens(self.student_tok, caps[3]))
        c = self.cfg
        scale = lr_scale(self.step, warmup=c.warmup_steps, end=c.steps, cooldown=c.cooldown_steps)
        for g in self.opt.param_groups:
            g["lr"] = self.cfg.lr * scale
        self.student.text_encoder.train()  # the rest stays in eval mode (build_student; save() sets it again)
        with autocast_for(torch.device("cpu")):  # bf16 where the CPU has AVX-512 bf16; fp32 elsewhere
            out = distil_loss(
                self.teacher,
                self.student,
                video,
                self.tokens(self.teacher_tok, caps[0]),
                self.tokens(self.student_tok, caps[1]),
                pooled_weight=self.cfg.pooled_weight,
                velocity=self.step % 10 == 0,
                other_tokens=other,
                contrast_weight=self.cfg.contrast,
            )
        self.opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        grad = nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.step += 1
        return {k: float(v.detach()) for k, v in out.items()} | {"grad_norm": float(grad), "lr": self.cfg.lr * scale}

    # ---- the run ----------------------------------------------------------------------------
    def fit(self) -> Path:
        cfg = self.cfg
        if self.step == 0:
            video, caps = self.batch(0)
            ref = reference_errors(self.teacher, video, self.tokens(self.teacher_tok, caps[0]))
            self._log({"step": 0, "reference_null": ref["null"], "reference_other": ref["other"]})
        limit = None if cfg.max_minutes is None else cfg.max_minutes * 60
        last = 0.0
        while self.step < cfg.steps:
            if limit is not None and self.elapsed_s + last > limit:
                break
            t0 = time.perf_counter()
            logs = self.train_step()
            last = time.perf_counter() - t0
            self.elapsed_s += last
            self._log({"step": self.step, **logs, "s_per_step": last})
            if self.step % cfg.ckpt_every == 0:
                self.save()
        self.save()
        return self.out / "model"

    def _log(self, row: dict) -> None:
        line = json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()})
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(line + "\n")
        if not self.quiet:
            print(line, flush=True)

    def save(self) -> None:
        """The student's model folder, then the checkpoint (both atomic)."""
        self.student.eval()
        TextToVideoPipeline(self.student, self.student_tok, device="cpu").save_pretrained(self.out / "model")
        tensors = {f"model.{k}": v for k, v in text_state(self.student).items()}
        opt_tensors, opt_groups = checkpoint.optimizer_state({"main": self.opt})
        rng_tensors, rng_meta = checkpoint.capture_rng()
        tensors.update(opt_tensors | rng_tensors)
        meta = {
            "step": self.step,
            "elapsed_s": self.elapsed_s,
            "config": asdict(self.cfg),
            "optim": opt_groups,
            "rng": rng_meta,
        }
        checkpoint.write(self.out, {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, meta)
        atomic_write_text(self.out / "config.json", json.dumps(asdict(self.cfg), indent=2))

    def _load(self) -> None:
        tensors, meta = checkpoint.read(self.out / checkpoint.CHECKPOINT)
        state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            missing, unexpected = self.student.text_encoder.load_state_dict(state, strict=False)
        except RuntimeError as e:
            raise InputError(f"--resume: {self.out}'s checkpoint is another student's ({str(e)[:120]})") from e
        if unexpected or [k for k in missing if not k.startswith("backbone.")]:
            raise InputError(f"--resume: {self.out}'s checkpoint is another student's; resume with its own settings")
        checkpoint.load_optimizer_state(tensors, meta["optim"], {"main": self.opt})
        checkpoint.restore_rng(tensors, meta["rng"])
        self.step, self.elapsed_s = int(meta["step"]), float(meta.get("elapsed_s", 0.0))
        truncate_metrics(self.out, self.step)


def distil(cfg: DistilConfig, *, resume: bool = False, quiet: bool = False) -> Path:
    """Run a distillation (module docstring); returns the student's model folder."""
    return Distiller(cfg, resume=resume, quiet=quiet).fit()
