"""mantissa.plot: the generic curves and grouped-bars figures."""

from mantissa import plot


def test_curves_draws_one_line_per_series(tmp_path):
    fig = plot.curves({"a": [(0, 1.0), (1, 0.5)], "b": [(0, 2.0), (2, 1.0)]}, xlabel="step", ylabel="loss",
                      title="t")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert list(ax.lines[1].get_xdata()) == [0, 2] and ax.get_xlabel() == "step"
    assert plot.save(fig, tmp_path / "c.png").stat().st_size > 0


def test_grouped_bars_draws_one_bar_per_series_and_position():
    fig = plot.grouped_bars({"a": [1.0, 2.0], "b": [3.0, 4.0]}, [2, 3], ["2-bit", "3-bit"], ylabel="err",
                            log=True)
    ax = fig.axes[0]
    assert len(ax.patches) == 4 and ax.get_yscale() == "log" and ax.get_ylabel() == "err"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2-bit", "3-bit"]


def test_seed_bars_draws_mean_bars_and_seed_dots():
    fig, ax = plot.figure()
    plot.seed_bars(ax, [[90.0, 92.0], [50.0, 60.0]], ["a", "b"], ylabel="acc", title="t")
    assert [p.get_height() for p in ax.patches] == [91.0, 55.0] and len(ax.collections) == 2
    assert ax.get_ylim() == (45.0, 100.0) and ax.get_title() == "t"
