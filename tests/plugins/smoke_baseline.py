"""The smoke-scale record every experiment is held to (``smoke_baseline.json``).

``test_catalogue_smoke.py`` runs each experiment at smoke scale, seed 0, and compares it with
this record: every metric (to 1e-3 relative), every check's pass/fail and the verdict. Metrics
that time something (``TIMING``) and the checks and verdicts that rest on them are left out:
they follow the machine's load. When an experiment changes on purpose, record it again::

    OMP_NUM_THREADS=1 MANTISSA_PROGRESS=0 python tests/plugins/smoke_baseline.py [ID ...]
"""

from __future__ import annotations

import json
import math
import re
import sys
import tempfile
from pathlib import Path

PATH = Path(__file__).with_name("smoke_baseline.json")
TIMING = re.compile(r"(time|latency|qps|seconds|_s$|_ms$|sdc_speedup)")


def timed(metric: str) -> bool:
    """Whether a metric measures time (and so follows the machine's load)."""
    return bool(TIMING.search(metric))


def snapshot(record) -> dict:
    """What is held steady of one run: metrics, each check's outcome, the verdict."""
    checks = {c["description"]: bool(c["passed"]) for c in record.checks if not timed(c["metric"] or "time")}
    steady = all(not timed(c["metric"] or "time") for c in record.checks)
    return {"verdict": record.verdict if steady else None,
            "metrics": {k: v for k, v in record.metrics.items() if not timed(k)},
            "checks": checks}


def differences(exp_id: str, record, base: dict) -> list[str]:
    """How a run departs from its recorded snapshot (empty when it does not)."""
    now, out = snapshot(record), []
    if set(now["metrics"]) != set(base["metrics"]):
        out.append(f"metric names differ: {sorted(set(now['metrics']) ^ set(base['metrics']))}")
    for key in sorted(set(now["metrics"]) & set(base["metrics"])):
        a, b = now["metrics"][key], base["metrics"][key]
        same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-6)
        if not same:
            out.append(f"{key}: {a!r} (recorded {b!r})")
    if now["checks"] != base["checks"]:
        out.append(f"check outcomes differ: {now['checks']} (recorded {base['checks']})")
    if now["verdict"] != base["verdict"]:
        out.append(f"verdict {now['verdict']} (recorded {base['verdict']})")
    return [f"{exp_id}: {d}" for d in out]


def main(ids: list[str]) -> None:
    from mantissa.catalogue.runner import run_experiment
    from mantissa.experiments import load_all

    data = json.loads(PATH.read_text()) if PATH.exists() else {}
    for exp_id in ids or load_all():
        with tempfile.TemporaryDirectory() as tmp:
            record = run_experiment(exp_id, "smoke", seed=0, out=tmp)
        if record.status != "ok":
            raise SystemExit(f"{exp_id} failed: {record.error}")
        data[exp_id] = snapshot(record)
        print(exp_id, record.verdict, flush=True)
    PATH.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
