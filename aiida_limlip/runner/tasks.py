"""Tasks of the runner: each evaluates one potential over a batch of structures.

A task is a function ``(structures, calculator_factory, parameters) -> (frames, output_structures)``, where
``frames`` is a list of JSON-serialisable dictionaries (one per input structure, in order) and ``output_structures``
a list of ``Atoms`` (or ``None`` when the task produces no new structures). Units are ASE's: eV, Å, eV/Å, eV/Å^3;
stresses are in ASE's sign convention (positive = tensile, pressure = -trace/3) and Voigt order xx, yy, zz, yz, xz, xy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError
from ase.calculators.singlepoint import SinglePointCalculator

from ..analysis.structures import scale_to_volume

CalculatorFactory = Callable[[], Calculator]
TaskResult = tuple[list[dict[str, Any]], list[Atoms] | None]

UNITS = {
    'energy': 'eV',
    'forces': 'eV/Å',
    'stress': 'eV/Å^3 (Voigt xx yy zz yz xz xy; positive = tensile)',
    'volume': 'Å^3',
    'pressure': 'eV/Å^3 (positive = compressed)',
    'fmax': 'eV/Å',
}


class TaskInputError(ValueError):
    """The task name or its parameters are invalid."""


class TaskFailedError(RuntimeError):
    """The task ran but could not produce its result (e.g. a relaxation did not converge)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Task:
    """A named runner task, its function, its default parameters and what each parameter means."""

    name: str
    function: Callable[..., TaskResult]
    defaults: dict[str, Any] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)


def _evaluate(atoms: Atoms, want_stress: bool = True) -> dict[str, Any]:
    """Return energy, forces and (if the calculator provides it) stress of ``atoms``.

    The calculator is then replaced by a single-point calculator holding exactly these values: ``atoms`` carries its
    own results from here on. Machine-learning calculators are shared by the structures of a batch (loading the model
    is the slow part), and a shared calculator's results belong to whichever structure it evaluated last.
    """
    frame: dict[str, Any] = {
        'natoms': len(atoms),
        'energy': float(atoms.get_potential_energy()),
        'forces': atoms.get_forces().tolist(),
        'volume': float(atoms.get_volume()),
    }
    if want_stress and all(atoms.pbc):
        try:
            frame['stress'] = atoms.get_stress(voigt=True).tolist()
        except PropertyNotImplementedError:
            frame['stress'] = None
    results = {'energy': frame['energy'], 'forces': np.array(frame['forces'])}
    if frame.get('stress') is not None:
        results['stress'] = np.array(frame['stress'])
    atoms.calc = SinglePointCalculator(atoms, **results)
    return frame


def singlepoint(structures: list[Atoms], factory: CalculatorFactory, parameters: dict) -> TaskResult:
    """Energy, forces and stress of every structure."""
    frames = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = factory()
        frames.append(_evaluate(atoms, want_stress=parameters['stress']))
    return frames, None


def _optimizer(name: str):
    from ase import optimize

    try:
        return {'BFGS': optimize.BFGS, 'FIRE': optimize.FIRE, 'LBFGS': optimize.LBFGS}[name]
    except KeyError as exception:
        raise TaskInputError(f'unknown optimizer {name!r}; choose BFGS, FIRE or LBFGS') from exception


def _relax_one(atoms: Atoms, factory: CalculatorFactory, parameters: dict) -> tuple[Atoms, dict[str, Any]]:
    from ase.filters import FrechetCellFilter

    atoms = atoms.copy()
    atoms.calc = factory()
    if parameters['relax_cell']:
        target = FrechetCellFilter(
            atoms,
            hydrostatic_strain=parameters['hydrostatic_strain'],
            constant_volume=parameters['constant_volume'],
            scalar_pressure=parameters['pressure'],
        )
    else:
        target = atoms
    optimizer = _optimizer(parameters['optimizer'])(target, logfile=None)
    converged = bool(optimizer.run(fmax=parameters['fmax'], steps=parameters['max_steps']))
    fmax = float(np.sqrt((target.get_forces() ** 2).sum(axis=1).max()))
    frame = _evaluate(atoms)
    frame['converged'] = converged
    frame['steps'] = int(optimizer.get_number_of_steps())
    frame['fmax'] = fmax
    return atoms, frame


def relax(structures: list[Atoms], factory: CalculatorFactory, parameters: dict) -> TaskResult:
    """Relax positions (and, with ``relax_cell``, the cell) of every structure; fails if any does not converge."""
    frames, relaxed = [], []
    for index, atoms in enumerate(structures):
        final, frame = _relax_one(atoms, factory, parameters)
        if not frame['converged'] and parameters['require_convergence']:
            raise TaskFailedError(
                'not_converged',
                f'structure {index} did not relax to fmax={parameters["fmax"]} eV/Å in {parameters["max_steps"]} '
                f'steps (reached {frame["fmax"]:.2e})',
            )
        frames.append(frame)
        relaxed.append(final)
    return frames, relaxed


def eos(structures: list[Atoms], factory: CalculatorFactory, parameters: dict) -> TaskResult:
    """Energy and pressure on a grid of isotropically scaled volumes around every structure.

    ``volume_strains`` are fractional volume changes: V = V_input * (1 + strain). With ``relax_positions`` the
    atoms relax at each fixed cell (needed for structures with free internal coordinates, not for bcc).
    """
    strains = [float(s) for s in parameters['volume_strains']]
    if len(strains) < 5:
        raise TaskInputError('volume_strains needs at least 5 values for an equation-of-state fit')
    if min(strains) <= -1.0:
        raise TaskInputError('volume_strains must be larger than -1 (a positive volume)')
    frames = []
    for atoms in structures:
        volumes, energies, pressures = [], [], []
        for strain in strains:
            scaled = scale_to_volume(atoms, atoms.get_volume() * (1.0 + strain))
            if parameters['relax_positions']:
                scaled, frame = _relax_one(
                    scaled, factory, {**RELAX_DEFAULTS, 'relax_cell': False, 'fmax': parameters['fmax']}
                )
            else:
                scaled.calc = factory()
                frame = _evaluate(scaled)
            volumes.append(frame['volume'])
            energies.append(frame['energy'])
            stress = frame.get('stress')
            pressures.append(-sum(stress[:3]) / 3.0 if stress is not None else None)
        frames.append({'natoms': len(atoms), 'volumes': volumes, 'energies': energies, 'pressures': pressures})
    return frames, None


RELAX_DEFAULTS = {
    'relax_cell': False,
    'hydrostatic_strain': False,
    'constant_volume': False,
    'pressure': 0.0,
    'fmax': 1e-3,
    'max_steps': 500,
    'optimizer': 'BFGS',
    'require_convergence': True,
}

TASKS: dict[str, Task] = {
    'singlepoint': Task(
        'singlepoint',
        singlepoint,
        {'stress': True},
        {'stress': 'compute the stress (periodic structures only)'},
    ),
    'relax': Task(
        'relax',
        relax,
        RELAX_DEFAULTS,
        {
            'relax_cell': 'also relax the cell (ASE FrechetCellFilter)',
            'hydrostatic_strain': 'only allow isotropic cell changes',
            'constant_volume': 'keep the volume fixed while relaxing the cell shape',
            'pressure': 'external scalar pressure (eV/Å^3)',
            'fmax': 'force convergence threshold (eV/Å); for the cell, on stress times volume per atom',
            'max_steps': 'maximum number of optimizer steps',
            'optimizer': 'BFGS, FIRE or LBFGS',
            'require_convergence': 'fail the task if a structure does not reach fmax',
        },
    ),
    'eos': Task(
        'eos',
        eos,
        {
            'volume_strains': [-0.06, -0.045, -0.03, -0.015, 0.0, 0.015, 0.03, 0.045, 0.06],
            'relax_positions': False,
            'fmax': 1e-3,
        },
        {
            'volume_strains': 'fractional volume changes V/V_input - 1 of the grid (at least 5)',
            'relax_positions': 'relax the atoms at each fixed volume',
            'fmax': 'force threshold (eV/Å) for relax_positions',
        },
    ),
}


def validate_task_parameters(task: str, parameters: dict | None) -> dict[str, Any]:
    """Return the full parameters of ``task``: its defaults updated with ``parameters``.

    Raises
    ------
    TaskInputError
        If the task is unknown or a parameter is not one of the task's.
    """
    if task not in TASKS:
        raise TaskInputError(f'unknown runner task {task!r}; available: {", ".join(sorted(TASKS))}')
    parameters = dict(parameters or {})
    unknown = sorted(set(parameters) - set(TASKS[task].defaults))
    if unknown:
        raise TaskInputError(
            f'unknown parameter(s) {unknown} for task {task!r}; allowed: {", ".join(sorted(TASKS[task].defaults))}'
        )
    return {**TASKS[task].defaults, **parameters}
