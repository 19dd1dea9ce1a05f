"""Neural-collapse metrics NC1-NC4 for any classifier or language-model head.

Papyan, Han & Donoho, "Prevalence of neural collapse during the terminal phase
of deep learning training" (PNAS 2020), and for language models Wu & Papyan,
"Linguistic Collapse: Neural Collapse in (Large) Language Models" (2024), whose
variants are used where classes are many and imbalanced (next tokens):

* **NC1** within-class variability: ``tr(Sigma_W Sigma_B^+) / C`` and the
  class-distance normalised variance (CDNV, Galanti et al. 2022),
  ``(s_c^2 + s_k^2) / (2 ||mu_c - mu_k||^2)`` averaged over class pairs;
* **NC2** geometry of the centred class means ``m_c = mu_c - mu_G``: equinorm
  (coefficient of variation of ``||m_c||``), equiangularity (std of pairwise
  cosines), distance from the simplex angle (mean ``|cos + 1/(C-1)|``) and
  hyperspherical uniformity (GNC2: mean log inverse distance of unit means);
* **NC3** self-duality: ``|| W/||W|| - M/||M|| ||_F`` between classifier rows and
  centred means, and their mean cosine;
* **NC4** agreement of the classifier's decision with the nearest class centre.

``mu_G`` is the mean of the class means (classes weigh equally).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from mantissa.errors import ShapeError


def class_means(h: Tensor, y: Tensor, classes: Sequence[int] | None = None,
                min_count: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    """``(classes, means (C, d), counts)`` of features ``h`` (N, d) by label ``y`` (N,).

    With ``classes`` given, each must have at least ``min_count`` samples (else
    :class:`ShapeError` naming it); otherwise classes with fewer are dropped.
    """
    if h.ndim != 2 or y.ndim != 1 or len(h) != len(y):
        raise ShapeError(f"need features (N, d) and labels (N,), got {tuple(h.shape)} and {tuple(y.shape)}")
    counts_all = torch.bincount(y.long(), minlength=int(y.max()) + 1 if len(y) else 0)
    if classes is None:
        cls = (counts_all >= max(1, min_count)).nonzero().flatten()
    else:
        cls = torch.as_tensor(list(classes), dtype=torch.long)
        for c in cls.tolist():
            n = int(counts_all[c]) if 0 <= c < len(counts_all) else 0
            if n < max(1, min_count):
                raise ShapeError(f"class {c} has {n} samples; each class needs at least {max(1, min_count)}")
    if len(cls) < 2:
        raise ShapeError(f"neural-collapse metrics need at least 2 classes with >= {min_count} samples, "
                         f"got {len(cls)}")
    hd = h.double()
    means = torch.stack([hd[y == c].mean(0) for c in cls.tolist()])
    return cls, means, counts_all[cls]


def _pairs_mean(values: Tensor) -> float:
    c = values.shape[0]
    iu = torch.triu_indices(c, c, offset=1)
    return float(values[iu[0], iu[1]].mean())


def collapse_metrics(h: Tensor, y: Tensor, weight: Tensor | None = None, bias: Tensor | None = None,
                     classes: Sequence[int] | None = None, min_count: int = 2) -> dict[str, float]:
    """All NC metrics of features ``h`` with labels ``y``; ``weight`` (rows indexed by
    class id) and ``bias`` of the linear classifier enable NC3 and NC4."""
    cls, means, counts = class_means(h, y, classes, min_count)
    hd = h.double()
    keep = torch.isin(y, cls)
    hk, yk = hd[keep], y[keep]
    pos = torch.full((int(cls.max()) + 1,), -1, dtype=torch.long)
    pos[cls] = torch.arange(len(cls))
    idx = pos[yk]
    centred = hk - means[idx]
    n_cls = len(cls)
    mu_g = means.mean(0)
    m = means - mu_g
    out: dict[str, float] = {"n_classes": float(n_cls), "n_samples": float(len(hk))}
    sigma_w = centred.T @ centred / len(hk)
    sigma_b = m.T @ m / n_cls
    out["nc1"] = float(torch.trace(sigma_w @ torch.linalg.pinv(sigma_b, hermitian=True)) / n_cls)
    var = torch.zeros(n_cls, dtype=torch.float64).index_add_(0, idx, (centred**2).sum(1)) / counts.double()
    dist2 = torch.cdist(means, means) ** 2
    cdnv = (var[:, None] + var[None, :]) / (2 * dist2.clamp_min(1e-30))
    out["cdnv"] = _pairs_mean(cdnv)
    norms = m.norm(dim=1)
    out["nc2_equinorm"] = float(norms.std() / norms.mean())
    unit = F.normalize(m, dim=1)
    cos = unit @ unit.T
    iu = torch.triu_indices(n_cls, n_cls, offset=1)
    pair_cos = cos[iu[0], iu[1]]
    out["nc2_equiangle"] = float(pair_cos.std()) if len(pair_cos) > 1 else 0.0
    out["nc2_max_angle"] = float((pair_cos + 1.0 / (n_cls - 1)).abs().mean())
    out["gnc2"] = _pairs_mean(torch.log(1.0 / torch.cdist(unit, unit).clamp_min(1e-12)))
    if weight is not None:
        out.update(_classifier_metrics(hk, idx, means, m, cls, weight, bias))
    return out


def _classifier_metrics(hk: Tensor, idx: Tensor, means: Tensor, m: Tensor, cls: Tensor, weight: Tensor,
                        bias: Tensor | None) -> dict[str, float]:
    if weight.ndim != 2 or weight.shape[1] != hk.shape[1] or weight.shape[0] <= int(cls.max()):
        raise ShapeError(f"classifier weight {tuple(weight.shape)} does not fit {hk.shape[1]}-d features "
                         f"and class ids up to {int(cls.max())}")
    w = weight.double()[cls]
    dual = (w / w.norm() - m / m.norm()).norm()
    logits = hk @ w.T + (bias.double()[cls] if bias is not None else 0.0)
    ncc = torch.cdist(hk, means).argmin(1)
    return {
        "nc3_duality": float(dual),
        "nc3_cos": float(F.cosine_similarity(w, m, dim=1).mean()),
        "nc4_agreement": float((logits.argmax(1) == ncc).double().mean()),
        "classifier_acc": float((logits.argmax(1) == idx).double().mean()),
    }


def simplex_etf(n_classes: int, dim: int, scale: float = 1.0, seed: int = 0) -> Tensor:
    """``n_classes`` vectors forming a simplex equiangular tight frame in ``dim`` dims
    (the collapsed geometry; used by tests and plots)."""
    if dim < n_classes - 1:
        raise ShapeError(f"a simplex ETF of {n_classes} classes needs dim >= {n_classes - 1}")
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, n_classes, generator=g, dtype=torch.float64))
    eye = torch.eye(n_classes, dtype=torch.float64) - 1.0 / n_classes
    return scale * (q @ eye).T * (n_classes / (n_classes - 1)) ** 0.5


__all__ = ["class_means", "collapse_metrics", "simplex_etf"]
