"""A character-level tokenizer shared by every task (one vocabulary, so models
and checkpoints are interchangeable across tasks).

Special tokens: ``PAD`` (id 0, ``\\x00``), ``BOS`` (``^``) and ``EOS`` (``$``).
A training sequence is ``BOS prompt answer EOS``; the loss covers only
``answer EOS`` (see :meth:`CharTokenizer.encode_example`).
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import torch

from mantissa.errors import ConfigError

PAD, BOS, EOS = "\x00", "^", "$"
DEFAULT_CHARS = (PAD + BOS + EOS + string.digits + "+-*/%=<>()[]{},.:;|!?#&@_ "
                 + string.ascii_lowercase + string.ascii_uppercase)


class CharTokenizer:
    """Characters <-> ids. ``digit_ids`` lists the ids of ``0``-``9`` (for abacus)."""

    def __init__(self, chars: str = DEFAULT_CHARS) -> None:
        if len(set(chars)) != len(chars):
            raise ConfigError("tokenizer characters must be unique")
        if chars[:3] != PAD + BOS + EOS:
            raise ConfigError("tokenizer characters must start with PAD, BOS, EOS ('\\x00^$')")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.pad_id, self.bos_id, self.eos_id = 0, 1, 2

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def digit_ids(self) -> tuple[int, ...]:
        return tuple(self.stoi[d] for d in string.digits)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError as exc:
            raise ConfigError(f"character {exc.args[0]!r} is not in the tokenizer's vocabulary "
                              f"({self.chars[3:]!r})") from None

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i] for i in ids if i not in (self.pad_id,))

    def encode_example(self, prompt: str, answer: str) -> tuple[list[int], list[bool]]:
        """Ids of ``BOS prompt answer EOS`` and the loss mask (True on answer and EOS)."""
        p = [self.bos_id] + self.encode(prompt)
        a = self.encode(answer) + [self.eos_id]
        return p + a, [False] * len(p) + [True] * len(a)

    def prompt_ids(self, prompt: str) -> list[int]:
        return [self.bos_id] + self.encode(prompt)

    def batch(self, pairs: Sequence[tuple[str, str]]) -> dict[str, torch.Tensor]:
        """Right-padded ``idx`` (N, T) long and ``mask`` (N, T) bool tensors."""
        enc = [self.encode_example(p, a) for p, a in pairs]
        t = max((len(ids) for ids, _ in enc), default=1)
        idx = torch.full((len(enc), t), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(enc), t), dtype=torch.bool)
        for i, (ids, m) in enumerate(enc):
            idx[i, : len(ids)] = torch.tensor(ids)
            mask[i, : len(m)] = torch.tensor(m)
        return {"idx": idx, "mask": mask}
