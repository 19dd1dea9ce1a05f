"""mantissa.arith.bit_allocation: greedy mixed widths under an average-bits budget."""

import pytest

from mantissa.arith.bit_allocation import allocate_bits, mixed_allocation


def test_mixed_allocation_upgrades_the_most_sensitive_layer():
    errors = {("a", 2): 0.5, ("a", 3): 0.1, ("b", 2): 0.2, ("b", 3): 0.15}
    sizes = {"a": 100, "b": 100}
    avg, err = mixed_allocation(errors, sizes, [2, 3], 2.5)
    squared = {n: {b: errors[(n, b)] ** 2 for b in (2, 3)} for n in sizes}
    assert allocate_bits(squared, sizes, 2.5) == {"a": 3, "b": 2}
    assert avg == pytest.approx(2.5) and err == pytest.approx((0.1 + 0.2) / 2)
