"""Table 1 (properties of Li per potential, with errors against DFT) and Fig. 1 of arXiv:2305.06925 (no AiiDA)."""

from __future__ import annotations

import csv
import io
import math
import os
import re

import numpy as np

ROWS = [
    ('energy_rmse', 'Energy RMSE', 'meV/atom'),
    ('force_rmse', 'Force RMSE', 'meV/Å'),
    ('stress_rmse', 'Stress RMSE', 'GPa'),
    ('lattice_constant', 'Lattice constant', 'Å'),
    ('vacancy_formation_energy', 'E_v', 'eV'),
    ('bulk_modulus', 'Bulk modulus', 'GPa'),
    ('C11', 'C11', 'GPa'),
    ('C12', 'C12', 'GPa'),
    ('C44', 'C44', 'GPa'),
    ('zener_anisotropy', 'Anisotropy', '1'),
    ('surface_energy_100', '(100) surface energy', 'eV/Å^2'),
    ('surface_energy_110', '(110) surface energy', 'eV/Å^2'),
    ('surface_energy_111', '(111) surface energy', 'eV/Å^2'),
]
RMSE_KEYS = ('energy_rmse', 'force_rmse', 'stress_rmse')
# Decimals shown per row by ``to_markdown``; None means two significant figures.
DIGITS = {key: None for key in RMSE_KEYS} | {'lattice_constant': 3, 'vacancy_formation_energy': 3}
DIGITS |= {key: 1 for key in ('bulk_modulus', 'C11', 'C12', 'C44', 'zener_anisotropy')}
DIGITS |= {f'surface_energy_{facet}': 3 for facet in ('100', '110', '111')}

_PROPERTIES = ('lattice_constant', 'vacancy_formation_energy', 'bulk_modulus', 'C11', 'C12', 'C44', 'zener_anisotropy')
_SURFACES = ('surface_energy_100', 'surface_energy_110', 'surface_energy_111')


def _column(properties: tuple, surfaces: tuple, rmse: tuple = ()) -> dict[str, float]:
    return dict(zip(RMSE_KEYS[: len(rmse)] + _PROPERTIES + _SURFACES, rmse + properties + surfaces, strict=True))


PAPER_TABLE = {
    'DFT (literature)': _column((3.427, 0.62, 14, 15, 13, 11, 11), (0.029, 0.031, 0.034)),
    'DFT (paper)': _column((3.434, 0.525, 13.7, 14.8, 13.1, 10.4, 12.6), (0.029, 0.031, 0.033)),
    'DeePMD': _column((3.434, 0.518, 13.7, 14.2, 13.5, 13.2, 37.2), (0.029, 0.031, 0.034), (3, 20, 0.22)),
    'NequIP32': _column((3.431, 0.567, 14.0, 14.9, 13.6, 10.9, 16.8), (0.029, 0.031, 0.033), (1, 12, 0.06)),
    'NequIP64': _column((3.429, 0.520, 14.0, 14.7, 13.6, 10.9, 19.6), (0.029, 0.031, 0.033), (1, 12, 0.06)),
}


#: Above this mean energy offset (meV/atom) a potential has another energy zero than pw.x (SNAP, MEAM): the table
#: then shows the centred energy RMSE, and says so in the notes.
ENERGY_OFFSET_LIMIT = 50.0


def eos_rows(results: dict) -> tuple[dict, list[str]]:
    """Return the Table 1 rows of an equation of state's results (and notes)."""
    return {'lattice_constant': results['lattice_constant'], 'bulk_modulus': results['bulk_modulus']}, []


def elastic_rows(results: dict) -> tuple[dict, list[str]]:
    """Return the Table 1 rows of elastic constants' results."""
    return {key: results.get(key) for key in ('C11', 'C12', 'C44', 'zener_anisotropy')}, []


def vacancy_rows(results: dict) -> tuple[dict, list[str]]:
    """Return the Table 1 row of a vacancy formation energy's results."""
    return {'vacancy_formation_energy': results['vacancy_formation_energy']}, []


def surfaces_rows(results: dict) -> tuple[dict, list[str]]:
    """Return the Table 1 rows of surface energies' results ((100), (110) and (111))."""
    energies = results['surface_energies']
    return {f'surface_energy_{facet}': energies.get(facet) for facet in ('100', '110', '111')}, []


def errors_rows(errors: dict) -> tuple[dict, list[str]]:
    """Return the RMSE rows of test-set errors; the energy RMSE is centred for a potential of another energy zero."""
    overall, notes, key = errors['overall'], [], 'energy'
    if abs(errors.get('energy_offset', 0.0)) > ENERGY_OFFSET_LIMIT:
        key = 'energy_centered'
        notes.append('energy RMSE centred: the potential has another energy zero than the DFT labels')
    values = {
        'energy_rmse': (overall.get(key) or {}).get('rmse'),
        'force_rmse': (overall.get('forces') or {}).get('rmse'),
        'stress_rmse': (overall.get('stress') or {}).get('rmse'),
    }
    return values, notes


#: Property name (as in the registry of property work chains) to the function giving its Table 1 rows.
ROW_FUNCTIONS = {
    'eos': eos_rows,
    'elastic': elastic_rows,
    'vacancy': vacancy_rows,
    'surfaces': surfaces_rows,
    'errors': errors_rows,
}


def column_values(results: dict[str, dict]) -> tuple[dict[str, float | None], list[str]]:
    """Return the Table 1 values of one column from its results by property name, and its notes.

    ``results`` may also hold ``reference``: given values by row key (e.g. the DFT column of an earlier run).
    """
    values: dict[str, float | None] = dict(results.get('reference', {}))
    notes: list[str] = []
    for name, function in ROW_FUNCTIONS.items():
        if name in results:
            rows, row_notes = function(results[name])
            values.update(rows)
            notes += row_notes
    return values, notes


def _number(value) -> float | None:
    """Return ``value`` as a float, or None if it is missing or not finite."""
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def build_table(
    columns: dict[str, dict[str, float | None]], reference: str | None = None, include_paper: bool = True
) -> dict:
    """Assemble Table 1 from per-column results, with percentage errors against a ``reference`` column.

    Parameters
    ----------
    columns
        Column name -> {row key: value}; unknown keys are ignored, missing ones become None.
    reference
        Column against which ``100 (value - ref) / ref`` is computed for every other column (None: no errors).
    include_paper
        Prepend the paper's 'DFT (literature)' and 'DFT (paper)' columns (a column of the same name in ``columns``
        replaces the paper's values).

    Returns
    -------
    dict
        JSON-serialisable: ``rows`` ([{key, label, unit}]), ``columns`` (names in order), ``values``
        ({column: {key: float or None}}), ``reference`` and ``percent_errors`` ({column: {key: float or None}}; None
        for the reference column, RMSE rows and missing or zero values).

    Raises
    ------
    ValueError
        If ``reference`` is not one of the columns.
    """
    paper = {name: PAPER_TABLE[name] for name in ('DFT (literature)', 'DFT (paper)')} if include_paper else {}
    merged = paper | dict(columns)
    if reference is not None and reference not in merged:
        raise ValueError(f'reference column {reference!r} not among {list(merged)}')
    values = {name: {key: _number(column.get(key)) for key, _, _ in ROWS} for name, column in merged.items()}
    errors = {}
    for name, column in values.items():
        ref = values[reference] if reference is not None and name != reference else {}
        errors[name] = {
            key: 100 * (value - ref[key]) / ref[key]
            if key not in RMSE_KEYS and value is not None and ref.get(key) and value != 0
            else None
            for key, value in column.items()
        }
    return {
        'rows': [{'key': key, 'label': label, 'unit': unit} for key, label, unit in ROWS],
        'columns': list(values),
        'values': values,
        'reference': reference,
        'percent_errors': errors,
    }


def _format(value: float, decimals: int | None) -> str:
    if decimals is None:  # two significant figures, without scientific notation
        decimals = max(0, 1 - math.floor(math.log10(abs(value)))) if value else 0
    return f'{value:.{decimals}f}'


def to_markdown(table: dict, digits: dict[str, int | None] | None = None) -> str:
    """Render ``table`` (from ``build_table``) as a GitHub Markdown table in the paper's layout.

    Parameters
    ----------
    table
        The output of ``build_table``.
    digits
        Row key -> decimals (None: two significant figures), overriding ``DIGITS``.
    """
    digits = DIGITS | (digits or {})
    lines = ['| ' + ' | '.join(['Property (unit)', *table['columns']]) + ' |']
    lines.append('|' + '---|' * (len(table['columns']) + 1))
    for row in table['rows']:
        key = row['key']
        cells = [row['label'] + (f' ({row["unit"]})' if row['unit'] != '1' else '')]
        for name in table['columns']:
            value, error = table['values'][name].get(key), table['percent_errors'].get(name, {}).get(key)
            cell = '' if value is None else _format(value, digits.get(key, 3))
            spread = table.get('spread', {}).get(name, {}).get(key)
            if cell and spread is not None:
                cell += f' ± {_format(spread, digits.get(key, 3))}'
            cells.append(cell + (f' ({error:+.1f}%)' if cell and error is not None else ''))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def to_csv(table: dict) -> str:
    """Render ``table`` as CSV: ``property,unit`` then a value and an ``error (%)`` column per column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    spread = table.get('spread', {})
    header = ['property', 'unit']
    for name in table['columns']:
        header += [name, f'{name} error (%)'] + ([f'{name} std'] if name in spread else [])
    writer.writerow(header)
    for row in table['rows']:
        cells = [row['label'], row['unit']]
        for name in table['columns']:
            values = [table['values'][name].get(row['key']), table['percent_errors'].get(name, {}).get(row['key'])]
            if name in spread:
                values.append(spread[name].get(row['key']))
            cells += ['' if x is None else repr(x) for x in values]
        writer.writerow(cells)
    return buffer.getvalue()


def _facet_label(facet: str) -> str:
    """Return '(1-10)' as a mathtext Miller index with an overbar."""
    return '$(' + re.sub(r'-(\d)', r'\\bar{\1}', facet) + ')$'


def _grouped_bars(axis, data: dict[str, dict[str, float]], colors: dict[str, str], ylabel: str) -> None:
    facets = list(dict.fromkeys(facet for values in data.values() for facet in values))
    width = 0.8 / len(data)
    for i, (name, values) in enumerate(data.items()):
        x = [j + (i - (len(data) - 1) / 2) * width for j, f in enumerate(facets) if f in values]
        axis.bar(x, [values[f] for f in facets if f in values], width, label=name, color=colors[name])
    axis.set_xticks(range(len(facets)), [_facet_label(f) for f in facets])
    axis.set_ylabel(ylabel)
    axis.margins(y=0.25)  # room for the legend above the bars
    axis.legend(fontsize='small', loc='upper left', ncols=min(len(data), 3))


def _path_labels(band: dict) -> list[str]:
    return [str(label) for _, label in band.get('labels') or []]


def aligned_distances(band: dict, first: dict) -> np.ndarray:
    """Return the path distances of ``band`` on the x axis of ``first``.

    Each potential's path runs through its own reciprocal lattice: for a cubic crystal its distances scale as 1/a,
    so a potential whose lattice constant is 2 % off would put H, N and P 2 % away from the reference's ticks. The
    same path (the same special points in order) is rescaled onto the first band's; any other is left as it is.
    """
    distances = np.asarray(band['distances'], dtype=float)
    target = np.asarray(first['distances'], dtype=float)
    length, target_length = distances[-1] - distances[0], target[-1] - target[0]
    if _path_labels(band) != _path_labels(first) or length <= 0 or target_length <= 0:
        return distances
    return target[0] + (distances - distances[0]) * (target_length / length)


def _bands(axis, bands: dict[str, dict], colors: dict[str, str], reference: str | None) -> None:
    first = next(iter(bands.values()))
    for name, band in bands.items():
        distances, frequencies = aligned_distances(band, first), band['frequencies']
        style = {'color': colors[name], 'lw': 1.5 if name == reference else 1}
        start = 0
        for end in band.get('segment_ends') or [len(distances)]:  # separate lines: segments are not joined
            lines = axis.plot(distances[start:end], frequencies[start:end], **style)
            start = end
        lines[0].set_label(name)
    ticks: dict[float, list[str]] = {}
    for distance, label in next(iter(bands.values())).get('labels', []):
        label = 'Γ' if label.strip('$\\').upper() in ('G', 'GAMMA') else label
        ticks.setdefault(round(float(distance), 8), []).append(label)
    for distance in ticks:
        axis.axvline(distance, color='grey', lw=0.5)
    axis.set_xticks(list(ticks), ['|'.join(dict.fromkeys(labels)) for labels in ticks.values()])
    axis.set_xlim(
        min(aligned_distances(b, first)[0] for b in bands.values()),
        max(aligned_distances(b, first)[-1] for b in bands.values()),
    )
    axis.set_ylabel('Frequency (THz)')
    axis.legend(fontsize='small')


def plot_figure1(
    path: str | os.PathLike,
    bands: dict[str, dict] | None = None,
    surface_energies: dict[str, dict[str, float]] | None = None,
    area_fractions: dict[str, dict[str, float]] | None = None,
    reference: str | None = None,
) -> None:
    """Draw Fig. 1 (phonon bands, surface energies, Wulff area fractions per potential) and save it as PNG.

    Parameters
    ----------
    path
        Output PNG file.
    bands
        Name -> band structure dict (``distances``, ``frequencies`` in THz, ``labels``, ``segment_ends``).
    surface_energies, area_fractions
        Name -> {facet: value}; facets like '100' or '1-10'.
    reference
        Name drawn in black and first, so the potentials lie over it.

    Raises
    ------
    ValueError
        If no panel has data.
    """
    from matplotlib.figure import Figure  # the object-oriented API renders with Agg and needs no pyplot cleanup

    panels = [(p, d) for p, d in (('a', bands), ('b', surface_energies), ('c', area_fractions)) if d]  # paper's letters
    if not panels:
        raise ValueError('nothing to plot: give bands, surface_energies or area_fractions')
    names = list(dict.fromkeys(name for _, data in panels for name in data if name != reference))
    colors = {name: f'C{i}' for i, name in enumerate(names)} | {reference: 'black'}
    figure = Figure(figsize=(5 * len(panels), 4), layout='constrained')
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for axis, (letter, data) in zip(axes, panels, strict=True):
        # The reference first: the potentials are drawn over it
        data = ({reference: data[reference]} if reference in data else {}) | data
        if letter == 'a':
            _bands(axis, data, colors, reference)
        else:
            ylabel = 'Surface energy (eV/Å$^2$)' if letter == 'b' else 'Wulff area fraction'
            _grouped_bars(axis, data, colors, ylabel)
        axis.set_title(f'({letter})', loc='left')
    figure.savefig(path, dpi=150)


def ensemble_table(table: dict, groups: dict[str, list[str]]) -> dict:
    """Return ``table`` with the columns of each ensemble replaced by their mean and spread.

    Parameters
    ----------
    table
        The output of ``build_table`` with one column per model (e.g. ``DeePMD_m00``, ``DeePMD_m01``).
    groups
        Ensemble name -> its model columns (e.g. ``{'DeePMD': ['DeePMD_m00', 'DeePMD_m01']}``).

    Returns
    -------
    dict
        The same layout, each ensemble one column whose ``values`` are the mean over its models and whose
        ``spread`` is their sample standard deviation (ddof = 1; None for a single model or a value missing in any
        model), with percentage errors of the mean against the table's reference and the number of models in
        ``ensemble_sizes``. Columns that belong to no group are kept as they are.
    """
    members = {column for columns in groups.values() for column in columns}
    unknown = members - set(table['columns'])
    if unknown:
        raise ValueError(f'ensemble columns {sorted(unknown)} are not in the table')
    columns, values, spread = [], {}, {}
    placed = set()
    for name in table['columns']:
        group = next((g for g, cols in groups.items() if name in cols), None)
        if group is None:
            columns.append(name)
            values[name] = table['values'][name]
            continue
        if group in placed:
            continue
        placed.add(group)
        columns.append(group)
        values[group], spread[group] = {}, {}
        for row in table['rows']:
            data = [table['values'][column].get(row['key']) for column in groups[group]]
            known = all(value is not None for value in data)
            values[group][row['key']] = float(np.mean(data)) if known else None
            spread[group][row['key']] = float(np.std(data, ddof=1)) if known and len(data) > 1 else None
    reference = table.get('reference')
    errors = {}
    for name in columns:
        ref = values[reference] if reference in values and name != reference else {}
        errors[name] = {
            key: 100 * (value - ref[key]) / ref[key]
            if key not in RMSE_KEYS and value is not None and ref.get(key) and value != 0
            else None
            for key, value in values[name].items()
        }
    return {
        'rows': table['rows'],
        'columns': columns,
        'values': values,
        'spread': spread,
        'ensemble_sizes': {group: len(cols) for group, cols in groups.items()},
        'reference': reference,
        'percent_errors': errors,
    }
