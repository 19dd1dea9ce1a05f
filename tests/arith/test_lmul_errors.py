"""mantissa.arith.lmul_errors: per-product relative errors of L-Mul and fp8."""

import torch

from mantissa.arith.lmul_errors import (
    fp8_ratios,
    fp8_reference_diff,
    plot_precision,
    product_errors,
    random_pairs,
    relative_error,
    summarize_errors,
)


def test_product_errors_summaries_and_ratios():
    a, b = random_pairs(500, 0)
    assert a.dtype == torch.float32 and a.abs().min() >= 0.125 and a.abs().max() < 8
    assert torch.equal(random_pairs(500, 0)[0], a)
    errs = product_errors(a, b, [3, 4], scale=False)
    assert set(errs) == {"lmul3", "lmul4", "lmul3_literal", "lmul4_literal", "float8_e4m3fn", "float8_e5m2",
                         "mant3", "mant2"}
    assert float(errs["lmul4"].mean()) < float(errs["lmul3"].mean())
    metrics, rows = summarize_errors("rand", errs)
    assert metrics["rand_e4m3fn_mean"] == float(errs["float8_e4m3fn"].mean()) and len(rows) == len(errs)
    assert rows[0][0] == "rand" and rows[0][-1] == 500
    ratios = fp8_ratios("rand", metrics)
    assert ratios["rand_ratio_lmul4_e4m3"] == metrics["rand_lmul4_mean"] / metrics["rand_e4m3fn_mean"]
    assert fp8_reference_diff(a, b) == 0.0
    assert float(relative_error(torch.tensor([1.5]), torch.tensor([2.0], dtype=torch.float64))) == 0.25
    metrics.update({f"real_{k[5:]}": v for k, v in metrics.items()})
    metrics.update({"model_lmul3_mean": 0.05, "model_lmul4_mean": 0.02})
    assert len(plot_precision(metrics, [3, 4]).axes[0].lines) == 2 * (1 + 2) + 1  # L-Mul, 2 fp8 each
