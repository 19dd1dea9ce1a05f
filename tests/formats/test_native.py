"""The fused kernels (formats.native) against the eager torch paths, bit for bit, and ml_dtypes."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mantissa import formats
from mantissa.errors import ConfigError
from mantissa.formats import fast, native

pytestmark = pytest.mark.skipif(native.lib() is None, reason="no C compiler: the eager paths run")

FLOATS = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz",
          "float8_e3m4", "float8_e4m3", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn", "bfloat16",
          "float16", "fp:e3m2", "fp:e4m3,overflow=saturate", "fp:e5m2,special=fn",
          "fp:e2m1,special=none", "fp:e8m3", "fp:e8m10,overflow=saturate"]
INTS = ["int4", "int8", "uint8", "int16", "int:8,narrow=true", "uint:3", "int:24"]
MX = ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8", "mx:fp:e3m2,block=16"]


@pytest.fixture
def eager(monkeypatch):
    """Run the same call with the kernels switched off."""
    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(native, "applies", lambda x: False)
            m.setattr(native, "decode_applies", lambda codes, dtype: False)
            return fn()
    return run


def bits(t: torch.Tensor) -> torch.Tensor:
    return t.view(torch.int32) if t.dtype == torch.float32 else t.to(torch.int64)


def random_floats(seed: int, n: int = 4096) -> torch.Tensor:
    """Any float32 bit pattern (NaN payloads, subnormals, infinities), and scaled normals."""
    g = torch.Generator().manual_seed(seed)
    raw = torch.randint(-2 ** 31, 2 ** 31, (n,), generator=g, dtype=torch.int64).to(torch.int32)
    scaled = torch.randn(n, generator=g) * torch.exp2(torch.randint(-20, 20, (n,), generator=g).float())
    specials = torch.tensor([0.0, -0.0, float("inf"), -float("inf"), float("nan"), 448.0, 480.0, 464.0,
                             57344.0, 61440.0, 2.0 ** -9, 2.0 ** -10, 6.0, 7.0, -0.25])
    return torch.cat([raw.view(torch.float32), scaled, specials])


def grid_edges(fmt) -> torch.Tensor:
    """Grid values, midpoints (ties) and their float32 neighbours, both signs."""
    v = fmt.values(torch.float64)
    fin = torch.unique(v[torch.isfinite(v)])
    pts = torch.cat([fin, (fin[1:] + fin[:-1]) / 2]).float()
    up, down = torch.nextafter(pts, torch.tensor(np.inf)), torch.nextafter(pts, torch.tensor(-np.inf))
    near = torch.cat([pts, up, down])
    return torch.cat([near, -near])


@pytest.mark.parametrize("name", FLOATS)
@pytest.mark.parametrize("seed", [0, 1])
def test_float_kernels_equal_the_eager_path_bit_for_bit(name, seed, eager):
    fmt = formats.get(name)
    x = random_floats(seed)
    if fmt.bits <= 16:
        x = torch.cat([x, grid_edges(fmt)])
    if fmt.special == "none" and fmt.on_nan == "raise":
        x = torch.where(torch.isnan(x), torch.zeros_like(x), x)
    assert fast.supports(fmt, x, "nearest-even")
    assert torch.equal(bits(fmt.quantize(x)), bits(fast.quantize_rne(fmt, x)))
    assert torch.equal(bits(fmt.encode(x)), bits(eager(lambda: fmt.encode(x))))


@given(st.lists(st.integers(-2 ** 31, 2 ** 31 - 1), min_size=1, max_size=64),
       st.sampled_from(["float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float4_e2m1fn", "float8_e4m3fnuz"]))
@settings(max_examples=150, deadline=None)
def test_float_kernels_equal_ml_dtypes_on_fuzzed_bit_patterns(words, name):
    x = torch.tensor(words, dtype=torch.int32).view(torch.float32)
    fmt = formats.get(name)
    if fmt.special == "none":
        x = torch.where(torch.isnan(x), torch.zeros_like(x), x)
    ref = x.numpy().astype(getattr(ml_dtypes, name))
    assert np.array_equal(fmt.encode(x).numpy(), ref.view(np.uint8))
    q, r = fmt.quantize(x).numpy(), ref.astype(np.float32)
    assert np.array_equal(q.view(np.uint32)[~np.isnan(q)], r.view(np.uint32)[~np.isnan(r)])
    assert np.array_equal(np.isnan(q), np.isnan(r))


def test_a_nan_into_a_format_without_nan_raises_as_the_eager_path_does():
    x = torch.tensor([1.0, float("nan")])
    with pytest.raises(ConfigError, match="NaN input"):
        formats.get("fp:e2m1,special=none").quantize(x)
    with pytest.raises(ConfigError, match="NaN input"):
        formats.get("fp:e3m2,special=none").encode(x)
    assert torch.equal(formats.get("float4_e2m1fn").encode(x), torch.tensor([2, 8], dtype=torch.uint8))
    with pytest.raises(ConfigError, match="integers have no NaN"):
        formats.get("int8").quantize(x)


@pytest.mark.parametrize("name", INTS)
def test_int_kernels_equal_the_eager_path(name, eager):
    fmt = formats.get(name)
    x = random_floats(2)
    big = torch.tensor([2.0 ** 23 + 1, -2.0 ** 24])
    x = torch.cat([x[~torch.isnan(x)], torch.arange(-300, 300) / 2, big])
    assert torch.equal(bits(fmt.quantize(x)), bits(eager(lambda: fmt.quantize(x))))
    assert torch.equal(fmt.encode(x).to(torch.int64), eager(lambda: fmt.encode(x)).to(torch.int64))


@pytest.mark.parametrize("name", MX)
def test_mx_kernel_equals_the_eager_path(name, eager):
    fmt = formats.get(name)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(64, 96, generator=g) * torch.exp2(torch.randint(-30, 30, (64, 1), generator=g).float())
    x[0, :32] = 0.0
    x[1, 5] = 2.0 ** -140  # a subnormal in an otherwise tiny block
    x[1, :32] *= 2.0 ** -100
    assert torch.equal(bits(fmt.quantize(x)), bits(eager(lambda: fmt.quantize(x))))
    codes, scales = fmt.encode(x)
    codes_e, scales_e = eager(lambda: fmt.encode(x))
    assert torch.equal(codes.to(torch.int64), codes_e.to(torch.int64))
    assert torch.equal(scales, scales_e)


def test_mx_blocks_with_nan_or_inf_take_the_eager_path(eager):
    fmt = formats.get("mxfp8_e4m3")
    x = torch.randn(4, 64)
    x[0, 3], x[2, 40] = float("nan"), float("inf")
    assert torch.equal(bits(fmt.quantize(x)), bits(eager(lambda: fmt.quantize(x))))


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float4_e2m1fn", "int4", "uint8", "float16"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int16, torch.int32, torch.int64])
def test_decode_equals_the_table_lookup(name, dtype, eager):
    fmt = formats.get(name)
    n = 2 ** fmt.bits
    if dtype == torch.uint8 and n > 256 or dtype == torch.int16 and n > 2 ** 15:
        pytest.skip("codes do not fit the dtype")
    codes = torch.arange(n).repeat(3).to(dtype)
    assert torch.equal(bits(fmt.decode(codes)), bits(eager(lambda: fmt.decode(codes))))
    if n < 256:
        with pytest.raises(ConfigError, match="out of range"):
            fmt.decode(torch.tensor([0, n], dtype=dtype))


def test_large_tensors_split_over_threads_give_the_same_result():
    fmt = formats.get("float8_e4m3fn")
    x = torch.randn(300_000)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = fmt.encode(x)
        torch.set_num_threads(2)
        two = fmt.encode(x)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)
    assert torch.equal(bits(fmt.quantize(x)), bits(fast.quantize_rne(fmt, x)))


def test_inputs_that_need_a_gradient_take_the_differentiable_eager_path():
    x = torch.tensor([0.3, 1.7, -2.2], requires_grad=True)
    assert not native.applies(x)
    formats.get("float8_e4m3fn").quantize(x).sum().backward()
    assert torch.equal(x.grad, torch.ones(3))


def test_non_contiguous_inputs_are_handled():
    x = torch.randn(64, 64).t()
    fmt = formats.get("float6_e2m3fn")
    assert torch.equal(bits(fmt.quantize(x)), bits(fast.quantize_rne(fmt, x.contiguous())))


def test_build_is_atomic_and_a_failed_compiler_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MANTISSA_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "false")
    with pytest.raises(OSError, match="failed"):
        native.build()
    assert list((tmp_path / "native").iterdir()) == []
    monkeypatch.delenv("CC")
    path = native.build()
    assert path.exists() and [p.name for p in path.parent.iterdir()] == [path.name]
    assert native.build() == path  # cached


def test_torch_compile_traces_the_eager_path():
    fmt = formats.get("float8_e4m3fn")
    fn = torch.compile(lambda x: fmt.quantize(x) * 2, backend="eager")
    x = torch.randn(256)
    assert torch.equal(fn(x), fast.quantize_rne(fmt, x) * 2)


@pytest.mark.parametrize("name", MX)
def test_mx_decode_kernel_equals_the_eager_path(name, eager):
    fmt = formats.get(name)
    x = torch.randn(16, 64, generator=torch.Generator().manual_seed(4)) * 1e3
    codes, scales = fmt.encode(x)
    assert torch.equal(bits(fmt.decode(codes, scales)), bits(eager(lambda: fmt.decode(codes, scales))))
    assert torch.equal(fmt.decode(codes, scales), fmt.quantize(x))  # integers have no -0: values
