"""The runner's tasks: the one place a new kind of evaluation is added (no AiiDA).

Each :class:`~aiida_limlip.runner.base.Task` declares its parameters (default, meaning, unit, check) and the kind of
output it makes: ``frames`` (one evaluated or relaxed structure per input), ``trajectory`` (an MD run per input: thermo
record, sampled frames, model deviation) or ``path`` (a nudged elastic band through the inputs). The CalcJob, the
parser and the work chains read these declarations; none of them has a case per task.
"""

from __future__ import annotations

from typing import Any

from ase import Atoms

from . import md, neb, relax
from .base import (
    Parameter,
    Task,
    TaskContext,
    TaskFailedError,
    TaskInputError,
    TaskOutput,
    boolean,
    evaluate,
)

#: Units of the numbers in the runner's results.
UNITS = {
    'energy': 'eV',
    'forces': 'eV/Å',
    'stress': 'eV/Å^3 (Voigt xx yy zz yz xz xy; positive = tensile)',
    'volume': 'Å^3',
    'fmax': 'eV/Å',
    **{f'thermo.{key}': unit for key, unit in md.THERMO_UNITS.items()},
    'path.energies': 'eV',
    'path.reaction_coordinate': 'Å',
    'path.barrier_forward': 'eV',
    'path.barrier_backward': 'eV',
}


def singlepoint(structures: list[Atoms], context: TaskContext, parameters: dict) -> TaskOutput:
    """Energy, forces and stress of every structure."""
    frames, summaries = [], []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = context.calculator()
        summaries.append(evaluate(atoms, stress=parameters['stress']))
        frames.append(atoms)
    return TaskOutput(frames, summaries)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            'singlepoint',
            singlepoint,
            'frames',
            {'stress': Parameter(True, 'compute the stress (periodic structures only)', boolean)},
            'Energy, forces and stress of every structure.',
            moves_atoms=False,
        ),
        relax.TASK,
        md.TASK,
        neb.TASK,
    )
}


def get_task(name: str) -> Task:
    """Return the task ``name``.

    Raises
    ------
    TaskInputError
        If there is no such task.
    """
    try:
        return TASKS[name]
    except KeyError:
        raise TaskInputError(f'unknown runner task {name!r}; available: {", ".join(sorted(TASKS))}') from None


def validate_task_parameters(task: str, parameters: dict | None) -> dict[str, Any]:
    """Return the full parameters of ``task``: its defaults updated with ``parameters``, each checked.

    Raises
    ------
    TaskInputError
        If the task is unknown, a parameter is not one of the task's, or a value is invalid.
    """
    return get_task(task).validate(parameters)


__all__ = ('TASKS', 'UNITS', 'TaskFailedError', 'TaskInputError', 'get_task', 'validate_task_parameters')
