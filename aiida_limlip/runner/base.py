"""What every runner task is made of (no AiiDA).

Declared parameters, a context with the potential, and frames that own their results.

Units are ASE's metal units (eV, Å, fs) except where a parameter's help says otherwise (GPa for pressures, K for
temperatures). Stresses follow ASE's sign (positive = tensile) in Voigt order xx, yy, zz, yz, xz, xy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError
from ase.calculators.singlepoint import SinglePointCalculator

CalculatorFactory = Callable[[], Calculator]

#: What a task returns, and therefore which files the runner writes and which nodes the parser makes.
OUTPUT_KINDS = ('frames', 'trajectory', 'path')


class TaskInputError(ValueError):
    """The task name, its parameters or its structures are invalid."""


class TaskFailedError(RuntimeError):
    """The task ran but could not produce its result (e.g. a relaxation did not converge).

    ``reason`` is machine-readable (``not_converged``, ``nan``, ``task``) and chooses the CalcJob's exit code.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Parameter:
    """A task parameter: its default, what it means (with its unit) and an optional check of its value.

    ``check`` returns an error message for a bad value, or None.
    """

    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None


def positive(value) -> str | None:
    """Check for a positive number."""
    return None if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else 'must be > 0'


def non_negative(value) -> str | None:
    """Check for a number >= 0."""
    return None if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else 'must be >= 0'


def non_negative_integer(value) -> str | None:
    """Check for an integer >= 0."""
    return None if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 'must be an integer >= 0'


def positive_integer(value) -> str | None:
    """Check for an integer >= 1."""
    return None if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 'must be an integer >= 1'


def boolean(value) -> str | None:
    """Check for a boolean."""
    return None if isinstance(value, bool) else 'must be true or false'


def one_of(*choices) -> Callable[[Any], str | None]:
    """Return a check that the value is one of ``choices``."""
    return lambda value: None if value in choices else f'must be one of {", ".join(map(repr, choices))}'


def check_constraints(value) -> str | None:
    """Check a ``constraints`` parameter (see :data:`CONSTRAINTS`)."""
    if not isinstance(value, dict):
        return 'must be a mapping'
    unknown = set(value) - {'fixed_atoms', 'fixed_below', 'fixed_directions'}
    if unknown:
        return f'unknown keys {sorted(unknown)}; use fixed_atoms, fixed_below, fixed_directions'
    if any(not isinstance(i, int) or isinstance(i, bool) for i in value.get('fixed_atoms', [])):
        return 'fixed_atoms must be a list of atom indices'
    below = value.get('fixed_below')
    if below is not None and non_negative(below):
        return 'fixed_below must be a distance >= 0 (Å)'
    for index, mask in (value.get('fixed_directions') or {}).items():
        try:
            int(index)
        except (TypeError, ValueError):
            return f'fixed_directions keys are atom indices, got {index!r}'
        if not (isinstance(mask, list | tuple) and len(mask) == 3 and all(isinstance(m, bool) for m in mask)):
            return f'fixed_directions[{index}] must be three booleans (true = fixed along x, y, z), got {mask!r}'
    return None


#: The ``constraints`` parameter of the tasks that move atoms.
CONSTRAINTS = Parameter(
    {},
    'atoms held during the task: `fixed_atoms` (indices; negative counts from the end), `fixed_below` (Å: every '
    'atom closer than this to the lowest one, e.g. the bottom of a slab) and `fixed_directions` ({index: [x, y, z]}, '
    'true = held along that Cartesian direction, e.g. an adatom relaxed only along z: [true, true, false])',
    check_constraints,
)


def apply_constraints(atoms: Atoms, constraints: dict) -> None:
    """Set the ASE constraints described by a ``constraints`` parameter on ``atoms``."""
    from ase.constraints import FixAtoms, FixCartesian

    count = len(atoms)
    fixed = {index % count for index in constraints.get('fixed_atoms', [])}
    below = constraints.get('fixed_below')
    if below:
        heights = atoms.positions[:, 2]
        fixed |= set(np.flatnonzero(heights - heights.min() < below).tolist())
    result = [FixAtoms(indices=sorted(fixed))] if fixed else []
    for index, mask in (constraints.get('fixed_directions') or {}).items():
        result.append(FixCartesian(int(index) % count, mask=mask))
    atoms.set_constraint(result)


@dataclass
class TaskContext:
    """What a task works with besides its structures and parameters.

    ``calculator`` makes the potential's ASE calculator; ``ensemble`` makes those of further models whose
    disagreement with it is measured (model deviation); ``deadline`` is the ``time.monotonic()`` by which a long
    task must stop and keep what it has (the job's wall time less a margin), or None.
    """

    calculator: CalculatorFactory
    ensemble: list[CalculatorFactory] = field(default_factory=list)
    deadline: float | None = None

    def out_of_time(self) -> bool:
        """Return whether the deadline has passed."""
        return self.deadline is not None and time.monotonic() > self.deadline


@dataclass
class Trajectory:
    """One MD run: its thermo record (arrays by column), its sampled frames and their model deviation."""

    thermo: dict[str, np.ndarray]
    samples: list[Atoms] = field(default_factory=list)
    deviation: dict[str, np.ndarray] | None = None


@dataclass
class TaskOutput:
    """What a task produced.

    ``frames`` are Atoms that hold their own results (:func:`evaluate`): one per input structure for ``frames`` and
    ``trajectory`` tasks (the last frame of a run), the images of the band for ``path`` tasks. ``summaries`` has one
    JSON-serialisable dictionary per input structure (``frames``, ``trajectory``) or one for the path.
    """

    frames: list[Atoms]
    summaries: list[dict[str, Any]]
    trajectories: list[Trajectory] | None = None


@dataclass(frozen=True)
class Task:
    """A named runner task: its function, the kind of output it makes, and its parameters.

    ``check`` validates the parameters as a whole, ``check_structures`` the structures against them; both return
    an error message or None, and run before anything is submitted as well as on the compute node.
    ``uses_ensemble``: the task takes further models (model deviation); ``moves_atoms``: its output frames are new
    structures (relaxed, last MD frame, images), not the input ones.
    """

    name: str
    function: Callable[[list[Atoms], TaskContext, dict], TaskOutput]
    output: str
    parameters: dict[str, Parameter]
    help: str
    check: Callable[[dict], str | None] | None = None
    check_structures: Callable[[Sequence[Atoms], dict], str | None] | None = None
    uses_ensemble: bool = False
    moves_atoms: bool = True

    @property
    def defaults(self) -> dict[str, Any]:
        """Return the default parameters."""
        return {name: parameter.default for name, parameter in self.parameters.items()}

    def validate(self, parameters: dict | None) -> dict[str, Any]:
        """Return the full parameters: defaults updated with ``parameters``, each checked.

        Raises
        ------
        TaskInputError
            For an unknown parameter or a bad value.
        """
        parameters = dict(parameters or {})
        unknown = sorted(set(parameters) - set(self.parameters))
        if unknown:
            raise TaskInputError(
                f'unknown parameter(s) {unknown} for task {self.name!r}; allowed: {", ".join(sorted(self.parameters))}'
            )
        merged = {**self.defaults, **parameters}
        for name, value in parameters.items():
            check = self.parameters[name].check
            message = check(value) if check is not None and value is not None else None
            if message:
                raise TaskInputError(f'task {self.name!r}: parameter {name!r} {message}, got {value!r}')
        message = self.check(merged) if self.check else None
        if message:
            raise TaskInputError(f'task {self.name!r}: {message}')
        return merged

    def validate_structures(self, structures: Sequence[Atoms], parameters: dict) -> None:
        """Check the structures against the (validated) parameters.

        Raises
        ------
        TaskInputError
            If the structures do not suit the task.
        """
        if not structures:
            raise TaskInputError(f'task {self.name!r} needs at least one structure')
        message = self.check_structures(structures, parameters) if self.check_structures else None
        if message:
            raise TaskInputError(f'task {self.name!r}: {message}')


def evaluate(atoms: Atoms, stress: bool = True) -> dict[str, Any]:
    """Return energy, forces and (if the calculator gives it) stress of ``atoms``, which then owns these results.

    The calculator is replaced by a single-point calculator holding exactly these values. Machine-learning
    calculators are shared by the structures of a batch (loading the model is the slow part), and a shared
    calculator's results belong to whichever structure it evaluated last.

    Raises
    ------
    TaskFailedError
        With reason ``nan`` if the potential returns a non-finite energy or force.
    """
    energy = float(atoms.get_potential_energy())
    forces = np.array(atoms.get_forces())
    summary: dict[str, Any] = {'natoms': len(atoms), 'energy': energy, 'volume': _volume(atoms)}
    results = {'energy': energy, 'forces': forces}
    if stress and all(atoms.pbc):
        try:
            results['stress'] = np.array(atoms.get_stress(voigt=True))
            summary['stress'] = results['stress'].tolist()
        except PropertyNotImplementedError:
            summary['stress'] = None
    if not (math.isfinite(energy) and np.all(np.isfinite(forces))):
        raise TaskFailedError('nan', f'the potential returned a non-finite energy or force ({energy} eV)')
    atoms.calc = SinglePointCalculator(atoms, **results)
    return summary


def _volume(atoms: Atoms) -> float | None:
    return float(atoms.get_volume()) if atoms.cell.rank == 3 else None


def label_of(atoms: Atoms, index: int) -> str:
    """Return the label of a structure of the batch (set by the CalcJob), else its position."""
    return str(atoms.info.get('label', f'structure {index}'))


def is_orthorhombic(atoms: Atoms, tolerance: float = 1e-6) -> bool:
    """Return whether the cell vectors are along x, y and z."""
    cell = np.asarray(atoms.cell)
    return bool(np.all(np.abs(cell - np.diag(np.diag(cell))) < tolerance))
