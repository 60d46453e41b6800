"""What a prompt says not to draw is taken out of what the model reads (vidfuse.data.negation)."""

import warnings

import numpy as np
import pytest

from vidfuse.data.durations import model_text
from vidfuse.data.negation import drop_negated


@pytest.mark.parametrize(
    "prompt, read",
    [
        ("a red 9, not a 3", "a red 9"),
        ("draw a 9 rather than a 3, in red, bouncing left and right", "draw a 9, in red, bouncing left and right"),
        ("not a blue 3 but a green 5 moving up", "a green 5 moving up"),
        ("a green 2 moving left, not right", "a green 2 moving left"),
        ("a red 3 moving up and down, not left and right", "a red 3 moving up and down"),
        ("I do not want a 3, give me a yellow 8 going down", "I, give me a yellow 8 going down"),
        ("the blue 7 is not moving up, it goes down", "the blue 7, it goes down"),
        ("一个红色的9，不是3，左右弹跳", "一个红色的9，左右弹跳"),
        ("蓝色的7，而不是红色的5，向上", "蓝色的7，向上"),
        ("红色的5向左，不要往右", "红色的5向左"),
    ],
)
def test_what_not_to_draw_is_not_read(prompt, read):
    assert drop_negated(prompt) == read
    assert model_text(prompt) == read.lower()  # what the model reads is in lower case


@pytest.mark.parametrize(
    "prompt",
    [
        "a cyan 4 that hops left and right without stopping",  # a negation of no digit or direction
        "白色的3朝右移动，别太快",
        "这不是一个问题，红色的3向左",  # 一个 is "a", not the digit 1
        "not 2 digits, just a red 4",  # a count
        "a red 3 going left and a blue 7 going up",
        "not a 3",  # nothing else would be left: as written
        "a 4 with no colour moving up",
    ],
)
def test_other_prompts_are_read_as_written(prompt):
    assert drop_negated(prompt) == prompt


def test_the_default_draws_what_is_left_and_counts_no_second_digit():
    """A probe: "a red 9, not a 3" drew a 3, warning that the prompt asked for two digits (9, 3)."""
    from vidfuse.pipeline import SHIPPED_MODEL_DIR, TextToVideoPipeline

    pipe = TextToVideoPipeline.from_pretrained(SHIPPED_MODEL_DIR, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither "asks for 2 digits" nor "does not know: not"
        negated = pipe(["a red 9, not a 3", "not a blue 3 but a green 5 moving up"], num_frames=8, seed=0)
    plain = pipe(["a red 9", "a green 5 moving up"], num_frames=8, seed=0)
    assert np.array_equal(negated, plain)
    assert pipe.subject_layers("not a blue 3 but a green 5 moving up") is None  # one digit, one layer
