"""FloatFormat against ml_dtypes (bit-exact) and against float64 brute-force oracles."""


from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mantissa import formats
from mantissa.errors import ConfigError, DTypeError, SpecError, UnknownNameError
from mantissa.formats import FloatFormat

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

NAMES = [n for n in formats.ML_DTYPES_FORMATS if n not in ("float16", "float32")]


def np_type(name):
    return getattr(ml_dtypes, name)


def code_view(arr, bits):
    return arr.view(np.uint16 if bits > 8 else np.uint8).astype(np.int64)


def ref_codes(x: np.ndarray, name: str) -> np.ndarray:
    fmt = formats.get(name)
    return code_view(x.astype(np_type(name)), fmt.bits)


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bool(np.all((np.isnan(a) & np.isnan(b)) | ((a == b) & (np.signbit(a) == np.signbit(b)))))


def edge_cases(fmt) -> np.ndarray:
    """Every grid value, every midpoint (ties) and its float32 neighbours, max ± ulp, specials."""
    v = fmt.values(torch.float64).numpy()
    fin = np.unique(v[np.isfinite(v)])
    mids = (fin[1:] + fin[:-1]) / 2
    top = fin.max()
    extra = [min(top * 1.0625, 3e38), min(top * 2, 3e38), 1e38, 2.0 ** -140, 1e-45]
    pts = np.concatenate([fin, mids, extra]).astype(np.float32)
    up, down = np.nextafter(pts, np.float32(np.inf)), np.nextafter(pts, np.float32(-np.inf))
    near = np.concatenate([pts, up, down])
    allv = np.concatenate([near, -near, np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan], np.float32)])
    return allv.astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_every_code_decodes_like_ml_dtypes(name):
    fmt = formats.get(name)
    codes = np.arange(2 ** fmt.bits, dtype=np.uint16 if fmt.bits > 8 else np.uint8)
    ref = codes.view(np_type(name)).astype(np.float32)
    assert same_values(fmt.values(torch.float32).numpy(), ref)
    got = fmt.decode(torch.from_numpy(codes.astype(np.int64)))
    assert same_values(got.numpy(), ref)


@pytest.mark.parametrize("name", NAMES)
def test_info_matches_finfo(name):
    fmt, fi = formats.get(name), ml_dtypes.finfo(np_type(name))
    info = fmt.info
    assert info.bits == fi.bits
    assert info.max == float(fi.max)
    assert info.smallest_normal == float(fi.smallest_normal)
    assert info.smallest_subnormal == float(fi.smallest_subnormal)
    assert info.eps == float(fi.eps)


@pytest.mark.parametrize("name", NAMES)
def test_edge_cases_bit_exact(name):
    fmt = formats.get(name)
    x = edge_cases(fmt)
    got = fmt.encode(torch.from_numpy(x)).numpy().astype(np.int64)
    np.testing.assert_array_equal(got, ref_codes(x, name))
    q = fmt.quantize(torch.from_numpy(x)).numpy()
    assert same_values(q, x.astype(np_type(name)).astype(np.float32))


@pytest.mark.parametrize("name", NAMES)
def test_random_float32_patterns_bit_exact(name):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2 ** 32, size=100_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    fmt = formats.get(name)
    normal = rng.standard_normal(50_000).astype(np.float32) * np.float32(min(fmt.info.max, 1e30))
    x = np.concatenate([x, normal])
    with np.errstate(all="ignore"):
        ref = ref_codes(x, name)
    np.testing.assert_array_equal(fmt.encode(torch.from_numpy(x)).numpy().astype(np.int64), ref)


@settings(max_examples=60, deadline=None)
@given(bits=st.integers(0, 2 ** 32 - 1), name=st.sampled_from(NAMES))
def test_property_single_pattern(bits, name):
    x = np.array([bits], dtype=np.uint32).view(np.float32)
    got = formats.get(name).encode(torch.from_numpy(x)).numpy().astype(np.int64)
    with np.errstate(all="ignore"):
        assert got[0] == ref_codes(x, name)[0]


def _boundary_points(fmt) -> np.ndarray:
    """Ties (grid midpoints) and the overflow boundary (largest value, the midpoint above it)."""
    v = fmt.values(torch.float64).numpy()
    fin = np.unique(np.abs(v[np.isfinite(v)]))
    top = fin.max()
    ulp_top = top - fin[-2]
    return np.concatenate([(fin[1:] + fin[:-1]) / 2, [top, top + ulp_top / 2, top + ulp_top]])


def _f32_bits(x: float) -> int:
    return int(np.array([min(x, 3.4e38)], dtype=np.float32).view(np.uint32)[0])


@st.composite
def tricky_float32(draw, name: str) -> int:
    """A float32 bit pattern from the places where formats disagree: float32 subnormals, ties and
    their neighbours, the overflow boundary, NaN/Inf (with payloads) and signed zero."""
    sign = draw(st.sampled_from([0, 1 << 31]))
    kind = draw(st.sampled_from(["subnormal", "tie", "overflow", "special"]))
    if kind == "subnormal":
        return sign | draw(st.integers(0, 0x7FFFFF))
    if kind == "special":
        return sign | draw(st.sampled_from([0, 0x7F800000, 0x7FC00000, 0x7F800001, 0x7FFFFFFF]))
    pts = _boundary_points(formats.get(name))
    base = draw(st.sampled_from(pts[-3:] if kind == "overflow" else pts[:-3]))
    return sign | max(0, min(_f32_bits(base) + draw(st.integers(-2, 2)), 0x7F7FFFFF))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fuzz_tricky_inputs_match_ml_dtypes(name, data):
    bits = data.draw(tricky_float32(name))
    x = np.array([bits], dtype=np.uint32).view(np.float32)
    fmt = formats.get(name)
    with np.errstate(all="ignore"):
        ref = x.astype(np_type(name))
        assert int(fmt.encode(torch.from_numpy(x))[0]) == code_view(ref, fmt.bits)[0], f"bits {bits:#010x}"
        assert same_values(fmt.quantize(torch.from_numpy(x)).numpy(), ref.astype(np.float32))
        x64 = x.astype(np.float64)
        assert int(fmt.encode(torch.from_numpy(x64))[0]) == code_view(x64.astype(np_type(name)), fmt.bits)[0]


def oracle(fmt, x: np.ndarray, mode: str) -> np.ndarray:
    """Brute force on the float64 value table: nearest/directed grid value."""
    v = fmt.values(torch.float64).numpy()
    fin = np.unique(v[np.isfinite(v)])
    out = []
    for xi in x:
        lo = fin[fin <= xi].max()
        hi = fin[fin >= xi].min()
        if mode == "down":
            out.append(lo)
        elif mode == "up":
            out.append(hi)
        elif mode == "toward-zero":
            out.append(lo if xi >= 0 else hi)
        elif lo == hi or xi - lo != hi - xi:
            out.append(lo if xi - lo < hi - xi else hi)
        elif mode == "nearest-away":
            out.append(hi if xi > 0 else lo)
        else:  # ties to the even code
            cl = int(fmt.encode(torch.tensor([lo], dtype=torch.float64))[0])
            out.append(lo if cl % 2 == 0 else hi)
    return np.array(out)


@pytest.mark.parametrize("mode", ["nearest-even", "nearest-away", "toward-zero", "down", "up"])
@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "float6_e3m2fn"])
def test_rounding_modes_match_bruteforce_float64(mode, name):
    fmt = formats.get(name)
    rng = np.random.default_rng(1)
    top = fmt.info.max
    x = np.concatenate([rng.uniform(-top, top, 300), rng.uniform(-4 * fmt.info.smallest_normal,
                                                                 4 * fmt.info.smallest_normal, 200)])
    v = fmt.values(torch.float64).numpy()
    fin = np.unique(v[np.isfinite(v)])
    x = np.concatenate([x, (fin[1:] + fin[:-1]) / 2, (fin[1:] + fin[:-1]) / 2 + 2.0 ** -40])
    got = fmt.quantize(torch.from_numpy(x), rounding=mode).numpy()
    np.testing.assert_array_equal(got, oracle(fmt, x, mode))


@pytest.mark.parametrize("name", NAMES)
def test_float64_inputs_exact_in_float32_match_ml_dtypes(name):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 2 ** 32, size=20_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    with np.errstate(all="ignore"):
        ref = ref_codes(x, name)
    got = formats.get(name).encode(torch.from_numpy(x.astype(np.float64))).numpy().astype(np.int64)
    np.testing.assert_array_equal(got, ref)


def test_float64_rounds_directly_not_through_float32():
    fmt = formats.get("float8_e4m3fn")
    x = torch.tensor([1 + 2 ** -4 + 2 ** -30, 1 + 2 ** -4 - 2 ** -30, 1 + 2 ** -4], dtype=torch.float64)
    assert fmt.quantize(x).tolist() == [1.125, 1.0, 1.0]


def test_half_and_bfloat16_inputs_keep_dtype():
    fmt = formats.get("float8_e5m2")
    for dt in (torch.float16, torch.bfloat16):
        x = torch.linspace(-3, 3, 101).to(dt)
        q = fmt.quantize(x)
        assert q.dtype == dt
        assert torch.equal(q.float(), fmt.quantize(x.float()))


def test_stochastic_rounding_unbiased_and_seeded():
    fmt = formats.get("float8_e4m3fn")
    x = torch.full((200_000,), 1.03)
    g = torch.Generator().manual_seed(3)
    q = fmt.quantize(x, rounding="stochastic", generator=g)
    assert set(q.unique().tolist()) == {1.0, 1.125}
    assert abs(q.double().mean().item() - 1.03) < 2e-3
    again = fmt.quantize(x, rounding="stochastic", generator=torch.Generator().manual_seed(3))
    assert torch.equal(q, again)


@pytest.mark.parametrize("spec", ["fp:e3m2", "fp:e5m7", "fp:e4m3,special=fn", "fp:e2m1,special=none",
                                  "fp:e4m3,bias=8,special=fnuz", "fp:e3m2,bias=2.5,subnormals=false",
                                  "fp:e5m2,overflow=saturate", "float8_e4m3fn", "bfloat16"])
def test_spec_round_trip(spec):
    assert str(formats.get(spec)) == spec
    assert formats.get(str(formats.get(spec))) == formats.get(spec)


def test_named_formats_equal_their_descriptors():
    assert formats.get("float8_e4m3fn") == FloatFormat(4, 3, special="fn")
    assert formats.get("float4_e2m1fn") == formats.get("fp:e2m1,special=none,on_nan=zero")
    assert formats.get("float8_e5m2") == formats.get("fp:e5m2")


def test_exmy_grid_properties():
    fmt = formats.get("fp:e3m2")
    assert fmt.bits == 6 and fmt.info.max == 14.0 and fmt.info.smallest_subnormal == 0.0625
    fmt = formats.get("fp:e5m7")
    x = torch.randn(10_000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = x[x.abs() >= fmt.info.smallest_normal]
    q = fmt.quantize(x)
    rel = ((q - x).abs() / x.abs()).max().item()
    assert rel <= 2.0 ** -8  # half an ulp
    assert torch.equal(fmt.quantize(q), q)  # idempotent


def test_real_valued_bias_scales_the_grid():
    base, shifted = formats.get("fp:e2m1,special=none"), formats.get("fp:e2m1,bias=1.5,special=none")
    b = base.values().numpy()
    np.testing.assert_allclose(shifted.values().numpy(), b * 2 ** -0.5)
    x = torch.linspace(-5, 5, 301, dtype=torch.float64)
    np.testing.assert_allclose(shifted.quantize(x).numpy(), base.quantize(x * 2 ** 0.5).numpy() * 2 ** -0.5)


def test_no_subnormals_flushes_the_first_binade():
    fmt = formats.get("fp:e4m3,subnormals=false")
    tiny = fmt.info.smallest_normal
    x = torch.tensor([tiny * 0.4, tiny * 0.6, -tiny * 0.9, tiny * 1.06])
    assert fmt.quantize(x).tolist() == [0.0, tiny, -tiny, tiny]


def test_specials_policies():
    x = torch.tensor([math.nan, math.inf, -math.inf, 1e9, -1e9, -0.0])
    ieee = formats.get("float8_e5m2").quantize(x)
    assert ieee[1:5].tolist() == [math.inf, -math.inf, math.inf, -math.inf]
    fn = formats.get("float8_e4m3fn").quantize(x)
    assert torch.isnan(fn[:5]).all() and torch.signbit(fn[5])
    sat = formats.get("fp:e4m3,special=fn,overflow=saturate").quantize(x)
    assert sat[1:5].tolist() == [448.0, -448.0, 448.0, -448.0]
    assert not torch.signbit(formats.get("float8_e4m3fnuz").quantize(x)[5])
    assert formats.get("float4_e2m1fn").quantize(x)[1:5].tolist() == [6.0, -6.0, 6.0, -6.0]
    with pytest.raises(ConfigError, match="no NaN"):
        formats.get("fp:e2m1,special=none").quantize(x)


def test_bad_input():
    with pytest.raises(UnknownNameError, match="float8_e4m3fn"):
        formats.get("float9_e4m3")
    with pytest.raises(SpecError, match="eXmY"):
        formats.get("fp:4x3")
    with pytest.raises(DTypeError, match="floating-point"):
        formats.get("float8_e4m3fn").quantize(torch.arange(4))
    with pytest.raises(ConfigError, match="rounding"):
        formats.get("float8_e4m3fn").quantize(torch.ones(2), rounding="sideways")
    with pytest.raises(ConfigError):
        FloatFormat(4, 0, special="ieee")
    empty = formats.get("float8_e4m3fn").quantize(torch.empty(0, 3))
    assert empty.shape == (0, 3)
    assert formats.get("float8_e4m3fn").encode(torch.empty(0)).dtype == torch.uint8


@pytest.mark.parametrize("spec", NAMES[:-2] + ["bfloat16", "fp:e8m2", "fp:e5m7,overflow=saturate",
                                                "fp:e4m3,special=fn,overflow=saturate", "fp:e3m2"])
def test_fast_path_bit_exact_against_reference(spec):
    from mantissa.formats import fast

    fmt = formats.get(spec)
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2 ** 32, size=100_000, dtype=np.uint64).astype(np.uint32)
    x = torch.cat([torch.from_numpy(bits.view(np.float32)), torch.from_numpy(edge_cases(fmt))])
    if fmt.bits <= 16 and fmt.special != "fnu":
        assert fast.supports(fmt, x, "nearest-even")
    a, b = fast.quantize_rne(fmt, x), fmt.quantize_reference(x)
    same = (a.view(torch.int32) == b.view(torch.int32)) | (a.isnan() & b.isnan())
    assert bool(same.all())
