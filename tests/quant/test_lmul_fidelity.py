"""mantissa.quant.lmul_fidelity: L-Mul on MiniLM operand pairs and whole layers."""

import pytest

from mantissa.quant.lmul_fidelity import dot_product_fidelity, minilm_operand_pairs


@pytest.mark.real
def test_minilm_pairs_and_dot_products():
    x, w, ios = minilm_operand_pairs(2, 100, 0, [0])
    assert len(x) == len(w) > 0 and (x != 0).all() and (w != 0).all() and len(ios) > 0
    res = dot_product_fidelity(ios[0], 4, [3, 4])
    assert set(res) == {f"dot_{k}_{m}" for k in ("lmul3", "lmul4", "e4m3fn", "e5m2")
                        for m in ("rel_error", "cosine")}
    assert res["dot_lmul4_rel_error"] < res["dot_lmul3_rel_error"] and 0.9 < res["dot_lmul4_cosine"] <= 1
