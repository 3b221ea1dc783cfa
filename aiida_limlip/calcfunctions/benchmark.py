"""Table 1 and Fig. 1 assembled from property results, with provenance to every number."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiida import orm
from aiida.engine import calcfunction

from ..analysis import tables

#: Above this mean energy offset (meV/atom) a potential has another energy zero than pw.x (SNAP, MEAM): the table
#: then shows the centred energy RMSE, and says so in ``notes``.
ENERGY_OFFSET_LIMIT = 50.0


def column_values(results: dict[str, dict]) -> tuple[dict[str, float | None], list[str]]:
    """Return the Table 1 values of one column from its property ``results`` (keyed eos, elastic, ...), and notes."""
    values: dict[str, float | None] = dict(results.get('reference', {}))
    notes = []
    if 'eos' in results:
        values['lattice_constant'] = results['eos']['lattice_constant']
        values['bulk_modulus'] = results['eos']['bulk_modulus']
    if 'elastic' in results:
        for key in ('C11', 'C12', 'C44', 'zener_anisotropy'):
            values[key] = results['elastic'].get(key)
    if 'vacancy' in results:
        values['vacancy_formation_energy'] = results['vacancy']['vacancy_formation_energy']
    if 'surfaces' in results:
        for facet in ('100', '110', '111'):
            values[f'surface_energy_{facet}'] = results['surfaces']['surface_energies'].get(facet)
    if 'errors' in results:
        overall = results['errors']['overall']
        energy_key = 'energy'
        if abs(results['errors'].get('energy_offset', 0.0)) > ENERGY_OFFSET_LIMIT:
            energy_key = 'energy_centered'
            notes.append('energy RMSE centred: the potential has another energy zero than the DFT labels')
        values['energy_rmse'] = (overall.get(energy_key) or {}).get('rmse')
        values['force_rmse'] = (overall.get('forces') or {}).get('rmse')
        values['stress_rmse'] = (overall.get('stress') or {}).get('rmse')
    return values, notes


@calcfunction
def assemble_benchmark(reference: orm.Str, **nodes) -> dict:
    """Return Table 1 (``table``: values, percentage errors against ``reference``, Markdown, CSV) and Fig. 1.

    ``nodes`` are named ``<property>__<column>``: the ``results`` Dict of ``eos``, ``elastic``, ``vacancy``,
    ``surfaces`` and ``errors``, ``reference`` (given DFT values by row key), plus ``wulff`` and ``phonons``
    (``phonon_data``) for the figure.
    """
    grouped: dict[str, dict[str, dict]] = {}
    for key, node in nodes.items():
        prop, column = key.split('__', 1)
        grouped.setdefault(column, {})[prop] = node.get_dict()
    columns, notes = {}, {}
    for column, results in grouped.items():
        columns[column], column_notes = column_values(results)
        if column_notes:
            notes[column] = column_notes
    reference = reference.value or None
    if reference in columns:  # the DFT column right after the paper's, as in Table 1
        columns = {reference: columns.pop(reference), **columns}
    table = tables.build_table(columns, reference=reference if reference in columns else None)
    table['notes'] = notes
    table['markdown'] = tables.to_markdown(table)
    table['csv'] = tables.to_csv(table)
    outputs = {'table': orm.Dict(table)}

    bands = {c: r['phonons'] for c, r in grouped.items() if 'phonons' in r}
    energies = {c: r['surfaces']['surface_energies'] for c, r in grouped.items() if 'surfaces' in r}
    fractions = {c: r['wulff']['area_fractions'] for c, r in grouped.items() if 'wulff' in r}
    if bands or energies or fractions:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / 'figure1.png'
            tables.plot_figure1(
                path,
                bands=bands or None,
                surface_energies=energies or None,
                area_fractions=fractions or None,
                reference=reference,
            )
            outputs['figure'] = orm.SinglefileData(path)
    return outputs
