"""Nudged elastic band with ASE: the minimum-energy path between two end points and its barrier (no AiiDA)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ase import Atoms

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
    non_negative_integer,
    one_of,
    positive,
    positive_integer,
)
from .relax import RELAX_PARAMETERS, optimizer_class, relax_structure

METHODS = ('aseneb', 'improvedtangent', 'eb', 'spline', 'string')

PARAMETERS = {
    'images': Parameter(
        5,
        'intermediate images interpolated between the end points when only those are given (the paper: 7)',
        non_negative_integer,
    ),
    'spring': Parameter(0.1, 'spring constant between images (eV/Å^2; the paper: 0.1)', positive),
    'climb': Parameter(True, 'climbing image: the highest image goes to the saddle point', boolean),
    'interpolation': Parameter('idpp', 'idpp (image-dependent pair potential) or linear', one_of('idpp', 'linear')),
    'method': Parameter('aseneb', f'ASE NEB tangent and force method: {", ".join(METHODS)}', one_of(*METHODS)),
    'relax_endpoints': Parameter(False, 'relax the end points (positions, with the constraints) first', boolean),
    'fmax': Parameter(0.05, 'convergence threshold on the NEB forces (eV/Å); also for the end points', positive),
    'max_steps': Parameter(500, 'steps of the band optimizer', positive_integer),
    'optimizer': Parameter('FIRE', 'FIRE, BFGS or MDMin', one_of('FIRE', 'BFGS', 'MDMin')),
    'require_convergence': Parameter(
        True, 'fail if the band does not converge within max_steps; false: report the residual force', boolean
    ),
    'constraints': CONSTRAINTS,
}


def _check_structures(structures: Sequence[Atoms], parameters: dict) -> str | None:
    if len(structures) < 2:
        return 'needs the two end points (and optionally the intermediate images), in the order of their labels'
    first = structures[0]
    for index, atoms in enumerate(structures[1:], start=1):
        if atoms.get_chemical_symbols() != first.get_chemical_symbols():
            return (
                f'{label_of(atoms, index)} has other atoms than {label_of(first, 0)} '
                f'({atoms.get_chemical_formula()} vs {first.get_chemical_formula()}, or another order)'
            )
        if not np.allclose(atoms.cell, first.cell, atol=1e-6) or list(atoms.pbc) != list(first.pbc):
            return f'{label_of(atoms, index)} has another cell than {label_of(first, 0)}: a band needs one cell'
    if len(structures) == 2 and np.allclose(structures[0].positions, structures[1].positions, atol=1e-3):
        return 'the end points are the same structure'
    return None


def reaction_coordinate(images: Sequence[Atoms]) -> np.ndarray:
    """Return the cumulative distance (Å) along the band, with periodic images taken into account."""
    from ase.geometry import find_mic

    distances = [0.0]
    for previous, current in zip(images[:-1], images[1:], strict=True):
        vectors, _ = find_mic(current.positions - previous.positions, previous.cell, previous.pbc)
        distances.append(float(np.linalg.norm(vectors)))
    return np.cumsum(distances)


def neb(structures: list[Atoms], context: TaskContext, parameters: dict) -> TaskOutput:
    """Optimize a nudged elastic band between the first and the last structure; return its images.

    With two structures, ``images`` intermediate images are interpolated; with more, the given ones are the band.
    """
    from ase.mep import NEB

    ends = [structures[0], structures[-1]]
    if parameters['relax_endpoints']:
        settings = {key: value.default for key, value in RELAX_PARAMETERS.items()}
        settings.update(fmax=parameters['fmax'], constraints=parameters['constraints'], max_steps=1000)
        ends = [relax_structure(atoms, context, settings)[0] for atoms in ends]
    if len(structures) == 2:
        band = [ends[0].copy() for _ in range(parameters['images'] + 1)] + [ends[1].copy()]
    else:
        band = [ends[0].copy(), *(atoms.copy() for atoms in structures[1:-1]), ends[1].copy()]
    for image in band:
        image.calc = context.calculator()
        apply_constraints(image, parameters['constraints'])
    elastic_band = NEB(
        band,
        k=parameters['spring'],
        climb=parameters['climb'],
        method=parameters['method'],
        allow_shared_calculator=True,
    )
    if len(structures) == 2:
        elastic_band.interpolate(method=parameters['interpolation'], mic=True, apply_constraint=True)
    optimizer = optimizer_class(parameters['optimizer'])(elastic_band, logfile=None)
    converged = bool(optimizer.run(fmax=parameters['fmax'], steps=parameters['max_steps']))
    residual = float(np.sqrt((elastic_band.get_forces() ** 2).sum(axis=1).max()))
    if not converged and parameters['require_convergence']:
        raise TaskFailedError(
            'not_converged',
            f'the band did not converge to fmax={parameters["fmax"]} eV/Å in {parameters["max_steps"]} '
            f'{parameters["optimizer"]} steps; residual force {residual:.2e} eV/Å',
        )
    energies = []
    for image in band:
        image.set_constraint()
        energies.append(evaluate(image)['energy'])
    energies = np.array(energies)
    saddle = int(np.argmax(energies))
    summary: dict[str, Any] = {
        'natoms': len(band[0]),
        'images': len(band),
        'energies': energies.tolist(),
        'reaction_coordinate': reaction_coordinate(band).tolist(),
        'barrier_forward': float(energies[saddle] - energies[0]),
        'barrier_backward': float(energies[saddle] - energies[-1]),
        'reaction_energy': float(energies[-1] - energies[0]),
        'saddle_index': saddle,
        'converged': converged,
        'steps': int(optimizer.get_number_of_steps()),
        'fmax': residual,
    }
    return TaskOutput(band, [summary])


TASK = Task(
    'neb',
    neb,
    'path',
    PARAMETERS,
    'Nudged elastic band (ASE, climbing image, IDPP interpolation) between the first and the last structure.',
    check_structures=_check_structures,
)
