"""Code that runs on the compute node: ASE, phonopy and pymatgen tasks over a batch of structures.

Nothing here imports AiiDA. The ``limlip-runner`` executable reads ``aiida.in.json`` (task, parameters, potential
specification) and ``structures.extxyz`` from its working directory, writes ``results.json`` (and, for relaxations,
``relaxed.extxyz``), or ``error.json`` with a machine-readable reason when it cannot do its job.
"""

from .calculators import PotentialSpecError, make_calculator_factory
from .tasks import TASKS, TaskInputError, validate_task_parameters

__all__ = (
    'TASKS',
    'PotentialSpecError',
    'TaskInputError',
    'make_calculator_factory',
    'validate_task_parameters',
)
