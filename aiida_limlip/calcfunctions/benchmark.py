"""Table 1 and Fig. 1 assembled from property results, with provenance to every number."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiida import orm
from aiida.engine import calcfunction

from ..analysis import tables


@calcfunction
def assemble_benchmark(reference: orm.Str, **nodes) -> dict:
    """Return Table 1 (``table``: values, percentage errors against ``reference``, Markdown, CSV) and Fig. 1.

    ``nodes`` are named ``<property>__<column>``: the results Dict of each property of the registry (``eos``,
    ``elastic``, ``vacancy``, ``surfaces``, ``errors``, ...), ``reference`` (given DFT values by row key), plus the
    figure outputs ``wulff__<column>`` and ``phonon_data__<column>``.
    """
    grouped: dict[str, dict[str, dict]] = {}
    # Sorted: the same table from the same nodes whatever order they come in (an imported graph lists links in its
    # own order, and the regenerated table once had its columns shuffled).
    for key, node in sorted(nodes.items()):
        prop, column = key.split('__', 1)
        grouped.setdefault(column, {})[prop] = node.get_dict()
    columns, notes = {}, {}
    for column, results in grouped.items():
        columns[column], column_notes = tables.column_values(results)
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

    bands = {c: r['phonon_data'] for c, r in grouped.items() if 'phonon_data' in r}
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


@calcfunction
def assemble_dft_column(**results: orm.Dict) -> orm.Dict:
    """Return a DFT column of Table 1 (row key to value) from the ``results`` of pw.x property work chains.

    Inputs by property name: ``eos``, ``elastic``, ``vacancy``, ``surfaces`` (any subset), and ``shear``: the
    results of an xx-strain-only elastic run (``strain_components: [0]``), converged in k separately, whose C11 and
    C12 replace those of ``elastic``; the anisotropy is then recomputed with ``elastic``'s C44. The output is what
    ``BenchmarkWorkChain`` takes as ``dft_reference``, and every value traces back to the work chain that made it.
    """
    results = {name: node.get_dict() for name, node in results.items()}
    shear = results.pop('shear', None)
    values, _ = tables.column_values(results)
    if shear is not None:
        values.update(C11=shear['C11'], C12=shear['C12'])
        if values.get('C44') is not None:
            values['zener_anisotropy'] = 2 * values['C44'] / (shear['C11'] - shear['C12'])
    return orm.Dict({key: float(value) for key, value in values.items() if value is not None})
