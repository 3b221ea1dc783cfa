"""Test-set errors of a potential as a node."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..analysis.errors import ERROR_UNITS, prediction_errors
from ..calculations.runner import frame_labels
from ..data.frame_set import FrameSetData


def frames_as_dicts(frames) -> list[dict]:
    """Return the labels of ASE frames as dictionaries for :func:`prediction_errors`."""
    result = []
    for atoms in frames:
        results = atoms.calc.results
        result.append(
            {
                'natoms': len(atoms),
                'energy': results['energy'],
                'forces': results.get('forces'),
                'stress': results.get('stress'),
            }
        )
    return result


@calcfunction
def compute_test_errors(test_set: FrameSetData, predictions: orm.ArrayData) -> orm.Dict:
    """Return RMSE and MAE of a potential's predictions on ``test_set``, overall and per configuration class.

    ``predictions`` is the ``arrays`` output of a runner single-point job over the frames of ``test_set``
    (``energies`` in eV, ``stresses`` in eV/Å^3, ``forces_frame_NNNNNN`` in eV/Å). Energy in meV/atom, forces in
    meV/Å (per Cartesian component), stress in GPa (per component of the 3x3 tensor).
    """
    frames = test_set.get_frames()
    if 'stress' not in test_set.labels:
        for atoms in frames:
            atoms.calc.results.pop('stress', None)
    labels = frame_labels(len(frames))
    energies = predictions.get_array('energies')
    stresses = predictions.get_array('stresses')
    predicted = [
        {
            'natoms': len(atoms),
            'energy': float(energies[index]),
            'forces': predictions.get_array(f'forces_{label}'),
            'stress': stresses[index] if np.all(np.isfinite(stresses[index])) else None,
        }
        for index, (atoms, label) in enumerate(zip(frames, labels, strict=True))
    ]
    classes = [atoms.info.get('config_class', 'unknown') for atoms in frames]
    return orm.Dict(prediction_errors(frames_as_dicts(frames), predicted, classes))


@calcfunction
def summarize_test_errors(architecture: orm.Str, **errors: orm.Dict) -> orm.Dict:
    """Return the overall test RMSE of each model of an ensemble and their mean and standard deviation."""
    summary: dict = {'architecture': architecture.value, 'models': {}, 'units': dict(ERROR_UNITS)}
    for label in sorted(errors):
        overall = errors[label]['overall']
        summary['models'][label] = {key: (overall[key] or {}).get('rmse') for key in ('energy', 'forces', 'stress')}
    for key in ('energy', 'forces', 'stress'):
        values = [model[key] for model in summary['models'].values() if model[key] is not None]
        summary[f'{key}_rmse_mean'] = float(np.mean(values)) if values else None
        summary[f'{key}_rmse_std'] = float(np.std(values)) if values else None
    return orm.Dict(summary)
