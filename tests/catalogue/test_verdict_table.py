"""The Markdown verdict table is read from the run records: every gate and claim, the bar, the
paper's number, mean ± SE over seeds, the reason for an inconclusive verdict, counts."""

import pytest
from stored_run import check, store_run

from mantissa.catalogue.verdict_table import MARKER, markdown


@pytest.fixture(autouse=True)
def _plugin():
    import tiny_experiment  # noqa: F401  (registers "tiny-test")


def _row(table: str, exp_id: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| `{exp_id}` |"))


def test_row_holds_gates_and_claims_with_values_bars_paper_and_seed_spread(tmp_path):
    checks = [check(0.9, True, kind="gate", description="base learned", op=">", threshold=0.5),
              check(0.031, False, kind="claim", description="a − b (mean − 2·SE)", op=">",
                    threshold=0.05, metric="gain_lcb", paper=0.2)]
    metrics = {"gain_mean": 0.07, "gain_se": 0.0195, "gain_seeds": 3, "gain_lcb": 0.031}
    store_run(tmp_path, "quick", "not reproduced", 2, metrics=metrics, checks=checks)
    table = markdown(tmp_path)
    row = _row(table, "tiny-test")
    gates, claims = row.split(" | ")[2:4]
    assert gates == "pass base learned: 0.9 > 0.5"
    assert claims.startswith("**FAIL** a − b (mean − 2·SE): 0.031 > 0.05")
    assert "paper: 0.2" in claims and "0.07 ± 0.019 over 3 seeds" in claims
    assert "| not reproduced |" in row
    assert table.startswith(MARKER) and "1 not reproduced" in table


def test_inconclusive_row_says_which_gate_failed_and_smoke_runs_are_not_tabled(tmp_path):
    store_run(tmp_path, "smoke", "reproduced", 1)
    assert "| `tiny-test` | not run |" in markdown(tmp_path)
    store_run(tmp_path, "quick", "inconclusive", 2, verdict_reason="gate failed: base learned",
              checks=[check(0.1, False, kind="gate", description="base learned", op=">", threshold=0.5)])
    row = _row(markdown(tmp_path), "tiny-test")
    assert "| inconclusive (gate failed: base learned) |" in row and "**FAIL** base learned" in row


def test_runs_of_several_seeds_are_judged_together(tmp_path):
    for seed, (value, stamp) in enumerate([(0.30, 1), (0.32, 2), (0.02, 3)]):
        store_run(tmp_path, "quick", "reproduced", stamp, seed=seed,
                  checks=[check(1.0, True, kind="gate", description="base learned", op=">", threshold=0.5),
                          check(value, value > 0.1, description="gain", op=">", threshold=0.1)])
    row = _row(markdown(tmp_path), "tiny-test")
    # mean 0.21333 - 2 SE (SE = 0.16773 / sqrt 3 = 0.096839) = 0.019655 < 0.1: the claim fails over
    # the seeds though two of the three runs passed it
    assert "| not reproduced (seeds 0, 1, 2) |" in row
    assert "**FAIL** gain: 0.01966 > 0.1" in row and "seeds 0: 0.3, 1: 0.32, 2: 0.02" in row
