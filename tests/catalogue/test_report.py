"""The HTML report rendered from fake stored runs: badges, numbers, layout, filters."""

import math
import re

import pytest
from stored_run import check as _check
from stored_run import store_run as _store

from mantissa.catalogue.discovery import load_all
from mantissa.catalogue.protocol import EXPERIMENTS
from mantissa.catalogue.report import PILLARS, fmt_number, pillar_of, render
from mantissa.catalogue.store import seal_run


@pytest.fixture(autouse=True)
def _plugin():
    import tiny_experiment  # noqa: F401  (registers "tiny-test")


def _section(page, exp_id):
    """The markup of one experiment's block (section or collapsed line)."""
    match = re.search(rf'<(section|details) class=\S+ id="{re.escape(exp_id)}".*?</\1>', page, re.S)
    assert match, exp_id
    return match.group(0)


def test_smoke_run_gets_the_pipeline_badge_never_reproduced(tmp_path):
    _store(tmp_path, "smoke", "reproduced", 1)
    page = render(tmp_path).read_text()
    assert "smoke: pipeline check" in page
    assert 'class="v reproduced"' not in page
    assert 'data-verdict="smoke"' in _section(page, "tiny-test")


def test_quick_verdicts_keep_their_badges(tmp_path):
    _store(tmp_path, "smoke", "reproduced", 1)
    _store(tmp_path, "quick", "reproduced", 2)
    page = render(tmp_path).read_text()
    tiny = _section(page, "tiny-test")
    assert 'class="v reproduced"' in tiny and "smoke: pipeline check" in tiny
    assert 'data-verdict="reproduced"' in tiny  # filtered by the quick verdict


def test_inconclusive_has_its_own_colour(tmp_path):
    _store(tmp_path, "quick", "inconclusive", 1)
    page = render(tmp_path).read_text()
    assert 'class="v inconclusive"' in page and ".inconclusive{" in page
    assert 'data-v="inconclusive"' in page  # and its own filter button


def test_numbers_are_formatted(tmp_path):
    metrics = {"ratio": 0.8699999999999999, "n": 100, "whole": 12.0, "bad": math.nan,
               "big": math.inf, "tiny": 1.234567e-7}
    run = _store(tmp_path, "quick", "partial", 1, metrics=metrics,
                 checks=[_check(0.8699999999999999, False)])
    (run / "table.csv").write_text("name,value\nratio,0.8699999999999999\ncount,3\n")
    seal_run(run)
    page = render(tmp_path).read_text()
    assert "0.8699999999999999" not in page
    assert ">0.87<" in page and ">100<" in page and ">12<" in page and ">3<" in page
    assert ">NaN<" in page and ">inf<" in page and ">1.235e-07<" in page


@pytest.mark.parametrize(("value", "shown"), [
    (0.8699999999999999, "0.87"), (3, "3"), (3.0, "3"), (-2.5, "-2.5"), (123456.7, "123457"),
    (1.234567e-7, "1.235e-07"), (math.nan, "NaN"), (math.inf, "inf"), (-math.inf, "-inf"),
    (1e20, "1e+20"), (True, "True"), (None, "None"), ("x", "x"),
])
def test_fmt_number(value, shown):
    assert fmt_number(value) == shown


def test_experiments_without_runs_are_one_line(tmp_path):
    _store(tmp_path, "quick", "reproduced", 1)
    page = render(tmp_path).read_text()
    line = _section(page, "lmul")
    assert line.startswith("<details class=notrun")
    summary = re.search(r"<summary>(.*?)</summary>", line, re.S).group(1)
    assert "\n" not in summary and "not run" in summary and 'href="#summary"' in summary
    assert "<h2" not in line and "<table" not in line
    assert "<section" in _section(page, "tiny-test")


def test_filter_controls_and_links_back(tmp_path):
    _store(tmp_path, "quick", "reproduced", 1)
    page = render(tmp_path).read_text()
    assert "<nav id=filters>" in page and "position:sticky" in page
    assert 'data-k="verdict"' in page and 'data-k="pillar"' in page and "<script>" in page
    for slug, label in PILLARS.items():
        assert f'data-v="{slug}"' in page and label.replace("&", "&amp;") in page
    assert "<table id=summary>" in page and 'href="#summary"' in _section(page, "tiny-test")
    assert 'data-pillar="formats"' in _section(page, "lmul")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing from the network


def test_paper_figure_beside_our_checks(tmp_path):
    _store(tmp_path, "quick", "reproduced", 1)
    page = render(tmp_path).read_text()
    tiny = _section(page, "tiny-test")
    assert "Paper's figure" in tiny and "|mean| &lt; 0.2" in tiny
    assert "<th>paper</th>" not in tiny  # the stored checks carry no paper number


def test_paper_number_column_when_checks_carry_one(tmp_path):
    _store(tmp_path, "quick", "reproduced", 1, checks=[_check(0.05, True, paper=0.012)])
    tiny = _section(render(tmp_path).read_text(), "tiny-test")
    assert "<th>paper</th>" in tiny and ">0.012<" in tiny


def test_every_catalogue_experiment_has_a_pillar():
    own = [i for i in load_all() if EXPERIMENTS.get(i).__module__.startswith("mantissa.")]
    assert [i for i in own if pillar_of(i, EXPERIMENTS.get(i)) not in PILLARS] == []
