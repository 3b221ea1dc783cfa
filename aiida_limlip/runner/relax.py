"""Relaxation with ASE: the ``relax`` task, and the relaxation of one structure the ``neb`` task reuses (no AiiDA)."""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.units import GPa

from .base import (
    CONSTRAINTS,
    Parameter,
    Task,
    TaskContext,
    TaskFailedError,
    TaskOutput,
    apply_constraints,
    boolean,
    evaluate,
    label_of,
    one_of,
    positive,
    positive_integer,
)

OPTIMIZERS = ('BFGS', 'FIRE', 'LBFGS')

#: Tolerance (Å) of the space group that ``keep_symmetry`` keeps.
SYMPREC = 1e-3


def optimizer_class(name: str):
    """Return ASE's optimizer class ``name``."""
    from ase import optimize

    return {'BFGS': optimize.BFGS, 'FIRE': optimize.FIRE, 'LBFGS': optimize.LBFGS, 'MDMin': optimize.MDMin}[name]


def relax_structure(atoms: Atoms, context: TaskContext, parameters: dict) -> tuple[Atoms, dict[str, Any]]:
    """Relax one structure: the optimizer, then the fallback optimizer if it did not converge.

    Returns the relaxed Atoms (owning its results) and its summary: energy, forces are evaluated at the end;
    ``converged``, ``steps`` (all optimizers), ``optimizers`` used and ``fmax`` (the residual force, eV/Å).
    """
    from ase.filters import FrechetCellFilter

    atoms = atoms.copy()
    atoms.calc = context.calculator()
    apply_constraints(atoms, parameters['constraints'])
    if parameters['keep_symmetry']:
        from ase.constraints import FixSymmetry

        # Forces and stress symmetrised with the start's space group: a crystal that the potential makes unstable
        # (an ML model's bcc with C11 < C12) cannot slide away from it on numerical noise.
        atoms.set_constraint([*atoms.constraints, FixSymmetry(atoms, symprec=SYMPREC)])
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
    out_of_time = False
    for name, limit in runs:
        optimizer = optimizer_class(name)(target, logfile=None)
        for converged in optimizer.irun(fmax=parameters['fmax'], steps=limit):
            if not converged and optimizer.nsteps and context.out_of_time():
                out_of_time = True  # stop here and keep the positions reached: the next job continues from them
                break
        converged = bool(converged)
        steps += int(optimizer.get_number_of_steps())
        used.append(name)
        if converged or out_of_time:
            break
    fmax = float(np.sqrt((target.get_forces() ** 2).sum(axis=1).max()))
    summary = evaluate(atoms)
    summary.update(converged=converged, steps=steps, optimizers=used, fmax=fmax)
    if out_of_time:
        summary['status'] = 'walltime'
    atoms.set_constraint()
    return atoms, summary


def relax(structures: list[Atoms], context: TaskContext, parameters: dict) -> TaskOutput:
    """Relax the positions (and, with ``relax_cell``, the cell) of every structure.

    A structure that does not reach ``fmax`` is accepted if its residual force is below ``accept_fmax``; otherwise
    the task fails, unless ``require_convergence`` is off (the summary then says ``converged: false`` and gives the
    residual, and the work chain decides). When the job runs out of time the relaxation stops where it is: that
    structure and those not started get ``status: walltime``, and the positions reached are the output frames.
    """
    frames, summaries = [], []
    for index, atoms in enumerate(structures):
        if summaries and summaries[-1].get('status') == 'walltime':
            # Out of time: the structures not started are returned as they came, for the next job.
            unstarted = atoms.copy()
            unstarted.calc = context.calculator()
            frames.append(unstarted)
            summaries.append({**evaluate(unstarted), 'converged': False, 'steps': 0, 'status': 'walltime'})
            continue
        relaxed, summary = relax_structure(atoms, context, parameters)
        if summary.get('status') == 'walltime':
            frames.append(relaxed)
            summaries.append(summary)
            continue
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
    'keep_symmetry': Parameter(
        False, "keep the start's space group (ASE FixSymmetry, tolerance 1e-3 Å) while relaxing", boolean
    ),
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

TASK = Task(
    'relax',
    relax,
    'frames',
    RELAX_PARAMETERS,
    'Relax positions (and optionally the cell) of every structure; fall back to FIRE if needed.',
    check=_check_relax,
)
