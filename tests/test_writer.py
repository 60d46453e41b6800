"""The writer: a script from a topic, parsed defensively from a language model's answers (fake LMs here; one
test loads the shipped SmolLM2 GGUF)."""

from __future__ import annotations

import pytest

from vidfuse.errors import InputError
from vidfuse.story.writer import draws_digits, parse_lines, write_script


class FakeLM:
    """Answers from a list, in turn; records the seeds it was asked with."""

    def __init__(self, *answers):
        self.answers, self.seeds = list(answers), []

    def reply(self, messages, *, max_new_tokens, seed):
        self.seeds.append(seed)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_parse_lines_strips_numbering_markup_and_control_characters():
    text = (
        "Here is your story:\n1. **Rain** falls from the grey clouds.\n- The sun warms the sea\x07 water.\n"
        "* The water rises as vapour. Clouds form again high above.\n"
    )
    assert parse_lines(text, 3) == [
        "Rain falls from the grey clouds.",
        "The sun warms the sea water.",
        "The water rises as vapour.",
    ]
    assert parse_lines("", 1) is None and parse_lines("ok\n\n", 1) is None  # empty, too short
    assert parse_lines("A cat sat down.", 2) is None  # fewer than asked
    assert parse_lines("word " * 100, 1) is None  # a runaway line is no sentence
    assert parse_lines("<script>alert(1)</script> The fox runs fast.", 1) == [
        "scriptalert(1)/script The fox runs fast."
    ]
    assert parse_lines("水从海里升起。云在天上飘。", 2, lang="zh") == ["水从海里升起。", "云在天上飘。"]


def test_a_bad_answer_is_asked_again_then_refused_clearly():
    lm = FakeLM("", "word " * 100, "1. The sun heats the sea.\n2. Water rises up high.\n")
    scenes = write_script("the water cycle", scenes=2, writer=lm)
    assert lm.seeds[:3] == [0, 1, 2]  # two retries with other seeds
    assert [s.narration for s in scenes] == ["The sun heats the sea.", "Water rises up high."]
    with pytest.raises(InputError, match="wrote no usable story of 2 sentences about 'volcanoes' in 3 tries"):
        write_script("volcanoes", scenes=2, writer=FakeLM("###"))


def test_open_domain_scenes_get_described_and_digit_scenes_get_drawable_captions():
    lm = FakeLM(
        "The sun heats the sea. Water rises as vapour.",
        "A bright sun shines over blue waves.",
        "White steam drifts up from the water.",
    )
    scenes = write_script("the water cycle", scenes=2, writer=lm)
    assert [s.prompt for s in scenes] == ["A bright sun shines over blue waves", "White steam drifts up from the water"]
    lm = FakeLM("There is one red apple on the tree.", "Two apples fall to the ground.")
    scenes = write_script("apples", scenes=2, digits=True, writer=lm)
    assert scenes[0].narration == "One! There is one red apple on the tree."
    assert [s.prompt for s in scenes] == [
        "the red digit 1 is moving to the left",
        "the green digit 2 is moving to the right",
    ]
    assert draws_digits("Moving Digits captions") and not draws_digits(None)


def test_topic_and_options_are_checked_before_the_writer_runs():
    lm = FakeLM("never asked")
    for kwargs, match in [
        (dict(topic="  "), "topic is empty"),
        (dict(topic="x" * 300), "under 200"),
        (dict(topic="cats", scenes=0), "scenes must be 1 to"),
        (dict(topic="cats", scenes=10, digits=True), "1 to 9"),
        (dict(topic="猫", lang="zh", writer=None), "writes English only"),
    ]:
        kwargs.setdefault("writer", lm)
        with pytest.raises(InputError, match=match):
            write_script(**kwargs)
    assert lm.seeds == []


@pytest.mark.slow
def test_the_shipped_writer_writes_a_counting_story():
    pytest.importorskip("gguf")
    from vidfuse.story.writer import load_writer, shipped_writer_file

    try:
        shipped_writer_file()
    except Exception as e:
        pytest.skip(str(e))
    writer = load_writer()
    assert load_writer() is writer  # loaded once per process
    scenes = write_script("apples on a farm", scenes=2, digits=True, writer=writer)
    assert len(scenes) == 2 and scenes[1].narration.startswith("Two! ") and "digit 2" in scenes[1].prompt


def test_counting_story_prompts_are_captions_the_shipped_model_knows_and_was_trained_on():
    """Every colour and motion is one of Moving Digits', no (digit, motion) pair is held out of training,
    and the shipped model's vocabulary check finds no unknown word, for any seed."""
    from vidfuse.data.moving_digits import is_held_out
    from vidfuse.pipeline import TextToVideoPipeline
    from vidfuse.story.writer import digit_prompt

    pipe = TextToVideoPipeline.from_pretrained(None, device="cpu")
    for turn in range(12):
        for digit in range(1, 10):
            prompt = digit_prompt(digit, turn)
            assert pipe.unknown_words(prompt) == [], prompt
            motion = prompt.split(" is moving ")[1].replace("to the ", "")
            assert not is_held_out(digit, motion), prompt
