"""Model merging on plain state dicts of any architecture.

One method a module, one registry (:data:`MERGE_METHODS`), chosen by spec:

* ``average`` — uniform averaging of the fine-tuned weights;
* ``task-arithmetic:scale=0.3|auto`` — Ilharco et al. 2023;
* ``ties:k=0.2`` — TIES-merging (Yadav et al. 2023), a baseline;
* ``atlas`` — learned per-task, per-block coefficients (Zhang et al. 2024);
* ``self-positioning`` — per-task coefficients by SGD on a probe set (Li et al. 2024);
* ``concrete`` — a shared Concrete subspace mask learned bi-level (Tang et al. 2023).

>>> from mantissa.merge import merge
>>> result = merge("task-arithmetic:scale=0.5", base_sd, [ft1_sd, ft2_sd])  # doctest: +SKIP
"""

from mantissa.merge import arithmetic, atlas, concrete, self_positioning, ties  # noqa: F401  (registration)
from mantissa.merge.base import MERGE_METHODS, MergeMethod, MergeResult, Objective, build_merge, merge
from mantissa.merge.task_vector import (
    StateDict,
    blocks,
    check_compatible,
    combine,
    mergeable_keys,
    task_vector,
    task_vectors,
)

__all__ = [
    "MERGE_METHODS",
    "MergeMethod",
    "MergeResult",
    "Objective",
    "StateDict",
    "blocks",
    "build_merge",
    "check_compatible",
    "combine",
    "merge",
    "mergeable_keys",
    "task_vector",
    "task_vectors",
]
