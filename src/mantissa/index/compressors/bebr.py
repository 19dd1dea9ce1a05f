"""Recurrent binarization of BEBR (Gan et al., "Binary Embedding-based Retrieval
at Tencent", KDD 2023, Sec. 3.1, Eq. 1-4): ``bebr:U``.

A float embedding ``x`` becomes ``U+1`` binary vectors (bits per dimension):

    b_0 = sign(φ_0(x))                                   (Eq. 1)
    r_i = x − normalize(ψ_i(b_{i}))                        residual of the reconstruction
    b_{i+1} = b_i + 2^-(i+1) · sign(φ_{i+1}(r_i))         (Eq. 2-3), i = 0..U-1

where φ and ψ are small residual MLPs (``z + W2·ReLU(BN(W1·z))``, ``W2`` starting at
zero so an untrained model is sign binarization) and sign has a straight-through
gradient (passed where ``|z| <= 1``). The network is trained
*embedding-to-embedding* on the corpus itself, task-agnostic (Sec. 3.2): our loss
distils the float similarity structure into the codes — for batches made of
anchors and their nearest float neighbours, the row-wise KL divergence between
``softmax(<x_i, x_j>/τ)`` and ``softmax(cos(b_i, b_j)/τ)`` — summed over every
recurrence level, so the ``u``-bit prefix of a ``bebr:U`` code is itself a usable
code. Search is the symmetric distance calculation (SDC, Sec. 3.3) between codes:
the code is stored as ``U+1`` packed sign planes; its value
``v = Σ_i 2^(U-i) s_i`` is an odd integer per dimension, so cosines come from one
exact int8 product (or, equivalently, ``(U+1)^2`` popcounts; see
:func:`mantissa.index.search.multibit_popcount`).

``quant=grid`` keeps that code space and storage but replaces the trained recurrence by
its closed-form target (see :func:`grid_code`): the values of Eq. 3 scaled by ``2^U``
are exactly the odd integers ``v ∈ {−(2^(U+1)−1), …, 2^(U+1)−1}`` per dimension, and the
untrained recurrence picks them greedily, one plane after another against a
renormalized reconstruction. ``grid_code`` instead takes, per vector, the nearest odd
integers to ``x/c`` for the scale ``c`` (from a fixed grid of candidates) that maximises
``cos(x, v)`` -- what SDC compares -- and splits ``v`` into its ``U+1`` sign planes.
``query=float`` scores the (basis-transformed) float query against the normalized
document codes (asymmetric, ADC) instead of the query's own code.
"""

from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.formats.bits import pack_signs, unpack_signs
from mantissa.index.compressors.base import COMPRESSORS, Compressor, check_vectors, words64
from mantissa.index.compressors.itq import itq_basis
from mantissa.index.search import int_matmul, multibit_popcount
from mantissa.progress import progress


class _STSign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):  # type: ignore[override]
        ctx.save_for_backward(z)
        return torch.where(z >= 0, 1.0, -1.0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (z,) = ctx.saved_tensors
        return grad * (z.abs() <= 1).to(grad.dtype)


def st_sign(z: torch.Tensor) -> torch.Tensor:
    """sign with a straight-through gradient (zero where |z| > 1)."""
    return _STSign.apply(z)


class ResidualMLP(nn.Module):
    """``z + W2 ReLU(BN(W1 z))``; ``W2 = 0`` at start (identity map)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                                  nn.Linear(hidden, dim))
        nn.init.zeros_(self.body[3].weight)
        nn.init.zeros_(self.body[3].bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + self.body(z)


class RecurrentBinarizer(nn.Module):
    """The BEBR transformation: ``U+1`` sign planes from a float vector."""

    def __init__(self, dim: int, recurrences: int, hidden: int = 256) -> None:
        super().__init__()
        self.dim, self.recurrences = dim, recurrences
        self.encode0 = ResidualMLP(dim, hidden)
        self.decoders = nn.ModuleList(ResidualMLP(dim, hidden) for _ in range(recurrences))
        self.encoders = nn.ModuleList(ResidualMLP(dim, hidden) for _ in range(recurrences))

    def planes(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The sign planes ``s_0..s_U`` (±1 floats, straight-through)."""
        s = st_sign(self.encode0(x))
        out, b = [s], s
        for i in range(self.recurrences):
            f = nn.functional.normalize(self.decoders[i](b / self.dim**0.5), dim=1)
            s = st_sign(self.encoders[i](x - f))
            out.append(s)
            b = b + 2.0 ** -(i + 1) * s
        return out


def _levels(planes: list[torch.Tensor]) -> list[torch.Tensor]:
    """Cumulative codes ``b_u = Σ_{i<=u} 2^-i s_i`` for every prefix u."""
    out, b = [], torch.zeros_like(planes[0])
    for i, s in enumerate(planes):
        b = b + 2.0**-i * s
        out.append(b)
    return out


def neighbour_lists(x: torch.Tensor, k: int, chunk: int = 4096) -> torch.Tensor:
    """Ids of each row's ``k`` nearest rows by inner product (itself excluded)."""
    out = []
    for s in range(0, len(x), chunk):
        sims = x[s : s + chunk] @ x.T
        rows = torch.arange(sims.shape[0], device=x.device)
        sims[rows, rows + s] = -float("inf")
        out.append(torch.topk(sims, k, dim=1).indices)
    return torch.cat(out)


def distill_loss(x: torch.Tensor, codes: list[torch.Tensor], tau: float) -> torch.Tensor:
    """Σ over levels of row-wise KL(softmax(x x^T/τ) || softmax(cos(b, b)/τ)), diagonal masked."""
    n = x.shape[0]
    mask = torch.eye(n, dtype=torch.bool, device=x.device)
    teacher = torch.log_softmax((x @ x.T / tau).masked_fill(mask, -1e9), 1)
    loss = x.new_zeros(())
    for b in codes:
        bn = nn.functional.normalize(b, dim=1)
        student = torch.log_softmax((bn @ bn.T / tau).masked_fill(mask, -1e9), 1)
        loss = loss + nn.functional.kl_div(student, teacher, log_target=True, reduction="batchmean")
    return loss


def grid_code(z: torch.Tensor, recurrences: int, candidates: int = 43) -> torch.Tensor:
    """The code values ``v`` (odd integers, ``|v| <= 2^(U+1) − 1``, float) of ``z``: per row, the
    nearest odd integers to ``z/c`` for the scale ``c`` among ``candidates`` that maximises
    ``cos(z, v)``. The scales are ``rms(z) / t`` for ``t`` evenly spaced over
    ``[1/15, 1]·(2^(U+1) − 1)`` (for 4 bits: rms mapped to 1..15 grid units)."""
    top = 2 ** (recurrences + 1) - 1
    if recurrences == 0:
        return torch.where(z >= 0, 1.0, -1.0)
    rms = z.norm(dim=1, keepdim=True).clamp_min(1e-30) / z.shape[1] ** 0.5
    unit = z / rms
    zn = nn.functional.normalize(z, dim=1)
    best = torch.empty_like(z)
    best_cos = torch.full((z.shape[0],), -2.0)
    for t in torch.linspace(1 / 15, 1, candidates).tolist():
        v = (2 * torch.floor(unit * (t * top) / 2) + 1).clamp(-top, top)
        cos = (zn * v).sum(1) / v.norm(dim=1)
        better = cos > best_cos
        best_cos = torch.where(better, cos, best_cos)
        best[better] = v[better]
    return best


def value_planes(v: torch.Tensor, recurrences: int) -> list[torch.Tensor]:
    """The sign planes ``s_0..s_U`` with ``v = Σ_i 2^(U−i) s_i`` (``v`` odd, ``|v| <= 2^(U+1) − 1``)."""
    out, rest = [], v.clone()
    for i in range(recurrences + 1):
        s = torch.where(rest >= 0, 1.0, -1.0)
        out.append(s)
        rest = rest - 2.0 ** (recurrences - i) * s
    return out


def fit_schedule(steps: int, done: int, elapsed: float, budget: float) -> int:
    """The step count that fits ``budget`` seconds at the pace of the first ``done`` steps
    (at least ``done``, at most ``steps``)."""
    if budget <= 0 or done <= 0 or elapsed <= 0:
        return steps
    return max(done, min(steps, int(budget * done / elapsed)))


def train_binarizer(model: RecurrentBinarizer, x: torch.Tensor, *, steps: int, lr: float, anchors: int,
                    neighbours: int, tau: float, seed: int, levels: str = "all",
                    inputs: torch.Tensor | None = None, seconds: float = 0.0) -> list[float]:
    """Embedding-to-embedding training on the corpus ``x``; returns the loss curve.

    ``levels="all"`` sums the loss over every prefix code, ``"last"`` uses the full code only.
    ``inputs`` (default ``x``) are what the network binarizes, row for row (e.g. ``x`` in a
    learned basis); the teacher similarities are always those of ``x``. ``seconds > 0``
    bounds the training time: after 5 steps the step count is cut to what fits (the cosine
    schedule re-planned over the rest), so the result then depends on the machine's speed."""
    inputs = x if inputs is None else inputs
    start = time.monotonic()
    gen = torch.Generator().manual_seed(seed)
    nbrs = neighbour_lists(x, min(4 * neighbours, len(x) - 1))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    curve: list[float] = []
    model.train()
    total = steps
    with progress(f"training bebr:{model.recurrences}", total=steps) as bar:
        while len(curve) < total:
            a = torch.randint(0, len(x), (anchors,), generator=gen).to(x.device)
            pick = torch.randint(0, nbrs.shape[1], (anchors, neighbours), generator=gen).to(x.device)
            ids = torch.unique(torch.cat([a, torch.gather(nbrs[a], 1, pick).flatten()]))
            xb = x[ids]
            codes = _levels(model.planes(inputs[ids]))
            loss = distill_loss(xb, codes if levels == "all" else codes[-1:], tau)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            curve.append(float(loss.detach()))
            bar.advance(1, loss=curve[-1])
            if seconds > 0 and len(curve) == 5:
                total = fit_schedule(steps, 5, time.monotonic() - start, seconds)
                if total < steps:
                    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total - 5)
    model.eval()
    return curve


@COMPRESSORS.register("bebr")
class BEBR(Compressor):
    """``bebr:U[,hidden=256,steps=300,seconds=50,lr=2e-4,anchors=128,neighbours=7,tau=0.2,seed=0,
    planes=P,init=itq,dims=K,centre=no,quant=grid,query=float]``.

    ``seconds=S`` bounds the fit (``init=itq`` included) to about ``S`` seconds by
    training fewer steps when the machine is slow; ``seconds=0`` trains every step
    (reproducible across machines, as the ``bebr`` experiment does).

    ``planes=P`` (``1 <= P <= U+1``) stores and searches only the first ``P`` sign
    planes of the trained ``U``-recurrence network (``P`` bits per dimension).
    ``init=itq`` binarizes ``normalize((x − μ) P)`` with the ITQ basis fitted on the
    sample (:mod:`mantissa.index.compressors.itq`) instead of ``x``: the untrained
    network's first plane is then the ITQ code, and training starts from it;
    ``centre=no`` fits that basis without the mean (``μ = 0``, ITQ's ``centre=no``).
    ``dims=K`` keeps only the basis' top ``K`` principal axes (as ITQ's ``c``-bit codes do),
    so each plane has ``K`` bits: ``bebr:1,quant=grid,init=itq,centre=no,dims=192`` spends
    48 bytes on 384-d vectors as two bits on each of 192 axes instead of one bit on each
    of 384.

    ``quant=grid`` trains nothing: the codes are :func:`grid_code` of the (basis-
    transformed) vectors, in the same planes. ``query=float`` scores float queries
    against the codes (ADC) instead of their codes (SDC).
    """

    name = "bebr"
    needs_fit = True
    metrics = ("ip",)

    def __init__(self, recurrences: int = 1, hidden: int = 256, steps: int = 300, lr: float = 2e-4,
                 anchors: int = 128, neighbours: int = 7, tau: float = 0.2, seed: int = 0,
                 max_fit: int = 50_000, planes: int | None = None, init: str = "none",
                 seconds: float = 50.0, centre: str = "yes", quant: str = "recurrent",
                 query: str = "binary", dims: int = 0) -> None:
        super().__init__()
        choices = (("centre", centre, ("yes", "no")), ("quant", quant, ("recurrent", "grid")),
                   ("query", query, ("binary", "float")))
        for key, value, accepted in choices:
            if value not in accepted:
                raise SpecError(f"bebr: {key}={value!r}; accepted: "
                                + " | ".join(f"{key}={a}" for a in accepted))
        self.centre, self.quant, self.query = centre, quant, query
        self.seconds = float(seconds)
        if not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise SpecError(f"bebr: seconds={seconds} must be a finite number >= 0 (0: no time bound)")
        if init not in ("none", "itq"):
            raise SpecError(f"bebr: init={init!r}; accepted: init=none | init=itq")
        self.init = init
        self.dims = int(dims)
        if self.dims < 0 or (self.dims and init != "itq"):
            raise SpecError(f"bebr: dims={dims} needs init=itq (the basis keeps the top dims principal "
                            "axes) and dims >= 1; e.g. bebr:1,quant=grid,init=itq,dims=192")
        self.basis: tuple[torch.Tensor, torch.Tensor] | None = None  # ITQ (mean, projection)
        if not isinstance(recurrences, int) or not 0 <= recurrences <= 6:
            raise SpecError(f"bebr:U needs 0 <= U <= 6 recurrences (U+1 bits per dimension), got "
                            f"{recurrences!r}; e.g. bebr:3")
        self.recurrences, self.hidden, self.steps, self.lr = recurrences, int(hidden), int(steps), float(lr)
        self.anchors, self.neighbours = int(anchors), int(neighbours)
        self.tau, self.seed = float(tau), int(seed)
        self.max_fit = int(max_fit)
        for key in ("hidden", "anchors", "neighbours", "max_fit"):
            if getattr(self, key) < 1:
                raise SpecError(f"bebr: {key}={getattr(self, key)} must be >= 1")
        if self.steps < 0:  # steps=0: untrained (plain residual sign quantization)
            raise SpecError(f"bebr: steps={self.steps} must be >= 0")
        for key in ("lr", "tau"):
            if not (math.isfinite(getattr(self, key)) and getattr(self, key) > 0):
                raise SpecError(f"bebr: {key}={getattr(self, key)} must be a finite number > 0")
        self.model: RecurrentBinarizer | None = None
        self.loss_curve: list[float] = []
        self.use_planes = recurrences + 1 if planes is None else int(planes)
        if not 1 <= self.use_planes <= recurrences + 1:
            raise SpecError(f"bebr:{recurrences} has {recurrences + 1} planes; "
                            f"planes={planes} is out of range")

    @property
    def spec(self) -> str:
        extra = f",planes={self.use_planes}" if self.use_planes != self.recurrences + 1 else ""
        extra += ",init=itq" if self.init == "itq" else ""
        extra += f",dims={self.dims}" if self.dims else ""
        extra += ",centre=no" if self.centre == "no" else ""
        extra += ",quant=grid" if self.quant == "grid" else ""
        extra += ",query=float" if self.query == "float" else ""
        return f"bebr:{self.recurrences}{extra}"

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """What the network binarizes: ``x``, or ``normalize((x − μ) P)`` with ``init=itq``."""
        if self.basis is None:
            return x
        return nn.functional.normalize((x - self.basis[0]) @ self.basis[1], dim=1)

    @property
    def code_dim(self) -> int:
        """Bits per sign plane: ``dims`` (the basis' width) or the input dimension."""
        assert self.dim is not None, "fit first"
        return self.dims or self.dim

    @property
    def plane_bytes(self) -> int:
        return words64(self.code_dim)

    @property
    def code_bytes(self) -> int:
        return self.use_planes * self.plane_bytes

    def _new_model(self, dim: int) -> RecurrentBinarizer:
        torch.manual_seed(self.seed)
        return RecurrentBinarizer(dim, self.recurrences, self.hidden)

    def fit(self, sample: torch.Tensor) -> BEBR:
        x = check_vectors(sample, "fit sample")
        self.dim = x.shape[1]
        if len(x) > self.max_fit:
            x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(self.seed))[: self.max_fit]]
        if self.dims > self.dim:
            raise SpecError(f"bebr: dims={self.dims} exceeds the vectors' dimension {self.dim}")
        start = time.monotonic()
        if self.init == "itq":
            self.basis = itq_basis(x, centre=self.centre == "yes", dims=self.dims, seed=self.seed)
        if self.quant == "grid":
            self.model, self.loss_curve = None, []
            return self
        self.model = self._new_model(self.code_dim)
        budget = max(1e-3, self.seconds - (time.monotonic() - start)) if self.seconds else 0.0
        self.loss_curve = train_binarizer(self.model, x, steps=self.steps, lr=self.lr, anchors=self.anchors,
                                          neighbours=self.neighbours, tau=self.tau, seed=self.seed,
                                          inputs=self.transform(x), seconds=budget)
        return self

    def state(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        if self.quant == "recurrent":
            assert self.model is not None, "fit first"
            out = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        if self.basis is not None:
            out.update({"itq.mean": self.basis[0], "itq.projection": self.basis[1]})
        return out

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        assert self.dim is not None
        if self.quant == "recurrent":
            self.model = self._new_model(self.code_dim)
            self.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            self.model.eval()
        if self.init == "itq":
            self.basis = (tensors["itq.mean"].float(), tensors["itq.projection"].float())

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check_input(x, "vectors")
        if self.quant == "grid":
            planes = value_planes(grid_code(self.transform(x), self.recurrences), self.recurrences)
        else:
            assert self.model is not None, "fit first"
            planes = self.model.planes(self.transform(x))
        planes = planes[: self.use_planes]
        return torch.cat([pack_signs(s, self.plane_bytes) for s in planes], 1)

    def prefix(self, planes: int) -> BEBR:
        """The same trained network, storing only its first ``planes`` sign planes."""
        out = copy.copy(self)
        if not 1 <= planes <= self.recurrences + 1:
            raise SpecError(f"bebr:{self.recurrences} has {self.recurrences + 1} planes, not {planes}")
        out.use_planes = planes
        return out

    def with_query(self, query: str) -> BEBR:
        """The same fitted codes, scored with ``query=binary`` (SDC) or ``query=float`` (ADC)."""
        if query not in ("binary", "float"):
            raise SpecError(f"bebr: query={query!r}; accepted: query=binary | query=float")
        out = copy.copy(self)
        out.query = query
        return out

    def split_planes(self, codes: torch.Tensor) -> torch.Tensor:
        """``(n, U+1, plane_bytes)`` view of packed codes."""
        return self._check_codes(codes).view(codes.shape[0], self.use_planes, self.plane_bytes)

    def levels(self, codes: torch.Tensor, planes: int | None = None) -> torch.Tensor:
        """Integer code values ``Σ_i 2^(P-1-i) s_i`` (int8, odd) of the first ``planes`` planes."""
        p = planes or self.use_planes
        sp = self.split_planes(codes)
        v = torch.zeros(codes.shape[0], self.code_dim, dtype=torch.int8)
        for i in range(p):
            v += unpack_signs(sp[:, i].contiguous(), self.code_dim) * (2 ** (p - 1 - i))
        return v

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Unit-length float versions of the codes (the vectors SDC compares)."""
        return nn.functional.normalize(self.levels(codes).float(), dim=1)

    def score(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """SDC: cosine between the query's code and each document code (exact integers);
        ``query=float``: the transformed float query against the unit-length codes (ADC)."""
        if self.query == "float":
            return self.transform(self.prepare_queries(queries)) @ self.decode(codes).T
        vq = self.levels(self.encode(self.prepare_queries(queries)))
        vd = self.levels(codes)
        dots = int_matmul(vq, vd).float()
        norms = (vd.float() ** 2).sum(1).sqrt().clamp_min(1e-12)
        return dots / norms  # the query norm is one number per row: rankings unchanged

    def score_popcount(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """The same integer inner products from bit-plane popcounts (reference kernel)."""
        p = self.use_planes
        qp = self.split_planes(self.encode(self.prepare_queries(queries)))[:, :p]
        return multibit_popcount(qp, self.split_planes(codes)[:, :p], self.code_dim)
