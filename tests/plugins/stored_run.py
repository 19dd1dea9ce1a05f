"""A finished run written into a store the way the runner writes it (for report tests)."""

import json


def check(value, passed, **extra):
    return {"description": "|mean| below bar", "value": value, "op": "<", "threshold": 0.2,
            "passed": passed, **extra}


def store_run(root, scale, verdict, stamp, metrics=None, checks=None, exp_id="tiny-test", seed=0, **record):
    from mantissa.catalogue.store import seal_run

    run = root / exp_id / f"2026010{stamp}T000000-{scale}-s{seed}"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(
        {"experiment": exp_id, "scale": scale, "seed": seed, "started": f"2026-01-0{stamp}",
         "config": {"n": 10}}))
    (run / "metrics.json").write_text(json.dumps(
        {"metrics": metrics or {"abs_mean": 0.05}, "verdict": verdict,
         "checks": checks if checks is not None else [check(0.05, True)], "wall_s": 1.25, **record}))
    seal_run(run)
    return run
