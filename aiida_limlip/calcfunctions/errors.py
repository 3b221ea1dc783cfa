"""Test-set errors of a potential as a node."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..analysis.errors import ERROR_UNITS, prediction_errors
from ..data.frame_set import FrameSetData


def frames_as_dicts(frames, stress: bool = True) -> list[dict]:
    """Return the results of ASE frames as dictionaries for :func:`prediction_errors`."""
    return [
        {
            'natoms': len(atoms),
            'energy': atoms.calc.results['energy'],
            'forces': atoms.calc.results.get('forces'),
            'stress': atoms.calc.results.get('stress') if stress else None,
        }
        for atoms in frames
    ]


@calcfunction
def compute_test_errors(test_set: FrameSetData, predictions: FrameSetData) -> orm.Dict | ExitCode:
    """Return RMSE and MAE of a potential's ``predictions`` on ``test_set``, overall and per configuration class.

    ``predictions`` holds the potential's frames in the order of ``test_set`` (the ``frames`` of an evaluation of
    it). Energy in meV/atom, forces in meV/Å (per Cartesian component), stress in GPa (per component of the 3x3
    tensor); stress errors only if both sides have stresses.
    """
    reference, predicted = test_set.get_frames(), predictions.get_frames()
    stress = 'stress' in test_set.labels and 'stress' in predictions.labels
    classes = [atoms.info.get('config_class', 'unknown') for atoms in reference]
    try:
        return orm.Dict(
            prediction_errors(frames_as_dicts(reference, stress), frames_as_dicts(predicted, stress), classes)
        )
    except ValueError as exception:
        return ExitCode(410, f'the predictions do not match the test set: {exception}')


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
