"""Every experiment in the catalogue runs end to end at smoke scale."""

import json
import math

import pytest
from smoke_baseline import PATH, differences

from mantissa.catalogue.runner import run_experiment
from mantissa.data.wordnet import wordnet_available
from mantissa.experiments import EXPERIMENTS, SCALES, Verdict, load_all

IDS = load_all()
BASELINE = json.loads(PATH.read_text())


def test_every_module_imports():
    from mantissa.catalogue.discovery import LOAD_ERRORS

    assert not LOAD_ERRORS, LOAD_ERRORS


def test_catalogue_metadata():
    for exp_id, cls in EXPERIMENTS.items():
        exp = cls()
        assert exp.claim and exp.paper_figure and exp.title, exp_id
        for scale in SCALES:
            exp.config(scale)  # every scale preset names real config keys


@pytest.mark.parametrize("exp_id", IDS)
def test_smoke(exp_id, tmp_path):
    rec = run_experiment(exp_id, "smoke", seed=0, out=tmp_path)
    assert rec.status == "ok", rec.error
    assert rec.metrics and rec.verdict in {v.value for v in Verdict}
    assert all(isinstance(v, int | float) for v in rec.metrics.values())
    assert rec.checks, "an experiment must state at least one check"
    assert not all(math.isnan(c["value"]) for c in rec.checks), "every check value is missing"
    if not wordnet_available():  # the record is of runs on WordNet; the fallback texts differ
        return
    assert exp_id in BASELINE, f"no smoke record: run tests/plugins/smoke_baseline.py {exp_id}"
    diffs = differences(exp_id, rec, BASELINE[exp_id])
    assert not diffs, "the smoke run departs from its record (smoke_baseline.py):\n" + "\n".join(diffs)


def test_every_record_names_an_experiment():
    assert not set(BASELINE) - set(IDS), set(BASELINE) - set(IDS)
