"""Test-set errors of a potential: RMSE and MAE of energy, forces and stress, overall and per configuration class."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase.stress import voigt_6_to_full_3x3_stress

from .units import EV_PER_ANGSTROM3_TO_GPA

#: Units of :func:`prediction_errors` (those of the paper's Table 1).
ERROR_UNITS = {'energy': 'meV/atom', 'forces': 'meV/Å', 'stress': 'GPa'}


def _summary(differences: np.ndarray, scale: float) -> dict[str, float] | None:
    """RMSE and MAE of ``differences`` (any shape) times ``scale``, or ``None`` if there is nothing to compare."""
    values = np.asarray(differences, dtype=float).ravel() * scale
    if values.size == 0 or not np.all(np.isfinite(values)):
        return None
    return {'rmse': float(np.sqrt(np.mean(values**2))), 'mae': float(np.mean(np.abs(values)))}


def prediction_errors(
    reference: Sequence[dict],
    predicted: Sequence[dict],
    classes: Sequence[str] | None = None,
) -> dict:
    """Compare predicted with reference labels, frame by frame.

    Parameters
    ----------
    reference, predicted
        One dictionary per frame with ``natoms``, ``energy`` (eV), ``forces`` (N x 3, eV/Å) and optionally
        ``stress`` (Voigt 6, eV/Å^3, ASE sign; ``None`` if absent).
    classes
        Configuration class of each frame; errors are also given per class.

    Returns
    -------
    dict
        ``overall`` and ``per_class`` (class name to the same layout), each with ``num_frames`` and ``energy``,
        ``forces``, ``stress`` as ``{'rmse': ..., 'mae': ...}`` in :data:`ERROR_UNITS`, or ``None`` for stress when
        a frame lacks it on either side. Energy errors are per atom; force errors run over every Cartesian
        component of every atom; stress errors over the nine components of the full 3x3 tensor of each frame (as
        nequip reports them).

    Raises
    ------
    ValueError
        If the frame lists differ in length or a frame's number of atoms differs.
    """
    if len(reference) != len(predicted):
        raise ValueError(f'{len(reference)} reference frames but {len(predicted)} predictions')
    if not reference:
        raise ValueError('no frames to compare (the test set is empty)')
    classes = list(classes) if classes is not None else ['all'] * len(reference)

    def errors(indices: list[int]) -> dict:
        energy, forces, stress = [], [], []
        for index in indices:
            ref, pred = reference[index], predicted[index]
            if ref['natoms'] != pred['natoms']:
                raise ValueError(f'frame {index}: {ref["natoms"]} atoms in the reference, {pred["natoms"]} predicted')
            energy.append((pred['energy'] - ref['energy']) / ref['natoms'])
            forces.append(np.asarray(pred['forces'], dtype=float) - np.asarray(ref['forces'], dtype=float))
            if ref.get('stress') is None or pred.get('stress') is None:
                stress = None
            elif stress is not None:
                difference = np.asarray(pred['stress'], dtype=float) - np.asarray(ref['stress'], dtype=float)
                stress.append(voigt_6_to_full_3x3_stress(difference))
        return {
            'num_frames': len(indices),
            'energy': _summary(np.array(energy), 1000.0),
            'energy_centered': _summary(np.array(energy) - offset, 1000.0),
            'forces': _summary(np.concatenate([f.ravel() for f in forces]), 1000.0),
            'stress': None if stress is None else _summary(np.array(stress), EV_PER_ANGSTROM3_TO_GPA),
        }

    # A potential fitted to other reference energies (SNAP, MEAM against pw.x totals) differs by a constant per atom;
    # the centred RMSE removes that mean offset, so such potentials can still be compared on energy differences.
    offset = float(
        np.mean([(p['energy'] - r['energy']) / r['natoms'] for r, p in zip(reference, predicted, strict=True)])
    )
    per_class = {name: errors([i for i, c in enumerate(classes) if c == name]) for name in sorted(set(classes))}
    return {
        'overall': errors(list(range(len(reference)))),
        'per_class': per_class,
        'energy_offset': offset * 1000.0,
        'units': dict(ERROR_UNITS),
    }
