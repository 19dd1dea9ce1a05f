"""WordNet 3.0 synsets parsed from Debian's ``wordnet-base`` data files.

Each synset gives its lemmas (synonyms), a definition (gloss), example
sentences and typed pointers (hypernym ``@``, hyponym ``~``, antonym ``!``...),
enough for word <-> definition pairs, synonym sets and path similarities.
File format: ``wndb(5WN)``.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mantissa.errors import DataUnavailableError, UnknownNameError

WORDNET_DIRS = ("/usr/share/wordnet", "/usr/share/wordnet/dict")
POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
_QUOTED = re.compile(r'"([^"]+)"')


@dataclass(frozen=True)
class Synset:
    """One WordNet synset. ``id`` is ``<offset>-<pos>`` (e.g. ``02084071-n``)."""

    id: str
    pos: str
    lemmas: tuple[str, ...]
    definition: str
    examples: tuple[str, ...]
    pointers: tuple[tuple[str, str], ...]  # (symbol, target synset id)
    lex_file: int = -1  # lexicographer file number (wndb lex_filenum; see lexnames(5WN))

    @property
    def hypernyms(self) -> list[str]:
        return [t for s, t in self.pointers if s in ("@", "@i")]


def wordnet_dir() -> Path | None:
    """The folder holding ``data.noun``: ``$MANTISSA_WORDNET`` alone when it is set (an empty
    folder hides WordNet), else Debian's ``/usr/share/wordnet``; ``None`` when there is none."""
    env = os.environ.get("MANTISSA_WORDNET")
    for d in ([env] if env is not None else WORDNET_DIRS):
        if (Path(d) / "data.noun").is_file():
            return Path(d)
    return None


def wordnet_available() -> bool:
    return wordnet_dir() is not None


def _parse_line(line: str) -> Synset:
    data, _, gloss = line.partition(" | ")
    f = data.split()
    offset, pos = f[0], f[2]
    pos = "a" if pos == "s" else pos  # adjective satellites belong to data.adj
    n_words = int(f[3], 16)
    lemmas = tuple(f[4 + 2 * i].replace("_", " ") for i in range(n_words))
    i = 4 + 2 * n_words
    n_ptr = int(f[i])
    pointers = tuple(
        (f[j], f"{f[j + 1]}-{'a' if f[j + 2] == 's' else f[j + 2]}")
        for j in range(i + 1, i + 1 + 4 * n_ptr, 4)
    )
    gloss = gloss.strip()
    examples = tuple(_QUOTED.findall(gloss))
    definition = gloss.split('; "')[0].strip().rstrip(";").strip()
    return Synset(f"{offset}-{pos}", pos, lemmas, definition, examples, pointers, int(f[1]))


@functools.cache
def _load(pos: str) -> tuple[Synset, ...]:
    root = wordnet_dir()
    if root is None:
        raise DataUnavailableError(
            "WordNet data not found under /usr/share/wordnet; install it with: "
            "apt-get install wordnet-base (or set MANTISSA_WORDNET to a folder with data.noun)"
        )
    out = []
    with open(root / f"data.{POS_FILES[pos]}", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("  "):  # licence header lines start with two spaces
                out.append(_parse_line(line))
    return tuple(out)


def load_wordnet_glosses(pos: str | tuple[str, ...] = ("n", "v", "a", "r")) -> list[Synset]:
    """All synsets of the given parts of speech (``n``, ``v``, ``a``, ``r``), file order."""
    wanted = (pos,) if isinstance(pos, str) else tuple(pos)
    for p in wanted:
        if p not in POS_FILES:
            raise UnknownNameError(f"unknown part of speech {p!r}; valid: n, v, a, r")
    return [s for p in wanted for s in _load(p)]
