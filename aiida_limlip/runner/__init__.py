"""Code that runs on the compute node: ASE tasks over a batch of structures (singlepoint, relax, md, neb).

Nothing here imports AiiDA. The ``limlip-runner`` executable reads ``aiida.in.json`` (task, parameters, potential
specification, optional ensemble) and ``structures.extxyz`` from its working directory. It writes ``frames.extxyz``
(every output frame with its own results), the records of MD runs and, last, ``results.json``; or ``error.json``
with a machine-readable reason when it cannot do its job. ``tasks.py`` is the one place a new task is added.
"""

from .calculators import PotentialSpecError, make_calculator_factory
from .tasks import TASKS, TaskInputError, get_task, validate_task_parameters

__all__ = (
    'TASKS',
    'PotentialSpecError',
    'TaskInputError',
    'get_task',
    'make_calculator_factory',
    'validate_task_parameters',
)
