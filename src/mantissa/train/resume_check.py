"""What ``mantissa train`` may do with an output folder that already holds a checkpoint.

* without ``--resume`` or ``--force``: refuse, the checkpoint is earlier work;
* ``--force``: start over, replacing ``last.ckpt``, but only when it is a mantissa
  checkpoint (a foreign file of that name is refused);
* ``--resume``: continue only when the seed and the data, model and train configs
  stored in the checkpoint are the ones asked for; otherwise refuse with a one-line
  diff such as ``train.lr 0.001 -> 0.003; seed 0 -> 1``.

Where the run computes (``train.device``) may change; the model keys the pipeline
derives from the tokenizer and data are not asked for and not compared here (the
trainer compares the derived model config when it loads the checkpoint).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from mantissa.errors import ConfigError, CorruptFileError, OverwriteRefusedError
from mantissa.io import peek_meta
from mantissa.train.checkpoint import KIND, normalize, read_checkpoint

SECTIONS = ("data", "model", "train")
#: keys that may differ on resume, or are derived rather than asked for
_SKIPPED = {"train.device", "model.vocab_size", "model.digit_tokens", "model.max_len"}
_ABSENT = object()


def requested(cfg: Any, seed: int) -> dict[str, dict[str, Any]]:
    """The sections of a ``LabConfig`` as a checkpoint stores them (the seed in ``train``)."""
    return {"data": dataclasses.asdict(cfg.data), "model": dataclasses.asdict(cfg.model),
            "train": dataclasses.asdict(dataclasses.replace(cfg.train, seed=seed))}


def stored(meta: dict[str, Any]) -> dict[str, Any]:
    """The same sections as a checkpoint's metadata holds them (None where one is missing)."""
    return {s: meta.get(f"{s}_config") for s in SECTIONS}


def _section_diff(name: str, old: dict[str, Any], new: dict[str, Any],
                  default: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        full = f"{name}.{key}"
        if full in _SKIPPED:
            continue
        was = normalize(old.get(key, default.get(key, _ABSENT)))  # a key newer than the checkpoint
        now = normalize(new.get(key, _ABSENT))
        if was != now:
            out.append(f"{'seed' if full == 'train.seed' else full} {_show(was)} -> {_show(now)}")
    return out


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else repr(value)


def config_diff(saved: dict[str, Any], wanted: dict[str, dict[str, Any]],
                defaults: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """``key old -> new`` for every difference, the seed last; a section missing from
    ``saved`` is a difference too. ``defaults`` stand in for keys ``saved`` lacks."""
    out: list[str] = []
    for name in SECTIONS:
        old = saved.get(name)
        if not isinstance(old, dict):
            out.append(f"{name} config not stored in the checkpoint")
            continue
        out += _section_diff(name, old, wanted[name], (defaults or {}).get(name, {}))
    return sorted(out, key=lambda line: line.startswith("seed "))


def check_train_out(out: Path, *, resume: bool, force: bool, cfg: Any, seed: int,
                    defaults: dict[str, dict[str, Any]] | None = None) -> None:
    """Refuse what ``train --out OUT`` must not do to an existing ``OUT/last.ckpt``."""
    if resume and force:
        raise ConfigError("--resume continues OUT/last.ckpt and --force starts over; give one of them")
    ckpt = out / "last.ckpt"
    if not (ckpt.exists() or ckpt.is_symlink()):
        return
    if force:
        _require_ours(ckpt)
    elif resume:
        diff = config_diff(stored(read_checkpoint(ckpt)[1]), requested(cfg, seed), defaults)
        if diff:
            raise ConfigError(f"--resume with a different config: {'; '.join(diff)} (checkpoint {ckpt})")
    else:
        step = _require_ours(ckpt).get("step", "?")
        raise OverwriteRefusedError(f"{ckpt} exists (step {step}); pass --resume to continue it, "
                                    "--force to start over, or choose another --out")


def _require_ours(ckpt: Path) -> dict[str, Any]:
    if not ckpt.is_file():
        raise OverwriteRefusedError(f"{ckpt} is not a file; choose another --out")
    try:
        return peek_meta(ckpt, kind=KIND)
    except CorruptFileError as exc:
        raise OverwriteRefusedError(f"{exc}; mantissa replaces only its own checkpoint: move the file "
                                    "away or choose another --out") from None
