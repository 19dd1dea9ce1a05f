import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.models.mlp import ModMLP, ModMLPConfig


def test_gathered_first_layer_equals_one_hot_matmul():
    torch.manual_seed(0)
    m = ModMLP(ModMLPConfig(p=7, hidden=16, act="quadratic"))
    ab = torch.tensor([[0, 3], [6, 6], [2, 5]])
    oh = torch.nn.functional.one_hot
    onehot = torch.cat([oh(ab[:, 0], 7), oh(ab[:, 1], 7)], 1)
    ref = m.w2((onehot.float() @ m.w1.weight.T) ** 2)
    assert torch.allclose(m(ab), ref, atol=1e-6)


def test_neuron_mask_prunes():
    m = ModMLP(ModMLPConfig(p=5, hidden=8, act="relu"))
    m.neuron_mask.zero_()
    assert torch.count_nonzero(m(torch.tensor([[1, 2]]))) == 0


def test_bad_config():
    with pytest.raises(ConfigError, match="quadratic"):
        ModMLPConfig(act="tanh")
    with pytest.raises(ConfigError):
        ModMLP(ModMLPConfig(p=5)).hidden(torch.zeros(3, dtype=torch.long))
