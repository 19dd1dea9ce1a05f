"""Parameter types shared by the commands: counts and seeds are checked as they are parsed,
so a bad ``--n 0`` or ``--seed -1`` is refused (one ``error:`` line) before any work."""

from __future__ import annotations

import click

from mantissa.runtime import MAX_SEED

#: a count of things to make or use: 1 or more
COUNT = click.IntRange(min=1)

#: a seed every generator accepts (torch, NumPy, Python): 0..2**63-1
SEED = click.IntRange(0, MAX_SEED)
