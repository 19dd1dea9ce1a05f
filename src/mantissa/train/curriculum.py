"""A length curriculum: the shortest examples first, longer ones phased in.

Small transformers trained on mixed lengths at once (addition on 1-5 digits,
say) often plateau on the short ones; the arithmetic papers train short
problems first (Lee et al., 2023, "Teaching Arithmetic to Small Transformers";
Zhou et al., 2024, RASP-L; Feng et al., 2023, on expressions of growing depth).

:class:`CurriculumBatches` gives every example a *level* (its longest length,
:func:`example_level`) and splits the first ``ramp`` fraction of training into
one stage per level: during stage ``i`` batches are drawn from the examples of
the ``i + 1`` lowest levels, so earlier levels stay in the mix; after the ramp
every example is drawn. Like :class:`~mantissa.train.lm.TensorBatches` it is a
pure function of the step, so a resumed run sees the same batches.

>>> batches = CurriculumBatches(data, levels=[1, 2, 3, 3], batch_size=2, steps=100)  # doctest: +SKIP
>>> batches.level_at(0), batches.level_at(99)                                          # doctest: +SKIP
(1, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mantissa.errors import ConfigError
from mantissa.train.lm import Batch, TensorBatches


def example_level(example: Any) -> int:
    """The curriculum level of a task example: its longest length (digits, elements, operators)."""
    return int(max(example.length))


class CurriculumBatches:
    """Batches from ``data`` whose examples' ``levels`` rise over the first ``ramp`` of ``steps``."""

    def __init__(self, data: Batch, levels: Sequence[int], batch_size: int, steps: int, seed: int = 0,
                 ramp: float = 0.5, trim_key: str | None = "mask") -> None:
        if not 0.0 < ramp <= 1.0:
            raise ConfigError(f"curriculum ramp must be in (0, 1], got {ramp}")
        lv = torch.as_tensor(list(levels), dtype=torch.long)
        n = next(iter(data.values())).shape[0]
        if lv.shape != (n,):
            raise ConfigError(f"need one curriculum level per example: {lv.numel()} levels, {n} examples")
        self.levels = sorted(set(lv.tolist()))
        self.ramp_steps = max(1, int(ramp * steps))
        self._pools = [TensorBatches({k: v[lv <= top] for k, v in data.items()}, batch_size, seed, trim_key)
                       for top in self.levels]

    def stage_at(self, step: int) -> int:
        """Index of the stage (the highest level drawn, as an index into ``levels``) at ``step``."""
        return min(len(self.levels) - 1, step * len(self.levels) // self.ramp_steps)

    def level_at(self, step: int) -> int:
        return self.levels[self.stage_at(step)]

    def stage_start(self, stage: int) -> int:
        """The first step of ``stage`` (the inverse of :meth:`stage_at`)."""
        return -(-stage * self.ramp_steps // len(self.levels))

    def __call__(self, step: int) -> Batch:
        stage = self.stage_at(step)
        return self._pools[stage](step - self.stage_start(stage))
