"""Stories from hostile or careless scripts: Markdown markup, control characters, a music file
that is not audio, and the cost bounds (script, scene and story length) with frames streamed.

Renders use the tiny random pipeline (16×16 frames) at small sizes; nothing here needs a GPU.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_pipeline

from vidfuse.errors import InputError
from vidfuse.media.speech import SentenceTiming, Speech, split_sentences
from vidfuse.media.subtitles import parse_srt
from vidfuse.media.video_io import probe_video, read_video, write_video
from vidfuse.story import Scene, compose, load_script, plan_story, planner, render_story, timeline
from vidfuse.story import cues as story_cues
from vidfuse.story import music as story_music
from vidfuse.story.planner import (
    MAX_SCENES,
    MAX_STORY_SECONDS,
    SCENE_WEIGHT,
    estimate_seconds,
    spoken_weight,
    strip_markdown,
    validate_script,
)

SMALL = (64, 48)
FPS = 4


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline("gan")


class NoPipeline:
    """A pipeline that fails the test if a frame is asked for: the limits come first."""

    native_size = (16, 16)

    def __call__(self, *a, **kw):
        raise AssertionError("a frame was generated for a story that should have been refused")


def no_speech(*a, **kw):
    raise AssertionError("speech was synthesized for a story that should have been refused")


def narrations(script, **kw) -> list[str]:
    return [s.narration for s in plan_story(script, **kw)]


# --------------------------------------------------------------------------------------------
# Markdown: markup off, words kept, code blocks dropped


MARKUP = set("#*_`[]()<>~|")


@pytest.mark.parametrize(
    "script, expected",
    [
        ("# The red digit\n\nIt moves left.", ["The red digit", "It moves left."]),
        ("## Chapter 1 ##\nThe red digit moves left.", ["Chapter 1", "The red digit moves left."]),
        ("Chapter 1\n=========\nThe red digit moves left.", ["Chapter 1", "The red digit moves left."]),
        ("**The red** digit _moves_ *left* and __up__, ***fast***.", ["The red digit moves left and up, fast."]),
        ("The ~~blue~~ red digit.", ["The blue red digit."]),
        (
            "- the red digit\n- the blue digit\n* the green digit\n+ the grey digit",
            ["the red digit. the blue digit. the green digit. the grey digit."],
        ),
        ("- [x] the red digit moves\n  to the left\n- [ ] then up", ["the red digit moves to the left. then up."]),
        ("1. Mix the flour\n2. Bake it", ["1. Mix the flour. 2. Bake it."]),
        ('See [the red digit](https://example.com/a_(b)?x=1 "title") move.', ["See the red digit move."]),
        ("See [the red digit][ref] move.\n\n[ref]: https://example.com", ["See the red digit move."]),
        ("Mail <me@example.com> or <https://example.com>.", ["Mail me@example.com or https://example.com."]),
        ("A digit ![a picture](pic.png) moves.", ["A digit moves."]),
        ("Type `pip install` and ``a ` tick``.", ["Type pip install and a ` tick."]),
        ("> The red digit\n> moves *left*.", ["The red digit moves left."]),
        ("Before.\n\n---\n\nAfter.", ["Before.", "After."]),
        ("Before.\n\n```python\nprint('the red digit')\n# not a heading\n```\n\nAfter.", ["Before.", "After."]),
        ("Before.\n~~~\ncode\n~~~\nAfter.", ["Before.", "After."]),
        ("A \\*literal\\* star and \\_under\\_.", ["A *literal* star and _under_."]),
        # plain text that only looks like markup is left as written
        ("snake_case_name and 2 * 3 = 6, #1 of 3 - 2.", ["snake_case_name and 2 * 3 = 6, #1 of 3 - 2."]),
        # Chinese
        ("# 第一章\n\n**红色的数字7**向下移动。", ["第一章", "红色的数字7向下移动。"]),
        ("- 苹果\n- 香蕉", ["苹果。香蕉。"]),
        ("看[红色的数字](https://example.com)和`代码`。\n\n```\n打印（）\n```", ["看红色的数字和代码。"]),
    ],
)
def test_markdown_is_stripped_to_its_words(script, expected):
    assert narrations(script) == expected


def test_markdown_story_is_spoken_and_subtitled_without_markup(tmp_path, pipe, monkeypatch):
    script = (
        "# The Red Digit\n\n**The red digit 3** is _moving_ to the [left](https://x.y/z).\n\n"
        "- It bounces up\n- It falls down\n\n```\nrm -rf /\n```\n\n> `Then` it ~~stops~~ rests."
    )
    spoken = []  # what espeak is given
    real = timeline.synthesize
    monkeypatch.setattr(timeline, "synthesize", lambda text, **kw: spoken.append(text) or real(text, **kw))
    result = render_story(script, tmp_path / "md.mp4", pipeline=pipe, size=SMALL, fps=FPS, subtitles="srt")
    cues = parse_srt(result.srt.read_text(encoding="utf-8"))
    shown = " ".join(c.text for c in cues)
    assert not MARKUP & set(shown + "".join(spoken)), (shown, spoken)
    assert "rm" not in shown and "https" not in shown
    assert [c.text for c in cues] == [
        "The Red Digit",
        "The red digit 3 is moving to the left.",
        "It bounces up.",
        "It falls down.",
        "Then it stops rests.",
    ]


@pytest.mark.parametrize(
    "script, words",
    [
        ("```\nprint('hello')\n```", "no words outside Markdown"),
        ("# \n\n---\n\n![only a picture](a.png)", "no words outside Markdown"),
        ("Hello.\n\n```python\nprint('the rest is lost')\nMore story.", r"opens a code block \(```\) at line 3"),
    ],
)
def test_markdown_without_narration_is_refused(script, words):
    with pytest.raises(InputError, match=words):
        plan_story(script)


@pytest.mark.parametrize(
    "script",
    [
        "*a " * 6000,
        "**a " * 4500,
        "_a " * 6000,
        "~~a " * 4500,
        "![" * 9000,
        "[a](" * 4500,
        "`a " * 6000,
        "# a" + " " * 18000 + "a",
        "a" + " " * 18000 + "b",
        "[a]: " + "b" * 18000 + " x",
        "红" * 19999,
    ],
    ids=[
        "stars",
        "double stars",
        "underscores",
        "tildes",
        "image openers",
        "link openers",
        "ticks",
        "heading with spaces",
        "spaces",
        "link definition",
        "one Chinese run",
    ],
)
def test_hostile_markup_is_planned_in_linear_time(script):
    started = time.perf_counter()
    try:
        validate_script(script)
    except InputError:
        pass
    assert time.perf_counter() - started < 1.0  # quadratic patterns took 1.3-3.4 s on these


def test_markdown_is_stripped_from_md_files(tmp_path):
    md = tmp_path / "story.md"
    md.write_text("# Title\n\n*The red digit* moves.", encoding="utf-8")
    assert [s.narration for s in load_script(md)] == ["Title", "The red digit moves."]
    assert strip_markdown("plain text, untouched.\n\nTwo paragraphs.") == "plain text, untouched.\n\nTwo paragraphs."


def test_list_numbers_do_not_end_a_sentence():
    assert split_sentences("1. Mix the flour. 2. Bake it. I counted to 3. Then I left.") == [
        "1. Mix the flour.",
        "2. Bake it.",
        "I counted to 3.",
        "Then I left.",
    ]


# --------------------------------------------------------------------------------------------
# Control characters: refused the same way on every path


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x1c"])
@pytest.mark.parametrize(
    "path", ["text", "json narration", "json blank narration", "json prompt", "json file", "scene list", "validate"]
)
def test_control_characters_are_refused_on_every_path(tmp_path, char, path):
    bad = f"The red{char} digit."
    if path == "text":
        call = lambda: load_script(bad)  # noqa: E731
    elif path == "json narration":
        call = lambda: load_script(json.dumps([{"narration": bad}]))  # noqa: E731
    elif path == "json blank narration":
        call = lambda: load_script(json.dumps([{"narration": char, "prompt": "a red 3", "duration": 2}]))  # noqa: E731
    elif path == "json prompt":
        call = lambda: load_script(json.dumps([{"narration": "Hi.", "prompt": bad}]))  # noqa: E731
    elif path == "json file":
        (tmp_path / "s.json").write_text(json.dumps([{"narration": bad}]), encoding="utf-8")
        call = lambda: load_script(tmp_path / "s.json")  # noqa: E731
    elif path == "scene list":
        call = lambda: compose.as_scenes([Scene(bad, "the red digit")])  # noqa: E731
    else:
        call = lambda: validate_script(json.dumps([{"narration": bad}]))  # noqa: E731
    with pytest.raises(InputError, match=rf"U\+{ord(char):04X}, a control character"):
        call()


# --------------------------------------------------------------------------------------------
# Music that is not audio


def test_music_that_is_not_audio_says_so(tmp_path, pipe):
    from PIL import Image

    (tmp_path / "notes.txt").write_text("buy milk\n", encoding="utf-8")
    Image.new("RGB", (8, 8)).save(tmp_path / "cover.png")
    write_video(tmp_path / "silent.mp4", np.zeros((4, 16, 16, 3), np.uint8), fps=4)
    for name, words in [
        ("notes.txt", "is not an audio file"),
        ("cover.png", "has no audio stream"),
        ("silent.mp4", "has no audio stream"),
    ]:
        with pytest.raises(InputError) as err:
            render_story(
                "The red digit moves.",
                tmp_path / "out.mp4",
                pipeline=pipe,
                size=SMALL,
                fps=FPS,
                music=tmp_path / name,
                no_voice=True,
            )
        message = str(err.value)
        assert words in message and "no audio stream" in message and "MP3, WAV" in message, message
        assert "not a video" not in message and "re-encode" not in message and "\n" not in message
    assert not (tmp_path / "out.mp4").exists()


def test_long_music_is_decoded_only_as_far_as_the_story_needs(tmp_path, pipe, monkeypatch):
    import wave

    rate = 8000
    music = tmp_path / "hour.wav"  # 10 minutes of a tone stands in for an hour-long file
    with wave.open(str(music), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes((0.3 * np.sin(np.arange(600 * rate) * 0.05) * 32767).astype("<i2").tobytes())
    decoded = []
    real = story_music.read_audio
    monkeypatch.setattr(
        story_music, "read_audio", lambda *a, **kw: decoded.append(real(*a, **kw)[0]) or (decoded[-1], rate)
    )
    result = render_story(
        "The red digit moves left.", tmp_path / "m.mp4", pipeline=pipe, size=SMALL, fps=FPS, music=music, no_voice=True
    )
    assert len(decoded[0]) / rate <= result.duration_s + 1.5  # not the whole ten minutes
    assert probe_video(result.video).has_audio


# --------------------------------------------------------------------------------------------
# Cost bounds


def test_a_very_long_sentence_is_refused_at_once_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(timeline, "synthesize", no_speech)
    sentence = "the red digit moves to the left and then " * 366  # 15,006 characters, no full stop
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"about 1\d\.\d minutes .*the limit is 10\.0 minutes \(MAX_STORY_SECONDS\)"):
        render_story(sentence, tmp_path / "long.mp4", pipeline=NoPipeline(), size=SMALL)
    assert time.perf_counter() - started < 5
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "sentence, joiner",
    [
        ("the red digit moves to the left, and then it goes up, " * 20, " "),  # clause punctuation
        ("the red digit moves to the left and then it goes up " * 20, " "),  # spaces only
        ("红色的数字七向下移动然后向左移动" * 12, ""),  # Chinese without punctuation
    ],
)
def test_an_over_long_sentence_becomes_several_scenes(sentence, joiner):
    scenes = plan_story(sentence)
    assert len(scenes) > 2
    assert all(spoken_weight(s.narration) <= SCENE_WEIGHT for s in scenes)
    assert joiner.join(s.narration for s in scenes) == sentence.strip()  # nothing lost or reordered
    if "," in sentence:  # cut after clause punctuation where it can
        assert all(s.narration.endswith(",") for s in scenes[:-1])


def json_script(items) -> str:
    return json.dumps(items, ensure_ascii=False)


@pytest.mark.parametrize(
    "script, words",
    [
        ("the red digit moves. " * 1100, r"the limit is 20,000 characters"),
        (
            "\n\n".join(["The red digit moves to the left and it keeps on moving for a long, long while. " * 4] * 40),
            r"story of about 1\d\.\d minutes \(80 scenes\); the limit is 10\.0 minutes \(MAX_STORY_SECONDS\)",
        ),
        ("红色的数字七向下移动。" * 300, r"the limit is 10\.0 minutes \(MAX_STORY_SECONDS\)"),
        ("\n\n".join(f"Scene {i}." for i in range(MAX_SCENES + 1)), r"61 scenes; the limit is 60 \(MAX_SCENES\)"),
        (
            json_script([{"narration": "Hi."}, {"narration": "word " * 300}]),
            r"scene 2 of the JSON script \('word word.*about 80 s; a scene's narration may last at most 60 s",
        ),
        (json_script([{"narration": "红色" * 150}]), r"scene 1 of the JSON script .* at most 60 s"),
        (
            json_script([{"narration": "Hi.", "duration": 61}]),
            r"scene 1 .*\"duration\" must be a number of seconds in \(0, 60\]",
        ),
        (json_script([{"narration": "Hi.", "duration": 60}] * 11), r"about 10\.\d minutes .*MAX_STORY_SECONDS"),
        (json_script([{"narration": "Hi.", "prompt": "a red digit " * 30}]), r"prompt of scene 1 .* limit is 300"),
        (json_script([{"narration": "Hi."}] * 61), r"61 scenes; the limit is 60"),
    ],
)
def test_limits_are_refused_before_any_work_with_one_line_naming_them(tmp_path, monkeypatch, script, words):
    monkeypatch.setattr(timeline, "synthesize", no_speech)
    with pytest.raises(InputError, match=words) as server:
        validate_script(script)  # what the server calls before it accepts a job
    with pytest.raises(InputError) as render:
        render_story(script, tmp_path / "s.mp4", pipeline=NoPipeline(), size=SMALL)
    assert str(render.value) == str(server.value) and "\n" not in str(server.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "scenes, words",
    [
        ([Scene("Hi.", "a red digit", duration_s=600.0)], r"duration_s must be a number of seconds in \(0, 60\]"),
        ([Scene("word " * 300, "a red digit")], r"scene 1 of the story .* at most 60 s"),
        ([Scene("Hi.", "a red digit", duration_s=60.0)] * 11, r"MAX_STORY_SECONDS"),
        ([Scene("Hi.", "a red digit")] * 61, r"limit is 60"),
        ([Scene("", "a red digit")], "no narration"),
        ([Scene("Hi.", "a red digit " * 30)], "limit is 300"),
    ],
)
def test_scene_lists_meet_the_same_limits(tmp_path, scenes, words):
    with pytest.raises(InputError, match=words):
        render_story(scenes, tmp_path / "s.mp4", pipeline=NoPipeline(), size=SMALL, no_voice=True)


def test_a_slow_speaking_rate_counts_toward_the_story_length():
    script = "\n\n".join(["The red digit moves to the left and it keeps on moving for a while. " * 2] * 40)
    scenes = validate_script(script)
    assert estimate_seconds(scenes) < MAX_STORY_SECONDS
    assert estimate_seconds(scenes, rate=350) < estimate_seconds(scenes) < estimate_seconds(scenes, rate=80)
    with pytest.raises(InputError, match="MAX_STORY_SECONDS"):
        validate_script(script, rate=80)


def test_estimates_follow_espeak_within_a_fifth():
    """The length estimate that the limits use is close to what espeak says (text, digits, Chinese)."""
    pytest.importorskip("shutil").which("espeak-ng") or pytest.skip("espeak-ng is not installed")
    from vidfuse.media.speech import synthesize

    for text in [
        "Once upon a time, in a small village by the sea, there lived an old fisherman.",
        "In 2024 the digit 7 moved 12 times.",
        "从前有一个小村庄，村子里住着一位老渔夫。",
    ]:
        estimate, spoken = planner.speech_seconds(text), synthesize(text).duration_s
        assert abs(estimate - spoken) <= 0.2 * spoken + 0.3, (text, estimate, spoken)


def fake_speech(seconds_per_scene: float):
    def synthesize(text, **kw):
        rate = 1000
        wave = np.full(int(seconds_per_scene * rate), 0.1, np.float32)
        return Speech(wave, rate, [SentenceTiming(text, 0.0, seconds_per_scene)])

    return synthesize


@pytest.mark.parametrize(
    "seconds, scenes, words",
    [
        (90.0, 1, r"scene 1 \('1234.*takes 90 s to say.*at most 60 s"),  # numbers: far longer said than written
        (20.0, 40, r"scenes 1–3\d already last 1\d\.\d minutes as spoken; a story may last at most 10 minutes"),
    ],
)
def test_speech_far_longer_than_estimated_is_refused_before_any_frame(tmp_path, monkeypatch, seconds, scenes, words):
    monkeypatch.setattr(timeline, "synthesize", fake_speech(seconds))
    script = "\n\n".join(["1234567 8901234 5678901."] * scenes)
    validate_script(script)  # the estimate passes ...
    with pytest.raises(InputError, match=words):  # ... what is spoken does not
        render_story(script, tmp_path / "s.mp4", pipeline=NoPipeline(), size=SMALL)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Frames stream into the encoder


def test_frames_stream_into_the_encoder_scene_by_scene(tmp_path, pipe, monkeypatch):
    encoded = []  # frames the encoder has taken, at the moment each scene's clip is generated
    taken_at_scene = []
    real_write, real_call = compose.write_video, type(pipe).__call__

    def write(path, frames, *a, **kw):
        assert isinstance(frames, Iterator) and not isinstance(frames, np.ndarray)

        def counted():
            for f in frames:
                encoded.append(f.shape)
                yield f

        return real_write(path, counted(), *a, **kw)

    def call(self, prompt, **kw):
        taken_at_scene.append(len(encoded))
        return real_call(self, prompt, **kw)

    monkeypatch.setattr(compose, "write_video", write)
    monkeypatch.setattr(type(pipe), "__call__", call)
    script = "The red digit moves left.\n\nThe blue digit moves up.\n\nThe green digit moves down."
    result = render_story(script, tmp_path / "s.mp4", pipeline=pipe, size=SMALL, fps=FPS, no_voice=True)
    # each scene is generated only once the frames before its fade-in went to the encoder
    first, second, third = result.scenes
    x = timeline.fade_frames(FPS)
    assert taken_at_scene == [0, first.num_frames - x, first.num_frames + second.num_frames - 2 * x]
    assert len(encoded) == probe_video(result.video).num_frames == len(read_video(result.video))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary frame file

    # burning captions holds one chunk of frames, no more
    encoded.clear(), taken_at_scene.clear()
    render_story(script, tmp_path / "b.mp4", pipeline=pipe, size=SMALL, fps=FPS, no_voice=True, subtitles="burn")
    held = first.num_frames + second.num_frames - 2 * x - taken_at_scene[-1]
    assert 0 < taken_at_scene[-1] and held <= story_cues._CHUNK


def test_write_video_takes_an_iterator_of_frames(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (6, 16, 24, 3), dtype=np.uint8)
    write_video(tmp_path / "a.mp4", frames, fps=4)
    write_video(tmp_path / "i.mp4", iter(list(frames)), fps=4)
    assert np.array_equal(read_video(tmp_path / "a.mp4"), read_video(tmp_path / "i.mp4"))
    with pytest.raises(InputError, match="frame 2 is uint8"):
        write_video(tmp_path / "bad.mp4", iter([frames[0], frames[1], frames[2, :8]]), fps=4)
    with pytest.raises(InputError, match="gave none"):
        write_video(tmp_path / "none.mp4", iter([]), fps=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "i.mp4"]


@pytest.mark.parametrize(
    "options, match",
    [({"rate": 10}, "rate is in words per minute"), ({"width": 3, "no_voice": True}, "width=3 is out of range")],
)
def test_story_options_are_refused_before_planning_or_speech(tmp_path, monkeypatch, options, match):
    """A probe: --rate 10 was blamed on "scene 1" after planning, --width 3 came after the narration was spoken."""
    from vidfuse.story import compose

    def planned(*a, **k):
        raise AssertionError("planned before the options were checked")

    monkeypatch.setattr(compose, "as_scenes", planned)
    with pytest.raises(InputError, match=match):
        compose.render_story("A red three moves left.", tmp_path / "s.mp4", **options)


@pytest.mark.parametrize("where", ["file", "proc"])
def test_an_output_that_cannot_be_written_is_refused_before_planning(tmp_path, monkeypatch, where):
    """A probe: `story -o /proc/x.mp4` (or under a file) ended in a traceback after the whole story was made."""
    from vidfuse.story import compose

    if where == "proc" and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")

    def planned(*a, **k):
        raise AssertionError("planned before the output was checked")

    monkeypatch.setattr(compose, "as_scenes", planned)
    (tmp_path / "a.txt").write_text("x")
    out = tmp_path / "a.txt" / "s.mp4" if where == "file" else Path("/proc/vidfuse_story.mp4")
    with pytest.raises(InputError, match="cannot write"):
        compose.render_story("A red three moves left.", out, no_voice=True)
