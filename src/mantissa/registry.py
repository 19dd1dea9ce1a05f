"""One generic registry for every family of interchangeable parts.

Parts are registered by decorator and chosen by name strings that also work on
the command line. A name may carry arguments in the *spec grammar*::

    spec   := name [":" arg ("," arg)*]
    arg    := value | key "=" value
    value  := int | float | "true" | "false" | text

e.g. ``int4:group=64``, ``pq:48x8``, ``bebr:3``. :meth:`Registry.build` parses a
spec and calls the registered factory with the arguments.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from mantissa.config import guess_value
from mantissa.errors import DuplicateNameError, SpecError, UnknownNameError

T = TypeVar("T")

#: every registry created, by family name (``mantissa parts`` lists them)
REGISTRIES: dict[str, Registry[Any]] = {}

SPEC_GRAMMAR = "name[:arg[,arg...]] where arg is value or key=value (e.g. 'int4:group=64')"


@dataclass(frozen=True)
class Spec:
    """A parsed spec string: a name, positional and keyword arguments."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Spec:
        if not isinstance(text, str) or not text.strip():
            raise SpecError(f"empty spec {text!r}; expected {SPEC_GRAMMAR}")
        name, _, rest = text.strip().partition(":")
        if not name:
            raise SpecError(f"spec {text!r} has no name; expected {SPEC_GRAMMAR}")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in rest.split(","))) if rest else ():
            key, eq, value = part.partition("=")
            if eq:
                if not key or not value:
                    raise SpecError(f"bad argument {part!r} in spec {text!r}; expected {SPEC_GRAMMAR}")
                kwargs[key.strip()] = guess_value(value.strip())
            elif kwargs:
                raise SpecError(f"positional argument {part!r} after keywords in spec {text!r}")
            else:
                args.append(guess_value(part))
        return cls(name, tuple(args), kwargs)

    def __str__(self) -> str:
        parts = [str(a) for a in self.args] + [f"{k}={v}" for k, v in self.kwargs.items()]
        return self.name + (":" + ",".join(parts) if parts else "")


class Registry(Generic[T]):
    """Name -> part. ``register`` (decorator), ``get``, ``list``, ``build``.

    >>> pe = Registry("positional encoding")
    >>> @pe.register("nope")
    ... class NoPE: ...
    >>> pe.get("nope") is NoPE
    True
    """

    def __init__(self, kind: str) -> None:
        if kind in REGISTRIES:
            raise DuplicateNameError(f"a registry for {kind!r} already exists")
        self.kind = kind
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        REGISTRIES[kind] = self

    def add(self, name: str, obj: T, *, aliases: tuple[str, ...] = ()) -> T:
        for key in (name, *aliases):
            if key in self._items or key in self._aliases:
                raise DuplicateNameError(f"{self.kind} {key!r} is already registered")
        self._items[name] = obj
        for alias in aliases:
            self._aliases[alias] = name
        return obj

    def register(
        self, name: str | None = None, *, aliases: tuple[str, ...] = ()
    ) -> Callable[[T], T]:
        """Decorator; the name defaults to the object's ``name`` or ``__name__``."""

        def deco(obj: T) -> T:
            key = name or getattr(obj, "name", None) or obj.__name__  # type: ignore[attr-defined]
            return self.add(key, obj, aliases=aliases)

        return deco

    def get(self, name: str) -> T:
        key = self._aliases.get(name, name)
        if key not in self._items:
            raise UnknownNameError(self._unknown_message(name))
        return self._items[key]

    def build(self, spec: str | Spec, **extra: Any) -> Any:
        """Parse ``spec`` and call the registered factory with its arguments."""
        parsed = spec if isinstance(spec, Spec) else Spec.parse(spec)
        factory = self.get(parsed.name)
        try:
            return factory(*parsed.args, **parsed.kwargs, **extra)  # type: ignore[operator]
        except TypeError as exc:
            raise SpecError(f"bad arguments in {self.kind} spec {str(parsed)!r}: {exc}") from exc

    def list(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def _unknown_message(self, name: str) -> str:
        names = self.list()
        close = difflib.get_close_matches(str(name), names + list(self._aliases), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        shown = ", ".join(names[:40]) + (" ..." if len(names) > 40 else "")
        return f"unknown {self.kind} {name!r}{hint} valid names: {shown or '(none registered)'}"

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} names)"
