"""CharTokenizer: round trips in English and Chinese, word tokens, byte fallback, errors, save/load, padding."""

from __future__ import annotations

import json

import pytest
import torch

from vidfuse.data.tokenizer import TOKENIZER_FILE, CharTokenizer, check_prompts, normalize
from vidfuse.errors import InputError

CORPUS = [
    "the red digit 3 is moving to the left",
    "a blue seven moves down",
    "digit 5 is going right",
    "数字3在左右移动",
    "红色的数字7向下移动",
    "蓝色数字五上下弹跳",
]


@pytest.fixture
def tok() -> CharTokenizer:
    return CharTokenizer.build(CORPUS, max_length=48)


def roundtrip(tok: CharTokenizer, text: str) -> str:
    ids, mask = tok.encode(text)
    return tok.decode(ids[0][mask[0]])


@pytest.mark.parametrize(
    "text",
    ["the red digit 3 is moving to the left", "红色的数字7向下移动", "a green 4 在左右弹跳 bouncing"],
)
def test_roundtrip_english_chinese_mixed(tok, text):
    assert roundtrip(tok, text) == text


def test_known_characters_get_one_token_each(tok):
    ids, _ = tok.encode("数字3")
    assert ids.shape == (1, 5)  # bos, 数, 字, 3, eos
    assert ids[0, 0] == tok.bos_id and ids[0, -1] == tok.eos_id
    assert (ids[0, 1:4] >= tok.char_offset).all()


def test_unseen_characters_use_byte_fallback(tok):
    text = "熊猫 🐼 über ñ"
    assert not set("熊猫🐼") & set(tok.chars)
    ids, _ = tok.encode(text)
    byte_ids = ids[0][(ids[0] >= tok.byte_offset) & (ids[0] < tok.char_offset)]
    assert len(byte_ids) >= 3 + 3 + 4  # 熊 and 猫 are 3 UTF-8 bytes each, 🐼 is 4
    assert roundtrip(tok, text) == text


def test_normalisation_nfkc_lowercase_whitespace(tok):
    assert normalize("  The  RED\tdigit\n3 ") == "the red digit 3"
    assert normalize("数字３，向左！") == "数字3,向左!"  # full-width digit and punctuation → NFKC
    assert normalize("a\u3000b") == "a b"  # ideographic space collapses too
    a, _ = tok.encode("ＤＩＧＩＴ  5")
    b, _ = tok.encode("digit 5")
    assert torch.equal(a, b)
    assert roundtrip(tok, "  Digit   5 ") == "digit 5"


@pytest.mark.parametrize("bad", ["", "   ", "\n\t\u3000", "\u200b", "\ufeff \u00ad"])
def test_empty_prompt_is_an_input_error(tok, bad):
    with pytest.raises(InputError, match="the prompt is empty"):
        tok.encode(bad)


def test_empty_prompt_in_batch_names_its_position(tok):
    with pytest.raises(InputError, match=r"#1 in the batch"):
        tok.encode(["digit 3", "  "])


@pytest.mark.parametrize("bad", [None, 3, b"bytes"])
def test_non_str_is_an_input_error(tok, bad):
    with pytest.raises(InputError, match="must be a str"):
        tok.encode(bad)
    with pytest.raises(InputError, match="must be a str"):
        tok.encode(["digit 3", bad])


def test_check_prompts_shared_by_tokenizers():
    assert check_prompts("  Digit 3 ") == ["  Digit 3 "]  # checked, not rewritten
    assert check_prompts(("a", "数字")) == ["a", "数字"]
    with pytest.raises(InputError, match=r"the prompt is empty \(#1 in the batch\)"):
        check_prompts(["a", "\u3000"])
    with pytest.raises(InputError, match="must be a str or a list"):
        check_prompts({"a"})


def test_empty_list_is_an_input_error(tok):
    with pytest.raises(InputError, match="no prompts"):
        tok.encode([])


def test_too_long_names_length_limit_and_remedy(tok):
    text = "digit " * 20  # 119 characters after strip
    with pytest.raises(InputError) as e:
        tok.encode(text)
    msg = str(e.value)
    assert "121 tokens" in msg and "48" in msg and "on_overflow='truncate'" in msg
    with pytest.raises(InputError, match="limit is 10"):
        tok.encode("digit 3 moves left", max_length=10)


def test_truncate_keeps_eos_and_whole_characters(tok):
    ids, mask = tok.encode("digit " * 20, on_overflow="truncate")
    assert ids.shape == (1, 48) and mask.all()
    assert ids[0, -1] == tok.eos_id
    # 熊 is three byte tokens: with room for 4 tokens of text, only one 熊 fits, never a partial one.
    ids, _ = tok.encode("熊熊", max_length=6, on_overflow="truncate")
    assert ids.shape == (1, 5)
    assert tok.decode(ids[0]) == "熊"


def test_padding_to_longest_and_mask(tok):
    ids, mask = tok.encode(["digit 3", "数字3在左右移动", "a"])
    assert ids.dtype == torch.long and mask.dtype == torch.bool
    assert ids.shape == mask.shape == (3, 10)  # 8 characters + bos + eos
    assert mask.sum(1).tolist() == [9, 10, 3]
    assert (ids[~mask] == tok.pad_id).all()
    assert (ids[mask] != tok.pad_id).all()
    assert tok.decode(ids[2]) == "a"  # padding is dropped


def test_save_load_identical(tok, tmp_path):
    path = tok.save(tmp_path / "model")
    assert path.name == TOKENIZER_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "CharTokenizer" and data["version"] == 2 and data["max_length"] == 48
    assert data["normalization"]["unicode"] == "NFKC"
    loaded = CharTokenizer.from_pretrained(tmp_path / "model")
    assert loaded.vocab_size == len(loaded) == tok.vocab_size
    batch = ["the red digit 3 is moving to the left", "熊猫 🐼 向左", "数字3"]
    for a, b in zip(tok.encode(batch), loaded.encode(batch)):
        assert torch.equal(a, b)


def test_from_pretrained_missing_and_corrupt(tmp_path):
    with pytest.raises(InputError, match="no tokenizer"):
        CharTokenizer.from_pretrained(tmp_path)
    (tmp_path / TOKENIZER_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        CharTokenizer.from_pretrained(tmp_path)
    (tmp_path / TOKENIZER_FILE).write_text(json.dumps({"type": "Other"}), encoding="utf-8")
    with pytest.raises(InputError, match="does not describe a CharTokenizer"):
        CharTokenizer.from_pretrained(tmp_path)
    data = CharTokenizer.build(["ab"]).to_dict()
    del data["vocab"]
    (tmp_path / TOKENIZER_FILE).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="corrupt"):
        CharTokenizer.from_pretrained(tmp_path)


def test_build_vocab_order_and_min_freq():
    t = CharTokenizer.build(["aab", "a左"], min_freq=2)
    assert t.chars == ["a"]  # b and 左 seen once: byte fallback
    assert t.vocab_size == len(t) == 3 + 256 + 1
    t = CharTokenizer.build(["ba", "b"])
    assert t.chars == ["b", "a"]  # most frequent first
    with pytest.raises(InputError, match="not a str"):
        CharTokenizer.build(["ok", 5])


def test_decode_rejects_bad_ids(tok):
    with pytest.raises(InputError, match="outside"):
        tok.decode([tok.vocab_size])
    with pytest.raises(InputError, match="one sequence"):
        tok.decode(torch.zeros(2, 3, dtype=torch.long))


@pytest.fixture
def wtok() -> CharTokenizer:
    return CharTokenizer.build(CORPUS * 5, max_length=48, max_words=100)


def test_frequent_words_are_one_token_each(wtok):
    assert {"the", "red", "digit", "seven", "moves"} <= set(wtok.words)
    assert wtok.vocab_size == wtok.char_offset + len(wtok.chars) + len(wtok.words)
    ids, _ = wtok.encode("a blue seven moves down")
    assert ids.shape == (1, 2 + 9)  # bos, a, ␠, blue, ␠, seven, ␠, moves, ␠, down, eos ("a" is one letter: a character)
    seven = ids[0, 5]
    assert seven >= wtok.char_offset + len(wtok.chars) and wtok.decode([seven]) == "seven"
    # Chinese has no spaces, so no words: one token per character as before
    assert wtok.encode("数字3")[0].shape == (1, 5)


@pytest.mark.parametrize(
    "text", ["the red digit 3 is moving upwards", "the sevenfold reds", "a green 4 在左右弹跳 bouncing", "über seven"]
)
def test_word_roundtrip_with_unknown_and_partial_words(wtok, text):
    # an unknown word, or a known word inside a longer one, is spelled by characters (then bytes)
    assert roundtrip(wtok, text) == text
    ids, _ = wtok.encode("the sevenfold")
    assert wtok._word_to_id["seven"] not in ids[0].tolist()


def test_spelling_dropout_spells_known_words_by_characters(wtok):
    import random

    text = "the red digit seven moves down"
    plain, _ = wtok.encode(text)
    spelt, _ = wtok.encode(text, spell_p=1.0, rng=random.Random(0))
    assert spelt.shape[1] == len(text) + 2 and spelt.shape[1] > plain.shape[1]
    assert wtok.decode(spelt[0]) == text == wtok.decode(plain[0])
    some = [wtok.encode(text, spell_p=0.5, rng=random.Random(s))[0].shape[1] for s in range(20)]
    assert plain.shape[1] < max(some) and min(some) < spelt.shape[1]  # a mixture, varying per draw
    assert torch.equal(
        wtok.encode(text, spell_p=0.5, rng=random.Random(3))[0], wtok.encode(text, spell_p=0.5, rng=random.Random(3))[0]
    )  # reproducible from the RNG


def test_word_vocab_save_load_and_version_1_files(wtok, tmp_path):
    loaded = CharTokenizer.from_pretrained(wtok.save(tmp_path / "w"))
    assert loaded.words == wtok.words and torch.equal(
        loaded.encode("the red seven")[0], wtok.encode("the red seven")[0]
    )
    old = CharTokenizer.build(CORPUS).to_dict()  # a model saved before words existed: version 1, no "words"
    old["version"] = 1
    del old["words"]
    (tmp_path / TOKENIZER_FILE).write_text(json.dumps(old), encoding="utf-8")
    v1 = CharTokenizer.from_pretrained(tmp_path)
    assert v1.words == [] and v1.encode("seven")[0].shape == (1, 7)
    old["version"] = 99
    (tmp_path / TOKENIZER_FILE).write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(InputError, match="upgrade vidfuse"):
        CharTokenizer.from_pretrained(tmp_path)


def test_word_vocab_limits_and_bad_words():
    t = CharTokenizer.build(["red red red blue"], max_words=1, min_word_freq=1)
    assert t.words == ["red"]
    assert CharTokenizer.build(["red red red blue"], max_words=5, min_word_freq=2).words == ["red"]
    assert CharTokenizer.build(["red red"], max_words=0).words == []
    for bad in (["x"], ["红色"], ["a b"], ["red", "red"]):
        with pytest.raises(InputError, match="word"):
            CharTokenizer(["r"], words=bad)
    with pytest.raises(InputError, match="max_words"):
        CharTokenizer.build(["red"], max_words=-1)
