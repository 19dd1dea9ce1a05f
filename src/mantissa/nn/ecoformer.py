"""EcoFormer attention: kernelized-hash binary codes and linear attention.

Liu, Pan, He, Cai, Zhuang, "EcoFormer: Energy-Saving Attention with Linear
Complexity" (NeurIPS 2022); public reference: ziplab/EcoFormer
(``pvt/hashing/ksh.py``, ``pvt/performer.py``). ``attention="ecoformer:bits=16"``.

**Kernelized hash** (Sec. 3.2, after KSH: Liu et al., "Supervised Hashing with
Kernels", CVPR 2012). Queries and keys are unit-normalised, compared with ``m``
anchor points ``x_(j)`` through an RBF kernel and zero-centred:

    k̄(x) = [κ(x_(1), x) − μ_1, …, κ(x_(m), x) − μ_m],   κ(a, x) = exp(−‖a − x‖² / 2σ),

and each of the ``b`` bits is the sign of a learned projection of those features,

    h_r(x) = sgn(k̄(x) · a_r),   H(x) = [h_1(x), …, h_b(x)] ∈ {−1, +1}^b.

**Self-supervised objective** (Sec. 3.3). On one batch the ground-truth
attention map ``q_i · k_j`` gives a similarity target ``S_ij = +1`` for the
``topk`` largest and ``−1`` for the ``topk`` smallest keys of each query (0
elsewhere). The hash functions minimise ``‖H(Q) H(K)ᵀ − b S‖²`` bit by bit
(KSH's greedy scheme): with the residual ``R_{r−1} = b S − Σ_{t<r} h_t(Q) h_t(K)ᵀ``,
bit ``r`` minimises ``−h_r(Q)ᵀ R_{r−1} h_r(K)``, the sign relaxed to
``φ(z) = 2/(1 + e^{−z}) − 1`` and optimised by Nesterov-momentum SGD (100 steps; lr 1.0
here: the reference's 5e-4 left the objective of a digits TinyViT's attention at
0.294 from 0.299, lr 1.0 brings it to 0.187); the new ``a_r`` is kept only if its
*binary* loss beats the previous one. As in the
reference, the hash is fitted once, on the first batch the layer sees (``refit``
re-fits every that many training calls), and is not trained by the task loss;
the task gradient reaches ``q`` and ``k`` through the sign by a clipped
straight-through estimator.

**Linear attention** (Sec. 3.2). The attention weight of query ``i`` on key
``j`` is ``H(q_i)·H(k_j) + b + 1 ≥ 1`` (``H·H = b − 2·Hamming``), so by
associativity

    out_i = (H(q_i) [Σ_j H(k_j) v_jᵀ] + (b+1) Σ_j v_j) / (H(q_i) Σ_j H(k_j) + (b+1) n),

costing O(T·b·D): no T×T matrix is formed, and every product with a code is an
addition or subtraction. The causal form uses prefix sums of ``H(k_j) v_jᵀ``.

Deviation from the reference: the RBF bandwidth ``σ`` and the centring ``μ``
are fitted once (per head) with the anchors, not recomputed from each input
sequence, so a token's code does not depend on the other tokens (needed for the
causal form). Queries and keys may differ (the reference ties ``Q = K``); both
go through the same hash functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.nn.slots import ATTENTION


class _ClippedSign(torch.autograd.Function):
    """``±1`` (0 maps to +1) forward; gradient passed where ``|x| < 1`` (reference's STE)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype) * 2 - 1

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        (x,) = ctx.saved_tensors
        return grad * (x.abs() < 1).to(grad.dtype)


def binary_sign(x: torch.Tensor) -> torch.Tensor:
    """Exactly ``±1`` codes with a clipped straight-through gradient."""
    return _ClippedSign.apply(x)


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _sq_dist(x: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """``‖x − a‖²`` for ``x (B, H, T, D)`` and ``anchors (H, m, D)`` -> ``(B, H, T, m)``."""
    d = (x * x).sum(-1, keepdim=True) + (anchors * anchors).sum(-1)[None, :, None, :] \
        - 2 * x @ anchors.transpose(-1, -2)[None]
    return d.clamp_min(0)


def similarity_target(q: torch.Tensor, k: torch.Tensor, topk: int, *, causal: bool = False,
                      key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """``S ∈ {−1, 0, +1}^{Tq×Tk}``: +1 on each query's ``topk`` largest ``q·k``, −1 on its
    ``topk`` smallest, among the keys it may attend to (Sec. 3.3)."""
    scores = q @ k.transpose(-1, -2)
    t_q, t_k = scores.shape[-2:]
    keep = torch.ones_like(scores, dtype=torch.bool)
    if causal:
        keep = keep & torch.ones(t_q, t_k, dtype=torch.bool, device=q.device).tril(t_k - t_q)
    if key_padding_mask is not None:
        keep = keep & key_padding_mask[:, None, None, :].bool()
    topk = min(topk, t_k)
    s = torch.zeros_like(scores)
    low = scores.masked_fill(~keep, math.inf).topk(topk, dim=-1, largest=False).indices
    s.scatter_(-1, low, -1.0)
    high = scores.masked_fill(~keep, -math.inf).topk(topk, dim=-1).indices
    s.scatter_(-1, high, 1.0)  # a key both largest and smallest (few keys) counts as similar
    return s * keep


def _relaxed(z: torch.Tensor) -> torch.Tensor:
    return 2 * torch.sigmoid(z) - 1


@dataclass
class HashFit:
    """What one fit measured: the objective ``‖H(Q)H(K)ᵀ − bS‖²/(b²·#entries)`` of the
    initial (random) and the learned hash functions on the fitting batch."""

    loss_initial: float
    loss_learned: float


class KernelizedHash(nn.Module):
    """``b`` kernelized hash functions on ``m`` anchors, per head (buffers set by :meth:`fit`)."""

    def __init__(self, bits: int = 16, anchors: int = 20, *, iters: int = 100, lr: float = 1.0,
                 momentum: float = 0.9) -> None:
        super().__init__()
        self.bits, self.m, self.iters, self.lr, self.momentum = bits, anchors, iters, lr, momentum
        for name in ("A", "anchors", "sigma", "mu"):
            self.register_buffer(name, torch.empty(0))
        self.last_fit: HashFit | None = None

    @property
    def fitted(self) -> bool:
        return self.A.numel() > 0

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-centred RBF features ``k̄(x)``: ``(B, H, T, D)`` -> ``(B, H, T, m)``."""
        if not self.fitted:
            raise ConfigError("kernelized hash used before fit(); call fit(q, k) on a batch first")
        if x.shape[1] != self.anchors.shape[0] or x.shape[-1] != self.anchors.shape[-1]:
            raise ShapeError(f"hash fitted for {self.anchors.shape[0]} heads of dim "
                             f"{self.anchors.shape[-1]}, got input {tuple(x.shape)}")
        a = self.anchors.to(x.dtype)
        kern = torch.exp(-_sq_dist(_unit(x), a) / (2 * self.sigma.to(x.dtype))[None, :, None, None])
        return kern - self.mu.to(x.dtype)[None, :, None, :]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``b``-bit codes ``H(x) ∈ {−1, +1}``: ``(B, H, T, D)`` -> ``(B, H, T, b)``."""
        feats = self.features(x)
        return binary_sign(feats @ self.A.to(x.dtype).transpose(-1, -2)[None])

    @torch.no_grad()
    def _set_kernel(self, q: torch.Tensor, k: torch.Tensor) -> None:
        h, d = q.shape[1], q.shape[-1]
        pool = torch.cat([_unit(q), _unit(k)], dim=2).transpose(0, 1).reshape(h, -1, d).float()
        n = pool.shape[1]
        idx = torch.randperm(n, device=q.device)[:self.m] if n >= self.m else \
            torch.randint(n, (self.m,), device=q.device)
        self.anchors = pool[:, idx].clone()
        sq = _sq_dist(pool[None], self.anchors)[0]  # (H, n, m)
        self.sigma = sq.mean(dim=(1, 2)).clamp_min(1e-6)
        self.mu = torch.exp(-sq / (2 * self.sigma[:, None, None])).mean(1)
        self.A = torch.randn(h, self.bits, self.m, device=q.device)

    def _bit_loss(self, yq: torch.Tensor, r: torch.Tensor, yk: torch.Tensor) -> torch.Tensor:
        """``−y_qᵀ R y_k / (Tq·b)``, mean over the batch, summed over heads (reference scaling)."""
        return -(torch.einsum("bhi,bhij,bhj->bh", yq, r, yk) / (yq.shape[-1] * self.bits)).mean(0).sum()

    def _learn_bit(self, kq: torch.Tensor, kk: torch.Tensor, r: torch.Tensor,
                   a0: torch.Tensor) -> torch.Tensor:
        a = a0.clone().requires_grad_(True)
        opt = torch.optim.SGD([a], lr=self.lr, momentum=self.momentum, nesterov=True)
        for _ in range(self.iters):
            zq, zk = (torch.einsum("bhtm,hm->bht", f, a) for f in (kq, kk))
            loss = self._bit_loss(_relaxed(zq), r, _relaxed(zk))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return a.detach()

    def fit(self, q: torch.Tensor, k: torch.Tensor, topk: int, *, causal: bool = False,
            key_padding_mask: torch.Tensor | None = None) -> HashFit:
        """Pick anchors, σ and μ on this batch and learn the hash functions (Sec. 3.3)."""
        q, k = q.detach().float(), k.detach().float()
        self._set_kernel(q, k)
        with torch.no_grad():
            s = similarity_target(q, k, topk, causal=causal, key_padding_mask=key_padding_mask)
            kq, kk = self.features(q), self.features(k)
            initial = self.objective(q, k, s)
            r = self.bits * s
        with torch.enable_grad():
            for bit in range(self.bits):
                a_old = self.A[:, bit].clone()
                a_new = self._learn_bit(kq, kk, r, a_old) if self.iters else a_old
                with torch.no_grad():
                    codes = [(torch.where(torch.einsum("bhtm,hm->bht", kq, a) >= 0, 1.0, -1.0),
                              torch.where(torch.einsum("bhtm,hm->bht", kk, a) >= 0, 1.0, -1.0))
                             for a in (a_old, a_new)]
                    losses = [self._bit_loss(yq, r, yk) for yq, yk in codes]
                    best = 1 if losses[1] < losses[0] else 0
                    self.A[:, bit] = (a_old, a_new)[best]
                    yq, yk = codes[best]
                    r = r - yq[..., :, None] * yk[..., None, :]
        self.last_fit = HashFit(initial, self.objective(q, k, s))
        return self.last_fit

    @torch.no_grad()
    def objective(self, q: torch.Tensor, k: torch.Tensor, s: torch.Tensor) -> float:
        """``‖H(Q)H(K)ᵀ − bS‖² / (b²·#entries)`` on a batch (the quantity Sec. 3.3 minimises)."""
        hq, hk = self(q.float()), self(k.float())
        return float(((hq @ hk.transpose(-1, -2) - self.bits * s) ** 2).mean() / self.bits**2)


def binary_linear_attention(hq: torch.Tensor, hk: torch.Tensor, v: torch.Tensor, *, offset: float,
                            causal: bool = False, key_padding_mask: torch.Tensor | None = None,
                            chunk: int = 32, segment: int = 1024) -> torch.Tensor:
    """``Σ_j (hq_i·hk_j + offset) v_j / Σ_j (hq_i·hk_j + offset)`` in O(T·b·D) (associativity).

    ``hq (B, H, Tq, b)``, ``hk (B, H, Tk, b)``, ``v (B, H, Tk, D)``. Causal: query ``i``
    sees keys ``j ≤ i + Tk − Tq``, computed chunk by chunk (``chunk`` keys: a small
    ``chunk × chunk`` block inside, running sums ``Σ hk_j v_jᵀ`` across), ``segment``
    positions at a time (the running sums carried over, so the working set stays in
    cache); no intermediate grows faster than T. Queries that see no key get 0.
    """
    ones = torch.ones_like(v[..., :1])
    if key_padding_mask is not None:
        keep = key_padding_mask[:, None, :, None].to(v.dtype)
        hk, v, ones = hk * keep, v * keep, ones * keep
    if causal:
        return _causal(hq, hk, torch.cat([v, ones], -1), offset, chunk, segment)
    num = hq @ (hk.transpose(-1, -2) @ v) + offset * v.sum(-2, keepdim=True)
    den = hq @ hk.sum(-2).unsqueeze(-1) + offset * ones.sum(-2, keepdim=True)
    return _safe_div(num, den)


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` where ``den > 0`` (weights are >= 1 per visible key), else 0."""
    seen = den > 0
    return num / torch.where(seen, den, 1.0) * seen


def _causal(hq: torch.Tensor, hk: torch.Tensor, kvo: torch.Tensor, offset: float, chunk: int,
            segment: int) -> torch.Tensor:
    """``kvo``: values with a ones column (0 for padded keys): numerator and denominator together."""
    b, h, t_q, n_bits = hq.shape
    t_k = kvo.shape[-2]
    shift = t_k - t_q  # query i sees keys j <= i + shift: align query rows with key positions
    aligned = F.pad(hq, (0, 0, shift, 0)) if shift >= 0 else hq[:, :, -shift:]
    chunk = max(1, chunk)
    seg = max(chunk, segment // chunk * chunk)
    state = kvo.new_zeros(b, h, n_bits, kvo.shape[-1])  # Σ hk_j [v_j, 1]ᵀ over earlier segments
    before = kvo.new_zeros(b, h, 1, kvo.shape[-1])  # Σ [v_j, 1]
    parts = []
    for s in range(0, t_k, seg):
        qs, ks, xs = aligned[:, :, s:s + seg], hk[:, :, s:s + seg], kvo[:, :, s:s + seg]
        parts.append(_causal_segment(qs, ks, xs, state, before, offset, chunk))
        state = state + ks.transpose(-1, -2) @ xs
        before = before + xs.sum(-2, keepdim=True)
    nd = torch.cat(parts, 2)
    if shift > 0:
        nd = nd[:, :, shift:]
    elif shift < 0:  # the first -shift queries see no key
        nd = F.pad(nd, (0, 0, -shift, 0))
    return _safe_div(nd[..., :-1], nd[..., -1:])


def _causal_segment(q: torch.Tensor, k: torch.Tensor, x: torch.Tensor, state: torch.Tensor,
                    before: torch.Tensor, offset: float, chunk: int) -> torch.Tensor:
    b, h, t, e = x.shape
    c = min(chunk, t)
    n = -(-t // c)
    pad = n * c - t
    qc, kc, xc = (F.pad(z, (0, 0, 0, pad)).view(b, h, n, c, z.shape[-1]) for z in (q, k, x))
    per_chunk = kc.transpose(-1, -2) @ xc  # (B, H, n, b, D+1)
    st = per_chunk.cumsum(2) - per_chunk + state[:, :, None]  # exclusive prefix sums
    tot = xc.sum(-2, keepdim=True)
    bef = tot.cumsum(2) - tot + before[:, :, None]
    tri = torch.ones(c, c, dtype=torch.bool, device=x.device).tril()
    w = (qc @ kc.transpose(-1, -2) + offset * xc[..., -1:].transpose(-1, -2)) * tri  # inside a chunk
    nd = w @ xc + qc @ st + offset * bef
    return nd.view(b, h, n * c, e)[:, :, :t]


_SPEC_KEYS = ("bits", "anchors", "topk", "iters", "lr", "refit")


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"ecoformer {name}={value!r}: expected an integer >= {low}")
    return value


@ATTENTION.register("ecoformer")
class EcoFormerAttention(nn.Module):
    """Attention kernel ``ecoformer:bits=16,anchors=20,topk=0,iters=100,lr=1.0,refit=0``.

    ``topk=0``: ``max(1, T_k // 8)``. ``refit=N``: re-learn the hash every N training
    calls (0: only on the first call, as the reference does). A stateful kernel (one
    instance per layer: :func:`mantissa.models.transformer.attention_kernel` builds it).
    """

    def __init__(self, bits: int = 16, anchors: int = 20, topk: int = 0, iters: int = 100,
                 lr: float = 1.0, refit: int = 0, **unknown) -> None:
        super().__init__()
        if unknown:
            raise ConfigError(f"ecoformer attention: unknown argument(s) {sorted(unknown)}; "
                              f"accepted: {', '.join(_SPEC_KEYS)}")
        _check_int("bits", bits, 1), _check_int("anchors", anchors, 1)
        _check_int("topk", topk, 0), _check_int("iters", iters, 0), _check_int("refit", refit, 0)
        if not isinstance(lr, int | float) or isinstance(lr, bool) or not lr > 0:
            raise ConfigError(f"ecoformer lr={lr!r}: expected a positive number")
        self.hash = KernelizedHash(bits, anchors, iters=iters, lr=float(lr))
        self.topk, self.refit, self.calls = topk, refit, 0

    @property
    def bits(self) -> int:
        return self.hash.bits

    def fit(self, q: torch.Tensor, k: torch.Tensor, *, causal: bool = False,
            key_padding_mask: torch.Tensor | None = None) -> HashFit:
        """Learn the hash functions on this batch's attention map."""
        topk = self.topk or max(1, k.shape[-2] // 8)
        return self.hash.fit(q, k, topk, causal=causal, key_padding_mask=key_padding_mask)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
                bias: torch.Tensor | None = None, causal: bool = True,
                key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        if bias is not None:
            raise ConfigError("ecoformer attention takes no additive score bias (t5/alibi/fire); "
                              "use pe=rope/nope/ape/sinusoidal with it")
        if q.dim() != 4 or q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ShapeError(f"ecoformer attention needs q, k, v of shape (B, H, T, D) with matching "
                             f"head dims and key/value lengths, got {tuple(q.shape)}, "
                             f"{tuple(k.shape)}, {tuple(v.shape)}")
        refit = self.training and self.refit and self.calls % self.refit == 0
        if not self.hash.fitted or refit:
            self.fit(q, k, causal=causal, key_padding_mask=key_padding_mask)
        if self.training:
            self.calls += 1
        hq, hk = self.hash(q), self.hash(k)
        return binary_linear_attention(hq, hk, v, offset=self.bits + 1, causal=causal,
                                       key_padding_mask=key_padding_mask)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, anchors={self.hash.m}, topk={self.topk}, refit={self.refit}"


def attention_macs(t: int, d: int, *, bits: int, anchors: int) -> dict[str, int]:
    """Multiplies per head: softmax ``2·T²·D``; EcoFormer hashing ``2·T·m·(D + b)`` (q and k)
    and ``T·D`` divisions; the ``T·b·D`` code products are additions, counted separately."""
    return {"softmax_mults": 2 * t * t * d, "ecoformer_mults": 2 * t * anchors * (d + bits) + t * d,
            "ecoformer_adds": 2 * t * bits * d + 2 * t * bits}


def mults_ratio(t: int, d: int, *, bits: int, anchors: int) -> float:
    """Counted multiplies of EcoFormer over softmax attention at length ``t`` (:func:`attention_macs`)."""
    m = attention_macs(t, d, bits=bits, anchors=anchors)
    return m["ecoformer_mults"] / m["softmax_mults"]


def mults_break_even_length(d: int, *, bits: int, anchors: int) -> int:
    """The shortest length where EcoFormer needs fewer multiplies than softmax (hashing costs
    ~ T·m·(D+b), so short sequences favour softmax)."""
    return next(t for t in range(1, 1 << 20) if mults_ratio(t, d, bits=bits, anchors=anchors) < 1)


def mults_summary(max_len: int, *, bits: int, anchors: int, d: int = 16) -> dict[str, float]:
    """Counted multiplies, EcoFormer over softmax, at 16 tokens (the digits ViT) and at
    ``max_len``, and the break-even length (:func:`mults_break_even_length`)."""
    return {"mults_ratio_eco_over_softmax_at_16_tokens": mults_ratio(16, d, bits=bits, anchors=anchors),
            "mults_ratio_eco_over_softmax_at_max_len": mults_ratio(max_len, d, bits=bits, anchors=anchors),
            "mults_break_even_length": float(mults_break_even_length(d, bits=bits, anchors=anchors))}


def mean_hash_objectives(kernels: Sequence[EcoFormerAttention]) -> tuple[float, float]:
    """Mean over fitted kernels of the hash objective before and after learning
    (:attr:`HashFit.loss_initial`, :attr:`HashFit.loss_learned` of each ``hash.last_fit``)."""
    fits = [k.hash.last_fit for k in kernels]
    return (sum(f.loss_initial for f in fits) / len(fits), sum(f.loss_learned for f in fits) / len(fits))


def cost_rows(lengths: Sequence[int], times: Mapping[str, Sequence[float]], *, bits: int, anchors: int,
              d: int = 16, heads: int = 4) -> list[list[float]]:
    """One row per length: ``[length, softmax ms, ecoformer ms, softmax mults, ecoformer mults,
    ecoformer adds]`` (counts over ``heads`` heads of width ``d``), from times in seconds."""
    rows = []
    for i, t in enumerate(lengths):
        macs = attention_macs(t, d, bits=bits, anchors=anchors)
        counts = [heads * macs[k] for k in ("softmax_mults", "ecoformer_mults", "ecoformer_adds")]
        rows.append([t, 1000 * times["softmax"][i], 1000 * times["ecoformer"][i], *counts])
    return rows


#: the columns of :func:`cost_rows`
COST_HEADER = ["length", "softmax_cpu_ms", "ecoformer_cpu_ms", "softmax_mults", "ecoformer_mults",
               "ecoformer_adds"]
