import pytest
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.merge import blocks, check_compatible, combine, task_vector, task_vectors


def _sd(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"a.weight": torch.randn(3, 4, generator=g), "a.bias": torch.randn(3, generator=g),
            "pos": torch.arange(5)}


def test_task_vector_is_difference_in_float64():
    base, ft = _sd(0), _sd(1)
    tv = task_vector(base, ft)
    assert set(tv) == {"a.weight", "a.bias"}  # integer buffers are not merged
    assert torch.allclose(tv["a.weight"].double(), ft["a.weight"].double() - base["a.weight"].double())


def test_combine_recovers_finetuned_and_keeps_buffers():
    base, ft = _sd(0), _sd(1)
    out = combine(base, [task_vector(base, ft)], [1.0])
    assert torch.allclose(out["a.weight"], ft["a.weight"], atol=1e-6)
    assert torch.equal(out["pos"], base["pos"])
    assert out["pos"].dtype == torch.int64


def test_combine_per_block_coefficients():
    base, ft1, ft2 = _sd(0), _sd(1), _sd(2)
    tvs = task_vectors(base, [ft1, ft2])
    coeffs = [{"a.weight": 0.5, "a.bias": 0.0}, {"a.weight": 0.0, "a.bias": 2.0}]
    out = combine(base, tvs, coeffs)
    assert torch.allclose(out["a.weight"], base["a.weight"] + 0.5 * tvs[0]["a.weight"])
    assert torch.allclose(out["a.bias"], base["a.bias"] + 2.0 * tvs[1]["a.bias"])


def test_mismatched_architectures_name_key_and_shapes():
    base = _sd(0)
    bad = dict(_sd(1), **{"a.weight": torch.zeros(4, 4)})
    with pytest.raises(ShapeError, match=r"'a.weight'.*\(4, 4\).*\(3, 4\)"):
        check_compatible(base, [bad])
    missing = {k: v for k, v in _sd(1).items() if k != "a.bias"}
    with pytest.raises(ShapeError, match="'a.bias' is missing"):
        task_vectors(base, [missing])


def test_empty_inputs_refused():
    with pytest.raises(ConfigError):
        task_vectors(_sd(0), [])
    with pytest.raises(ShapeError):
        check_compatible({}, [_sd(0)])


def test_blocks():
    keys = ["l1.weight", "l1.bias", "l2.weight"]
    assert blocks(keys, "module") == {"l1": ["l1.weight", "l1.bias"], "l2": ["l2.weight"]}
    assert len(blocks(keys, "tensor")) == 3 and blocks(keys, "all") == {"all": keys}
    with pytest.raises(ConfigError):
        blocks(keys, "layer")
