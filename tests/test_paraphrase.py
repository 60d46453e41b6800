"""The wide training-caption grammar (vidfuse/data/paraphrase.py): every caption says what its clip shows."""

import re

import numpy as np
import pytest

from vidfuse.config import TrainConfig
from vidfuse.data.moving_digits import COLOURS, MOTIONS, MovingDigits
from vidfuse.data.paraphrase import _EN_COLOURS, _EN_PRESENT, make_paraphrase, make_short
from vidfuse.errors import InputError

EN_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ZH_NUMBERS = "零一二三四五六七八九"
ZH_OTHER_DIGITS = {
    "〇": 0,
    "○": 0,
    "幺": 1,
    "壹": 1,
    "贰": 2,
    "貳": 2,
    "叁": 3,
    "參": 3,
    "肆": 4,
    "伍": 5,
    "陆": 6,
    "陸": 6,
}
ZH_OTHER_DIGITS |= {"柒": 7, "捌": 8, "玖": 9}
# a compound colour word is read (and taken out) before the single characters it holds: 蓝绿 is cyan, 紫红 magenta
ZH_COMPOUND_COLOURS = {"cyan": "蓝绿", "magenta": "品红|洋红|紫红|玫红|品紅|洋紅|紫紅|紫"}
ZH_COLOURS = {"white": "白", "red": "红|紅", "green": "绿|綠", "blue": "蓝|藍", "yellow": "黄|黃", "cyan": "青"}
EN_CUES = {
    "left": r"left\w*",
    "right": r"right\w*",
    "up": r"up|upwards?|top|ris\w+|climb\w*|ascend\w*|lift\w*|skyward|higher",
    "down": r"down|downwards?|bottom|fall\w*|drop\w*|sink\w*|descend\w*|lower",
}
ZH_CUES = {"left": "左", "right": "右", "up": "上|升|起|顶", "down": "下|落|掉|底"}
EN_SHADES = {
    "red": ("crimson", "scarlet", "cherry", "ruby", "vermilion"),
    "green": ("lime", "emerald"),
    "blue": ("cobalt", "sapphire", "azure"),
    "yellow": ("golden", "gold", "lemon", "canary"),
    "cyan": ("teal", "aqua", "turquoise", "aquamarine"),
    "magenta": ("fuchsia", "pink", "purple", "violet"),
}


def attrs(digit: int, motion: str, colour: str | None) -> dict:
    return {
        "digits": [digit],
        "motions": [motion],
        "colours": [colour or "white"],
        "colour_named": [colour is not None],
    }


def read_en(text: str) -> tuple[set, set, set]:
    """(digits, colours, direction cues) a reader finds in an English caption; "from X to Y" reads as Y."""
    words = re.findall(r"[a-z0-9]+", text)
    digits = {int(w) for w in words if w.isdigit()} | {EN_NUMBERS.index(w) for w in words if w in EN_NUMBERS}
    colours = {c for c in COLOURS if c in words}
    for colour, names in EN_SHADES.items():  # the shades the grammar uses for a palette colour
        colours |= {colour} if any(re.search(rf"\b{n}\b", text) for n in names) else set()
    text = re.sub(r"(?:from )?(?:the )?(left|right|top|bottom) to (?:the )?(left|right|top|bottom)", r"\2", text)
    cues = {m for m, cue in EN_CUES.items() if re.search(rf"\b(?:{cue})\b", text)}
    return digits, colours, cues


def read_zh(text: str) -> tuple[set, set, set]:
    for phrase in ("一个", "一直", "一段", "一路", "另一", "一会儿", "一点", "一样", "一左一右", "一上一下"):
        text = text.replace(phrase, "")
    for phrase in ("屏幕上有", "背景上", "画面里", "黑底"):
        text = text.replace(phrase, "")
    digits = {int(ch) for ch in text if ch.isdigit()} | {ZH_NUMBERS.index(ch) for ch in text if ch in ZH_NUMBERS}
    digits |= {d for ch, d in ZH_OTHER_DIGITS.items() if ch in text}
    colours = set()
    for colour, cue in ZH_COMPOUND_COLOURS.items():
        colours |= {colour} if re.search(cue, text) else set()
        text = re.sub(cue, "", text)
    colours |= {c for c, cue in ZH_COLOURS.items() if re.search(cue, text)}
    # "from X to Y" reads as Y: 从右往左, 从画面底部移动到顶部
    text = re.sub(r"[从由自](?:画面|屏幕)?([左右上下顶底])[^左右上下顶底，；。]{0,4}?([左右上下顶底])", r"\2", text)
    cues = {m for m, cue in ZH_CUES.items() if re.search(cue, text)}
    return digits, colours, cues


@pytest.mark.parametrize("make, distinct", [(make_paraphrase, 1400), (make_short, 900)])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_caption_says_its_digit_colour_and_motion(lang, make, distinct):
    """Sentences (make_paraphrase) and short wordings (make_short: "3, green, right", "3是绿色的，往右走", "a
    left-right bounce") name the digit, the colour when there is one, and the motion: one way for a one-way
    motion, the axis for a bounce."""
    rng = np.random.default_rng(0)
    read = read_en if lang == "en" else read_zh
    seen = set()
    for i in range(1500):
        digit, motion = int(rng.integers(10)), MOTIONS[i % len(MOTIONS)]
        colour = None if rng.random() < 0.3 else list(COLOURS)[int(rng.integers(len(COLOURS)))]
        caption = make(attrs(digit, motion, colour), lang, rng)
        seen.add(caption)
        digits, colours, cues = read(caption.lower())
        assert digits == {digit}, caption
        assert colours == ({colour} if colour else set()), caption
        if " and " in motion:  # bouncing: both ways of one axis, or the axis named
            horizontal = motion == "left and right"
            axis = {"left", "right"} if horizontal else {"up", "down"}
            named = (
                ("horizontal", "side", "左右", "水平", "横", "一左一右")
                if horizontal
                else ("vertical", "上下", "竖", "垂直", "纵向", "一上一下")
            )
            assert cues <= axis and (cues or any(w in caption for w in named)), caption
        else:
            assert cues == {motion}, caption
            assert not re.search(r"来回|往返|弹来弹去|back and forth", caption), caption  # one way, not a bounce
        assert not re.search("一个一个|一个这个|的的|来回来回|往返往返", caption), caption  # seams mended
        assert "{" not in caption and "None" not in caption, caption  # every slot of a form filled
    assert len(seen) > distinct  # hardly a caption twice


def test_two_digit_paraphrases_name_both():
    rng = np.random.default_rng(1)
    a = {
        "digits": [3, 8],
        "motions": ["left", "up and down"],
        "colours": ["cyan", "magenta"],
        "colour_named": [True, True],
    }
    for lang, read in (("en", read_en), ("zh", read_zh)):
        for _ in range(200):
            caption = make_paraphrase(a, lang, rng)
            digits, colours, _ = read(caption.lower())
            assert digits == {3, 8} and colours == {"cyan", "magenta"}, caption


def test_the_dataset_mixes_paraphrases_in_only_when_asked(monkeypatch):
    import vidfuse.data.paraphrase as paraphrase

    plain = MovingDigits("train", lang="both", size=400)
    zero = MovingDigits("train", lang="both", size=400, paraphrase=0.0)
    assert [plain.clip(i)[1] for i in range(400)] == [zero.clip(i)[1] for i in range(400)]  # draw for draw
    half = MovingDigits("train", lang="both", size=400, paraphrase=0.5)
    real = half.clip(7)
    assert np.array_equal(real[0], plain.clip(7)[0])  # the videos don't change
    monkeypatch.setattr(paraphrase, "make_paraphrase", lambda a, lang, rng: "<wide>")
    wide = sum(half.clip(i)[1] == "<wide>" for i in range(400))
    assert 160 < wide < 240, wide  # about half
    with pytest.raises(InputError, match="paraphrase"):
        MovingDigits("train", paraphrase=1.5)


def test_train_config_carries_the_share():
    from vidfuse.train import build_dataset

    cfg = TrainConfig.from_dict({"paraphrase": 0.25})
    assert build_dataset(cfg).paraphrase == 0.25
    assert TrainConfig().paraphrase == 0.0


def test_short_wordings_use_bare_verbs_after_have_and_let():
    """ "have it drift left", "let the 3 slowly rise": never "have it drifts left"."""
    rng = np.random.default_rng(4)
    texts = [make_short(attrs(3, m, c), "en", rng) for m in MOTIONS for c in (None, "red") for _ in range(60)]
    after = [m.group(1) for t in texts for m in re.finditer(r"\b(?:have|let) (?:it|the \S+) (\S+ \S+)", t)]
    assert len(after) > 20
    for words in after:  # the verb, or an adverb and then the verb
        assert not set(words.split()) & _EN_PRESENT, words


def test_short_wordings_include_telegraphic_english():
    """Headline English: no article, a whole predicate ("blue 0 moving up", "cyan six slides left"): the
    register a student read as a bounce when only sentences with articles and attribute lists taught it."""
    rng = np.random.default_rng(6)
    texts = [make_short(attrs(d, m, "blue"), "en", rng) for d in range(10) for m in MOTIONS for _ in range(10)]
    number = r"(?:[0-9]|" + "|".join(EN_NUMBERS) + ")"
    verb = r"(?:\w+ing|" + "|".join(_EN_PRESENT) + ")"
    blue = "|".join(map(re.escape, _EN_COLOURS["blue"]))
    telegraphic = [t for t in texts if re.match(rf"(?:{blue}) {number} {verb}\b", t)]
    assert 0.05 * len(texts) < len(telegraphic) < 0.3 * len(texts), len(telegraphic)
    assert any(" moving " in t or " going " in t for t in telegraphic)


def test_two_digit_short_wordings_name_both():
    rng = np.random.default_rng(5)
    a = {"digits": [3, 8], "motions": ["left", "up and down"], "colours": ["cyan", "red"], "colour_named": [True, True]}
    for lang, read in (("en", read_en), ("zh", read_zh)):
        for _ in range(200):
            caption = make_short(a, lang, rng)
            digits, colours, _ = read(caption.lower())
            assert digits == {3, 8} and colours == {"cyan", "red"}, caption
