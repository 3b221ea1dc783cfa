"""The runner's tasks: the one place a new kind of evaluation is added (no AiiDA).

Each :class:`~aiida_limlip.runner.base.Task` declares its parameters (default, meaning, unit, check) and the kind of
output it makes: ``frames`` (one evaluated or relaxed structure per input), ``trajectory`` (an MD run per input: thermo
record, sampled frames, model deviation) or ``path`` (a nudged elastic band through the inputs). The CalcJob, the
parser and the work chains read these declarations; none of them has a case per task.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.units import GPa

from . import md, neb
from .base import (
    CONSTRAINTS,
    Parameter,
    Task,
    TaskContext,
    TaskFailedError,
    TaskInputError,
    TaskOutput,
    apply_constraints,
    boolean,
    evaluate,
    label_of,
    one_of,
    positive,
    positive_integer,
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

OPTIMIZERS = ('BFGS', 'FIRE', 'LBFGS')


def optimizer_class(name: str):
    """Return ASE's optimizer class ``name``."""
    from ase import optimize

    return {'BFGS': optimize.BFGS, 'FIRE': optimize.FIRE, 'LBFGS': optimize.LBFGS, 'MDMin': optimize.MDMin}[name]


def singlepoint(structures: list[Atoms], context: TaskContext, parameters: dict) -> TaskOutput:
    """Energy, forces and stress of every structure."""
    frames, summaries = [], []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = context.calculator()
        summaries.append(evaluate(atoms, stress=parameters['stress']))
        frames.append(atoms)
    return TaskOutput(frames, summaries)


def relax_structure(atoms: Atoms, context: TaskContext, parameters: dict) -> tuple[Atoms, dict[str, Any]]:
    """Relax one structure: the optimizer, then the fallback optimizer if it did not converge.

    Returns the relaxed Atoms (owning its results) and its summary: energy, forces are evaluated at the end;
    ``converged``, ``steps`` (all optimizers), ``optimizers`` used and ``fmax`` (the residual force, eV/Å).
    """
    from ase.filters import FrechetCellFilter

    atoms = atoms.copy()
    atoms.calc = context.calculator()
    apply_constraints(atoms, parameters['constraints'])
    if parameters['relax_cell']:
        target = FrechetCellFilter(
            atoms,
            hydrostatic_strain=parameters['hydrostatic_strain'],
            constant_volume=parameters['constant_volume'],
            scalar_pressure=parameters['pressure'] * GPa,
        )
    else:
        target = atoms
    steps, used, converged = 0, [], False
    runs = [(parameters['optimizer'], parameters['max_steps'])]
    if parameters['fallback_optimizer']:
        runs.append((parameters['fallback_optimizer'], parameters['fallback_steps'] or parameters['max_steps']))
    for name, limit in runs:
        optimizer = optimizer_class(name)(target, logfile=None)
        converged = bool(optimizer.run(fmax=parameters['fmax'], steps=limit))
        steps += int(optimizer.get_number_of_steps())
        used.append(name)
        if converged:
            break
    fmax = float(np.sqrt((target.get_forces() ** 2).sum(axis=1).max()))
    summary = evaluate(atoms)
    summary.update(converged=converged, steps=steps, optimizers=used, fmax=fmax)
    atoms.set_constraint()
    return atoms, summary


def relax(structures: list[Atoms], context: TaskContext, parameters: dict) -> TaskOutput:
    """Relax the positions (and, with ``relax_cell``, the cell) of every structure.

    A structure that does not reach ``fmax`` is accepted if its residual force is below ``accept_fmax``; otherwise
    the task fails, unless ``require_convergence`` is off (the summary then says ``converged: false`` and gives the
    residual, and the work chain decides).
    """
    frames, summaries = [], []
    for index, atoms in enumerate(structures):
        relaxed, summary = relax_structure(atoms, context, parameters)
        accepted = summary['converged'] or (
            parameters['accept_fmax'] is not None and summary['fmax'] <= parameters['accept_fmax']
        )
        if not accepted and parameters['require_convergence']:
            raise TaskFailedError(
                'not_converged',
                f'{label_of(atoms, index)} did not relax to fmax={parameters["fmax"]} eV/Å in {summary["steps"]} '
                f'steps ({" then ".join(summary["optimizers"])}); residual force {summary["fmax"]:.2e} eV/Å',
            )
        summary['accepted'] = accepted
        frames.append(relaxed)
        summaries.append(summary)
    return TaskOutput(frames, summaries)


def _check_relax(parameters: dict) -> str | None:
    if parameters['fallback_optimizer'] == parameters['optimizer']:
        return 'fallback_optimizer must differ from optimizer (or be null)'
    if parameters['accept_fmax'] is not None and parameters['accept_fmax'] < parameters['fmax']:
        return 'accept_fmax must be at least fmax'
    return None


RELAX_PARAMETERS = {
    'relax_cell': Parameter(False, 'also relax the cell (ASE FrechetCellFilter)', boolean),
    'hydrostatic_strain': Parameter(False, 'only allow isotropic cell changes', boolean),
    'constant_volume': Parameter(False, 'keep the volume fixed while relaxing the cell shape', boolean),
    'pressure': Parameter(0.0, 'external scalar pressure for the cell relaxation (GPa)'),
    'fmax': Parameter(1e-3, 'force threshold (eV/Å); for the cell, on stress x volume / atoms (eV)', positive),
    'max_steps': Parameter(500, 'steps of the optimizer', positive_integer),
    'optimizer': Parameter('BFGS', 'BFGS, FIRE or LBFGS', one_of(*OPTIMIZERS)),
    'fallback_optimizer': Parameter(
        'FIRE',
        'optimizer that continues from where `optimizer` stopped unconverged (FIRE copes with the rough energy '
        'surfaces of some potentials, e.g. MEAM slabs that stall BFGS near 1e-3 eV/Å); null: none',
        one_of(*OPTIMIZERS),
    ),
    'fallback_steps': Parameter(None, 'steps of the fallback optimizer (default: max_steps)', positive_integer),
    'require_convergence': Parameter(
        True, 'fail the task if a structure is not accepted; false: report it and go on', boolean
    ),
    'accept_fmax': Parameter(
        None, 'accept a structure whose residual force is below this (eV/Å) although it missed fmax', positive
    ),
    'constraints': CONSTRAINTS,
}

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
        Task(
            'relax',
            relax,
            'frames',
            RELAX_PARAMETERS,
            'Relax positions (and optionally the cell) of every structure; fall back to FIRE if needed.',
            check=_check_relax,
        ),
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
