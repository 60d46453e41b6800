"""CharTokenizer: round trips in English and Chinese, byte fallback, errors, save/load, padding."""
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


@pytest.mark.parametrize("bad", ["", "   ", "\n\t\u3000"])
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
    assert data["type"] == "CharTokenizer" and data["version"] == 1 and data["max_length"] == 48
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
