"""Digit captions: templates filled in, candidates in digit order, drawn captions seeded."""

import torch

from mantissa.tasks.digit_captions import (
    TEMPLATES,
    candidate_captions,
    caption,
    drawn_captions,
    every_caption,
    names_digit,
)
from mantissa.tasks.tokenizer import CharTokenizer


def test_captions_and_names_digit():
    assert caption(0, 7) == "the digit seven." and caption(1, 7) == "a handwritten 7."
    assert names_digit("number 3.", 3) and not names_digit("number 3.", 4)
    assert not names_digit("the digit seven", 7)  # no full stop: not a template


def test_batches():
    tok = CharTokenizer()
    every = every_caption(tok)
    assert every["idx"].shape[0] == len(TEMPLATES) * 10
    cands = candidate_captions(tok)
    assert cands["idx"].shape[0] == 10
    ids = [tok.bos_id, *tok.encode("the digit seven."), tok.eos_id]
    assert cands["idx"][7, : len(ids)].tolist() == ids
    a = drawn_captions(tok, torch.tensor([1, 2, 3]), reps=4, seed=5)
    b = drawn_captions(tok, torch.tensor([1, 2, 3]), reps=4, seed=5)
    assert a["idx"].shape[0] == 12 and torch.equal(a["idx"], b["idx"])
