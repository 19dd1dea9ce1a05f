"""Character-level language modelling on a real corpus (WordNet glosses or stdlib docstrings).

``char_corpus(tok, "wordnet", n_chars)`` gives the token ids of a real text,
with characters outside the tokenizer's vocabulary dropped; ``lm_windows``
cuts seeded random windows of ``length + 1`` ids (inputs and next-token targets).
"""

from __future__ import annotations

import torch

from mantissa.errors import ConfigError
from mantissa.tasks.tokenizer import CharTokenizer

SOURCES = ("wordnet", "docstrings")


def _text(source: str, n_chars: int) -> str:
    if source == "wordnet":
        from mantissa.data import load_wordnet_glosses

        parts = (s.definition for s in load_wordnet_glosses("n"))
    elif source == "docstrings":
        from mantissa.data import load_stdlib_docstrings

        parts = (d.doc.split("\n\n")[0].replace("\n", " ") for d in load_stdlib_docstrings())
    else:
        raise ConfigError(f"unknown corpus {source!r}; valid: {', '.join(SOURCES)}")
    out, size = [], 0
    for p in parts:
        out.append(p)
        size += len(p) + 2
        if size >= n_chars:
            break
    return ". ".join(out)[:n_chars]


def char_corpus(tok: CharTokenizer, source: str = "wordnet", n_chars: int = 200_000) -> torch.Tensor:
    """Ids (int64) of the first ``n_chars`` characters of a real corpus."""
    text = _text(source, n_chars)
    keep = "".join(c for c in text if c in tok.stoi and c not in (tok.chars[0], tok.chars[1], tok.chars[2]))
    return torch.tensor(tok.encode(keep), dtype=torch.long)


def lm_windows(ids: torch.Tensor, n: int, length: int, seed: int) -> torch.Tensor:
    """``n`` random windows of ``length + 1`` consecutive ids, shape ``(n, length + 1)``."""
    if len(ids) <= length + 1:
        raise ConfigError(f"corpus of {len(ids)} ids is too short for windows of {length + 1}")
    g = torch.Generator().manual_seed(seed)
    start = torch.randint(0, len(ids) - length - 1, (n,), generator=g)
    return torch.stack([ids[s : s + length + 1] for s in start.tolist()])


def split_windows(ids: torch.Tensor, n_train: int, n_val: int, length: int, seed: int,
                  val_length: int | None = None, train_fraction: float = 0.9
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Train windows from the first ``train_fraction`` of ``ids`` (seed ``seed``) and validation
    windows (``val_length``, default ``length``) from the rest (seed ``seed + 1``)."""
    split = int(len(ids) * train_fraction)
    return (lm_windows(ids[:split], n_train, length, seed),
            lm_windows(ids[split:], n_val, val_length or length, seed + 1))


def lm_batch(windows: torch.Tensor) -> dict[str, torch.Tensor]:
    """A language-model batch of full windows: ``{"idx": windows, "mask": all True}``."""
    return {"idx": windows, "mask": torch.ones_like(windows, dtype=torch.bool)}


def frequency_streams(n_chars: int, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train / held-out (90 / 10 %) id streams of the first ``n_chars`` characters of the
    WordNet noun glosses joined by newlines (the standard library's docstrings where WordNet
    is missing): the ``vocab - 1`` most frequent characters get ids 1.., the rest 0."""
    from collections import Counter

    from mantissa.data import load_stdlib_docstrings, load_wordnet_glosses, wordnet_available

    if wordnet_available():
        text = "\n".join(s.definition for s in load_wordnet_glosses("n"))
    else:  # pragma: no cover - depends on the machine
        text = "\n".join(d.doc for d in load_stdlib_docstrings())
    text = text[:n_chars]
    keep = [c for c, _ in Counter(text).most_common(vocab - 1)]
    ids = {c: i + 1 for i, c in enumerate(keep)}
    tokens = torch.tensor([ids.get(c, 0) for c in text], dtype=torch.long)
    cut = int(0.9 * len(tokens))
    return tokens[:cut], tokens[cut:]


def window_batch(stream: torch.Tensor, batch_size: int, length: int, g: torch.Generator) -> torch.Tensor:
    """``batch_size`` random windows of ``length + 1`` ids drawn with the running generator
    ``g`` (one batch of a training stream; :func:`lm_windows` seeds its own)."""
    start = torch.randint(0, len(stream) - length - 1, (batch_size,), generator=g)
    return torch.stack([stream[s:s + length + 1] for s in start.tolist()])
