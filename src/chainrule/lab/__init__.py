"""chainrule.lab: the classic coursework experiments as seeded, one-command runs.

``chainrule lab run NAME [--quick]`` writes ``runs/NAME/<timestamp>/`` with ``config.json``,
``metrics.json``, ``timing.json``, history CSVs, ``figures/*.png`` and ``report.md``;
``chainrule lab report`` gathers the latest run of each experiment into one HTML page.

How to add an experiment: see ``chainrule.lab.registry`` (module docstring).
"""

from .context import RunContext
from .registry import Experiment, get, names, register
from .runner import RunResult, run_all, run_experiment

__all__ = ["Experiment", "RunContext", "RunResult", "get", "names", "register", "run_all",
           "run_experiment"]
