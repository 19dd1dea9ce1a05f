"""mantissa.tasks: seeded task generators, data encodings and the char tokenizer.

``make_task("add", format="reverse")`` builds a task; ``TASKS`` and ``ENCODINGS``
list the names; ``make_split`` draws de-duplicated train/test sets by length.
"""

from mantissa.tasks import arith, modular, recursion, sequences, successor  # noqa: F401  (registration)
from mantissa.tasks.base import TASKS, Example, Split, Task, buckets, length_range, make_split
from mantissa.tasks.encodings import ENCODINGS
from mantissa.tasks.modular import ModularData, modular_table
from mantissa.tasks.tokenizer import CharTokenizer


def make_task(name: str, format: str | None = None, **kwargs: object) -> Task:
    """Build a task by name (or spec string); ``format`` for arithmetic tasks
    may itself be a spec such as ``zero_pad:width=6``."""
    from mantissa.errors import ConfigError
    from mantissa.registry import Spec

    spec = Spec.parse(name)
    kw = {**spec.kwargs, **kwargs}
    if format is not None:
        if not issubclass(TASKS.get(spec.name), arith.Arithmetic):
            raise ConfigError(f"--format applies to arithmetic tasks (add, sub, mul), not {spec.name!r}")
        ENCODINGS.get(Spec.parse(format).name)
        kw["format"] = format
    return TASKS.build(Spec(spec.name, spec.args, kw))


__all__ = ["ENCODINGS", "TASKS", "CharTokenizer", "Example", "ModularData", "Split", "Task", "buckets",
           "length_range", "make_split", "make_task", "modular_table"]
