"""mantissa.plot: the generic curves figure."""

from mantissa import plot


def test_curves_draws_one_line_per_series(tmp_path):
    fig = plot.curves({"a": [(0, 1.0), (1, 0.5)], "b": [(0, 2.0), (2, 1.0)]}, xlabel="step", ylabel="loss",
                      title="t")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert list(ax.lines[1].get_xdata()) == [0, 2] and ax.get_xlabel() == "step"
    assert plot.save(fig, tmp_path / "c.png").stat().st_size > 0
