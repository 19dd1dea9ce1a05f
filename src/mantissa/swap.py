"""Folders built beside their destination and swapped into place.

A folder artifact (an index, a quantized model) is written into a hidden sibling,
``.NAME.building-PID-XXXXXXXX``, and swapped into place at the end:

* on Linux the swap is one ``renameat2(RENAME_EXCHANGE)``: the destination always
  exists, as the old copy or the new one; the old copy, now under the temporary
  name, is removed afterwards;
* where the exchange is not available the old copy is first renamed to
  ``.NAME.old-PID-XXXXXXXX``, then the new one into place. If the process dies between
  the two renames, :func:`recover` (called by the next open or build) renames the
  old copy back.

Every temporary folder carries its owner's PID in its name and a :data:`MARKER`
file: :func:`clean_stale`, called by the next build into the same parent, removes
those whose process is gone. It never touches a live process's folder, nor one
without the marker (a user's ``.notes.old-2023-abcdefgh`` stays). The marker is
written into the old copy just before the swap, so whichever name the old copy
has when a process dies, it is recognised as a leftover.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<role>building|old)-(?P<pid>\d+)-[a-z0-9_]{8}$")
#: the file that marks a folder as mantissa's temporary (or replaced) copy
MARKER = ".mantissa-swap"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


def building_dir(final: Path) -> Path:
    """A new ``.NAME.building-PID-XXXXXXXX`` folder beside ``final``, empty but for :data:`MARKER`."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-{os.getpid()}-", dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; the artifact gets the usual permissions
    (tmp / MARKER).write_text(f"{os.getpid()}\n")
    return tmp


def remove(path: Path) -> None:
    """Delete a folder, file or link; what cannot be deleted stays (never raises)."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one atomic step; False where the system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_into_place(tmp: Path, final: Path) -> None:
    """Put the finished folder ``tmp`` at ``final``, replacing what is there.

    Both copies carry :data:`MARKER` throughout, so a process killed at any point
    leaves only folders :func:`clean_stale` and :func:`recover` know; the marker is
    taken out of ``final`` last (one left behind is harmless: it counts as the artifact's)."""
    if not (final.exists() or final.is_symlink()):
        os.rename(tmp, final)
    else:
        (final / MARKER).write_text(f"{os.getpid()}\n")  # the old copy is a leftover from now on
        if exchange(tmp, final):
            old = tmp  # tmp now holds the old copy
        else:
            old = final.with_name(f".{final.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
            os.rename(final, old)
            os.rename(tmp, final)  # dying before this line leaves the old copy for recover()
        remove(old)
    (final / MARKER).unlink(missing_ok=True)


def build_in_place(final: Path, write: Callable[[Path], None], recheck: Callable[[], None]) -> None:
    """Build the folder ``final`` with ``write(tmp)`` in a fresh temporary beside it, then
    ``recheck()`` (refuse what arrived meanwhile) and swap it into place; stale temporaries
    of dead processes are cleaned first, and the temporary never outlives the call."""
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final.parent)
    tmp = building_dir(final)
    try:
        write(tmp)
        recheck()
        swap_into_place(tmp, final)
    finally:
        if tmp.exists():
            remove(tmp)


def _temporaries(parent: Path) -> Iterator[tuple[Path, re.Match[str]]]:
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        m = _TEMP.match(name)
        if m is not None and (parent / name / MARKER).is_file() and not (parent / name).is_symlink():
            yield parent / name, m


def recover(final: Path) -> bool:
    """Rename the old copy of ``final`` back when a swap died between its two renames.

    Only when ``final`` is absent and the copy's owner is gone; True when one came back."""
    if final.exists() or final.is_symlink():
        return False
    olds = [p for p, m in _temporaries(final.parent)
            if m["role"] == "old" and m["name"] == final.name and not pid_alive(int(m["pid"]))]
    if not olds:
        return False
    try:
        newest = max(olds, key=lambda p: p.stat().st_ctime)
        os.rename(newest, final)
        (final / MARKER).unlink(missing_ok=True)
    except OSError:  # another process recovered it first, or the parent is read-only
        return False
    return True


def _unmarked_empty(parent: Path) -> list[Path]:
    """Empty folders named like our temporaries of a process that is gone: killed between
    ``mkdtemp`` and writing the marker (nothing in them to lose)."""
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    out = []
    for name in names:
        m = _TEMP.match(name)
        path = parent / name
        if m is not None and not path.is_symlink() and path.is_dir() and not pid_alive(int(m["pid"])):
            try:
                path.rmdir()  # only succeeds when empty
                out.append(path)
            except OSError:
                pass
    return out


def clean_stale(parent: Path) -> list[Path]:
    """Remove the temporary folders of processes that are gone (an old copy whose
    destination is absent is renamed back first); return the removed paths."""
    removed = _unmarked_empty(parent)
    for path, m in _temporaries(parent):
        if pid_alive(int(m["pid"])):
            continue
        if m["role"] == "old" and recover(parent / m["name"]):
            continue
        remove(path)
        removed.append(path)
    return removed
