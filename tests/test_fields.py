"""A prompt written as fields said as one plain clause per digit (vidfuse.data.fields), and what stays as it is."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli

from vidfuse.data.clauses import subject_clauses
from vidfuse.data.durations import model_text
from vidfuse.data.fields import read_fields
from vidfuse.data.moving_digits import make_caption, sample_attributes
from vidfuse.data.paraphrase import make_paraphrase, make_short


@pytest.mark.parametrize(
    "prompt, read",
    [
        (
            "digits=2; d1=5 colour=lemon motion=right; d2=0 colour=turquoise motion=up",
            "lemon 5, right; turquoise 0, up",
        ),
        (
            "render --digit 3 --color red --motion left_right --digit 7 --color cyan --motion up",
            "red 3, left-right; cyan 7, up",
        ),
        ("{digit: 9, color: 'navy', move: 'left'} + {digit: 1, color: 'gold', move: 'up'}", "navy 9, left; gold 1, up"),
        (
            "Digit #1: 7 | Colour: aquamarine | Motion: to the left. Digit #2: 0 | Colour: white | Motion: up.",
            "aquamarine 7, to the left; white 0, up",
        ),
        (
            "digit: 8 / colour: green / motion: right ;; digit: 4 / colour: cyan / motion: left",
            "green 8, right; cyan 4, left",
        ),
        # words a list mark sets off stay with their record; a key's own label ("Second") does not
        (
            "First digit: 9, colour cyan, goes left. Second digit: 0, colour white, bounces up and down.",
            "cyan 9, goes left; white 0, bounces up and down",
        ),
        (
            "Sprite A: glyph 8, tint yellow, behaviour = rises. Sprite B: glyph 3, tint magenta, behaviour = falls.",
            "yellow 8, rises; magenta 3, falls",
        ),
        # the colour may come before the digit: a record starts where a kind comes round again
        ("color=red digit=3 motion=left color=blue digit=7 motion=up", "red 3, left; blue 7, up"),
        ("digit=4, color=墨绿, move=向下; digit=9, color=白, move=左右来回", "墨绿色4，向下；白色9，左右来回"),
        ("gen --数字 6 --颜色 白 --动作 右 --数字 3 --颜色 蓝 --动作 上下", "白色6，向右；蓝色3，上下"),
        ("{数字:8, 颜色:「红」, 运动:「左右」} & {数字:0, 颜色:「青」, 运动:「向上」}", "红色8，左右；青色0，向上"),
        ("对象1：值=9，颜色=黄，方向=右；对象2：值=2，颜色=紫红，方向=左右往返", "黄色9，向右；紫红色2，左右往返"),
        (
            "精灵A：数字2，着色：鹅黄，行为：水平往返；精灵B：数字7，着色：湖蓝，行为：向下坠落。",
            "鹅黄色2，水平往返；湖蓝色7，向下坠落",
        ),
        # JSON with its quotes; fields said of every digit, before the first digit's, or a colour before them all
        (
            '[{"digit": 3, "color": "red", "motion": "left"}, {"digit": 7, "color": "blue", "motion": "up"}]',
            "red 3, left; blue 7, up",
        ),
        ("colour=red; digit=3 motion=left; digit=7 motion=up", "red 3, left; red 7, up"),
        ("Both blue: digit=3 motion=left; digit=7 motion=up", "blue 3, left; blue 7, up"),
        # English words in Chinese fields keep their space
        ("数字=6 颜色=red 动作=右；数字=3 颜色=蓝 动作=上下", "red 6，向右；蓝色3，上下"),
        # keys that say which record they are
        (
            "digit_a=6 color=blue motion=left; digit_b=5 color=yellow motion=up_and_down",
            "blue 6, left; yellow 5, up and down",
        ),
        ("digit1=6 color1=blue motion1=left; digit2=5 color2=yellow motion2=down", "blue 6, left; yellow 5, down"),
        # an ordinal keys its record's digit (set m)
        (
            "{first: 3, colour: sapphire blue, move: left} {second: 7, colour: fuchsia, move: up}",
            "sapphire blue 3, left; fuchsia 7, up",
        ),
    ],
)
def test_fields_are_said_as_one_clause_per_digit(prompt, read):
    assert read_fields(prompt) == read
    assert subject_clauses(model_text(prompt)) is not None  # and the pipeline draws one layer per digit


@pytest.mark.parametrize(
    "prompt, read",
    [
        (
            "digits: [7, 4]\ncolors: [magenta, blue]\nmotions: [up_down, left_right]",
            "magenta 7, up-down; blue 4, left-right",
        ),
        ("参数：数字=5,9；颜色=蓝,绿；运动=向右,向下", "蓝色5，向右；绿色9，向下"),
        ("Colour: cyan and red. Digits: 2 and 6", "cyan 2; red 6"),
        ("数字：3和7，颜色：红色和蓝色，方向：向左和向上", "红色3，向左；蓝色7，向上"),
        # an item that names its digit is that digit's, wherever it stands in its list
        (
            "Colours: cyan and red. Digits: 2 and 6. Motions: the 6 goes down, the 2 goes right.",
            "cyan 2, goes right; red 6, goes down",
        ),
        # separators between the columns, a "list" key, one value said of every digit
        ("numbers: 3, 8 / colors: red, blue / motion: left, right", "red 3, left; blue 8, right"),
        ("digit list: 3, 7; colour list: red, blue", "red 3; blue 7"),
        ("Digits: 3 and 7; motion: up and down", "3, up and down; 7, up and down"),  # one motion, not two
        ("数字：4，6；运动：上下来回", "4，上下来回；6，上下来回"),
        (
            "Digits: 5, 0. Colors: green for the 5, magenta for the 0. Motion: both rising.",
            "green 5, rising; magenta 0, rising",
        ),
        ("数字：4、9；颜色：都是红色；运动：往上、往下", "红色4，往上；红色9，往下"),
        ("Digits: 6, 9. Colors: red, white. Motions: up, down. Style: smooth.", "red 6, up; white 9, down"),
    ],
)
def test_fields_written_as_columns_are_one_record_per_digit(prompt, read):
    # one list per field, the k-th items the k-th digit's: drawn as one digit before (set l, 2026-12-07)
    assert read_fields(prompt) == read
    assert subject_clauses(model_text(prompt)) is not None


@pytest.mark.parametrize(
    "prompt",
    [
        "digit: 4 | colour: cyan | movement: upward",  # one record: the model was taught a digit's fields
        "a red 3 moving left and a blue 7 moving up",  # a sentence
        "Shot 1: a red 3 slides left. Shot 2: a blue 8 rises.",  # labels are no fields
        "colour: red, motion: left; colour: blue, motion: up",  # no digit in a record: whose is which is not said
        "digit=12 color=red motion=left; digit=3 color=blue motion=up",  # a digit field that is no one digit
        "Colours: cyan and red. Digits: 2",  # "Digits" is a count here, not a digit's field
        # words outside the columns are the sentence rules' (a review found them lost, 2026-12-07)
        "Digits: 4, 9. Colors: yellow, cyan. The 4 moves left and the 9 moves up.",
        "Both bouncing up and down. Digits: 3, 7; colours: red, blue.",
        "Digits: 4, 9. Colors: red, green. Motion: up, down. Also add a white 2 going left.",
        "数字：3，7；颜色：红，蓝；3往左移动，7往上移动",
        "Digits: 2, 8 colors: red, white — moving right",
        "digits: 0, 8 colours: green, yellow motions: down, right (no sound)",
        "数字：4，9；颜色：红，青；运动：一个往上一个往下",  # whose motion is which is not said
        "digits: 2, 6, 8; colours: red, blue",  # columns of different lengths: whose colour is which is not said
        "digits: 2, 6; motions: the 2 goes left, the 2 goes up",  # one digit named by two items
        "数字5和数字8都往左移动",
        "digit=3 color=red motion=left id=1; digit=7 color=blue motion=up id=2",  # a field it does not know
        "digits=2; d1=1 d2=7 color=red motion=left",  # whose colour and motion is not plain
    ],
)
def test_what_is_not_plainly_fields_stays_as_it_is(prompt):
    assert read_fields(prompt) == prompt


def test_taught_captions_are_left_alone_or_split_as_their_fields_say():
    """The grammar's one-digit and sentence captions never change; its two-record short forms ("digit: 4, colour:
    magenta, motion: …, and digit: eight, …", which the sentence rules cut at the wrong place) become one taught short
    clause per digit, with each digit's own colour."""
    rng = np.random.default_rng(0)
    changed = 0
    for make in (make_caption, make_paraphrase, make_short):
        for level in (1, 2):
            for lang in ("en", "zh"):
                for _ in range(100):
                    attrs = sample_attributes(rng, "train", level)
                    caption = make(attrs, lang, rng)
                    read = read_fields(caption)
                    if read == caption:
                        continue
                    changed += 1
                    assert make is make_short and level == 2, caption
                    clauses = subject_clauses(model_text(caption))
                    assert clauses is not None and len(clauses) == 2, caption
    assert 1 <= changed <= 10  # a few of the 1,200 (each checked above)


def test_the_cli_says_how_a_prompt_is_read_without_drawing_it(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "read",
        "render --digit 3 --color red --motion left_right --digit 7 --color cyan --motion up",
    )
    assert code == 0, err
    assert out.splitlines() == [
        "reads: red 3, left-right; cyan 7, up",
        "draws 2 layers, one per digit:",
        "  1. red 3, left-right",
        "  2. cyan 7, up",
    ]
    code, out, err = run_cli(monkeypatch, capsys, "read", "a cat playing the piano")
    assert code == 0 and "never saw in training: cat, playing, piano" in out
    assert not list(tmp_path.iterdir())  # nothing drawn, nothing written
