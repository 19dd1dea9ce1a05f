"""Only replace what mantissa wrote.

An output folder (``index build --out --force``, ``quantize --out``) is replaced only
when it is absent, empty, or a mantissa artifact of the same kind that holds nothing
but that artifact's files. Anything else is refused with
:class:`~mantissa.errors.OverwriteRefusedError`, whose one-line message names the
foreign files, and the folder is left untouched.

An artifact says which files are its own through an :data:`Owned` predicate over
relative paths, usually made by :func:`artifact_files` from the names its manifest lists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from mantissa.errors import OverwriteRefusedError
from mantissa.swap import MARKER

#: whether a path relative to the artifact's folder (``/``-separated) is one of its files
Owned = Callable[[str], bool]

#: the leftover of an interrupted :func:`mantissa.io.atomic_write`: ``.NAME.XXXXXXXX.tmp``
_ATOMIC_TMP = re.compile(r"^\.(.+)\.[^./]+\.tmp$")
_SHOWN = 5


def artifact_files(names: Iterable[str], scratch: tuple[str, ...] = ()) -> Owned:
    """The files ``names``, leftovers of their interrupted atomic writes, the marker of an
    interrupted swap (:data:`mantissa.swap.MARKER`), and anything under a top-level
    folder whose name starts with one of the ``scratch`` prefixes."""
    known = {*names, MARKER}

    def owned(rel: str) -> bool:
        if rel in known or any(rel.startswith(prefix) for prefix in scratch):
            return True
        parent, _, name = rel.rpartition("/")
        m = _ATOMIC_TMP.match(name)
        return m is not None and (f"{parent}/{m[1]}" if parent else m[1]) in known

    return owned


def folder_entries(folder: Path) -> list[str]:
    """Every file, link and empty or unreadable folder under ``folder``, as relative paths
    (folders end with ``/``; links are listed, never followed)."""
    found: list[str] = []

    def unreadable(err: OSError) -> None:
        found.append(Path(err.filename).relative_to(folder).as_posix() + "/")

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        here = Path(root).relative_to(folder)
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        found += [(here / name).as_posix() for name in files + links]
        if not dirs and not files and here != Path("."):
            found.append(here.as_posix() + "/")
    return sorted(found)


def listing(paths: list[str]) -> str:
    """``3 files (a, b, c)`` or ``12 files (a, b, c, d, e and 7 more)``."""
    shown = ", ".join(paths[:_SHOWN])
    more = f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else ""
    return f"{len(paths)} file{'s' if len(paths) != 1 else ''} ({shown}{more})"


def check_replaceable(folder: Path, what: str, owned_of: Callable[[Path], Owned | None], *,
                      force: bool = True) -> None:
    """Refuse, naming the foreign files, unless ``folder`` may be replaced by a new ``what``.

    ``owned_of(folder)`` reads the existing artifact's manifest and returns its
    :data:`Owned` predicate, or None when the folder is not a ``what``. Without
    ``force`` only an absent or empty folder may be used."""
    if folder.is_symlink():
        raise OverwriteRefusedError(f"{folder} is a symbolic link; give a real folder as --out")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OverwriteRefusedError(f"{folder} is a file, not a folder; choose another --out")
    entries = folder_entries(folder)
    if not entries:
        return
    owned = owned_of(folder)
    if owned is None:
        raise OverwriteRefusedError(f"{folder} is not a {what} and holds {listing(entries)}; "
                                    "mantissa replaces only its own output: choose another --out")
    foreign = [e for e in entries if not owned(e)]
    if foreign:
        raise OverwriteRefusedError(f"{folder} holds a {what} plus {listing(foreign)} mantissa did not "
                                    "write; move them away or choose another --out")
    if not force:
        raise OverwriteRefusedError(f"{folder} holds a {what}; pass --force to replace it")
