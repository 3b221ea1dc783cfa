"""Table 1 of ensembles (mean ± sample standard deviation) and the campaign's plots, on fixed numbers."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from aiida_limlip.analysis import tables
from aiida_limlip.analysis.campaign_plots import plot_active_learning, plot_learning_curves, plot_parity


def test_ensemble_columns_become_mean_and_spread():
    columns = {
        'DFT': {'lattice_constant': 3.434, 'bulk_modulus': 13.7},
        'DeePMD_m00': {'lattice_constant': 3.40, 'bulk_modulus': 13.0},
        'DeePMD_m01': {'lattice_constant': 3.46, 'bulk_modulus': None},
        'SNAP': {'lattice_constant': 3.506, 'bulk_modulus': 10.0},
    }
    table = tables.build_table(columns, reference='DFT', include_paper=False)
    result = tables.ensemble_table(table, {'DeePMD': ['DeePMD_m00', 'DeePMD_m01']})
    assert result['columns'] == ['DFT', 'DeePMD', 'SNAP']
    assert result['values']['DeePMD']['lattice_constant'] == pytest.approx(3.43)
    assert result['spread']['DeePMD']['lattice_constant'] == pytest.approx(np.std([3.40, 3.46], ddof=1))
    # A value missing in one model has no mean: the ensemble does not pretend to know it.
    assert result['values']['DeePMD']['bulk_modulus'] is None
    assert result['percent_errors']['DeePMD']['lattice_constant'] == pytest.approx(100 * (3.43 - 3.434) / 3.434)
    assert result['values']['SNAP'] == table['values']['SNAP'] and 'SNAP' not in result['spread']
    markdown = tables.to_markdown(result)
    assert '3.430 ± 0.042' in markdown
    assert 'DeePMD std' in tables.to_csv(result).splitlines()[0]
    with pytest.raises(ValueError, match='not in the table'):
        tables.ensemble_table(table, {'NequIP': ['NequIP_m00']})


def test_campaign_plots_are_written(tmp_path):
    record = {
        'iteration': 0,
        'exploration': {'overall': {'accurate': 5, 'candidate': 3, 'failed': 2, 'total': 10}},
        'test_errors': {'forces': 150.0, 'energy': 20.0},
        'training_frames': 7,
    }
    second = {**record, 'iteration': 1, 'test_errors': {'forces': 120.0, 'energy': None}, 'training_frames': 10}
    assert plot_active_learning([record, second], tmp_path / 'al.png').stat().st_size > 0
    curves = {'deepmd model_00': {'step': np.arange(5), 'rmse_f_val': np.linspace(1, 0.1, 5)}}
    assert plot_learning_curves(curves, tmp_path / 'curves.png').stat().st_size > 0
    frame = bulk('Li', 'bcc', a=3.44, cubic=True)
    frame.calc = SinglePointCalculator(frame, energy=-3.8, forces=np.full((2, 3), 0.1))
    predicted = frame.copy()
    predicted.calc = SinglePointCalculator(predicted, energy=-3.7, forces=np.full((2, 3), 0.12))
    assert plot_parity({'DeePMD': ([frame], [predicted])}, tmp_path / 'parity.png').stat().st_size > 0
