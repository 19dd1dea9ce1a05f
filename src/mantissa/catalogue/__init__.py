"""The catalogue engine: the verdict protocol, discovery, the runner and its executors, the
run store, multi-seed aggregation and the reports.

* :mod:`.protocol` — ``Experiment``, ``Check``, ``Result``, ``judge`` (protocol v2);
* :mod:`.discovery` — finds the experiment modules (``load_all``, ``get_experiment``, pillars);
* :mod:`.runner` — ``run_experiment``: one run, recorded in the store;
* :mod:`.executors` — many runs on a local, process-pool or Ray executor;
* :mod:`.store`, :mod:`.record_shape` — the checksummed run folders;
* :mod:`.aggregate` — runs of several seeds judged together;
* :mod:`.report`, :mod:`.verdict_table` — the HTML report and the Markdown verdict table.
"""

from mantissa.catalogue.discovery import get_experiment, load_all
from mantissa.catalogue.protocol import EXPERIMENTS, Check, Experiment, Result, Verdict, judge, register
from mantissa.catalogue.runner import run_experiment

__all__ = ["EXPERIMENTS", "Check", "Experiment", "Result", "Verdict", "get_experiment", "judge", "load_all",
           "register", "run_experiment"]
