"""Moving Digits (specs/moving-digits.md): split rules, motion, colour, captions, determinism, export, CLI."""

from __future__ import annotations

import csv
import gzip
import json
import re
import struct

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vidfuse.cli import app
from vidfuse.data.moving_digits import (
    COLOURS,
    HELD_OUT_PAIRS,
    MOTIONS,
    NUM_FRAMES,
    POS_MAX,
    TOUCH_MARGIN,
    MovingDigits,
    count_reversals,
    export_moving_digits,
    is_held_out,
    load_glyph_bank,
    make_caption,
    read_idx,
    render_clip,
    sample_attributes,
)
from vidfuse.errors import InputError
from vidfuse.media.video_io import read_video

SPEC_HELD_OUT = [
    (0, "left"),
    (0, "up and down"),
    (1, "left and right"),
    (2, "down"),
    (3, "up"),
    (4, "right"),
    (5, "left"),
    (5, "up and down"),
    (6, "left and right"),
    (7, "down"),
    (8, "up"),
    (9, "right"),
]
AXIS = {"left": 0, "right": 0, "left and right": 0, "up": 1, "down": 1, "up and down": 1}
SIGN = {"left": -1, "right": 1, "up": -1, "down": 1}


@pytest.fixture(scope="module")
def bank():
    return load_glyph_bank()


def draw(bank, split, level, count, seed=0):
    return [sample_attributes(np.random.default_rng([seed, i]), split, level, glyph_bank=bank) for i in range(count)]


# ── a caption parser for both languages; it lives here so that the library never grades itself ──

EN_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ZH_NUMBERS = "零一二三四五六七八九"
ZH_COLOURS = {
    "品红色": "magenta",
    "白色": "white",
    "红色": "red",
    "绿色": "green",
    "蓝色": "blue",
    "黄色": "yellow",
    "青色": "cyan",
}
ZH_MOTIONS = {"左右": "left and right", "上下": "up and down", "左": "left", "右": "right", "上": "up", "下": "down"}


def parse_caption(caption: str, lang: str) -> list[tuple[int, str | None, str]]:
    """[(digit, colour or None, motion)] per digit mention: the colour precedes it, the motion follows it."""
    if lang == "en":
        mentions = list(re.finditer(r"\b([0-9]|" + "|".join(EN_NUMBERS) + r")\b", caption))
        colour_re = r"\b(" + "|".join(COLOURS) + r")\b"
        motion_re = r"left and right|up and down|\bleft\b|\bright\b|\bup\b|\bdown\b"
    else:
        mentions = list(re.finditer(f"数字([0-9{ZH_NUMBERS}])", caption))
        colour_re = "(" + "|".join(ZH_COLOURS) + ")"  # 品红色 first: it contains 红色
        motion_re = "左右|上下|[向往]([左右上下])"
    parsed = []
    for j, m in enumerate(mentions):
        before = caption[mentions[j - 1].end() if j else 0 : m.start()]
        after = caption[m.end() : mentions[j + 1].start() if j + 1 < len(mentions) else len(caption)]
        token = m.group(1)
        digit = (
            int(token) if token.isdigit() else (EN_NUMBERS.index(token) if lang == "en" else ZH_NUMBERS.index(token))
        )
        colours = re.findall(colour_re, before)
        colour = (colours[-1] if lang == "en" else ZH_COLOURS[colours[-1]]) if colours else None
        motion = re.search(motion_re, after)
        assert motion, f"no motion after digit {digit} in {caption!r}"
        parsed.append(
            (digit, colour, motion.group() if lang == "en" else ZH_MOTIONS[motion.group(1) or motion.group()])
        )
    return parsed


def expected(attrs) -> list[tuple[int, str | None, str]]:
    return [
        (d, c if named else None, m)
        for d, c, named, m in zip(attrs["digits"], attrs["colours"], attrs["colour_named"], attrs["motions"])
    ]


# ───────────────────────────────────────────── split rules ─────────────────────────────────────────────


def test_held_out_pairs_are_the_twelve_of_the_spec():
    assert sorted(HELD_OUT_PAIRS) == sorted((d, MOTIONS.index(m)) for d, m in SPEC_HELD_OUT)
    assert all(is_held_out(d, m) and is_held_out(d, MOTIONS.index(m)) for d, m in SPEC_HELD_OUT)
    assert sum(is_held_out(d, k) for d in range(10) for k in range(6)) == 12
    assert MOTIONS == ("left", "right", "up", "down", "left and right", "up and down")


@pytest.mark.parametrize("level", [1, 2])
def test_train_never_shows_a_held_out_pair_yet_covers_every_partner(bank, level):
    clips = draw(bank, "train", level, 3000)
    pairs = {(d, m) for a in clips for d, m in zip(a["digits"], a["motions"])}
    assert not any(is_held_out(d, m) for d, m in pairs) and not any(a["held_out"] for a in clips)
    assert len(pairs) == 48  # every seen pair: each digit with its 4 motions, each motion with its 8 digits
    colour_digit = {(c, d) for a in clips for d, c in zip(a["digits"], a["colours"])}
    assert colour_digit == {(c, d) for c in COLOURS for d in range(10)}
    glyphs = np.array([g for a in clips for g in a["glyph_indices"]])
    assert np.all(glyphs % 5 != 4)  # train glyphs only
    labels = bank.labels[glyphs]
    assert np.array_equal(labels, [d for a in clips for d in a["digits"]])
    if level == 2:
        assert all(len(set(a["digits"])) == 2 and a["positions"].shape == (NUM_FRAMES, 2, 2) for a in clips)


@pytest.mark.parametrize("level", [1, 2])
def test_test_split_has_seen_and_held_out_pairs_on_test_glyphs(bank, level):
    clips = draw(bank, "test", level, 1000)
    flags = np.array([a["held_out"] for a in clips])
    assert 0.4 < flags.mean() < 0.6
    for a in clips:  # level 2: held out iff any of its pairs is
        assert a["held_out"] == any(is_held_out(d, m) for d, m in zip(a["digits"], a["motions"]))
    pairs = {(d, m) for a in clips for d, m in zip(a["digits"], a["motions"])}
    assert len(pairs) == 60
    assert all(g % 5 == 4 for a in clips for g in a["glyph_indices"])  # test glyphs only


# ──────────────────────────────────────────────── motion ───────────────────────────────────────────────


def centroids(frames: np.ndarray) -> np.ndarray:
    """Centre of mass (x, y) of each frame's brightness, (T, 2)."""
    mass = frames.astype(np.float64).sum(axis=-1)  # (T, H, W)
    ys, xs = np.mgrid[: mass.shape[1], : mass.shape[2]]
    total = mass.sum(axis=(1, 2))
    return np.stack([(mass * xs).sum(axis=(1, 2)) / total, (mass * ys).sum(axis=(1, 2)) / total], axis=1)


def test_one_way_speed_and_direction_from_rendered_frames(bank):
    clips = [a for a in draw(bank, "test", 1, 300) if a["motions"][0] in SIGN]
    assert {a["motions"][0] for a in clips} == set(SIGN)
    for a in clips:
        motion, speed = a["motions"][0], a["speeds"][0]
        axis, pos = AXIS[motion], a["positions"][:, 0].astype(np.float64)  # (T, 2)
        assert 1.5 <= speed <= 2.2
        np.testing.assert_allclose(np.diff(pos[:, axis]), SIGN[motion] * speed, atol=1e-4)
        # bilinear placement moves the centre of mass by exactly the displacement (up to uint8 rounding)
        step = np.diff(centroids(render_clip(a, bank)), axis=0)  # (T - 1, 2)
        np.testing.assert_allclose(step[:, axis], SIGN[motion] * speed, atol=0.03)
        np.testing.assert_allclose(step[:, 1 - axis], 0.0, atol=0.03)


def test_one_way_motion_never_touches_a_wall(bank):
    clips = [a for a in draw(bank, "train", 1, 400) + draw(bank, "test", 2, 200)]
    checked = 0
    for a in clips:
        frames = render_clip(a, bank)
        for j, motion in enumerate(a["motions"]):
            if motion not in SIGN:
                continue
            track = a["positions"][:, j, AXIS[motion]]
            # touching = the 28×28 box within TOUCH_MARGIN px of the wall it moves along
            assert track.min() >= TOUCH_MARGIN and track.max() <= POS_MAX - TOUCH_MARGIN
            if a["level"] == 1:  # the border pixels across the motion axis stay black
                edge = frames[:, :, [0, -1]] if AXIS[motion] == 0 else frames[:, [0, -1]]
                assert not edge.any()
            checked += 1
    assert checked > 300


def test_bouncing_speed_and_reversals(bank):
    clips = [a for a in draw(bank, "train", 1, 300) if a["motions"][0] not in SIGN]
    assert {a["motions"][0] for a in clips} == {"left and right", "up and down"}
    for a in clips:
        speed, axis = a["speeds"][0], AXIS[a["motions"][0]]
        track = a["positions"][:, 0, axis].astype(np.float64)
        assert 3.0 <= speed <= 5.0 and track.min() >= 0 and track.max() <= POS_MAX
        steps = np.abs(np.diff(track))
        assert np.all(steps <= speed + 1e-4)
        assert np.median(steps) == pytest.approx(speed, abs=1e-4)  # full speed except at a reflection
        assert count_reversals(track) >= 1
        assert count_reversals(centroids(render_clip(a, bank))[:, axis]) >= 1


def test_other_coordinate_is_fixed(bank):
    for a in draw(bank, "test", 2, 200):
        for j, motion in enumerate(a["motions"]):
            other = a["positions"][:, j, 1 - AXIS[motion]]
            assert np.all(other == other[0]) and 0 <= other[0] <= POS_MAX


# ──────────────────────────────────────────────── colour ───────────────────────────────────────────────


@pytest.mark.parametrize("name", list(COLOURS))
def test_brightest_pixel_has_the_colour(bank, name):
    a = draw(bank, "train", 1, 1)[0]
    a.update(colours=[name], colour_named=[True])
    frames = render_clip(a, bank)
    assert frames.dtype == np.uint8 and frames.shape == (16, 64, 64, 3)
    flat = frames.reshape(-1, 3).astype(np.float64)
    brightest = flat[flat.sum(axis=1).argmax()]
    rgb = np.array(COLOURS[name], np.float64)
    np.testing.assert_allclose(brightest / brightest.max(), rgb / rgb.max(), atol=0.02)
    assert brightest.max() >= 0.9 * rgb.max()


def test_unnamed_colour_renders_white(bank):
    clips = draw(bank, "train", 2, 500)
    unnamed = [(a, j) for a in clips for j, named in enumerate(a["colour_named"]) if not named]
    assert 100 < len(unnamed) < 500
    assert all(a["colours"][j] == "white" for a, j in unnamed)
    a = next(a for a, _ in unnamed if a["level"] == 2 and not any(a["colour_named"]))
    frames = render_clip(a, bank)
    assert np.array_equal(frames[..., 0], frames[..., 1]) and np.array_equal(frames[..., 1], frames[..., 2])


def test_two_digits_render_as_the_max(bank):
    a = draw(bank, "train", 2, 1)[0]
    parts = [
        render_clip(
            {
                **a,
                "positions": a["positions"][:, [j]],
                "glyph_indices": [a["glyph_indices"][j]],
                "colours": [a["colours"][j]],
            },
            bank,
        )
        for j in range(2)
    ]
    assert np.array_equal(render_clip(a, bank), np.maximum(*parts))


# ─────────────────────────────────────────────── captions ──────────────────────────────────────────────


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("level", [1, 2])
def test_caption_agrees_with_attributes(bank, lang, level):
    for i, a in enumerate(draw(bank, "test", level, 400)):
        caption = make_caption(a, lang, np.random.default_rng(i))
        assert parse_caption(caption, lang) == expected(a), caption
        if lang == "en":
            assert not re.search(r"\ba (8|eight)\b", caption) and not re.search(r"\ban (?!8|eight)", caption)


def test_captions_cover_the_spec_forms():
    def captions(lang, *clauses, n=4000):
        attrs = {
            "digits": [c[0] for c in clauses],
            "colours": [c[1] or "white" for c in clauses],
            "colour_named": [c[1] is not None for c in clauses],
            "motions": [c[2] for c in clauses],
        }
        rng = np.random.default_rng(0)
        return {make_caption(attrs, lang, rng) for _ in range(n)}

    assert "digit 3 is left and right." in captions("en", (3, None, "left and right"))
    assert "the digit 3 is moving up and down ." in captions("en", (3, None, "up and down"))
    assert "the red digit 3 is moving to the left" in captions("en", (3, "red", "left"))
    assert "a blue seven moves down" in captions("en", (7, "blue", "down"))
    assert "digit 5 is going right" in captions("en", (5, None, "right"))
    assert "a green 4 bouncing up and down" in captions("en", (4, "green", "up and down"))
    assert "数字3在左右移动" in captions("zh", (3, None, "left and right"))
    assert "红色的数字7向下移动" in captions("zh", (7, "red", "down"))
    assert "蓝色数字五上下弹跳" in captions("zh", (5, "blue", "up and down"))
    assert "digit 6 is up and down and digit 3 is left and right." in captions(
        "en", (6, None, "up and down"), (3, None, "left and right"), n=8000
    )
    assert "红色数字1向左移动，蓝色数字8上下弹跳" in captions("zh", (1, "red", "left"), (8, "blue", "up and down"))
    many = captions("en", (2, "cyan", "right"))
    assert len(many) > 50 and any("two" in c for c in many) and any("2" in c for c in many)
    many_zh = captions("zh", (2, None, "up and down"))
    assert any("二" in c for c in many_zh) and any("弹跳" in c for c in many_zh) and any("移动" in c for c in many_zh)


def test_level_two_captions_name_both_digits_with_their_own_colour_and_motion():
    ds = MovingDigits("train", level=2, lang="both", size=40)
    for i in range(len(ds)):
        _, caption, a = ds.clip(i)
        parsed = parse_caption(caption, a["lang"])
        assert len(parsed) == 2 and parsed == expected(a), caption
    assert {ds.clip(i)[2]["lang"] for i in range(4)} == {"en", "zh"}


# ──────────────────────────────────────────── dataset, determinism ────────────────────────────────────


def test_same_index_gives_the_same_clip_in_any_order():
    ds = MovingDigits("test", level=(1, 2), lang="both", size=50, seed=3)
    forward = [ds.clip(i) for i in range(10)]
    again = MovingDigits("test", level=(1, 2), lang="both", size=50, seed=3)
    for i in reversed(range(10)):
        frames, caption, attrs = again.clip(i)
        assert np.array_equal(frames, forward[i][0]) and caption == forward[i][1]
        assert attrs["digits"] == forward[i][2]["digits"] and attrs["index"] == i
    assert np.array_equal(ds.clip(-1)[0], ds.clip(49)[0])
    assert [ds.clip(i)[2]["level"] for i in range(4)] == [1, 2, 1, 2]
    other_seed = MovingDigits("test", level=(1, 2), lang="both", size=50, seed=4)
    assert not np.array_equal(other_seed.clip(0)[0], forward[0][0])
    # the video does not depend on the caption language
    assert np.array_equal(MovingDigits("test", level=1, lang="zh", seed=3).clip(0)[0], forward[0][0])
    with pytest.raises(IndexError):
        ds.clip(50)


def test_getitem_and_dataloader():
    ds = MovingDigits("train", level=(1, 2), lang="both", size=6)
    video, caption, attrs = ds[0]
    assert video.shape == (3, 16, 64, 64) and video.dtype == torch.float32
    assert video.min() >= -1 and video.max() <= 1 and video.min() == -1
    assert isinstance(caption, str) and set(attrs) >= {
        "digits",
        "colours",
        "motions",
        "held_out",
        "lang",
        "level",
        "glyph_indices",
        "positions",
    }
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=ds.collate)
    videos, captions, batch_attrs = next(iter(loader))
    assert videos.shape == (3, 3, 16, 64, 64) and len(captions) == 3 and len(batch_attrs) == 3
    assert [a["level"] for a in batch_attrs] == [1, 2, 1]
    assert len(MovingDigits()) == 10_000 and len(MovingDigits("test")) == 1_000


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "val"}, "split"),
        ({"lang": "fr"}, "lang"),
        ({"level": 3}, "level"),
        ({"level": ()}, "level"),
        ({"size": 0}, "size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_are_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        MovingDigits(**kwargs)


def test_export_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="n must"):
        export_moving_digits(tmp_path, n=0)
    with pytest.raises(InputError, match="split"):
        export_moving_digits(tmp_path, split="validation", n=1)
    with pytest.raises(InputError, match="'en' or 'zh'"):
        make_caption(draw(load_glyph_bank(), "train", 1, 1)[0], "both", np.random.default_rng(0))


# ───────────────────────────────────────────────── IDX ─────────────────────────────────────────────────


def write_idx(path, array: np.ndarray, compress: bool = False) -> None:
    data = b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def test_full_mnist_from_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 30), ("t10k", 20)):
        labels = (np.arange(count) % 10).astype(np.uint8)
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = 255 if prefix == "t10k" else 0  # marks test glyphs
        gz = prefix == "t10k"  # one file gzipped, as MNIST is distributed
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{'.gz' if gz else ''}", images, compress=gz)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels)
    assert read_idx(tmp_path / "train-labels-idx1-ubyte").tolist() == [i % 10 for i in range(30)]
    for split in ("train", "test"):
        ds = MovingDigits(split, size=20, mnist_path=tmp_path)
        assert ds.glyph_bank.images.shape == (50, 28, 28)
        for i in range(20):
            _, _, a = ds.clip(i)
            g = a["glyph_indices"][0]
            assert ds.glyph_bank.labels[g] == a["digits"][0]
            assert (ds.glyph_bank.images[g, 0, 0] == 1.0) == (split == "test")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x01" + struct.pack(">I", 30) + b"\0" * 5)
    with pytest.raises(InputError, match="truncated"):
        read_idx(tmp_path / "train-labels-idx1-ubyte")
    with pytest.raises(InputError, match="IDX"):
        MovingDigits(mnist_path=tmp_path / "missing")


# ──────────────────────────────────────────────── export ───────────────────────────────────────────────


def test_export_writes_mp4s_csv_and_jsonl(tmp_path):
    out = export_moving_digits(tmp_path / "md", split="test", n=3, level=2, lang="both", seed=1)
    videos = sorted((out / "videos").glob("*.mp4"))
    assert [p.name for p in videos] == ["00000.mp4", "00001.mp4", "00002.mp4"]
    with open(out / "captions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["videoid", "name", "page_dir", "duration", "contentUrl"]
    records = [json.loads(line) for line in (out / "attributes.jsonl").read_text(encoding="utf-8").splitlines()]
    ds = MovingDigits("test", level=2, lang="both", seed=1)
    for i, (row, record) in enumerate(zip(rows[1:], records, strict=True)):
        frames, caption, attrs = ds.clip(i)
        assert row == [f"{i:05d}", caption, "test", "PT00H00M02S", f"videos/{i:05d}.mp4"]
        assert record["videoid"] == row[0] and record["caption"] == caption
        assert parse_caption(caption, record["lang"]) == expected(record)
        assert record["digits"] == attrs["digits"] and record["held_out"] == attrs["held_out"]
        decoded = read_video(out / row[4])
        assert decoded.shape == (16, 64, 64, 3)
        assert np.abs(decoded.astype(np.int16) - frames).mean() < 4  # lossy H.264, same picture
    assert len(rows) == 4 and len(records) == 3


def test_cli_exports(tmp_path):
    result = CliRunner().invoke(
        app,
        ["data", "moving-digits", "--out", str(tmp_path), "--n", "2", "--split", "test", "--lang", "zh", "--seed", "5"],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 2 clips" in result.output
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 2
    caption = next(csv.DictReader(open(tmp_path / "captions.csv", encoding="utf-8")))["name"]
    assert re.search("数字", caption)
    bad = CliRunner().invoke(app, ["data", "moving-digits", "--out", str(tmp_path), "--lang", "fr"])
    assert bad.exit_code != 0 and isinstance(bad.exception, InputError)
