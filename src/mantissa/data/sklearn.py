"""scikit-learn's bundled datasets as tensors (no download)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mantissa.errors import UnknownNameError

SKLEARN_DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")


@dataclass
class Dataset:
    """Features ``X`` (float32), targets ``y`` (int64 labels or float32 values)."""

    name: str
    X: torch.Tensor
    y: torch.Tensor
    feature_names: list[str]
    target_names: list[str]
    task: str  # "classification" | "regression"

    def __len__(self) -> int:
        return len(self.X)

    def split(self, test_fraction: float = 0.25, seed: int = 0) -> tuple[Dataset, Dataset]:
        """A seeded random train/test split (stratification is left to callers)."""
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(len(self), generator=g)
        n_test = int(round(len(self) * test_fraction))
        parts = (perm[n_test:], perm[:n_test])
        return tuple(  # type: ignore[return-value]
            Dataset(self.name, self.X[p], self.y[p], self.feature_names, self.target_names, self.task)
            for p in parts
        )


def load_sklearn(name: str) -> Dataset:
    """``digits`` (8x8 images, 10 classes), ``iris``, ``wine``, ``breast_cancer``, ``diabetes``."""
    if name not in SKLEARN_DATASETS:
        raise UnknownNameError(f"unknown scikit-learn dataset {name!r}; valid: {', '.join(SKLEARN_DATASETS)}")
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    regression = name == "diabetes"
    y = torch.as_tensor(bunch.target, dtype=torch.float32 if regression else torch.int64)
    features = [str(f) for f in getattr(bunch, "feature_names", [])] or [
        f"x{i}" for i in range(bunch.data.shape[1])
    ]
    targets = [str(t) for t in getattr(bunch, "target_names", [])] if not regression else ["target"]
    return Dataset(name, torch.as_tensor(bunch.data, dtype=torch.float32), y, features, targets,
                   "regression" if regression else "classification")
