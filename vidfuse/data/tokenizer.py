"""Word-and-character tokenizer with UTF-8 byte fallback, for the from-scratch Transformer text encoder.

Three levels, each the fallback of the one before:

1. **Words.** A run of letters of a script that separates words with spaces (Latin, Greek,
   Cyrillic: ``[a-z…]+`` after normalisation) that was frequent in the training captions is
   one token: ``nine`` is one id, as ``九`` is. Why: a two-layer encoder trained for minutes
   must otherwise learn to compose n-i-n-e into a meaning, and to tell it from o-n-e inside
   n-o-n-e (docs/decisions/text.md#word-tokens has the measurement).
2. **Characters.** Chinese (no spaces, so no words to find) and any word outside the word list
   are spelled one token per character, for the characters seen in the training captions.
3. **Bytes.** Any other character is spelled as its UTF-8 bytes (256 byte tokens are always in
   the vocabulary), so every string encodes losslessly and there is no "unknown" token.

In training, ``encode(..., spell_p=p)`` spells each known word by its characters with
probability ``p`` (BPE-dropout, Provilkov et al. 2020): the character embeddings of word
scripts still learn, so a word the vocabulary lacks ("upwards") reaches the encoder as
characters it has seen, not as untrained ids.

Vocabulary layout (ids)::

    0 pad   1 bos   2 eos   3..258 bytes 0x00..0xFF   259.. characters (most frequent first)
    then words (most frequent first)

Normalisation, applied before encoding and when building the vocabulary:

1. Unicode NFKC: full-width letters, digits and punctuation become their ordinary forms
   (``ＡＢＣ１２３`` → ``ABC123``, ``，`` → ``,``, ``！`` → ``!``); ideographs are unchanged.
2. Lowercase (``str.lower``): affects cased scripts (Latin, Greek, Cyrillic); Chinese has no case.
3. Every run of whitespace (spaces, tabs, newlines, ideographic spaces) becomes one space.
4. Leading and trailing whitespace is stripped.

``decode`` returns the normalised text, so ``decode(encode(t)) == normalize(t)``.
"""

from __future__ import annotations

import json
import os
import random
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import torch

from vidfuse.errors import InputError
from vidfuse.fileio import atomic_write_text
from vidfuse.text import EMPTY_PROMPT_HINT, is_blank

# how a prompt over the token limit may be cut to it instead of refused; the service, which cuts nothing, leaves it out
CUT_HINT = ", or have it cut to the limit (--truncate on the command line, on_overflow='truncate' in Python)"

TOKENIZER_FILE = "tokenizer.json"
_FORMAT_VERSION = 2  # 2 added the word list; version-1 files (characters only) still load
_WHITESPACE = re.compile(r"\s+")
# letters of scripts that separate words with spaces (Latin with its accents, Greek, Cyrillic); not CJK
_WORD = re.compile(r"[a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+")


def normalize(text: str, *, lowercase: bool = True) -> str:
    """NFKC, lowercase (optional), collapse whitespace, strip (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    if lowercase:
        text = text.lower()
    return _WHITESPACE.sub(" ", text).strip()


def check_prompts(text_or_list: str | Sequence[str]) -> list[str]:
    """Check prompts before any tokenizer sees them; returns them, unchanged, as a list.

    One string or a non-empty list/tuple of strings, none empty or whitespace-only, else
    :class:`InputError`. Shared by every tokenizer so that all reject bad prompts alike.
    """
    if isinstance(text_or_list, str):
        return [_checked_prompt(text_or_list, "")]
    if not isinstance(text_or_list, (list, tuple)):
        raise InputError(f"a prompt must be a str or a list of str, got {type(text_or_list).__name__}")
    if not text_or_list:
        raise InputError("no prompts were given: pass a string or a non-empty list of strings")
    return [_checked_prompt(t, f" (#{i} in the batch)") for i, t in enumerate(text_or_list)]


def _checked_prompt(text: object, where: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"a prompt must be a str, got {type(text).__name__}{where}")
    if is_blank(text):  # spaces, or only invisible characters such as zero-width spaces
        raise InputError(f"the prompt is empty{where}: {EMPTY_PROMPT_HINT}")
    return text


def valid_subjects(value) -> bool:
    """Whether ``value`` can be a tokenizer's ``subjects`` record: a whole number from 1."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class CharTokenizer:
    """Words and characters → ids, with UTF-8 byte fallback for characters outside the vocabulary.

    Build one from training captions with :meth:`build`, store it beside a model with
    :meth:`save`, and load it back with :meth:`from_pretrained`.
    """

    pad_id = 0
    bos_id = 1
    eos_id = 2
    byte_offset = 3  # byte b has id byte_offset + b
    char_offset = byte_offset + 256
    # The most digits one training caption named (Moving Digits level), for the two-digit warning of
    # vidfuse.data.vocabulary; None: no record (other data, or a model from before the record).
    subjects: int | None = None

    def __init__(
        self, chars: Sequence[str], *, max_length: int = 64, lowercase: bool = True, words: Sequence[str] = ()
    ) -> None:
        """``chars``: the vocabulary characters in id order (id = ``char_offset + index``); ``words``:
        whole-word tokens after them (id = ``char_offset + len(chars) + index``), each a run of
        word-script letters (see the module docstring).

        ``max_length`` is the longest sequence :meth:`encode` accepts by default, counting the
        ``bos`` and ``eos`` tokens; the text encoder sizes its position table from it.
        """
        if max_length < 3:
            raise InputError(
                f"max_length={max_length} leaves no room for text: it counts bos and eos, so use at least 3"
            )
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise InputError(f"vocabulary entries must be single characters, got {c!r}")
        if len(set(chars)) != len(chars):
            raise InputError("the vocabulary lists a character twice")
        for w in words:
            if not isinstance(w, str) or len(w) < 2 or not _WORD.fullmatch(w):
                raise InputError(f"vocabulary words must be runs of two or more letters of a spaced script, got {w!r}")
        if len(set(words)) != len(words):
            raise InputError("the vocabulary lists a word twice")
        self.chars: list[str] = list(chars)
        self.words: list[str] = list(words)
        self.max_length = int(max_length)
        self.lowercase = bool(lowercase)
        self._char_to_id = {c: self.char_offset + i for i, c in enumerate(self.chars)}
        self._word_to_id = {w: self.char_offset + len(self.chars) + i for i, w in enumerate(self.words)}
        self._id_to_text = self.chars + self.words

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        *,
        max_length: int = 64,
        min_freq: int = 1,
        max_words: int = 0,
        min_word_freq: int = 5,
    ) -> "CharTokenizer":
        """Build a vocabulary from ``texts``: every character seen at least ``min_freq`` times
        (after normalisation) gets a token, rarer ones will be spelled in bytes; and the
        ``max_words`` most frequent words seen at least ``min_word_freq`` times get one each
        (``max_words=0``: characters only)."""
        if min_freq < 1 or min_word_freq < 1:
            raise InputError(f"min_freq and min_word_freq must be at least 1, got {min_freq} and {min_word_freq}")
        if max_words < 0:
            raise InputError(f"max_words must be 0 (characters only) or more, got {max_words}")
        counts: Counter[str] = Counter()
        word_counts: Counter[str] = Counter()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"text #{i} for the tokenizer vocabulary is a {type(text).__name__}, not a str")
            text = normalize(text)
            counts.update(text)
            if max_words:
                word_counts.update(w for w in _WORD.findall(text) if len(w) > 1)

        def frequent(c: Counter[str], floor: int) -> list[str]:
            # most frequent first; ties broken by code point so that the vocabulary is reproducible
            return [k for k, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) if n >= floor]

        return cls(
            frequent(counts, min_freq), max_length=max_length, words=frequent(word_counts, min_word_freq)[:max_words]
        )

    # ------------------------------------------------------------------ properties

    @property
    def vocab_size(self) -> int:
        """Number of ids: specials + 256 bytes + characters + words."""
        return self.char_offset + len(self.chars) + len(self.words)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return (
            f"CharTokenizer(vocab_size={self.vocab_size}, chars={len(self.chars)}, words={len(self.words)}, "
            f"max_length={self.max_length})"
        )

    # ------------------------------------------------------------------ encoding

    def normalize(self, text: str) -> str:
        """This tokenizer's normalisation of ``text`` (see :func:`normalize`)."""
        return normalize(text, lowercase=self.lowercase)

    def _char_ids(self, text: str) -> list[list[int]]:
        """Token ids per character of ``text``: one id, or its UTF-8 byte ids."""
        out = []
        for c in text:
            i = self._char_to_id.get(c)
            out.append([i] if i is not None else [self.byte_offset + b for b in c.encode("utf-8")])
        return out

    def _unit_ids(self, text: str, spell_p: float, rng: random.Random | None) -> list[list[int]]:
        """Token ids per unit of normalised ``text`` (a known word, else a character); a known word is
        spelled by its characters with probability ``spell_p``."""
        if not self._word_to_id:
            return self._char_ids(text)
        out, at = [], 0
        for m in _WORD.finditer(text):
            out += self._char_ids(text[at : m.start()])
            i = self._word_to_id.get(m.group())
            if i is not None and not (spell_p and (rng or random).random() < spell_p):
                out.append([i])
            else:
                out += self._char_ids(m.group())
            at = m.end()
        return out + self._char_ids(text[at:])

    def encode(
        self,
        text_or_list: str | Sequence[str],
        *,
        max_length: int | None = None,
        on_overflow: str = "error",
        spell_p: float = 0.0,
        rng: random.Random | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode one prompt or a list of prompts.

        Each sequence is ``bos, tokens..., eos``; the batch is right-padded with ``pad_id`` to
        its longest sequence (not to ``max_length``: short prompts cost short sequences).

        Returns ``ids`` LongTensor ``(B, L)`` and ``mask`` BoolTensor ``(B, L)``, True on real
        tokens (bos and eos included) and False on padding. A single string gives ``B = 1``.

        ``max_length`` (default: the tokenizer's) counts bos and eos. A longer prompt raises
        :class:`InputError` with ``on_overflow="error"``; with ``"truncate"`` it is cut at a
        character boundary (never inside a character's byte spelling) and still ends in eos.

        ``spell_p`` (training only): spell each known word by its characters with this probability,
        drawing from ``rng`` (default: the ``random`` module); see the module docstring.
        """
        if on_overflow not in ("error", "truncate"):
            raise InputError(f"on_overflow must be 'error' or 'truncate', got {on_overflow!r}")
        limit = self.max_length if max_length is None else int(max_length)
        if limit < 3:
            raise InputError(f"max_length={limit} leaves no room for text: it counts bos and eos, so use at least 3")
        texts = check_prompts(text_or_list)
        rows = []
        for i, text in enumerate(texts):
            where = "" if isinstance(text_or_list, str) else f" (#{i} in the batch)"
            per_char = self._unit_ids(self.normalize(text), spell_p, rng)
            n = 2 + sum(len(t) for t in per_char)
            if n > limit:
                if on_overflow == "error":
                    raise InputError(
                        f"the prompt{where} is {n} tokens long (including the begin and end markers) but the "
                        f"limit is {limit}: shorten it to at most {limit - 2} tokens{CUT_HINT}"
                    )
                kept, budget = [], limit - 2
                for t in per_char:
                    if len(t) > budget:
                        break
                    kept.append(t)
                    budget -= len(t)
                per_char = kept
            rows.append([self.bos_id, *(tok for t in per_char for tok in t), self.eos_id])

        length = max(len(r) for r in rows)
        ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)  # (B, L)
        for b, r in enumerate(rows):
            ids[b, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask = ids != self.pad_id  # (B, L); pad is never produced inside a row
        return ids, mask

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """Ids of one sequence ``(L,)`` → normalised text; pad, bos and eos are dropped.

        Byte tokens are joined and decoded as UTF-8; a byte run cut short (e.g. by truncation
        of a generated sequence) decodes to U+FFFD rather than failing.
        """
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise InputError(
                    f"decode takes one sequence of shape (L,), got shape {tuple(ids.shape)}; decode rows one by one"
                )
            ids = ids.tolist()
        out: list[str] = []
        pending = bytearray()
        for i in ids:
            i = int(i)
            if not 0 <= i < self.vocab_size:
                raise InputError(f"token id {i} is outside this tokenizer's vocabulary (0..{self.vocab_size - 1})")
            if self.byte_offset <= i < self.char_offset:
                pending.append(i - self.byte_offset)
                continue
            if pending:
                out.append(pending.decode("utf-8", errors="replace"))
                pending.clear()
            if i >= self.char_offset:
                out.append(self._id_to_text[i - self.char_offset])
        if pending:
            out.append(pending.decode("utf-8", errors="replace"))
        return "".join(out)

    # ------------------------------------------------------------------ files

    def to_dict(self) -> dict:
        """The JSON-serialisable description that :meth:`save` writes."""
        return {
            "type": "CharTokenizer",
            "version": _FORMAT_VERSION,
            "max_length": self.max_length,
            "normalization": {
                "unicode": "NFKC",
                "lowercase": self.lowercase,
                "collapse_whitespace": True,
                "strip": True,
            },
            "special_tokens": {"pad": self.pad_id, "bos": self.bos_id, "eos": self.eos_id},
            "byte_offset": self.byte_offset,
            "vocab": self.chars,
            "words": self.words,
            **({"subjects": self.subjects} if self.subjects is not None else {}),
        }

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``folder/tokenizer.json`` atomically; returns its path."""
        path = Path(folder) / TOKENIZER_FILE
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n")
        return path

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike) -> "CharTokenizer":
        """Load ``folder/tokenizer.json`` (or a path to the JSON file itself)."""
        path = Path(folder)
        if path.is_dir():
            path = path / TOKENIZER_FILE
        if not path.is_file():
            raise InputError(
                f"no tokenizer at {path}: expected the {TOKENIZER_FILE} that CharTokenizer.save writes into a "
                "model folder"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(
                f"{path} is not valid JSON ({e}); the file is corrupt: restore it from the model folder it came from"
            ) from e
        if not isinstance(data, dict) or data.get("type") != "CharTokenizer":
            raise InputError(
                f"{path} does not describe a CharTokenizer "
                f"(type={data.get('type') if isinstance(data, dict) else None!r})"
            )
        if data.get("version") not in (1, _FORMAT_VERSION):
            raise InputError(
                f"{path} has tokenizer format version {data.get('version')!r}; this vidfuse reads "
                f"versions 1 to {_FORMAT_VERSION}: upgrade vidfuse to load it"
            )
        expected = {"pad": cls.pad_id, "bos": cls.bos_id, "eos": cls.eos_id}
        if data.get("special_tokens") != expected or data.get("byte_offset") != cls.byte_offset:
            raise InputError(
                f"{path} uses a different id layout than this vidfuse (specials {expected}, "
                f"bytes from {cls.byte_offset})"
            )
        norm = data.get("normalization")
        vocab = data.get("vocab")
        max_length = data.get("max_length")
        words = data.get("words", [])
        if (
            not isinstance(norm, dict)
            or norm.get("unicode") != "NFKC"
            or not isinstance(norm.get("lowercase"), bool)
            or not isinstance(vocab, list)
            or not isinstance(max_length, int)
            or not isinstance(words, list)
        ):
            raise InputError(
                f"{path} is missing or has malformed 'normalization', 'vocab', 'words' or 'max_length' "
                "fields; the file is corrupt"
            )
        subjects = data.get("subjects")
        if subjects is not None and not valid_subjects(subjects):
            raise InputError(f"{path} has subjects={subjects!r}, not a whole number from 1; the file is corrupt")
        try:
            tok = cls(vocab, max_length=max_length, lowercase=norm["lowercase"], words=words)
        except InputError as e:
            raise InputError(f"{path}: {e}; the file is corrupt") from e
        tok.subjects = subjects
        return tok
