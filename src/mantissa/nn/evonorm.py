"""EvoNorm normalization-activation layers (Liu, Brock, Simonyan & Le, 2020,
"Evolving Normalization-Activation Layers", paper #13, Table 1 / Fig. 1).

Both layers replace the usual ``BatchNorm -> ReLU`` pair by one tensor-to-tensor
graph found by evolutionary search. With per-channel affine ``γ, β`` and a
learned per-channel ``v1``:

* **EvoNorm-B0** (batch-dependent)::

      y = x / max( sqrt(s²_{b,w,h}(x) + ε),  v1·x + sqrt(s²_{w,h}(x) + ε) ) · γ + β

  ``s²_{b,w,h}`` is the per-channel variance over the batch and spatial axes
  (replaced by its moving average at inference, as in BatchNorm) and
  ``s²_{w,h}`` the per-sample, per-channel (instance) variance.

* **EvoNorm-S0** (batch-independent)::

      y = x · σ(v1·x) / sqrt(s²_{w,h,c/g}(x) + ε) · γ + β

  with ``s²_{w,h,c/g}`` the group variance of GroupNorm (``g`` groups).

The layers take ``(N, C, *spatial)`` tensors (or ``(..., C)`` with
``channels_last=True``, the layout of the transformer slots). For comparison
the classic pairs ``bn-relu`` and ``gn-relu`` are registered next to them in
:data:`mantissa.nn.slots.NORM`: ``NORM.build("evonorm-s0", d_model=32, groups=8)``.
"""

from __future__ import annotations

import torch
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.nn.slots import NORM


def _check_channels(channels: int, groups: int | None = None) -> None:
    if channels < 1:
        raise ConfigError(f"EvoNorm needs channels >= 1, got {channels}")
    if groups is not None and (groups < 1 or channels % groups):
        raise ConfigError(f"groups must be >= 1 and divide channels={channels}, got groups={groups}")


class _EvoNorm(nn.Module):
    def __init__(self, channels: int, eps: float, channels_last: bool) -> None:
        super().__init__()
        self.channels, self.eps, self.channels_last = channels, eps, channels_last
        self.weight = nn.Parameter(torch.ones(channels))  # γ
        self.bias = nn.Parameter(torch.zeros(channels))  # β
        self.v = nn.Parameter(torch.ones(channels))  # v1

    def _to_nc(self, x: torch.Tensor) -> torch.Tensor:
        """View as ``(N, C, *spatial)``; channels_last inputs are moved there."""
        if self.channels_last:
            x = x.movedim(-1, 1)
        if x.dim() < 2 or x.shape[1] != self.channels:
            raise ShapeError(f"{type(self).__name__} expects {self.channels} channels at dim "
                             f"{'-1' if self.channels_last else '1'}, got shape {tuple(x.shape)}")
        return x

    def _from_nc(self, y: torch.Tensor) -> torch.Tensor:
        return y.movedim(1, -1) if self.channels_last else y

    def _param(self, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return p.view(1, -1, *([1] * (x.dim() - 2)))


class EvoNormB0(_EvoNorm):
    """EvoNorm-B0 (see the module docstring); keeps a running variance like BatchNorm."""

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1,
                 channels_last: bool = False) -> None:
        _check_channels(channels)
        super().__init__(channels, eps, channels_last)
        self.momentum = momentum
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._to_nc(x)
        reduce_all = [0, *range(2, x.dim())]
        if self.training:
            var = x.var(dim=reduce_all, unbiased=False)
            with torch.no_grad():
                n = x.numel() / self.channels
                unbiased = var * (n / max(n - 1, 1))
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), self.momentum)
        else:
            var = self.running_var
        batch_std = (self._param(var, x) + self.eps).sqrt()
        if x.dim() > 2:
            inst_var = x.var(dim=list(range(2, x.dim())), keepdim=True, unbiased=False)
        else:  # no spatial axes: the instance variance of one value is 0
            inst_var = torch.zeros_like(x)
        right = self._param(self.v, x) * x + (inst_var + self.eps).sqrt()
        y = x / torch.maximum(batch_std, right)
        return self._from_nc(y * self._param(self.weight, x) + self._param(self.bias, x))


class EvoNormS0(_EvoNorm):
    """EvoNorm-S0 (see the module docstring): no batch statistics at all."""

    def __init__(self, channels: int, groups: int = 32, eps: float = 1e-5,
                 channels_last: bool = False) -> None:
        groups = min(groups, channels)
        while channels % groups:  # the paper's implementation uses min(32, C); keep it a divisor
            groups -= 1
        _check_channels(channels, groups)
        super().__init__(channels, eps, channels_last)
        self.groups = groups

    def group_std(self, x: torch.Tensor) -> torch.Tensor:
        """``sqrt(s²_{w,h,c/g}(x) + ε)`` broadcast back to ``x``'s shape."""
        n = x.shape[0]
        xg = x.reshape(n, self.groups, -1)
        var = xg.var(dim=-1, keepdim=True, unbiased=False)
        return (var + self.eps).sqrt().expand_as(xg).reshape(x.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._to_nc(x)
        num = x * torch.sigmoid(self._param(self.v, x) * x)
        y = num / self.group_std(x)
        return self._from_nc(y * self._param(self.weight, x) + self._param(self.bias, x))


class _NormAct(nn.Module):
    """A normalisation followed by ReLU, as one slot (the EvoNorm baselines)."""

    def __init__(self, norm: nn.Module, channels_last: bool) -> None:
        super().__init__()
        self.norm, self.channels_last = norm, channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.movedim(-1, 1)
        y = torch.relu(self.norm(x))
        return y.movedim(1, -1) if self.channels_last else y


@NORM.register("evonorm-b0")
def evonorm_b0(d_model: int, eps: float = 1e-5, momentum: float = 0.1, channels_last: bool = False,
               **_: object) -> nn.Module:
    return EvoNormB0(d_model, eps=eps, momentum=momentum, channels_last=channels_last)


@NORM.register("evonorm-s0")
def evonorm_s0(d_model: int, groups: int = 32, eps: float = 1e-5, channels_last: bool = False,
               **_: object) -> nn.Module:
    return EvoNormS0(d_model, groups=groups, eps=eps, channels_last=channels_last)


@NORM.register("bn-relu")
def bn_relu(d_model: int, channels_last: bool = False, spatial: int = 2, **_: object) -> nn.Module:
    """BatchNorm (1d/2d by ``spatial``) followed by ReLU."""
    bn = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d}.get(spatial)
    if bn is None:
        raise ConfigError(f"bn-relu: spatial must be 0, 1 or 2, got {spatial}")
    return _NormAct(bn(d_model), channels_last)


@NORM.register("gn-relu")
def gn_relu(d_model: int, groups: int = 32, channels_last: bool = False, **_: object) -> nn.Module:
    """GroupNorm (``min(groups, C)`` groups) followed by ReLU."""
    g = min(groups, d_model)
    while d_model % g:
        g -= 1
    return _NormAct(nn.GroupNorm(g, d_model), channels_last)


class NormActCNN(nn.Module):
    """A small CNN whose every normalization-activation pair is one ``NORM`` spec:
    ``[conv3x3 -> norm-act] x depth`` with 2x2 max-pooling after every second block,
    global average pooling and a linear head. Built for 8x8 digits (paper #13's
    comparison of layers inside a fixed architecture, at toy scale)."""

    def __init__(self, norm: str, in_channels: int = 1, width: int = 32, depth: int = 4,
                 n_classes: int = 10) -> None:
        super().__init__()
        from mantissa.registry import Spec

        if depth < 1 or width < 1:
            raise ConfigError(f"NormActCNN needs depth >= 1 and width >= 1, got {depth}, {width}")
        spec = Spec.parse(norm)
        layers: list[nn.Module] = []
        c = in_channels
        for i in range(depth):
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=False),
                       NORM.build(Spec(spec.name, spec.args, {"d_model": width, **spec.kwargs}))]
            if i % 2 == 1:
                layers.append(nn.MaxPool2d(2))
            c = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))
