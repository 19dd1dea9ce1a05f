"""Real training pairs, offline, with deterministic non-overlapping splits.

* :func:`wordnet_pairs` — WordNet 3.0: ``lemma-gloss`` (a word and its
  definition), ``gloss-lemma``, ``example-gloss`` (a usage sentence and the
  definition), ``synonyms`` (two lemmas of one synset);
* :func:`docstring_pairs` — the standard library: signature ↔ first paragraph
  of the docstring;
* :func:`digit_pairs` — scikit-learn's 8×8 digit images with text labels ("a
  handwritten seven", ...), for two-modality training;
* :func:`split_pairs` — train/dev/test by a seeded hash of each pair's
  ``group`` (its synset or function), so no group spans two splits, and no
  dev/test pair shares a text with a train pair;
* :func:`load_pairs_file` / :func:`save_pairs_file` — JSON lines
  ``{"anchor": ..., "positive": ..., "group": ...}``, checked on read;

Batching (optionally keeping pairs of one group together, so that batches
contain false negatives on purpose) is :class:`mantissa.train.embed_trainer.PairBatches`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from mantissa.errors import ConfigError, CorruptFileError, UnknownNameError
from mantissa.io import atomic_write

WORDNET_KINDS = ("lemma-gloss", "gloss-lemma", "example-gloss", "synonyms")
_MARKER = re.compile(r"\((a|p|ip)\)$")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_TEMPLATES = ("a handwritten {w}", "the digit {w}", "the number {d}", "{w}", "an image of the digit {d}",
                   "a scanned {w}", "the numeral {w}")


@dataclass(frozen=True)
class Pair:
    """An (anchor, positive) text pair; ``group`` keys the split (synset id, function...)."""

    anchor: str
    positive: str
    group: str


@dataclass
class Splits:
    train: list[Pair]
    dev: list[Pair]
    test: list[Pair]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "dev": len(self.dev), "test": len(self.test)}


def _lemma(text: str) -> str:
    return _MARKER.sub("", text)


def wordnet_pairs(kind: str = "lemma-gloss", pos: str | Sequence[str] = ("n",), *,
                  limit: int | None = None) -> list[Pair]:
    """Pairs from WordNet synsets (needs ``wordnet-base``); ``group`` is the synset id."""
    if kind not in WORDNET_KINDS:
        raise UnknownNameError(f"unknown WordNet pair kind {kind!r}; valid: {', '.join(WORDNET_KINDS)}")
    from mantissa.data import load_wordnet_glosses

    out: list[Pair] = []
    for s in load_wordnet_glosses(tuple(pos) if not isinstance(pos, str) else pos):
        lemmas = list(dict.fromkeys(_lemma(x) for x in s.lemmas))
        if kind == "lemma-gloss":
            out += [Pair(lem, s.definition, s.id) for lem in lemmas]
        elif kind == "gloss-lemma":
            out += [Pair(s.definition, lem, s.id) for lem in lemmas]
        elif kind == "example-gloss":
            out += [Pair(ex, s.definition, s.id) for ex in s.examples]
        else:
            out += [Pair(a, b, s.id) for a, b in zip(lemmas, lemmas[1:])]
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


def docstring_pairs(*, limit: int | None = None, max_words: int = 60) -> list[Pair]:
    """(signature, first paragraph of the docstring) of documented stdlib functions/classes."""
    from mantissa.data import load_stdlib_docstrings

    out = []
    for d in load_stdlib_docstrings():
        para = " ".join(d.doc.split("\n\n")[0].split()[:max_words])
        module = d.name.rsplit(".", 1)[0]
        out.append(Pair(f"{module}.{d.signature}", para, d.name))
        if limit is not None and len(out) >= limit:
            break
    return out


def _bucket(group: str, seed: int) -> float:
    h = hashlib.sha256(f"{seed}\0{group}".encode()).digest()
    return int.from_bytes(h[:8], "little") / 2**64


def split_pairs(pairs: Sequence[Pair], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Splits:
    """Deterministic split by group hash; dev/test pairs sharing a text with train are dropped."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    cut1, cut2 = fractions[0], fractions[0] + fractions[1]
    parts: dict[str, list[Pair]] = {"train": [], "dev": [], "test": []}
    for p in pairs:
        b = _bucket(p.group, seed)
        parts["train" if b < cut1 else "dev" if b < cut2 else "test"].append(p)
    seen = {t for p in parts["train"] for t in (p.anchor, p.positive)}
    dev = [p for p in parts["dev"] if p.anchor not in seen and p.positive not in seen]
    seen |= {t for p in dev for t in (p.anchor, p.positive)}
    test = [p for p in parts["test"] if p.anchor not in seen and p.positive not in seen]
    return Splits(parts["train"], dev, test)


def retrieval_set(pairs: Sequence[Pair]) -> tuple[list[str], list[str], list[list[int]]]:
    """Distinct anchors as queries, distinct positives as the corpus, and each query's
    relevant corpus indices (all positives paired with it)."""
    corpus = list(dict.fromkeys(p.positive for p in pairs))
    where = {t: i for i, t in enumerate(corpus)}
    rel: dict[str, list[int]] = {}
    for p in pairs:
        rel.setdefault(p.anchor, [])
        if where[p.positive] not in rel[p.anchor]:
            rel[p.anchor].append(where[p.positive])
    return list(rel), corpus, list(rel.values())


def subsample(pairs: Sequence[Pair], n: int, seed: int = 0) -> list[Pair]:
    """``n`` pairs chosen with ``seed`` (all of them if there are fewer), in their original order."""
    if n >= len(pairs):
        return list(pairs)
    keep = sorted(random.Random(seed).sample(range(len(pairs)), n))
    return [pairs[i] for i in keep]


def save_pairs_file(path: str | os.PathLike[str], pairs: Sequence[Pair]) -> Path:
    return atomic_write(path, "".join(json.dumps(asdict(p)) + "\n" for p in pairs))


def load_pairs_file(path: str | os.PathLike[str]) -> list[Pair]:
    """Read JSON lines with string fields ``anchor`` and ``positive`` (``group`` optional)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CorruptFileError(f"{p}: pairs file is missing") from None
    out = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorruptFileError(f"{p}:{i}: not valid JSON ({exc.msg})") from None
        missing = [k for k in ("anchor", "positive") if not isinstance(row, dict) or
                   not isinstance(row.get(k), str) or not row.get(k)]
        if missing:
            raise CorruptFileError(f"{p}:{i}: missing or empty field(s) {', '.join(missing)}; "
                                   "each line must be "
                                   '{"anchor": "...", "positive": "...", "group": "..." (optional)}')
        out.append(Pair(row["anchor"], row["positive"], str(row.get("group", f"line{i}"))))
    return out


@dataclass
class DigitPairs:
    """Digit images ``X`` (n, 64, float32 in [0, 1]), their text labels, and the class ``y``."""

    X: torch.Tensor
    texts: list[str]
    y: torch.Tensor

    def split(self, test_fraction: float = 0.25, seed: int = 0) -> tuple[DigitPairs, DigitPairs]:
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(len(self.y), generator=g)
        n_test = int(round(len(perm) * test_fraction))
        parts = (perm[n_test:], perm[:n_test])
        return tuple(DigitPairs(self.X[p], [self.texts[i] for i in p.tolist()], self.y[p])  # type: ignore
                     for p in parts)


def digit_label(d: int, template: int) -> str:
    return DIGIT_TEMPLATES[template % len(DIGIT_TEMPLATES)].format(w=DIGIT_WORDS[d], d=d)


def digit_pairs(seed: int = 0) -> DigitPairs:
    """scikit-learn's digits with a text label each (templates drawn with ``seed``)."""
    from mantissa.data import load_sklearn

    ds = load_sklearn("digits")
    rng = random.Random(seed)
    texts = [digit_label(int(d), rng.randrange(len(DIGIT_TEMPLATES))) for d in ds.y.tolist()]
    return DigitPairs(ds.X / 16.0, texts, ds.y)
