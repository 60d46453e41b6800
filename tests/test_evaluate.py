"""The judge (shipped weights), FD-judge, evaluate_model / evaluate_captions and `vidfuse eval`."""

import json

import numpy as np
import pytest
import torch
from conftest import tiny_pipeline
from typer.testing import CliRunner

from vidfuse.errors import InputError
from vidfuse.evaluate import (
    JUDGE_DIR,
    JudgeEnsemble,
    clips_to_tensor,
    evaluate_captions,
    evaluate_model,
    fd_summary,
    frechet_distance,
    frechet_distance_with_error,
    freeze,
    invalid_clips,
    judge_accuracy_on_real,
    judge_clips,
    judge_self_test,
    load_judge,
    real_test_clips,
    score_clips,
)

REPORT_KEYS = {"n", "digit", "colour", "motion", "per_digit", "joint"}
GROUPS = {"all", "seen", "held_out", "en", "zh", "seen/en", "seen/zh", "held_out/en", "held_out/zh"}


@pytest.fixture(scope="module")
def judge():
    return load_judge(device="cpu")


def test_judge_ships_inside_the_package(judge):
    assert isinstance(judge, JudgeEnsemble) and not judge.training
    listing = json.loads((JUDGE_DIR / "ensemble.json").read_text())
    assert listing["members"][0] == "." and len(judge.members) == len(listing["members"]) == 4
    for member in listing["members"]:
        assert (JUDGE_DIR / member / "model.safetensors").stat().st_size < 3_000_000
    assert load_judge(device="cpu") is judge  # cached


def test_ensemble_votes_together_but_measures_fd_in_its_first_members_features(judge):
    clips, _, _ = real_test_clips(8, level=1, seed=5)
    x = clips_to_tensor(clips)
    with torch.no_grad():
        together, first = judge(x), judge.members[0](x)
        assert torch.equal(together["features"], first["features"])  # FD-judge figures don't move with members
        # the vote is the members' mean log-probability
        colour = torch.stack([m(x)["colour"].float().log_softmax(-1) for m in judge.members]).mean(0)
        assert torch.allclose(together["colour"], colour, atol=1e-5)
        # an ensemble of one judge reads exactly as that judge
        alone, solo = (
            judge_clips(clips, judge=judge.members[0]),
            judge_clips(clips, judge=JudgeEnsemble([judge.members[0]])),
        )
    for key in ("count", "digits", "colour", "motion"):
        np.testing.assert_array_equal(alone[key], solo[key])


def test_a_broken_ensemble_listing_says_what_is_wrong(tmp_path):
    (tmp_path / "ensemble.json").write_text('{"members": []}')
    with pytest.raises(InputError, match="non-empty"):
        load_judge(tmp_path, device="cpu")
    (tmp_path / "ensemble.json").write_text('{"members": ["missing"]}')
    with pytest.raises(InputError, match="holds no judge"):
        load_judge(tmp_path, device="cpu")


def test_judge_reads_real_test_clips(judge):
    # test glyphs (never trained on), seen and held-out pairs, a seed the training script never scored.
    # Measured on 4,000 clips a level (vidfuse/judge_model/ensemble.json): level 1 joint 99.1%, colour and
    # motion 99.9% (what it misses are odd glyphs: 18 of the 983 test glyphs drawn account for every miss
    # of member 0 alone; a standard MNIST CNN trained on the same 4,000 train glyphs reads 98.9-99.0% of
    # the 1,000 test glyphs); level 2 joint 96.4%, 98.4% where the two digits are apart in some frame.
    # The bounds leave room for 300 / 200 clips' sampling noise.
    one = judge_accuracy_on_real(judge, n=300, level=1, seed=12345)
    assert one["all"]["n"] == 300
    assert one["all"]["joint"] >= 0.98 and one["held_out"]["joint"] >= 0.97, one
    assert one["all"]["colour"] >= 0.99 and one["all"]["motion"] >= 0.99, one
    two = judge_accuracy_on_real(judge, n=200, level=2, seed=12345)
    assert two["all"]["joint"] >= 0.9 and two["all"]["per_digit"] >= 0.95, two
    assert two["separable"]["joint"] >= 0.95 and two["all"]["motion"] >= 0.98, two


def test_exported_test_split_matches_its_captions(judge, tmp_path):
    """Issue 2's check: the MP4s of `vidfuse data moving-digits --split test` show what attributes.jsonl says."""
    from vidfuse.data.moving_digits import export_moving_digits
    from vidfuse.media.video_io import read_video

    for level in (1, 2):
        out = export_moving_digits(tmp_path / f"l{level}", split="test", n=40, level=level, lang="both", seed=7)
        records = [json.loads(line) for line in (out / "attributes.jsonl").read_text().splitlines()]
        clips = np.stack([read_video(out / "videos" / f"{r['videoid']}.mp4") for r in records])
        scores = score_clips(judge_clips(clips, judge=judge), records)
        # level 2: the judge reads 94% of real two-digit clips (digits overlap in some); see above
        assert scores["joint"].mean() >= (0.975 if level == 1 else 0.875), (level, scores["joint"].mean())


def test_black_noise_and_frozen_clips_are_wrong(judge):
    real, _, attrs = real_test_clips(40, level=1, seed=3)
    rng = np.random.default_rng(0)
    for fake in (invalid_clips("black", 40, rng), invalid_clips("noise", 40, rng), freeze(real)):
        assert score_clips(judge_clips(fake, judge=judge), attrs)["joint"].sum() == 0
    frozen = judge_clips(freeze(real), judge=judge)
    assert (frozen["count"] == 1).all()  # a frozen digit is still a digit, but its motion is "static"
    assert (frozen["motion"][np.arange(40), frozen["digits"][:, 0]] == 6).all()
    assert (judge_clips(invalid_clips("black", 4, rng), judge=judge)["count"] == 0).all()


def test_frechet_distance(judge):
    real_a, _, _ = real_test_clips(200, seed=0)
    real_b, _, _ = real_test_clips(200, seed=1)
    fa, fb = judge_clips(real_a, judge=judge)["features"], judge_clips(real_b, judge=judge)["features"]
    noise = judge_clips(invalid_clips("noise", 200, np.random.default_rng(0)), judge=judge)["features"]
    assert frechet_distance(fa, fa) == pytest.approx(0, abs=1e-6)
    real_real, real_noise = frechet_distance(fa, fb), frechet_distance(fa, noise)
    assert real_noise > 20 * real_real
    assert frechet_distance(fa, fb) == pytest.approx(frechet_distance(fb, fa), rel=1e-4)
    with pytest.raises(InputError):
        frechet_distance(fa[:, :3], fb)


def test_fd_error_matches_the_spread_of_independent_draws_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    for n in (100, 800):
        draws = [frechet_distance(rng.normal(size=(n, 16)), rng.normal(size=(n, 16))) for _ in range(16)]
        fd, se = frechet_distance_with_error(rng.normal(size=(n, 16)), rng.normal(size=(n, 16)), seed=0)
        assert 0.5 < se / np.std(draws, ddof=1) < 2.0, (n, se, np.std(draws, ddof=1))
    small = frechet_distance_with_error(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)), seed=0)
    large = frechet_distance_with_error(rng.normal(size=(1600, 8)), rng.normal(size=(1600, 8)), seed=0)
    assert large[1] < small[1] / 2  # ~1/sqrt(n)
    shifted = frechet_distance_with_error(rng.normal(size=(400, 8)), rng.normal(3, 1, size=(400, 8)), seed=0)
    assert shifted[0] == pytest.approx(72, rel=0.15) and shifted[1] < 0.2 * shifted[0]  # |Δμ|² = 8 · 3²


def test_self_test_is_cached_per_judge_and_reports_progress(judge, monkeypatch):
    import vidfuse.evaluate.harness as ev  # where judge_self_test looks judge_accuracy_on_real up

    seen = []
    first = judge_self_test(n=12, progress=lambda stage, f: seen.append((stage, f)))
    assert not first["cached"] and seen[0] == ("self-test", 0.0) and seen[-1] == ("self-test", 1.0)
    monkeypatch.setattr(ev, "judge_accuracy_on_real", lambda *a, **k: pytest.fail("recomputed"))
    again = judge_self_test(n=12)
    assert again["cached"] and {k: v for k, v in again.items() if k != "cached"} == {
        k: v for k, v in first.items() if k != "cached"
    }
    with pytest.raises(pytest.fail.Exception):
        judge_self_test(n=12, cache=False)  # asked not to use the cache
    with pytest.raises(pytest.fail.Exception):
        judge_self_test(n=13)  # another n is another test


def test_clips_of_any_size_are_resampled():
    x = clips_to_tensor(np.zeros((2, 4, 16, 16, 3), np.uint8))
    assert x.shape == (2, 3, 16, 64, 64)
    with pytest.raises(InputError):
        clips_to_tensor(np.zeros((2, 4, 16, 16, 3), np.float32))


def test_evaluate_model_on_a_tiny_random_pipeline(judge, tmp_path):
    pipe = tiny_pipeline("gan")
    res = evaluate_model(pipe, n=16, level=1, seed=0, batch_size=8, judge=judge, sheet=tmp_path / "sheet.png")
    assert set(res["groups"]) == GROUPS and set(res["judge_on_real"]) == GROUPS
    for group in res["groups"].values():
        assert set(group) == REPORT_KEYS
    assert res["groups"]["all"]["n"] == 16
    assert res["groups"]["seen"]["n"] + res["groups"]["held_out"]["n"] == 16
    assert res["groups"]["en"]["n"] == res["groups"]["zh"]["n"] == 8
    assert res["groups"]["all"]["joint"] <= 0.2  # an untrained generator draws nothing the judge accepts
    assert res["judge_on_real"]["all"]["joint"] >= 0.9
    assert res["fd_judge"] is None and res["fd_judge_se"] is None  # 16 clips in 192 dimensions: noise, not shown
    assert "below 200" in fd_summary(res)
    assert (tmp_path / "sheet.png").stat().st_size > 0
    json.dumps(res, allow_nan=False)
    forced = evaluate_model(pipe, n=8, level=1, batch_size=8, judge=judge, fd_min_n=8)
    assert forced["fd_judge"] > 0 and forced["fd_judge_se"] > 0 and forced["fd_judge_real_vs_real_se"] > 0
    assert "± " in fd_summary(forced) and "n = 8" in fd_summary(forced)
    image = evaluate_model(pipe, n=4, level=1, image_conditioned=True, judge=judge)
    assert image["image_conditioned"] and image["groups"]["all"]["n"] == 4


def test_evaluate_captions(judge):
    pipe = tiny_pipeline("vae")
    res = evaluate_captions(
        pipe,
        ["show a yellow six sliding to the right", "一个红色的三在上下跳"],
        [
            {"digit": 6, "colour": "yellow", "motion": "right", "group": "en"},
            {"digits": [3], "colours": ["red"], "motions": ["up and down"], "group": "zh"},
        ],
        judge=judge,
    )
    assert set(res["all"]) == REPORT_KEYS and set(res["groups"]) == {"en", "zh"}
    assert [c["caption"] for c in res["clips"]][0] == "show a yellow six sliding to the right"
    with pytest.raises(InputError):
        evaluate_captions(pipe, ["a purple 3"], [{"digit": 3, "colour": "purple", "motion": "left"}], judge=judge)
    with pytest.raises(InputError):
        evaluate_captions(pipe, ["a 3", "a 4"], [{"digit": 3, "motion": "left"}], judge=judge)


def test_cli_eval(tmp_path):
    from vidfuse.cli import app

    tiny_pipeline("gan").save_pretrained(tmp_path / "m")
    out = CliRunner().invoke(
        app,
        [
            "eval",
            "--model",
            str(tmp_path / "m"),
            "--n",
            "8",
            "--self-test-n",
            "20",
            "--json",
            str(tmp_path / "r.json"),
            "--sheet",
            str(tmp_path / "s.png"),
        ],
    )
    assert out.exit_code == 0, out.output
    assert "judge self-test" in out.output and "held-out/zh" in out.output and "FD-judge" in out.output
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["self_test"]["black"]["wrong"] == 1.0
    assert saved["result"]["groups"]["all"]["n"] == 8
    assert (tmp_path / "s.png").is_file()
    bad = CliRunner().invoke(app, ["eval", "--model", str(tmp_path / "nope"), "--n", "4", "--self-test-n", "10"])
    assert bad.exit_code != 0
    assert "not a vidfuse model folder" in str(bad.exception) and "self-test" not in bad.output  # before the judge


def test_cli_eval_finds_a_model_by_name_and_says_a_broken_one_before_the_judge(tmp_path, monkeypatch):
    from vidfuse.cli import app

    monkeypatch.setenv("VIDFUSE_MODELS", str(tmp_path / "models"))
    (tmp_path / "models" / "broken").mkdir(parents=True)
    (tmp_path / "models" / "broken" / "config.json").write_text("{}")  # no weights
    out = CliRunner().invoke(app, ["eval", "--model", "broken", "--n", "4", "--self-test-n", "10"])
    assert "not a vidfuse model folder" in str(out.exception) and "self-test" not in out.output
    tiny_pipeline("gan").save_pretrained(tmp_path / "models" / "mine")
    from vidfuse.catalog import find_model
    from vidfuse.pipeline import model_info

    assert model_info(find_model("mine"))["generator"] == "gan"  # what eval checks a name with, as generate finds it


def test_cli_eval_captions_file(tmp_path):
    from vidfuse.cli import app

    tiny_pipeline("flow").save_pretrained(tmp_path / "m")
    novel = tmp_path / "novel.jsonl"
    novel.write_text(
        '{"caption": "show a yellow six sliding to the right", "digit": 6, "colour": "yellow", '
        '"motion": "right", "lang": "en"}\n\n{"caption": "画一个0，从右往左移动", "digit": 0, '
        '"colour": "white", "motion": "left", "lang": "zh"}\n',
        encoding="utf-8",
    )
    out = CliRunner().invoke(
        app, ["eval", "--model", str(tmp_path / "m"), "--captions", str(novel), "--json", str(tmp_path / "n.json")]
    )
    assert out.exit_code == 0, out.output
    saved = json.loads((tmp_path / "n.json").read_text())
    assert saved["all"]["n"] == 2 and set(saved["groups"]) == {"en", "zh"}
    assert saved["truncated"] == 0 and "judged on their first tokens" not in out.output
    long = "a red three moving left " + "on a plain black background with nothing else in the frame " * 8
    novel.write_text(json.dumps({"caption": long, "digit": 3, "colour": "red", "motion": "left"}) + "\n")
    cut = CliRunner().invoke(app, ["eval", "--model", str(tmp_path / "m"), "--captions", str(novel)])
    assert cut.exit_code == 0 and "1 caption(s) longer than this model reads" in cut.output, cut.output
    novel.write_text('{"caption": "a red 3"}\n')
    bad = CliRunner().invoke(app, ["eval", "--model", str(tmp_path / "m"), "--captions", str(novel)])
    assert bad.exit_code != 0 and "novel.jsonl:1" in str(bad.exception)


@pytest.mark.parametrize(
    "name, langs",
    [
        ("novel_captions.jsonl", {"en", "zh"}),
        ("novel_captions_v2.jsonl", {"en", "zh"}),
        ("novel_captions_zh.jsonl", {"zh"}),
        ("novel_captions_zh2.jsonl", {"zh"}),
        ("novel_captions_zh3.jsonl", {"zh"}),
    ],
)
def test_novel_captions_are_unlike_the_training_captions(name, langs):
    """bench/novel_captions*.jsonl: 50+ captions worded unlike the training captions (templates and the
    wide grammar), in their languages, with valid targets."""
    from pathlib import Path

    from vidfuse.data.moving_digits import COLOURS, MOTIONS, MovingDigits, is_held_out

    rows = [
        json.loads(line)
        for line in (Path(__file__).resolve().parents[1] / "bench" / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(rows) >= 50 and {r["lang"] for r in rows} == langs
    for r in rows:
        assert r["digit"] in range(10) and r["colour"] in COLOURS and r["motion"] in MOTIONS, r
        assert r["held_out"] == is_held_out(r["digit"], r["motion"]), r
    train = {
        MovingDigits("train", level=1, lang=lang, size=2000, paraphrase=p)[i][1]
        for lang in ("en", "zh")
        for p in (0.0, 1.0)
        for i in range(2000)
    }
    assert not train & {r["caption"] for r in rows}


def test_eval_reads_two_digit_caption_files(tmp_path):
    """A two-digit line lists each digit's colour (null: white, as an unnamed colour is drawn) and motion."""
    from vidfuse.evaluate import evaluate_captions_file

    two = tmp_path / "two.jsonl"
    two.write_text(
        '{"caption": "a red 3 moving left and a 7 moving up", "lang": "en", "digits": [{"digit": 3, "colour": '
        '"red", "motion": "left"}, {"digit": 7, "colour": null, "motion": "up"}]}\n',
        encoding="utf-8",
    )
    res = evaluate_captions_file(tiny_pipeline("flow"), two)
    assert res["clips"][0]["target"]["colours"] == ["red", "white"] and res["all"]["n"] == 1


@pytest.mark.parametrize("name", ["two", "two_b", "two_c"])
def test_blind_two_digit_sets_are_labelled_and_unlike_the_training_captions(name):
    from pathlib import Path

    from vidfuse.data.moving_digits import COLOURS, MOTIONS, MovingDigits

    bench = Path(__file__).resolve().parents[1] / "bench"
    rows = [
        json.loads(line)
        for lang in ("en", "zh")
        for line in (bench / f"novel_captions_{name}_{lang}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(rows) >= 120 and {r["lang"] for r in rows} == {"en", "zh"}
    for r in rows:
        assert len(r["digits"]) == 2, r
        for d in r["digits"]:
            assert d["digit"] in range(10) and d["colour"] in (*COLOURS, None) and d["motion"] in MOTIONS, r
    train = {MovingDigits("train", level=2, lang=lang, size=500)[i][1] for lang in ("en", "zh") for i in range(500)}
    assert not train & {r["caption"] for r in rows}


def test_a_caption_longer_than_the_text_encoder_reads_is_judged_on_what_it_reads(judge):
    """A caption set is one wording for every model: a template model whose tokenizer reads fewer tokens than a
    caption has is judged on its first tokens (and the count is reported), not stopped by the error a user gets."""
    pipe = tiny_pipeline("vae")
    long = "a red three moving left " + "on a plain black background with nothing else in the frame " * 8
    with pytest.raises(InputError, match="tokens long"):
        pipe(long, seed=0)
    res = evaluate_captions(
        pipe, [long, "a red 3 moving left"], [{"digit": 3, "colour": "red", "motion": "left"}] * 2, judge=judge
    )
    assert res["truncated"] == 1 and res["all"]["n"] == 2
