"""Matplotlib without a screen: one place that sets the backend and saves figures."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mantissa.io import atomic_write  # noqa: E402


def figure(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``plt.subplots`` with a readable default size."""
    kwargs.setdefault("figsize", (6.4, 4.0))
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(*args, **kwargs)


def save(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return atomic_write(path, buf.getvalue())
