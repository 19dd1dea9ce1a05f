import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError, UnknownNameError
from mantissa.tasks import CharTokenizer, length_range, make_split, make_task, modular_table
from mantissa.tasks.arith import carry_chain
from mantissa.tasks.modular import evaluate_expression

FORMATS = ["plain", "reverse", "reverse_all", "scratch_simple", "scratch_detailed", "zero_pad:width=6",
           "random_space:p=0.4", "index_hints"]


def _decode_answer(fmt: str, answer: str) -> int:
    """Independent reading of each format's answer back to an integer."""
    if fmt.startswith("scratch"):
        answer = answer.split("|")[-1]
    if fmt == "index_hints":
        answer = "".join(c for c in answer if not c.isalpha())
    sign = -1 if answer.startswith("-") else 1
    digits = answer.lstrip("-")
    if fmt in ("reverse", "reverse_all", "random_space:p=0.4", "index_hints"):
        digits = digits[::-1]
    return sign * int(digits)


def _operands(fmt: str, prompt: str, op: str) -> tuple[int, int]:
    body = prompt.rstrip("<").rstrip("=").replace(" ", "")
    if fmt == "index_hints":
        body = "".join(c for c in body if not c.isalpha())
    rev = body.startswith("<")
    a, b = body.lstrip("<").split(op)
    return (int(a[::-1]), int(b[::-1])) if rev else (int(a), int(b))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("task,op,fn", [("add", "+", lambda a, b: a + b), ("mul", "*", lambda a, b: a * b),
                                        ("sub", "-", lambda a, b: a - b)])
def test_arithmetic_formats_are_exact(task, op, fn, fmt):
    if fmt.startswith("scratch") and task != "add":
        with pytest.raises(ConfigError):
            make_task(task, format=fmt).sample(np.random.default_rng(0), (2, 2))
        return
    t = make_task(task, format=fmt)
    rng = np.random.default_rng(1)
    for la, lb in [(1, 1), (3, 2), (5, 5)]:
        for _ in range(20):
            ex = t.sample(rng, (la, lb))
            a, b = _operands(fmt, ex.prompt, op)
            assert (len(str(a)), len(str(b))) == (la, lb) or fmt.startswith("zero_pad")
            assert _decode_answer(fmt, ex.answer) == fn(a, b), (ex, fmt)


def test_digit_order_is_stated_in_the_data():
    rng = np.random.default_rng(0)
    assert make_task("add", format="plain").sample(rng, (2, 2)).prompt.endswith("=")
    assert make_task("add", format="reverse").sample(rng, (2, 2)).prompt.endswith("=<")
    assert make_task("add", format="reverse_all").sample(rng, (2, 2)).prompt.startswith("<")


def test_scratchpad_carries():
    t = make_task("add", format="scratch_detailed")
    ex = t.render(95, 7, np.random.default_rng(0))
    assert ex.answer == "5+7+0=12,A->2,C->1;9+0+1=10,A->0,C->1;|102"
    assert carry_chain(95, 7) == 2 and carry_chain(9999, 1) == 4 and carry_chain(12, 12) == 0


def test_split_is_disjoint_and_deduplicated():
    t = make_task("add", format="reverse")
    sp = make_split(t, [(n, n) for n in range(1, 4)], [(5, 5), (6, 6)], 500, 50, seed=0, disjoint=True)
    prompts = [e.prompt for e in sp.train]
    assert len(set(prompts)) == len(prompts)
    assert not set(prompts) & {e.prompt for e in sp.test}
    assert {e.length for e in sp.test} == {(5, 5), (6, 6)}
    with pytest.raises(ConfigError, match="overlap"):
        make_split(t, [(3, 3)], [(3, 3)], 10, 10, seed=0, disjoint=True)


def test_split_is_seeded():
    t = make_task("sort")
    a = make_split(t, [(5,)], [(9,)], 50, 5, seed=3)
    b = make_split(t, [(5,)], [(9,)], 50, 5, seed=3)
    assert a.train == b.train and a.test == b.test


def test_small_buckets_run_out_gracefully():
    t = make_task("add", format="plain")
    ex = t.generate(1000, [(1, 1)], seed=0)
    assert len(ex) == 100  # only 10 x 10 one-digit problems exist


def test_sort_and_hint():
    t = make_task("sort:hint=true,hint_frac=0.5")
    rng = np.random.default_rng(0)
    for _ in range(50):
        ex = t.sample(rng, (8,))
        if "hint" in ex.tags:
            seq, x = ex.prompt[:-1].split("|")
            bigger = sorted(c for c in seq if c > x)
            assert ex.answer == (bigger[0] if bigger else ".")
        else:
            assert ex.answer == "".join(sorted(ex.prompt[:-1]))


def test_expressions_and_cot():
    rng = np.random.default_rng(0)
    direct, cot = make_task("expr:p=11"), make_task("expr:p=11,cot=true")
    for n in (1, 3, 4):
        for _ in range(20):
            ex = direct.sample(rng, (n,))
            assert int(ex.answer) == evaluate_expression(ex.prompt[:-1], 11)
            ex = cot.sample(rng, (n,))
            steps = ex.answer.split("=")
            assert len(steps) == n  # one operation per step
            assert int(steps[-1]) == evaluate_expression(ex.prompt[:-1], 11)
            for s in steps:  # every step keeps the value
                assert evaluate_expression(s, 11) == evaluate_expression(ex.prompt[:-1], 11)


def test_expression_table_is_every_one_operator_expression():
    for spec in ("expr:p=11", "expr:p=11,cot=true"):
        task = make_task(spec)
        table = task.table()
        assert len(table) == len({e.prompt for e in table}) == 3 * 11 * 11
        assert all(e.length == (1,) for e in table)
        assert all(int(e.answer) == evaluate_expression(e.prompt[:-1], 11) for e in table)
        sampled = {(e.prompt, e.answer) for e in task.generate(2000, [(1,)], seed=0)}
        assert sampled == {(e.prompt, e.answer) for e in table}  # the same examples training draws
    assert len(make_task("expr:p=5,ops=*").table()) == 25


def test_binary_successor_edge_cases():
    t = make_task("binsucc:edge_ones=3")
    rng = np.random.default_rng(0)
    typical, edge = t.probe_sets(rng, 8, 30)
    for ex in typical + edge:
        assert int(ex.answer, 2) == int(ex.prompt[:-1], 2) + 1 and len(ex.prompt) == 9
    assert all("edge" in e.tags for e in edge) and all("typical" in e.tags for e in typical)
    assert all(e.prompt[:-1].endswith("111") for e in edge)


def test_tree_traversal_and_successor_and_parity():
    rng = np.random.default_rng(0)
    ex = make_task("traverse").sample(rng, (5,))
    assert sorted(ex.answer) == sorted(c for c in ex.prompt if c.isalpha()) and len(ex.answer) == 5
    ex = make_task("successor:kind=months").sample(rng, (3,))
    assert len(ex.prompt.split()) == 3 and len(ex.answer) == 3
    ex = make_task("parity").sample(rng, (9,))
    assert int(ex.answer) == ex.prompt.count("1") % 2
    ex = make_task("reverse").sample(rng, (6,))
    assert ex.answer == ex.prompt[:-1][::-1]


def test_modular_table_corruption():
    d = modular_table(p=13, op="add", train_frac=0.5, corrupt=0.2, seed=0)
    n = len(d.train_x)
    assert n + len(d.test_x) == 169
    assert torch.equal(d.train_true, (d.train_x[:, 0] + d.train_x[:, 1]) % 13)
    assert (d.train_y != d.train_true).sum() == d.corrupted.sum() == round(0.2 * n)
    assert torch.equal(d.test_y, (d.test_x[:, 0] + d.test_x[:, 1]) % 13)


def test_tokenizer_roundtrip_and_mask():
    tok = CharTokenizer()
    ids, mask = tok.encode_example("12+3=", "15")
    assert tok.decode(ids) == "^12+3=15$" and mask == [False] * 6 + [True] * 3
    b = tok.batch([("1+1=", "2"), ("12+13=", "25")])
    assert b["idx"].shape == b["mask"].shape == (2, 10) and b["idx"][0, -1] == tok.pad_id
    assert len(tok.digit_ids) == 10
    with pytest.raises(ConfigError, match="vocabulary"):
        tok.encode("€")


def test_bad_input():
    with pytest.raises(UnknownNameError, match="add"):
        make_task("addd")
    with pytest.raises(UnknownNameError, match="reverse"):
        make_task("add", format="revers")
    with pytest.raises(ConfigError, match="arithmetic"):
        make_task("sort", format="reverse")
    with pytest.raises(ConfigError, match="length range"):
        length_range("1-x")
    assert length_range("1-3,7") == [1, 2, 3, 7]
    with pytest.raises(ConfigError):
        make_task("add").sample(np.random.default_rng(0), (0, 3))
