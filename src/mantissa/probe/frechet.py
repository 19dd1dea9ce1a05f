"""Fréchet distance between feature distributions (the FID of Heusel et al. 2017, Eq. 6)
and a classifier-confidence score, for judging generated samples.

``d^2((m1, S1), (m2, S2)) = |m1 - m2|^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})``: the 2-Wasserstein
distance between two Gaussians fitted to features. FID uses Inception-v3 pool features;
on small images any trained classifier's penultimate features do (an "FID-like"
distance). ``Tr((S1 S2)^{1/2})`` is computed as the sum of the square roots of the
eigenvalues of ``S1^{1/2} S2 S1^{1/2}`` (symmetric PSD, so no complex parts), in float64.

:func:`mean_max_softmax` is the mean of the classifier's largest class probability over
samples (high when samples look like a clear digit; the "confidence" half of the
Inception Score's intuition). :func:`fit_classifier` trains the small feature classifier
(:class:`FeatureClassifier`) both are computed with.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ShapeError
from mantissa.train import TensorBatches, TrainConfig, Trainer


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


class FeatureClassifier(nn.Module):
    """An MLP classifier whose penultimate activations are the features of :func:`frechet_features`
    (the role Inception-v3 plays in FID, for small flat images)."""

    def __init__(self, dim: int, n_classes: int, hidden: int = 128) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU())
        self.head = nn.Linear(hidden, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@torch.no_grad()
def sample_quality(samples: torch.Tensor, clf: FeatureClassifier,
                   reference: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """(Fréchet distance of ``samples``' features to the ``reference`` features, mean max-softmax
    confidence, the samples' features)."""
    feats = clf.features(samples)
    return frechet_features(feats, reference), mean_max_softmax(clf.head(feats)), feats


@torch.no_grad()
def shuffled_pixels_fd(clf: FeatureClassifier, x: torch.Tensor, seed: int = 0) -> float:
    """Fréchet distance of ``x`` with each row's values randomly permuted (same pixel statistics,
    no structure) to ``x`` itself: the no-learning reference a generator must beat."""
    g = torch.Generator().manual_seed(seed)
    shuffled = torch.stack([r[torch.randperm(r.numel(), generator=g)] for r in x])
    return frechet_features(clf.features(shuffled), clf.features(x))


def fit_classifier(x: torch.Tensor, y: torch.Tensor, n_classes: int, hidden: int = 128, steps: int = 1500,
                   noise: float = 0.1, seed: int = 0) -> FeatureClassifier:
    """Train a :class:`FeatureClassifier` on flat inputs (Gaussian input noise ``noise`` as light
    augmentation, so that slightly imperfect samples still land in the features' range)."""
    torch.manual_seed(seed)
    clf = FeatureClassifier(x.shape[1], n_classes, hidden)

    def loss_fn(model, batch):
        inp = batch["x"] + noise * torch.randn_like(batch["x"])
        return F.cross_entropy(model(inp), batch["y"]), {}

    cfg = TrainConfig(steps=steps, batch_size=128, lr=3e-3, warmup=steps // 20, weight_decay=0.01,
                      log_every=0, seed=seed)
    Trainer(clf, cfg, TensorBatches({"x": x, "y": y}, 128, seed=seed), loss_fn=loss_fn,
            progress_desc="train digits classifier").fit()
    return clf.eval()
