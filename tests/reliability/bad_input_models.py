"""Model factories named by ``merge --model`` in the bad-input table (``bad_input_models:NAME``)."""

from __future__ import annotations

import torch

nothing = None  # not callable


def linear() -> torch.nn.Module:
    """The architecture of the table's state dicts: ``weight`` 3x4 and ``bias`` 3."""
    return torch.nn.Linear(4, 3)


def other_names() -> torch.nn.Module:
    """A model whose parameter names (``0.weight``...) match none of the state dicts'."""
    return torch.nn.Sequential(torch.nn.Linear(4, 3))
