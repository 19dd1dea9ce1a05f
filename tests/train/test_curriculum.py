import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.tasks import CharTokenizer, make_task
from mantissa.train import TrainConfig
from mantissa.train.curriculum import CurriculumBatches, example_level
from mantissa.train.lm import TensorBatches
from mantissa.train.pipeline import DataConfig, training_batches


def data_with_levels(levels):
    n = len(levels)
    return {"idx": torch.tensor(levels)[:, None].repeat(1, 3), "mask": torch.ones(n, 3, dtype=torch.bool)}


def drawn_levels(batches, step):
    return set(batches(step)["idx"][:, 0].tolist())


def test_stages_phase_levels_in_then_draw_everything():
    levels = [1] * 20 + [2] * 20 + [3] * 20
    b = CurriculumBatches(data_with_levels(levels), levels, batch_size=8, steps=100, ramp=0.6)
    assert b.levels == [1, 2, 3] and b.ramp_steps == 60
    assert [b.level_at(s) for s in (0, 19, 20, 39, 40, 59, 60, 99)] == [1, 1, 2, 2, 3, 3, 3, 3]
    assert all(drawn_levels(b, s) == {1} for s in range(20))
    assert all(drawn_levels(b, s) <= {1, 2} for s in range(20, 40))
    assert set().union(*(drawn_levels(b, s) for s in range(20, 40))) == {1, 2}  # earlier levels stay in
    assert set().union(*(drawn_levels(b, s) for s in range(60, 100))) == {1, 2, 3}


def test_stage_start_inverts_stage_at():
    levels = [1, 2, 3, 4, 5, 6, 7]
    b = CurriculumBatches(data_with_levels(levels), levels, batch_size=2, steps=1000, ramp=0.37)
    for stage in range(len(b.levels)):
        start = b.stage_start(stage)
        assert b.stage_at(start) == stage and (start == 0 or b.stage_at(start - 1) == stage - 1)


def test_batches_are_a_pure_function_of_the_step():
    levels = [1, 2, 3] * 10
    a = CurriculumBatches(data_with_levels(levels), levels, batch_size=4, steps=50, seed=3)
    b = CurriculumBatches(data_with_levels(levels), levels, batch_size=4, steps=50, seed=3)
    for step in (45, 3, 17, 3, 0, 30):  # any order, as a resumed run asks
        assert torch.equal(a(step)["idx"], b(step)["idx"])


def test_one_level_is_plain_batching():
    levels = [4] * 10
    data = data_with_levels(levels)
    cur = CurriculumBatches(data, levels, batch_size=3, steps=20, seed=1)
    plain = TensorBatches(data, batch_size=3, seed=1)
    assert all(torch.equal(cur(s)["idx"], plain(s)["idx"]) for s in range(20))


@pytest.mark.parametrize("ramp", [0.0, -0.5, 1.5])
def test_ramp_must_be_a_fraction(ramp):
    with pytest.raises(ConfigError, match="ramp"):
        CurriculumBatches(data_with_levels([1, 2]), [1, 2], batch_size=2, steps=10, ramp=ramp)


def test_levels_must_match_the_examples():
    with pytest.raises(ConfigError, match="one curriculum level per example"):
        CurriculumBatches(data_with_levels([1, 2, 3]), [1, 2], batch_size=2, steps=10)


def test_example_level_is_the_longest_length():
    task = make_task("add", format="reverse")
    ex = task.generate(1, [(2, 5)], seed=0)[0]
    assert example_level(ex) == 5
    assert example_level(make_task("expr").generate(1, [(3,)], seed=0)[0]) == 3


def test_pipeline_uses_the_curriculum_when_asked():
    task = make_task("add", format="reverse")
    examples = task.generate(60, [(1, 1), (2, 2), (3, 3)], seed=0)
    train = TrainConfig(steps=30, batch_size=4)
    tok = CharTokenizer()
    assert isinstance(training_batches(DataConfig(), tok, examples, train), TensorBatches)
    cur = training_batches(DataConfig(curriculum=0.5), tok, examples, train)
    assert isinstance(cur, CurriculumBatches) and cur.levels == [1, 2, 3] and cur.ramp_steps == 15
    assert cur(0)["idx"].shape[1] <= len("^9+9=<81$")  # 1-digit sums only at first
    assert cur(29)["idx"].shape[1] > len("^9+9=<81$")
