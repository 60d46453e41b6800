"""A prompt with words the model never saw in training gets a warning naming them (an error with strict);
Moving Digits captions, in either language and in wordings whose words are all known, never do."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from conftest import run_cli, tiny_pipeline

from vidfuse.data.moving_digits import MovingDigits
from vidfuse.data.tokenizer import CharTokenizer
from vidfuse.data.vocabulary import TooManyDigitsWarning, UnknownWordsError, UnknownWordsWarning, Vocabulary
from vidfuse.pipeline import SHIPPED_MODEL_DIR, TextToVideoPipeline

NOVEL = Path(__file__).resolve().parents[1] / "bench" / "novel_captions_v2.jsonl"


@pytest.fixture(scope="module")
def default_pipe() -> TextToVideoPipeline:
    return TextToVideoPipeline.from_pretrained(SHIPPED_MODEL_DIR, device="cpu")


@pytest.fixture(scope="module")
def vocab(default_pipe) -> Vocabulary:
    """The shipped model's record of the words it was taught (its e5 encoder's vocabulary.json)."""
    assert default_pipe.vocabulary is not None
    return default_pipe.vocabulary


def test_the_shipped_model_does_not_know_cats_or_pianos(vocab):
    assert vocab.trained_on == "Moving Digits captions"
    assert vocab.unknown_words("a cat playing the piano") == ["cat", "playing", "piano"]
    assert vocab.unknown_words("一只猫在弹钢琴") == ["猫", "钢琴"]  # 只 is a measure word, 弹 is in 弹跳
    assert vocab.unknown_words("A CAT, a cat and a Piano!") == ["cat", "piano"]  # normalised, each once


@pytest.mark.parametrize("level", [1, 2])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_moving_digits_captions_are_all_known(vocab, level, lang):
    ds = MovingDigits(split="test", level=level, lang=lang, seed=0)
    for i in range(150):
        caption = ds[i][1]
        assert vocab.unknown_words(caption) == [], caption


def test_function_words_number_words_and_punctuation_never_count(vocab):
    assert vocab.unknown_words("Please show me a video of the number twenty or seventh digit!!") == []
    assert vocab.unknown_words("请生成一个品红色的数字3向上移动的视频。") == []
    assert vocab.unknown_words("我想看一个黄色的数字四向右移动，同时数字十在屏幕上上下弹跳") == []
    assert vocab.unknown_words("3 → 5 … 「」 ©") == []


def test_novel_wordings_warn_only_on_words_the_model_lacks(vocab):
    """bench/novel_captions_v2.jsonl (written blind to the training grammar): a caption whose words are all
    known stays silent; the others name words neither the templates nor the paraphrase grammar hold."""
    rows = [json.loads(line) for line in NOVEL.read_text(encoding="utf-8").splitlines() if line.strip()]
    unknown = {r["caption"]: vocab.unknown_words(r["caption"]) for r in rows}
    assert unknown["Generate a yellow 0 sliding to the left."] == []
    assert unknown["请生成一个品红色的数字3向上移动的视频。"] == []
    assert unknown["Can you animate a cyan number one drifting rightward across the screen?"] == []
    assert unknown["Show a green six sliding left and right like a pendulum."] == ["pendulum"]
    assert sum(not u for u in unknown.values()) >= 90  # most wordings are all known, in both languages
    every = {w for ws in unknown.values() for w in ws}
    assert not every & {"a", "the", "you", "can", "number", "screen", "video", "请", "生成", "视频", "的"}


def test_a_characters_only_tokenizer_knows_words_spelled_with_its_characters():
    v = Vocabulary.from_tokenizer(CharTokenizer.build(["digit 3 moves left", "数字3在左右移动"]))
    assert v.unknown_words("the digit sits left") == []  # no word list: letters it has are all it can tell
    assert v.unknown_words("a zebra") == ["zebra"]  # z, b are not among its characters
    assert Vocabulary.from_tokenizer(object()) is None  # a pretrained text encoder keeps no record


def test_the_pipeline_warns_names_the_words_and_strict_refuses(default_pipe):
    assert default_pipe.unknown_words("a cat playing the piano") == ["cat", "playing", "piano"]
    with pytest.warns(UnknownWordsWarning) as rec:
        out = default_pipe("a cat playing the piano", num_frames=2, seed=0)
    assert out.shape[:2] == (1, 2)
    w = rec[0].message
    assert w.words == ["cat", "playing", "piano"] and w.trained_on == "Moving Digits captions"
    assert str(w).startswith("this model was trained on Moving Digits captions; it does not know: cat, playing, piano")
    with pytest.raises(UnknownWordsError, match="it does not know: 猫, 钢琴"):
        default_pipe("一只猫在弹钢琴", num_frames=2, seed=0, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        default_pipe(["the red digit 3 is moving to the left", "蓝色数字五上下弹跳"], num_frames=2, seed=0, strict=True)
    with pytest.warns(UnknownWordsWarning, match=r"prompt #1 holds words it does not know: sunset"):
        default_pipe(["digit 3 moves left", "a sunset"], num_frames=2, seed=0)


def _cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("always", UnknownWordsWarning)
        warnings.simplefilter("always", TooManyDigitsWarning)
        return run_cli(monkeypatch, capsys, *args)


def test_cli_warns_on_stderr_and_strict_exits_2(monkeypatch, capsys, tmp_path):
    code, out, err = _cli(
        monkeypatch, capsys, "generate", "a cat playing the piano", "-o", tmp_path / "c.mp4", "--frames", "2"
    )
    assert code == 0 and (tmp_path / "c.mp4").is_file(), err
    assert err.startswith(
        "warning: this model was trained on Moving Digits captions; it does not know: cat, playing, piano"
    ), err
    code, out, err = _cli(monkeypatch, capsys, "generate", "一只猫在弹钢琴", "-o", tmp_path / "z.mp4", "--strict")
    assert code == 2 and not (tmp_path / "z.mp4").exists()
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: this model was trained on Moving Digits")
    code, out, err = _cli(
        monkeypatch, capsys, "generate", "数字3在左右移动", "-o", tmp_path / "d.mp4", "--strict", "--frames", "2"
    )
    assert code == 0 and "warning" not in err, err
    two = "a red 3 moving left and a blue 7 moving up"  # drawn as two layers: nothing to say
    code, out, err = _cli(monkeypatch, capsys, "generate", two, "-o", tmp_path / "t.mp4", "--frames", "2", "--strict")
    assert code == 0 and "warning" not in err and (tmp_path / "t.mp4").exists(), err
    five = "1, 2, 3, 4 and 5 moving left"  # more layers than MAX_SUBJECTS: drawn whole, one digit
    code, out, err = _cli(monkeypatch, capsys, "generate", five, "-o", tmp_path / "f.mp4", "--frames", "2")
    assert code == 0 and err.startswith("warning: this model draws one digit per clip; the prompt asks for 5"), err
    code, out, err = _cli(monkeypatch, capsys, "generate", five, "-o", tmp_path / "u.mp4", "--strict")
    assert code == 2 and err.startswith("error: this model draws one digit") and not (tmp_path / "u.mp4").exists()


def test_cli_batch_warns_once_naming_the_prompts(monkeypatch, capsys, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("digit 3 moves left\na cat\n红色数字7向下移动\n一只猫\n", encoding="utf-8")
    code, out, err = _cli(
        monkeypatch, capsys, "generate", "--prompts", prompts, "--out-dir", tmp_path / "o", "--frames", "2"
    )
    assert code == 0, err
    assert err.count("warning:") == 1 and "prompts #1, #3 hold words it does not know: cat, 猫" in err, err
    code, out, err = _cli(
        monkeypatch, capsys, "generate", "--prompts", prompts, "--out-dir", tmp_path / "s", "--strict"
    )
    assert code == 2 and not (tmp_path / "s" / "0000.mp4").exists(), err


def test_the_demo_stories_warn_about_nothing():
    """A story's connectives ("then", "finally", 然后, 最后) are not unknown words: the demo's own scripts,
    planned into scene prompts, give the shipped model no warning."""
    from vidfuse.demo import STORIES
    from vidfuse.pipeline import TextToVideoPipeline
    from vidfuse.story.planner import validate_script

    pipe = TextToVideoPipeline.from_pretrained(None, device="cpu")
    for script in STORIES.values():
        for scene in validate_script(script):
            assert pipe.unknown_words(scene.prompt) == [], scene.prompt
            assert pipe.digits_beyond(scene.prompt) is None, scene.prompt


def test_template_slot_names_and_language_codes_are_not_words(vocab):
    """The grammar's tables hold "{c}digit {n}" and LANGS = ("en", "zh"): those letters name slots and
    languages, not words of any caption, so neither the grammar's vocabulary nor the shipped record lists them."""
    from vidfuse.data.vocabulary import moving_digits_vocabulary

    words, _ = moving_digits_vocabulary()
    not_words = {"b", "c", "g", "n", "p", "w", "x", "en", "zh"}
    assert not words & not_words
    assert not vocab.words & not_words
    assert {"digit", "bounces", "crimson", "leftward"} <= words


def test_words_that_count_digits_are_known_to_a_model_that_layers(vocab):
    """ "two digits: …" is read by the layering (vidfuse.data.subjects), not by the one-digit generator: a model
    that keeps a record of how many digits it draws knows these words; one without that record does not."""
    assert vocab.subjects is not None
    assert vocab.unknown_words("two digits: a red 3 going up and a blue 7 going left") == []
    assert vocab.unknown_words("three numbers, a red 1 moving up, a blue 2 moving down and a green 5 moving left") == []
    assert vocab.unknown_words("two sevens and two cats") == ["cats"]
    plain = Vocabulary(vocab.words, vocab.chars)  # no record of subjects: nothing is layered
    assert plain.unknown_words("two digits") == ["digits"]


def test_numbers_no_digit_draws_symbols_and_wordless_prompts_are_unknown(vocab):
    """Found by a probe: each drew some digit, exit 0, no warning ("a red 10" drew a red 9)."""
    assert vocab.unknown_words("a red 10 moving up") == ["10"]
    assert vocab.unknown_words("the digit 3.5 moving left") == ["3.5"]
    assert vocab.unknown_words("the digit -3 is moving left") == ["-3"]
    assert vocab.unknown_words("😀🎉🚀") == ["😀🎉🚀"]
    assert vocab.unknown_words("the red digit 3 moving right ★") == ["★"]
    assert vocab.unknown_words("?!.,;:") == ["?!.,;:"]
    assert vocab.unknown_words("a red 3 moving left, then a blue 7 moving up") == []  # one digit each: known


def test_the_shade_characters_are_known_only_in_the_shades_the_rewrite_writes():
    words = json.loads(
        (Path(__file__).resolve().parents[1] / "vidfuse" / "default_model" / "vocabulary.json").read_text()
    )
    vocab = Vocabulary(words["words"], words["chars"])
    assert vocab.unknown_words("一个粉红色的3往左") == []
    assert vocab.unknown_words("一个3在银河里往左") == ["银河"]  # 银 only in 银白


def test_strict_says_so_when_the_model_keeps_no_word_list_to_check_against():
    """A review: --strict on a model with no record of its training words checked nothing, silently."""
    from vidfuse.data.vocabulary import StrictUncheckedWarning

    pipe = tiny_pipeline("anchor")
    with warnings.catch_warnings():
        warnings.simplefilter("error", StrictUncheckedWarning)
        pipe("a red 3 moving left", num_frames=2, seed=0, strict=True)  # it has a list: checked, nothing said
    pipe._vocabulary = None  # as a pretrained text encoder without a record
    with pytest.warns(StrictUncheckedWarning, match="keeps no such record: nothing was checked"):
        pipe("a cat playing the piano", num_frames=2, seed=0, strict=True)
