import pytest
import torch

from mantissa.errors import ShapeError
from mantissa.probe.successor import copy_score, mod10_probe, ov_logits, succession_score


def test_succession_score_of_a_shift_circuit_is_one():
    n, d = 12, 16
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(0)))
    e = q[:n]  # orthonormal token embeddings
    shift = torch.roll(torch.eye(n), 1, dims=1)  # token i -> i + 1
    w = e.T @ shift.T @ e  # d x d map sending e_i to e_{i+1}
    logits = ov_logits(e, w, torch.eye(d), e)
    assert succession_score(logits) == 1.0
    assert copy_score(logits) == 0.0
    assert copy_score(ov_logits(e, torch.eye(d), torch.eye(d), e)) == 1.0


def test_scores_by_hand():
    logits = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    assert succession_score(logits) == pytest.approx(0.5)  # row 0 -> 1 yes, row 1 -> 0 no
    with pytest.raises(ShapeError):
        succession_score(torch.zeros(3, 4))
    with pytest.raises(ShapeError):
        ov_logits(torch.zeros(3, 4), torch.zeros(2, 5), torch.zeros(4, 2), torch.zeros(3, 4))


def test_mod10_probe_finds_planted_feature_and_control_is_chance():
    g = torch.Generator().manual_seed(0)
    nums = list(range(400))
    planted = torch.nn.functional.one_hot(torch.tensor(nums) % 10, 10).float()
    feats = torch.cat([planted, torch.randn(400, 6, generator=g)], 1)
    feats = feats + 0.15 * torch.randn(400, 16, generator=g)
    assert mod10_probe(feats, nums)["test_acc"] > 0.9
    assert mod10_probe(torch.randn(400, 8, generator=g), nums)["test_acc"] < 0.3
    with pytest.raises(ShapeError):
        mod10_probe(feats[:10], nums)


def test_shuffled_order_null_scores_a_shift_circuit_low_and_random_heads_near_chance():
    from mantissa.probe.successor import shuffled_order_null

    n, d = 40, 64
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(0)))
    e = q[:n]
    shift = torch.roll(torch.eye(n), 1, dims=1)
    heads = [e.T @ shift.T @ e]  # one perfect successor head over tokens 0..n-1

    def scores(ids):
        x = e[torch.as_tensor(ids)]
        return torch.tensor([succession_score(ov_logits(x, w, torch.eye(d), x)) for w in heads])

    assert scores(list(range(n))).max() == 1.0
    null = shuffled_order_null(scores, list(range(n)), n_perm=10)
    assert null.shape == (10,) and float(null.max()) < 0.2  # a random order is not the head's order


def test_number_states_take_the_number_token_of_every_layer():
    from mantissa.probe.successor import number_states

    class _Encoder:
        def forward_hidden(self, texts, all_layers):
            n = torch.tensor([float(t.split()[2]) for t in texts])
            pos = torch.arange(6).float()
            return [(n[:, None, None] * 10 + pos[None, :, None] + layer).expand(-1, -1, 2)
                    for layer in range(3)], None

    states = number_states(_Encoder(), [1, 2, 3, 4, 5], batch=2)
    assert len(states) == 3 and states[0].shape == (5, 2)
    assert states[2][:, 0].tolist() == [10 * n + 3 + 2 for n in (1, 2, 3, 4, 5)]
