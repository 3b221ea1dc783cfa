"""What the evaluation CalcJobs share (the runner and LAMMPS): input checks, output ports and exit codes.

Both engines give the same nodes for the same task, so a work chain never needs to know which engine ran:

* ``results`` (Dict): one summary per structure (or per path) and the units;
* ``frames`` (FrameSetData): every output frame with its own energy, forces and stress;
* ``structures``: the new structures (relaxed, last MD frame, images of a band);
* for MD: ``thermo`` (ArrayData), ``trajectory`` (TrajectoryData) and ``model_deviation`` (ArrayData), by label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from aiida import orm

from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData
from ..runner.base import Task, TaskInputError
from ..runner.tasks import get_task
from ..structures.checks import structure_problem

#: The labels of frames given as a FrameSetData, in frame order.
FRAME_LABEL = 'frame_{:06d}'


def frame_labels(count: int) -> list[str]:
    """Return the labels of ``count`` frames of a ``FrameSetData``, sorting in frame order."""
    return [FRAME_LABEL.format(index) for index in range(count)]


def species_error(symbols: Iterable[str], potential: PotentialData, what: str = 'the structure') -> str | None:
    """Return an error message if ``symbols`` hold an element that ``potential`` does not cover, else None.

    The one species check of the package: builders, validators and work chains all call it.
    """
    missing = sorted(set(symbols) - set(potential.species))
    if missing:
        return (
            f'{what} contains {missing}, which the potential {potential.label or ""} (kind {potential.kind}, species '
            f'{potential.species}) does not cover'
        )
    return None


def structure_error(structure: orm.StructureData, what: str = 'the structure') -> str | None:
    """Return an error message if ``structure`` cannot be computed with (overlapping atoms, no cell volume), else None.

    The one geometry check of the validators; the rule is in :func:`~aiida_limlip.structures.checks.structure_problem`.
    """
    problem = structure_problem(structure.get_ase())
    return f'{what}: {problem}' if problem else None


def ensemble_error(potential: PotentialData, ensemble: Mapping[str, PotentialData]) -> str | None:
    """Return an error message if the models of an ensemble do not match the potential's species."""
    for label, model in ensemble.items():
        if list(model.species) != list(potential.species):
            return (
                f'ensemble model `{label}` covers {model.species}, the potential {potential.species}: the models of '
                'an ensemble must have the same species in the same order'
            )
    return None


def checked_task(inputs: Mapping, structures: Mapping[str, orm.StructureData] | None) -> tuple[Task, dict[str, Any]]:
    """Return the task of ``inputs`` and its full parameters, with the structures (by label) checked against them.

    Raises
    ------
    TaskInputError
        If the task is unknown, a parameter is invalid or the structures do not suit the task.
    """
    task = get_task(inputs['task'].value)
    parameters = task.validate(inputs['parameters'].get_dict() if 'parameters' in inputs else None)
    if structures is not None:
        atoms = []
        for label in sorted(structures):
            item = structures[label].get_ase()
            item.info['label'] = label
            atoms.append(item)
        task.validate_structures(atoms, parameters)
    return task, parameters


def validate_task_inputs(inputs: Mapping, structures: Mapping[str, orm.StructureData] | None) -> str | None:
    """Check the task, its parameters and the structures against them; return an error message or None."""
    try:
        task, _ = checked_task(inputs, structures)
    except TaskInputError as exception:
        return str(exception)
    if inputs.get('ensemble') and not task.uses_ensemble:
        return f'task {task.name!r} takes no ensemble'
    return None


def define_evaluation_outputs(spec) -> None:
    """Declare the output ports of an evaluation (a CalcJob of either engine, or the evaluation work chain)."""
    spec.output(
        'results',
        valid_type=orm.Dict,
        required=False,
        help='Summary per structure: energy (eV), volume (Å^3), convergence; MD status and averages (K, GPa, eV, Å, '
        'Å^3); for a band its energies (eV), reaction coordinate (Å) and barriers (eV). Units in `units`.',
    )
    spec.output(
        'frames',
        valid_type=FrameSetData,
        required=False,
        help='Every output frame with its own energy (eV), forces (eV/Å) and stress (eV/Å^3, positive = tensile), '
        'labelled as the structures (frame_NNNNNN for frames given as a FrameSetData, image_NN for a band).',
    )
    spec.output_namespace(
        'structures',
        valid_type=orm.StructureData,
        dynamic=True,
        required=False,
        help='New structures (Å) by label: relaxed ones, the last frame of an MD run, the images of a band.',
    )
    spec.output_namespace(
        'thermo',
        valid_type=orm.ArrayData,
        dynamic=True,
        required=False,
        help='MD: the thermo record of each run, one array per quantity (time in ps, temperature in K, energies in '
        'eV, pressure and stress in GPa, cell lengths in Å, angles in degrees, volume in Å^3; units attribute).',
    )
    spec.output_namespace(
        'trajectory',
        valid_type=orm.TrajectoryData,
        dynamic=True,
        required=False,
        help='MD: the sampled frames of each run (positions and cells in Å, times in ps) with `energies` (eV), '
        '`forces` (eV/Å), `stresses` (eV/Å^3) and `temperatures` (K).',
    )
    spec.output_namespace(
        'model_deviation',
        valid_type=orm.ArrayData,
        dynamic=True,
        required=False,
        help='MD with an ensemble: DP-GEN model deviation of every sampled frame: max/min/avg_devi_f (eV/Å), '
        'devi_e (eV/atom), max/min/avg_devi_v (eV/atom).',
    )
    spec.output_namespace(
        'velocities',
        valid_type=orm.ArrayData,
        dynamic=True,
        required=False,
        help='MD: the velocities of the last frame of each run (array `velocities`, Å/fs), to continue the run.',
    )
    spec.default_output_node = 'results'


def define_velocities_input(spec) -> None:
    """Declare the optional input of MD start velocities (both engines)."""
    spec.input_namespace(
        'velocities',
        valid_type=orm.ArrayData,
        dynamic=True,
        required=False,
        help='MD: velocities (array `velocities`, Å/fs, one row per atom) by structure label to start from instead '
        'of Maxwell-Boltzmann ones: a run continued from the last frame of another (its `velocities` output).',
    )


def velocities_error(structures: dict, velocities: dict) -> str | None:
    """Return why start ``velocities`` do not fit the ``structures`` (unknown label, wrong shape), or None."""
    for label, node in velocities.items():
        if label not in structures:
            return f'velocities given for `{label}`, which is not a structure of the job'
        if 'velocities' not in node.get_arraynames():
            return f'velocities of `{label}` hold no array `velocities`'
        shape = node.get_shape('velocities')
        if shape != (len(structures[label].sites), 3):
            return f'velocities of `{label}` have shape {shape}, expected ({len(structures[label].sites)}, 3)'
    return None


def velocities_node(velocities) -> orm.ArrayData:
    """Return velocities (Å/fs, one row per atom) as the ``velocities`` output."""
    node = orm.ArrayData()
    node.set_array('velocities', np.asarray(velocities, dtype=float))
    node.base.attributes.set('units', {'velocities': 'Å/fs'})
    return node


def define_evaluation_exit_codes(spec) -> None:
    """Declare the exit codes of an evaluation job (both engines)."""
    spec.exit_code(300, 'ERROR_NO_RETRIEVED_FOLDER', invalidates_cache=True, message='The retrieved folder is missing.')
    spec.exit_code(
        301,
        'ERROR_OUTPUT_MISSING',
        invalidates_cache=True,
        message='The job wrote neither results nor an error report (killed?); see the scheduler output.',
    )
    spec.exit_code(302, 'ERROR_OUTPUT_CORRUPT', message='The results could not be read: {message}')
    spec.exit_code(303, 'ERROR_OUTPUT_INCOMPLETE', message='The results cover {got} of {expected} structures.')
    spec.exit_code(310, 'ERROR_INVALID_INPUT', message='The job rejected its input: {message}')
    spec.exit_code(311, 'ERROR_POTENTIAL_NOT_LOADED', message='The potential could not be loaded: {message}')
    spec.exit_code(312, 'ERROR_TASK_FAILED', message='The task failed: {message}')
    spec.exit_code(
        313, 'ERROR_WRITING_OUTPUT', message='The task finished but its results could not be written: {message}'
    )
    spec.exit_code(320, 'ERROR_NOT_CONVERGED', message='Did not converge: {message}')
    spec.exit_code(330, 'ERROR_NON_FINITE', message='The potential returned non-finite values: {message}')
    spec.exit_code(331, 'ERROR_LOST_ATOMS', message='Atoms were lost (they moved too far in one step): {message}')
    spec.exit_code(
        340,
        'ERROR_TEMPERATURE_BLOWUP',
        message='The temperature exceeded {limit} K at step {step}: the run stopped; what it recorded is kept.',
    )
    spec.exit_code(
        341,
        'ERROR_OUT_OF_WALLTIME',
        message='The run stopped at step {step} of {total} for lack of wall time; what it recorded is kept.',
    )
