"""Tests of Table 1 assembly, its Markdown/CSV rendering and Fig. 1."""

import csv
import io

import numpy as np
import pytest

from aiida_limlip.analysis.tables import PAPER_TABLE, ROWS, _bands, build_table, plot_figure1, to_csv, to_markdown

PAPER_ORDER = [
    'energy_rmse',
    'force_rmse',
    'stress_rmse',
    'lattice_constant',
    'vacancy_formation_energy',
    'bulk_modulus',
    'C11',
    'C12',
    'C44',
    'zener_anisotropy',
    'surface_energy_100',
    'surface_energy_110',
    'surface_energy_111',
]


@pytest.fixture
def table():
    nequip = dict(PAPER_TABLE['NequIP64'], unknown_key=1.0)
    return build_table({'NequIP64': nequip}, reference='DFT (paper)')


def test_paper_table_and_rows():
    assert [key for key, _, _ in ROWS] == PAPER_ORDER
    assert PAPER_TABLE['DeePMD']['C44'] == 13.2
    assert PAPER_TABLE['NequIP32']['vacancy_formation_energy'] == 0.567
    assert 'energy_rmse' not in PAPER_TABLE['DFT (paper)']


def test_build_table_percent_errors(table):
    assert [row['key'] for row in table['rows']] == PAPER_ORDER
    assert table['columns'] == ['DFT (literature)', 'DFT (paper)', 'NequIP64']
    assert table['reference'] == 'DFT (paper)'
    errors = table['percent_errors']['NequIP64']
    assert errors['C44'] == pytest.approx(100 * (10.9 - 10.4) / 10.4)
    assert round(errors['C44'], 2) == 4.81
    assert round(errors['zener_anisotropy'], 1) == 55.6
    assert round(errors['vacancy_formation_energy'], 2) == -0.95  # 0.520 vs 0.525
    assert errors['lattice_constant'] == pytest.approx(100 * (3.429 - 3.434) / 3.434)
    assert round(table['percent_errors']['DFT (literature)']['vacancy_formation_energy'], 1) == 18.1  # 0.62 vs 0.525
    # RMSE rows: values but no errors (and the DFT columns have no RMSE at all)
    for key in ('energy_rmse', 'force_rmse', 'stress_rmse'):
        assert errors[key] is None
        assert table['values']['DFT (paper)'][key] is None
    assert table['values']['NequIP64']['force_rmse'] == 12
    assert all(value is None for value in table['percent_errors']['DFT (paper)'].values())
    assert 'unknown_key' not in table['values']['NequIP64']


def test_build_table_missing_values_and_options():
    table = build_table({'mine': {'C11': 15.0, 'C12': None, 'C44': 0.0, 'bulk_modulus': float('nan')}}, 'DFT (paper)')
    values, errors = table['values']['mine'], table['percent_errors']['mine']
    assert values['lattice_constant'] is None and errors['lattice_constant'] is None
    assert values['C12'] is None and values['bulk_modulus'] is None
    assert values['C44'] == 0.0 and errors['C44'] is None  # zero value: no error
    assert errors['C11'] == pytest.approx(100 * 0.2 / 14.8)

    bare = build_table({'a': {'C11': 1.0}, 'b': {'C11': 2.0}}, include_paper=False)
    assert bare['columns'] == ['a', 'b']
    assert bare['reference'] is None
    assert all(v is None for column in bare['percent_errors'].values() for v in column.values())
    pair = build_table({'a': {'C11': 1.0, 'force_rmse': 10}, 'b': {'C11': 2.0, 'force_rmse': 20}}, 'a', False)
    assert pair['percent_errors']['b'] == {key: 100.0 if key == 'C11' else None for key, _, _ in ROWS}
    with pytest.raises(ValueError, match='reference'):
        build_table({'a': {}}, reference='DFT (paper)', include_paper=False)


def test_to_markdown(table):
    lines = to_markdown(table).strip().splitlines()
    assert lines[0] == '| Property (unit) | DFT (literature) | DFT (paper) | NequIP64 |'
    assert set(lines[1]) <= set('|-')
    assert len(lines) == 2 + 13
    cells = {line.split(' | ')[0].lstrip('| '): line.strip('| ').split(' | ') for line in lines[2:]}
    assert cells['C44 (GPa)'][1:] == ['11.0 (+5.8%)', '10.4', '10.9 (+4.8%)']
    assert cells['Anisotropy'][3] == '19.6 (+55.6%)'
    assert cells['Lattice constant (Å)'][3] == '3.429 (-0.1%)'
    assert cells['E_v (eV)'][3] == '0.520 (-1.0%)'
    assert cells['Energy RMSE (meV/atom)'][1:] == ['', '', '1.0']
    assert cells['Stress RMSE (GPa)'][3] == '0.060'
    assert cells['(111) surface energy (eV/Å^2)'][3] == '0.033 (+0.0%)'
    assert '| 10.90 (+4.8%) |' in to_markdown(table, digits={'C44': 2})


def test_to_csv_round_trip(table):
    rows = list(csv.reader(io.StringIO(to_csv(table))))
    assert rows[0] == ['property', 'unit'] + [f for name in table['columns'] for f in (name, f'{name} error (%)')]
    assert len(rows) == 14
    for (key, label, unit), row in zip(ROWS, rows[1:], strict=True):
        assert row[:2] == [label, unit]
        for i, name in enumerate(table['columns']):
            value, error = row[2 + 2 * i], row[3 + 2 * i]
            expected_value, expected_error = table['values'][name][key], table['percent_errors'][name][key]
            assert (float(value) if value else None) == expected_value
            assert (float(error) if error else None) == expected_error


def synthetic_bands(scale):
    # Two segments (G-H, then P-N) of three bands each
    distances = [0.0, 0.5, 1.0, 1.2, 1.6]
    frequencies = (scale * np.outer(np.sin(np.array(distances) + 0.1), [1, 2, 3])).tolist()
    labels = [[0.0, 'G'], [1.0, 'H'], [1.2, 'P'], [1.6, 'N']]
    return {'distances': distances, 'frequencies': frequencies, 'labels': labels, 'segment_ends': [3, 5], 'q': []}


def test_plot_figure1(tmp_path):
    bands = {'DFT': synthetic_bands(1.0), 'NequIP64': synthetic_bands(1.1), 'DeePMD': synthetic_bands(0.9)}
    energies = {'DFT': {'100': 0.029, '110': 0.031, '1-10': 0.031}, 'NequIP64': {'100': 0.029, '110': 0.031}}
    fractions = {'DFT': {'100': 0.3, '110': 0.7}, 'NequIP64': {'100': 0.25, '110': 0.75}}
    full = tmp_path / 'fig1.png'
    plot_figure1(full, bands, energies, fractions, reference='DFT')
    assert full.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    partial = tmp_path / 'fig1_partial.png'
    plot_figure1(partial, surface_energies=energies)
    assert partial.stat().st_size > 1000
    assert 0 < partial.stat().st_size < full.stat().st_size  # one panel instead of three

    plot_figure1(tmp_path / 'bands.png', bands=bands, reference='absent')
    assert (tmp_path / 'bands.png').stat().st_size > 1000
    with pytest.raises(ValueError, match='nothing to plot'):
        plot_figure1(tmp_path / 'none.png')


def test_band_segments_are_not_joined():
    from matplotlib.figure import Figure

    axis = Figure().subplots()
    _bands(axis, {'DFT': synthetic_bands(1.0), 'NequIP64': synthetic_bands(1.1)}, {'DFT': 'k', 'NequIP64': 'C0'}, 'DFT')
    band_lines = [line for line in axis.get_lines() if line.get_color() != 'grey']  # not the tick markers
    assert len(band_lines) == 2 * 2 * 3  # two potentials x two segments x three bands
    assert sorted({tuple(line.get_xdata()) for line in band_lines}) == [(0.0, 0.5, 1.0), (1.2, 1.6)]
    assert [t.get_text() for t in axis.get_xticklabels()] == ['Γ', 'H', 'P', 'N']


def test_bands_of_other_lattice_constants_meet_the_reference_at_its_special_points():
    """A potential 2 % off in a has its path 2 % shorter or longer (cubic: distances scale as 1/a); on the plot its
    H, P and N lie on the reference's ticks. A band of another path is drawn as it is."""
    from matplotlib.figure import Figure

    reference, stretched = synthetic_bands(1.0), synthetic_bands(1.0)
    stretched['distances'] = [1.02 * d for d in reference['distances']]
    stretched['labels'] = [[1.02 * d, label] for d, label in reference['labels']]
    other = synthetic_bands(1.0)
    other['distances'] = [1.02 * d for d in reference['distances']]
    other['labels'] = [[0.0, 'G'], [1.02, 'N'], [1.224, 'P'], [1.632, 'H']]
    axis = Figure().subplots()
    colors = {'DFT': 'k', 'SNAP': 'C0', 'other': 'C1'}
    _bands(axis, {'DFT': reference, 'SNAP': stretched, 'other': other}, colors, 'DFT')
    xs = {
        color: sorted({tuple(np.round(line.get_xdata(), 9)) for line in axis.get_lines() if line.get_color() == color})
        for color in colors.values()
    }
    assert xs['k'] == [(0.0, 0.5, 1.0), (1.2, 1.6)] and xs['C0'] == xs['k']
    assert xs['C1'][-1] == (1.224, 1.632)
