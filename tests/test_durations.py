"""A clip length stated in words ("for 3 seconds", 两秒, 十六帧) sets the clip's length when the caller gives
none, and is taken out of what the model reads (两秒 was read as the digit 2)."""

from __future__ import annotations

import warnings

import pytest
from conftest import tiny_pipeline

from vidfuse.data.durations import LengthWarning, length_asked, model_text, set_off_asides, spell_arrows
from vidfuse.errors import InputError
from vidfuse.story.layout import scene_clip


@pytest.mark.parametrize(
    "prompt, seconds, frames, text",
    [
        ("a red 3 moving left for 3 seconds", 3.0, None, "a red 3 moving left"),
        ("a 5-second clip of a red 3 moving left", 5.0, None, "a clip of a red 3 moving left"),
        ("16 frames of a green 8 falling", None, 16, "a green 8 falling"),
        ("bounce a 4 for about five seconds please", 5.0, None, "bounce a 4 please"),
        ("a 3 for 2s", 2.0, None, "a 3"),
        ("a red 3, 1 minute long", 60.0, None, "a red 3"),
        ("a 3 moving 2 to 3 seconds", 3.0, None, "a 3 moving"),
        ("洋红色的3向右移动，两秒就行", 2.0, None, "洋红色的3向右移动,就行"),
        ("数字5持续3秒向左", 3.0, None, "数字5向左"),
        ("十六帧的数字3", None, 16, "数字3"),
        ("两秒半的红色7", 2.5, None, "红色7"),
        ("数字3约3-4秒", 4.0, None, "数字3"),
        # the key that names the length goes with it ("duration" had been left for the model to read)
        ("Duration 2s. A red 3 moving left", 2.0, None, "A red 3 moving left"),
        ("a red 3 moving left, clip length: 3 s", 3.0, None, "a red 3 moving left"),
        ("时长：2秒，红色的3往左", 2.0, None, "红色的3往左"),
        ("the duration is 3 seconds, a red 3 going up", 3.0, None, "a red 3 going up"),
        ("总时长3秒，红色的3往左", 3.0, None, "红色的3往左"),
        ("持续时间：3秒，红色的3往左", 3.0, None, "红色的3往左"),
        ("red 3 left, length 2s, blue 7 up", 2.0, None, "red 3 left, blue 7 up"),
    ],
)
def test_a_length_in_words_is_read_and_taken_out(prompt, seconds, frames, text):
    got = length_asked(prompt)
    assert (got.seconds, got.frames, got.text) == (seconds, frames, text)


@pytest.mark.parametrize(
    "prompt",
    [
        "the red digit 3 is moving to the left",
        "数字3向左移动",
        "a 3 with 2 bounces",
        "two digits",
        "第二帧",
        "a 5 s curve to the left",
        "draw a 2 s going up",
        "a 5 s-curve up",
    ],
)
def test_prompts_without_a_length_have_none(prompt):
    assert length_asked(prompt) is None


def test_the_pipeline_makes_the_stated_length_unless_told_otherwise():
    pipe = tiny_pipeline("anchor")
    native = pipe.config.num_frames
    with warnings.catch_warnings():
        warnings.simplefilter("error", LengthWarning)
        assert pipe("a red 3 moves up for 2 seconds", seed=0).shape[1] == 16  # 2 s at 8 fps
        assert pipe("a red 3 moves up for 2 seconds", num_frames=16, seed=0).shape[1] == 16  # the same length
        assert pipe(["a red 3 for 3 frames", "a blue 7, 3 frames"], seed=0).shape[1] == 3
    # the caller wins, and says so (a review: --frames 5 quietly beat "for 2 seconds")
    with pytest.warns(LengthWarning, match=r"asks for 16 frames in words, but num_frames=5 \(--frames\)"):
        assert pipe("a red 3 moves up for 2 seconds", num_frames=5, seed=0).shape[1] == 5
    with pytest.warns(LengthWarning, match=r"prompts ask for 16 or 24 frames in words, but num_frames=5"):
        assert pipe(["a red 3 for 2 seconds", "a blue 7 for 3 seconds", "a 1"], num_frames=5, seed=0).shape[1] == 5
    with warnings.catch_warnings():  # a story's scene is as long as its narration, whatever its prompt says
        warnings.simplefilter("error", LengthWarning)
        assert len(scene_clip(pipe, "a red 3 moves up for 2 seconds", 20, frames=None, seed=0, options={})) == 20
        assert len(scene_clip(pipe, "a red 3 for 2 seconds, no, 5 seconds", 20, frames=None, seed=0, options={})) == 20
    with pytest.warns(LengthWarning, match=r"different clip lengths \(#0: 24 frames, #1: none\)"):
        assert pipe(["a red 3 for 3 seconds", "a blue 7"], seed=0).shape[1] == native
    with pytest.warns(LengthWarning, match="at most 512 frames"):
        assert pipe("a red 3 for 2 minutes", seed=0).shape[1] == 512
    # what the model reads has no length in it: the same clip as the prompt without it
    assert (pipe("a red 3 moves up for 2 seconds", seed=1) == pipe("a red 3 moves up", num_frames=16, seed=1)).all()
    assert pipe.model_text("洋红色的3向右移动，两秒就行") == "洋红色的3向右移动,就行"


def test_the_shipped_model_knows_lengths_are_not_words():
    from vidfuse.pipeline import SHIPPED_MODEL_DIR, TextToVideoPipeline

    pipe = TextToVideoPipeline.from_pretrained(SHIPPED_MODEL_DIR, device="cpu")
    assert pipe.unknown_words("a red 3 moving left for 3 seconds") == []
    assert pipe.unknown_words("持续3秒的红色数字5") == []
    assert pipe.digits_beyond("2秒钟的视频，白色9上下跳") is None


def test_arrows_are_read_as_motions():
    assert model_text("red 1 ↑, white 8 ⇒") == "red 1 moving up, white 8 moving right"
    assert model_text("2（白）→，8（青）↕") == "2，白，向右移动，8，青，上下来回弹跳"
    assert spell_arrows("a 5 ↔") == "a 5 bouncing left and right"
    # an arrow before a colour and then a motion lists the digit's fields; before a colour alone it is the motion
    assert model_text("5 → blue, moving left / 0 → yellow, moving up") == "5, blue, moving left / 0, yellow, moving up"
    assert model_text("number 2 ← red, number 7 → green") == "number 2 moving left red, number 7 moving right green"
    assert model_text("7 → 红色，往上") == "7，红色，往上"
    assert model_text("red five → blue seven moving left") == "red five moving right blue seven moving left"
    assert spell_arrows("a red 3 moving left") == "a red 3 moving left"
    # a run of arrows is one motion; an arrow after its direction in words adds nothing
    assert spell_arrows("make yellow 3 go right ➡️➡️") == "make yellow 3 go right"
    assert spell_arrows("黄色3 ⬅️➡️⬅️➡️") == "黄色3 左右来回弹跳"
    assert spell_arrows("a 3 ↑↓↑↓ then") == "a 3 bouncing up and down then"
    assert spell_arrows("red 1 → → →, blue 2 ←") == "red 1 moving right, blue 2 moving left"
    assert spell_arrows("黄色2 ⬆️⬇️ 上下蹦") == "黄色2 上下蹦"
    assert spell_arrows("red 3 and blue 5 →←") == "red 3 and blue 5 moving right moving left"  # the digits' own
    assert spell_arrows("a 3 on the left ⬅️") == "a 3 on the left moving left"  # a place, not the motion said
    assert spell_arrows("a 5 moving ↑ and a 2 ->") == "a 5 moving up and a 2 moving right"
    assert spell_arrows("红色的5↑ 蓝色的7⬇️") == "红色的5向上移动 蓝色的7向下移动"  # the space between clauses kept
    # an arrow before a direction in words only points to it
    assert spell_arrows("blue 0 -> right, yellow 3 -> up") == "blue 0 moving right, yellow 3 moving up"
    assert spell_arrows("a 5 moving -> left") == "a 5 moving left"
    assert spell_arrows("红色6→下，蓝色3→往上") == "红色6往下，蓝色3往上"  # not 6下, which counts (跳三下)


@pytest.mark.parametrize(
    "prompt, text",
    [
        ("an eight (yellow) that bobs up and down", "an eight, yellow, that bobs up and down"),
        ("8（蓝色）往左边走", "8，蓝色，往左边走"),
        ("a red 3 [moving left]!", "a red 3, moving left!"),  # an aside at the end leaves no comma behind
        ("a (red (dark)) 3 moving left", "a, red, dark, 3 moving left"),  # nested: the inner one first
        ("a 3 () moving left", "a 3 moving left"),
        ("a 3 (red moving left", "a 3 (red moving left"),  # a bracket with no partner stays
    ],
)
def test_a_bracketed_aside_is_read_as_one_set_off_by_commas(prompt, text):
    assert set_off_asides(prompt) == text
    assert model_text(prompt) == text.lower()


@pytest.mark.parametrize(
    "prompt, match",
    [
        ("a red 3 moving left for -3 seconds", "asks for -3 seconds"),
        ("a red 3 moving left for −2 seconds", "asks for -2 seconds"),
        ("a red 3 moving left, 0 frames", "asks for 0 frames"),
        ("a red 3 moving left for 0 seconds", "at least one frame"),
    ],
)
def test_a_length_that_is_no_length_is_refused_not_read_as_another(prompt, match):
    """A probe found "-3 seconds" read as 3 and "0 seconds" as no length (with "seconds" an unknown word)."""
    with pytest.raises(InputError, match=match):
        length_asked(prompt)


def test_a_number_inside_another_token_is_no_length():
    assert length_asked("a red 3 moving left for 1e9 frames") is None  # not "9 frames"
    assert length_asked("a red 3, 3-4 seconds").seconds == 4  # a range still takes its upper end


def test_a_prompt_that_states_two_lengths_uses_the_first_says_so_and_reads_neither():
    """A review: the second length stayed in what the model read ("for 5 seconds": its 5 could be drawn)."""
    asked = length_asked("a red 3 moving left for 3 seconds, then for 5 seconds")
    assert (asked.seconds, [o.seconds for o in asked.others]) == (3.0, [5.0])
    assert model_text("a red 3 moving left for 3 seconds, then for 5 seconds") == "a red 3 moving left, then"
    assert model_text("红色的3向左移动，持续3秒，大概5秒") == "红色的3向左移动"
    pipe = tiny_pipeline("anchor")
    with pytest.warns(LengthWarning, match=r"states more than one length \(24 frames, then 40 frames\): the first"):
        assert pipe("a red 3 for 3 seconds, no, for 5 seconds", seed=0).shape[1] == 24
    with warnings.catch_warnings():  # the same length twice: nothing to say
        warnings.simplefilter("error", LengthWarning)
        assert pipe("a red 3 for 2 seconds, 2 seconds long", seed=0).shape[1] == 16
