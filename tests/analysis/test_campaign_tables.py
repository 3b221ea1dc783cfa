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


def test_ensemble_spread_of_the_figure_numbers():
    from aiida_limlip.analysis.ensembles import ensemble_spread, figure_headlines, spread_markdown

    def thermal(a):
        return {'by_temperature': {'T_50': {'lattice_constant': {'mean': a, 'sem': 1e-4}}}}

    def diffusion(barrier, converged=True):
        return {
            'facets': {
                'f100': {'minimum_barrier': barrier, 'converged': True},
                'f110': {'converged': converged, 'minimum_barrier': 9.9},
            }
        }

    schwoebel = {'terrace_barrier': 0.05, 'direct': {'barrier': 0.21}, 'exchange': {'barrier': 0.12}, 'units': {}}
    elastic = {
        'by_temperature': {
            'T_50': {
                c: {'value': v, 'error': 0.1} for c, v in zip(('C11', 'C12', 'C44'), (14.0, 12.0, 10.0), strict=True)
            }
        }
    }
    assert figure_headlines('ehrlich_schwoebel', schwoebel) == {
        'E_T': 0.05,
        'E_ES(direct)': 0.21,
        'E_ES(exchange)': 0.12,
    }
    assert figure_headlines('elastic_t', elastic) == {'C11(50 K)': 14.0, 'C12(50 K)': 12.0, 'C44(50 K)': 10.0}
    assert figure_headlines('spes', {'facets': {'f100': {'minimum_adsorption_energy': -1.6}}}) == {'E_ads(100)': -1.6}
    # An unconverged band has no barrier to report.
    assert figure_headlines('surface_diffusion', diffusion(0.05, converged=False)) == {'E_D(100)': 0.05}
    with pytest.raises(ValueError, match='no headline numbers'):
        figure_headlines('phonons', {})

    headlines = {
        'DeePMD_m00': {
            'thermal_expansion': figure_headlines('thermal_expansion', thermal(3.49)),
            'ehrlich_schwoebel': figure_headlines('ehrlich_schwoebel', schwoebel),
        },
        'DeePMD_m01': {'thermal_expansion': figure_headlines('thermal_expansion', thermal(3.51))},
    }
    spread = ensemble_spread(headlines, {'DeePMD': ['DeePMD_m00', 'DeePMD_m01']})
    a50 = spread['DeePMD']['thermal_expansion']['a(50 K)']
    assert a50['mean'] == pytest.approx(3.50) and a50['n'] == 2 and a50['unit'] == 'Å'
    assert a50['std'] == pytest.approx(np.std([3.49, 3.51], ddof=1))
    # The second model's step barriers failed: one model, no spread, and the table says n=1.
    assert spread['DeePMD']['ehrlich_schwoebel']['E_T'] == {'mean': 0.05, 'std': None, 'n': 1, 'unit': 'eV'}
    markdown = spread_markdown(spread)
    assert '| thermal_expansion | a(50 K) (Å) | 3.5 ± 0.014 (n=2) |' in markdown
    assert '| ehrlich_schwoebel | E_T (eV) | 0.05 (n=1) |' in markdown


def test_ensemble_groups_of_the_campaign_columns():
    from aiida_limlip.workchains.campaign import ensemble_groups

    columns = ['NequIP32_m01', 'SNAP', 'DeePMD_m00', 'NequIP32_m00', 'DFT', 'MEAM_x']
    assert ensemble_groups(columns) == {'DeePMD': ['DeePMD_m00'], 'NequIP32': ['NequIP32_m00', 'NequIP32_m01']}
