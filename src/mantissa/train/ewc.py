"""Elastic weight consolidation (Kirkpatrick et al., 2017, "Overcoming catastrophic
forgetting in neural networks", PNAS 114(13), Eq. 3).

After task ``A`` the parameters ``θ*_A`` and the diagonal of the Fisher information
``F_i`` are stored; training task ``B`` then minimises

    L(θ) = L_B(θ) + Σ_i (λ / 2) · F_i · (θ_i − θ*_A,i)²

and, after several tasks, one such penalty per earlier task (the sum of the
anchors, as in the paper's Sec. 2 for more than two tasks). The Fisher diagonal is
estimated as the mean over examples of the squared gradient of the log-likelihood:
the *true* Fisher samples the label from the model (``y ~ p_θ(y | x)``, the paper's
choice), the *empirical* Fisher uses the observed label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from mantissa.errors import ConfigError


def fisher_diagonal(params: Sequence[torch.Tensor], logits_fn: Callable[[torch.Tensor], torch.Tensor],
                    x: torch.Tensor, y: torch.Tensor | None = None, *, max_examples: int = 0,
                    seed: int = 0) -> list[torch.Tensor]:
    """Diagonal Fisher ``E_x E_y[(∂ log p_θ(y|x) / ∂θ)²]`` of a classifier, one tensor per
    parameter. ``logits_fn(x)`` returns logits ``(n, classes)`` computed from ``params``.
    ``y=None``: labels sampled from the model (true Fisher); else the given labels
    (empirical Fisher). ``max_examples > 0`` uses that many examples (the first ones)."""
    if max_examples:
        x = x[:max_examples]
        y = None if y is None else y[:max_examples]
    if len(x) == 0:
        raise ConfigError("the Fisher needs at least one example")
    g = torch.Generator().manual_seed(seed)
    out = [torch.zeros_like(p) for p in params]
    for k in range(len(x)):
        logp = torch.log_softmax(logits_fn(x[k:k + 1]), -1)[0]
        label = int(torch.multinomial(logp.detach().exp(), 1, generator=g)) if y is None else int(y[k])
        grads = torch.autograd.grad(logp[label], list(params))
        for acc, gr in zip(out, grads, strict=True):
            acc += gr.detach() ** 2
    return [f / len(x) for f in out]


class EWC:
    """The EWC penalty over the tasks consolidated so far (see the module docstring)."""

    def __init__(self, lam: float) -> None:
        if lam < 0:
            raise ConfigError(f"EWC strength λ must be >= 0, got {lam}")
        self.lam = lam
        self.anchors: list[tuple[list[torch.Tensor], list[torch.Tensor]]] = []

    def consolidate(self, params: Sequence[torch.Tensor], fisher: Sequence[torch.Tensor]) -> None:
        """Store ``θ*`` (a detached copy of ``params``) and its Fisher diagonal after a task."""
        if len(params) != len(fisher) or any(p.shape != f.shape for p, f in zip(params, fisher)):
            raise ConfigError("one Fisher tensor of the same shape per parameter is needed")
        self.anchors.append(([p.detach().clone() for p in params], [f.detach().clone() for f in fisher]))

    def penalty(self, params: Sequence[torch.Tensor]) -> torch.Tensor:
        """``Σ_tasks Σ_i (λ/2) F_i (θ_i − θ*_i)²`` (0 before the first consolidation)."""
        total = torch.zeros(())
        for anchor, fisher in self.anchors:
            for p, a, f in zip(params, anchor, fisher, strict=True):
                total = total + (f * (p - a) ** 2).sum()
        return 0.5 * self.lam * total
