"""Ensemble model deviation of DP-GEN (no AiiDA): how much the models of an ensemble disagree on a frame.

Definitions, for M models on a frame of N atoms (population standard deviations over the models, as DP-GEN and
deepmd-kit's ``model_devi`` use):

* force deviation of atom i: ``sqrt(mean_m |F_mi - <F_i>|^2)`` (eV/Å); the frame's ``max_devi_f``, ``min_devi_f`` and
  ``avg_devi_f`` are its maximum, minimum and mean over the atoms. Active learning selects on ``max_devi_f``.
* energy deviation ``devi_e``: standard deviation of the energy per atom (eV/atom).
* virial deviation: standard deviation of each of the 9 components of the virial per atom (eV/atom; virial =
  -stress x volume); ``max_devi_v``, ``min_devi_v`` and ``avg_devi_v`` over the components.
"""

from __future__ import annotations

import numpy as np

#: Columns of a model-deviation record, in order, with their units.
COLUMNS = {
    'max_devi_v': 'eV/atom',
    'min_devi_v': 'eV/atom',
    'avg_devi_v': 'eV/atom',
    'max_devi_f': 'eV/Å',
    'min_devi_f': 'eV/Å',
    'avg_devi_f': 'eV/Å',
    'devi_e': 'eV/atom',
}


def force_deviation(forces: np.ndarray) -> np.ndarray:
    """Return the force deviation of every atom (eV/Å) from ``forces`` of shape (models, atoms, 3)."""
    forces = np.asarray(forces, dtype=float)
    if forces.ndim != 3 or forces.shape[-1] != 3:
        raise ValueError(f'forces must have the shape (models, atoms, 3), got {forces.shape}')
    return np.sqrt(np.mean(np.sum((forces - forces.mean(axis=0)) ** 2, axis=-1), axis=0))


def model_deviation(energies: np.ndarray, forces: np.ndarray, virials: np.ndarray | None = None) -> dict[str, float]:
    """Return the DP-GEN model deviation of one frame.

    Parameters
    ----------
    energies
        Energy of the frame by each model (eV), shape (models,).
    forces
        Forces by each model (eV/Å), shape (models, atoms, 3).
    virials
        Virial (eV, 3x3 or 9 components) by each model, shape (models, 3, 3) or (models, 9); None gives NaN virial
        deviations (a model without stress).

    Returns
    -------
    dict
        The quantities of :data:`COLUMNS`.
    """
    forces = np.asarray(forces, dtype=float)
    natoms = forces.shape[1]
    per_atom = force_deviation(forces)
    result = {
        'max_devi_f': float(per_atom.max()),
        'min_devi_f': float(per_atom.min()),
        'avg_devi_f': float(per_atom.mean()),
        'devi_e': float(np.std(np.asarray(energies, dtype=float) / natoms)),
    }
    if virials is None:
        result.update(max_devi_v=float('nan'), min_devi_v=float('nan'), avg_devi_v=float('nan'))
    else:
        spread = np.std(np.asarray(virials, dtype=float).reshape(len(forces), 9) / natoms, axis=0)
        result.update(max_devi_v=float(spread.max()), min_devi_v=float(spread.min()), avg_devi_v=float(spread.mean()))
    return {key: result[key] for key in COLUMNS}
