"""Captions of digit images: a few templates naming a digit, as words or numerals.

The caption language of the ImageBind-LLM experiment (Han et al. 2023, "ImageBind-LLM:
Multi-modality Instruction Tuning", here on scikit-learn's 8x8 digits): caption ``t`` of
digit ``d`` is ``TEMPLATES[t]`` filled with ``WORDS[d]`` or ``d`` ("the digit seven.",
"a handwritten 7.", ...). A text-only LM can learn the templates but not which digit an
image shows; :data:`EVAL_TEMPLATE` is the one scored for the ten candidate digits.
"""

from __future__ import annotations

import torch

from mantissa.tasks.tokenizer import CharTokenizer

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES = ("the digit {w}.", "a handwritten {d}.", "this shows {w}.", "a {w}.", "number {d}.")
#: the template whose ten filled-in captions are scored as candidates ("the digit <word>.")
EVAL_TEMPLATE = 0


def caption(template: int, digit: int) -> str:
    """Template ``template`` filled in with ``digit``."""
    return TEMPLATES[template].format(w=WORDS[digit], d=digit)


def caption_batch(tok: CharTokenizer, templates: torch.Tensor, digits: torch.Tensor
                  ) -> dict[str, torch.Tensor]:
    """``tok.batch`` (``idx``, ``mask``) of the captions ``caption(templates[i], digits[i])``."""
    return tok.batch([("", caption(int(t), int(d))) for t, d in zip(templates, digits)])


def every_caption(tok: CharTokenizer) -> dict[str, torch.Tensor]:
    """Every template with every digit (template-major): the text-only LM's corpus."""
    t, d = torch.meshgrid(torch.arange(len(TEMPLATES)), torch.arange(10), indexing="ij")
    return caption_batch(tok, t.flatten(), d.flatten())


def candidate_captions(tok: CharTokenizer) -> dict[str, torch.Tensor]:
    """The ten candidates "the digit <word>." of :data:`EVAL_TEMPLATE`, digit ``i`` in row ``i``."""
    digits = torch.arange(10)
    return caption_batch(tok, torch.full_like(digits, EVAL_TEMPLATE), digits)


def drawn_captions(tok: CharTokenizer, digits: torch.Tensor, reps: int, seed: int
                   ) -> dict[str, torch.Tensor]:
    """``reps`` captions of each digit (``digits`` repeated ``reps`` times) with seeded random
    templates."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.randint(0, len(TEMPLATES), (reps * len(digits),), generator=g)
    return caption_batch(tok, templates, digits.repeat(reps))


def names_digit(text: str, digit: int) -> bool:
    """``text`` is one of the templates with ``digit`` filled in."""
    return text in {caption(t, digit) for t in range(len(TEMPLATES))}


__all__ = ["EVAL_TEMPLATE", "TEMPLATES", "WORDS", "candidate_captions", "caption", "caption_batch",
           "drawn_captions", "every_caption", "names_digit"]
