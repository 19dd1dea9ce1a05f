"""Fused CPU kernels for the formats: one pass over memory per quantize, encode or decode.

The eager torch paths (:mod:`mantissa.formats.fast`, ``IntFormat.quantize``,
``Format.decode``, ``MXFormat.quantize``) run about a dozen elementwise ops, each a
pass over memory. ``native.c`` does the same float32 operations in the same order,
element by element, in one OpenMP loop, so the results are bit-identical (the tests
compare the two paths and ml_dtypes on fuzzed inputs).

The library is compiled once per source version with the system C compiler
(``cc -O3 -march=native -fopenmp``, under a second) into the cache folder (``$MANTISSA_CACHE`` or
``~/.cache/mantissa``), written atomically; ``make install`` builds it up front
(:func:`main`). Without a compiler, or with
``MANTISSA_NATIVE=0``, :func:`lib` is None and the eager paths run. The kernels
cover contiguous float32 CPU tensors that need no gradient; everything else takes
the eager path. Threads follow ``torch.get_num_threads()``.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from mantissa.formats import fast

SOURCE = Path(__file__).with_name("native.c")
FLAGS = ("-O3", "-fPIC", "-shared", "-fopenmp", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math")
_SPECIAL = {"ieee": 0, "fn": 1, "fnuz": 2, "none": 3}


class FloatParams(ctypes.Structure):
    """``mt_float`` in native.c: a float format's rounding constants and special-value policy."""

    _fields_ = [(name, ctypes.c_int32) for name in ("lo_field", "shift", "big_field", "needs_scaling")] + [
        ("top", ctypes.c_float)] + [(name, ctypes.c_int32) for name in (
            "special", "saturate", "man_bits", "bits", "int_bias", "emin", "exp_bits")]


def cache_dir() -> Path:
    """Where the compiled library lives (``$MANTISSA_CACHE`` or ``~/.cache/mantissa``)."""
    root = os.environ.get("MANTISSA_CACHE") or Path.home() / ".cache" / "mantissa"
    return Path(root) / "native"


def _cpu_key() -> bytes:
    """What the library is built for: the machine and its CPU's instruction-set flags (-march=native)."""
    key = platform.machine().encode()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        flags = [ln for ln in lines if ln.startswith(("flags", "Features"))]
        key += (flags[0] if flags else "").encode()
    except OSError:
        key += platform.processor().encode()
    return key


def _library_path() -> Path:
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join(FLAGS).encode() + _cpu_key())
    return cache_dir() / f"mantissa_formats_{key.hexdigest()[:16]}.so"


def build(verbose: bool = False) -> Path:
    """Compile ``native.c`` into the cache (atomically) unless it is there; return its path.

    Built for this CPU (``-march=native``: AVX2 doubles the in-cache speed over SSE2), again
    without it where the compiler refuses the flag.
    """
    path = _library_path()
    if path.exists():
        return path
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise OSError("no C compiler (cc or gcc) on PATH")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", dir=path.parent)
    os.close(fd)
    try:
        for arch in (["-march=native"], []):
            cmd = [cc, *FLAGS, *arch, "-o", tmp, str(SOURCE), "-lm"]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if not done.returncode:
                break
        else:
            raise OSError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if verbose:
        print(f"built {path}")
    return path


@functools.lru_cache(maxsize=1)
def lib() -> ctypes.CDLL | None:
    """The loaded kernel library, or None (disabled, or no compiler: the eager paths run)."""
    if os.environ.get("MANTISSA_NATIVE", "1") == "0":
        return None
    try:
        return _declare(ctypes.CDLL(str(build())))
    except OSError:
        return None


def _declare(cdll: ctypes.CDLL) -> ctypes.CDLL:
    p, i64, i32, f32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, ctypes.c_float
    sigs = {"mt_quantize_f32": [p, p, i64, p, ctypes.c_int],
            "mt_encode_f32_u8": [p, p, i64, p, ctypes.c_int],
            "mt_encode_f32_i32": [p, p, i64, p, ctypes.c_int],
            "mt_quantize_int": [p, p, i64, f32, f32, ctypes.c_int],
            "mt_encode_int": [p, p, p, i64, f32, f32, i32, ctypes.c_int],
            "mt_quantize_mx": [p, p, p, p, i64, i64, p, f32, f32, i32, i32, i32, ctypes.c_int],
            "mt_decode_mx": [p, p, p, i64, p, i64, i64, i32, ctypes.c_int],
            **{f"mt_decode_{t}": [p, p, i64, p, i64, ctypes.c_int] for t in ("u8", "i16", "i32", "i64")}}
    for name, args in sigs.items():
        fn = getattr(cdll, name)
        fn.argtypes, fn.restype = args, i64
    return cdll


def applies(x: torch.Tensor) -> bool:
    """Whether the kernels take ``x``: a float32 CPU tensor needing no gradient, outside
    ``torch.compile`` tracing (which sees the eager ops), library loaded."""
    return (x.dtype == torch.float32 and x.device.type == "cpu" and x.layout == torch.strided
            and not (x.requires_grad and torch.is_grad_enabled()) and not torch.compiler.is_compiling()
            and lib() is not None)


def _threads() -> int:
    return torch.get_num_threads()


@functools.lru_cache(maxsize=256)
def float_params(fmt) -> FloatParams:
    """The kernel's constants for a float format the fast path supports (see ``fast.supports``)."""
    lo_field, shift, big_field, needs_scaling, top = fast._params(fmt)
    return FloatParams(lo_field, shift, big_field, int(needs_scaling), top, _SPECIAL[fmt.special],
                       int(fmt.overflow == "saturate"), fmt.man_bits, fmt.bits, fmt.int_bias, fmt.emin,
                       fmt.exp_bits)


def quantize_float(fmt, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``fast.quantize_rne(fmt, x)`` in one pass, and the number of NaN inputs."""
    x = x.contiguous()
    out = torch.empty_like(x)
    params = ctypes.byref(float_params(fmt))
    nans = lib().mt_quantize_f32(x.data_ptr(), out.data_ptr(), x.numel(), params, _threads())
    return out, nans


def encode_float(fmt, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``fast.encode_rne(fmt, x)`` in one pass (uint8 codes up to 8 bits, else int32), and the NaN count."""
    x = x.contiguous()
    small = fmt.bits <= 8
    out = torch.empty(x.shape, dtype=torch.uint8 if small else torch.int32)
    fn = lib().mt_encode_f32_u8 if small else lib().mt_encode_f32_i32
    nans = fn(x.data_ptr(), out.data_ptr(), x.numel(), ctypes.byref(float_params(fmt)), _threads())
    return out, nans


def quantize_int(x: torch.Tensor, qmin: int, qmax: int) -> tuple[torch.Tensor, int]:
    """Nearest-even integers saturated to ``[qmin, qmax]`` (exact up to 24 bits), and the NaN count."""
    x = x.contiguous()
    out = torch.empty_like(x)
    nans = lib().mt_quantize_int(x.data_ptr(), out.data_ptr(), x.numel(), float(qmin), float(qmax),
                                 _threads())
    return out, nans


def encode_int(x: torch.Tensor, qmin: int, qmax: int, bits: int) -> tuple[torch.Tensor, int]:
    """Two's-complement codes of the saturated nearest-even integers (uint8 up to 8 bits, else int32)."""
    x = x.contiguous()
    small = bits <= 8
    out = torch.empty(x.shape, dtype=torch.uint8 if small else torch.int32)
    p8, p32 = (out.data_ptr(), None) if small else (None, out.data_ptr())
    nans = lib().mt_encode_int(x.data_ptr(), p8, p32, x.numel(), float(qmin), float(qmax), (1 << bits) - 1,
                               _threads())
    return out, nans


_DECODE = {torch.uint8: "mt_decode_u8", torch.int16: "mt_decode_i16", torch.int32: "mt_decode_i32",
           torch.int64: "mt_decode_i64"}


def decode_applies(codes: torch.Tensor, dtype: torch.dtype) -> bool:
    """Whether :func:`decode` takes these codes (CPU, a supported integer dtype, float32 out)."""
    return (codes.device.type == "cpu" and codes.layout == torch.strided and codes.dtype in _DECODE
            and dtype == torch.float32 and not torch.compiler.is_compiling() and lib() is not None)


def decode(codes: torch.Tensor, table: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``table[codes]`` as float32 in one pass, and the number of codes outside the table."""
    codes, table = codes.contiguous(), table.to(torch.float32).contiguous()
    out = torch.empty(codes.shape, dtype=torch.float32)
    fn = getattr(lib(), _DECODE[codes.dtype])
    bad = fn(codes.data_ptr(), table.data_ptr(), table.numel(), out.data_ptr(), codes.numel(), _threads())
    return out, bad


def quantize_mx(x: torch.Tensor, block: int, elem, emax_elem: int, log2_scale: int,
                codes: bool = False) -> tuple[torch.Tensor, torch.Tensor, int]:
    """MX quantization of float32 ``x`` (last axis a multiple of ``block``) in one pass.

    ``elem`` is the saturating element format (a float format the fast path supports, or an
    ``IntFormat`` of <= 8 bits). Returns the values (or, with ``codes``, the element codes as
    uint8), the shared exponents per block (int32), and the number of blocks with a NaN or an
    infinity (nonzero: the caller takes the eager path).
    """
    x = x.contiguous()
    out = torch.empty(x.shape, dtype=torch.uint8 if codes else torch.float32)
    exps = torch.empty(x.shape[:-1] + (x.shape[-1] // block,), dtype=torch.int32)
    is_float = hasattr(elem, "man_bits")
    params = ctypes.byref(float_params(elem)) if is_float else None
    qmin, qmax = (0.0, 0.0) if is_float else (float(elem.qmin), float(elem.qmax))
    values, code_ptr = (None, out.data_ptr()) if codes else (out.data_ptr(), None)
    bad = lib().mt_quantize_mx(x.data_ptr(), values, code_ptr, exps.data_ptr(), x.numel() // block, block,
                               params, qmin, qmax, (1 << elem.bits) - 1, emax_elem, log2_scale, _threads())
    return out, exps, bad


def decode_mx(codes: torch.Tensor, scales: torch.Tensor, table: torch.Tensor, block: int,
              log2_scale: int) -> tuple[torch.Tensor, int]:
    """MX values from uint8 element codes and E8M0 scale codes in one pass, and the count of codes
    outside ``table`` (the element format's values)."""
    codes, scales = codes.contiguous(), scales.contiguous()
    table = table.to(torch.float32).contiguous()
    out = torch.empty(codes.shape, dtype=torch.float32)
    bad = lib().mt_decode_mx(codes.data_ptr(), scales.data_ptr(), table.data_ptr(), table.numel(),
                             out.data_ptr(), codes.numel() // block, block, log2_scale, _threads())
    return out, bad


def main() -> None:
    """Build the library now (``make install`` does); say so on stderr where it cannot."""
    try:
        build(verbose=True)
    except OSError as e:
        print(f"mantissa: native format kernels not built ({e}); the eager paths will run", file=sys.stderr)

