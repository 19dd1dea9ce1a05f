"""Fréchet distance between feature distributions (the FID of Heusel et al. 2017, Eq. 6)
and a classifier-confidence score, for judging generated samples.

``d^2((m1, S1), (m2, S2)) = |m1 - m2|^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})``: the 2-Wasserstein
distance between two Gaussians fitted to features. FID uses Inception-v3 pool features;
on small images any trained classifier's penultimate features do (an "FID-like"
distance). ``Tr((S1 S2)^{1/2})`` is computed as the sum of the square roots of the
eigenvalues of ``S1^{1/2} S2 S1^{1/2}`` (symmetric PSD, so no complex parts), in float64.

:func:`mean_max_softmax` is the mean of the classifier's largest class probability over
samples (high when samples look like a clear digit; the "confidence" half of the
Inception Score's intuition).
"""

from __future__ import annotations

import torch

from mantissa.errors import ShapeError


def _sqrt_psd(s: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(s)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (n - 1)-normalised covariance of ``features`` (N, D), float64."""
    if features.dim() != 2 or features.shape[0] < 2:
        raise ShapeError(f"need features of shape (N >= 2, D), got {tuple(features.shape)}")
    f = features.double()
    return f.mean(0), torch.cov(f.T).reshape(f.shape[1], f.shape[1])


def frechet_distance(mu1: torch.Tensor, s1: torch.Tensor, mu2: torch.Tensor, s2: torch.Tensor) -> float:
    """Squared Fréchet distance between N(mu1, s1) and N(mu2, s2)."""
    mu1, s1, mu2, s2 = (t.double() for t in (mu1, s1, mu2, s2))
    r1 = _sqrt_psd(s1)
    cross = torch.linalg.eigvalsh(r1 @ s2 @ r1).clamp_min(0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * cross)


def frechet_features(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D) and (M, D)."""
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


def mean_max_softmax(logits: torch.Tensor) -> float:
    """Mean over rows of the largest softmax probability."""
    return float(logits.double().softmax(-1).amax(-1).mean())
