"""``aiida-limlip fig2``: the paper's Fig. 2 from finished finite-temperature work chains."""

from __future__ import annotations

import pathlib

import click
from aiida.cmdline.params import arguments
from aiida.cmdline.utils import decorators, echo

from . import cmd_root


@cmd_root.command('fig2')
@arguments.PROCESSES()
@click.option('--png', 'png_path', type=click.Path(dir_okay=False, path_type=pathlib.Path), help='Write Fig. 2 here.')
@click.option('--csv', 'csv_path', type=click.Path(dir_okay=False, path_type=pathlib.Path), help='Write CSV here.')
@decorators.with_dbenv()
def cmd_fig2(processes, png_path, csv_path):
    """Print a(T) and C_ij(T) of PROCESSES as a table; optionally write Fig. 2 (PNG) and its data (CSV).

    PROCESSES are ThermalExpansionWorkChain and FiniteTemperatureElasticWorkChain nodes of one or several
    potentials. The CSV holds the measured points with their sources.
    """
    from ..analysis.figure2 import plot_figure2, to_csv
    from ..query import finite_temperature_series

    if not processes:
        echo.echo_critical('give the finite-temperature work chains to plot')
    try:
        series = finite_temperature_series(list(processes))
    except ValueError as exception:
        echo.echo_critical(str(exception))
    click.echo('| potential | T (K) | a (Å) | C11 (GPa) | C12 (GPa) | C44 (GPa) | G_VRH (GPa) |')
    click.echo('|---|---|---|---|---|---|---|')
    for potential, data in series.items():
        temperatures = sorted({t for entry in data.values() for t in entry['temperatures']})
        for temperature in temperatures:
            cells = [_cell(data, key, temperature) for key in ('lattice_constant', 'C11', 'C12', 'C44')]
            cells.append(_cell(data, 'shear_modulus_vrh', temperature))
            click.echo(f'| {potential} | {temperature:g} | ' + ' | '.join(cells) + ' |')
    if csv_path:
        csv_path.write_text(to_csv(series))
        echo.echo_success(f'CSV written to {csv_path}')
    if png_path:
        plot_figure2(series, png_path)
        echo.echo_success(f'Fig. 2 written to {png_path}')


def _cell(data: dict, quantity: str, temperature: float) -> str:
    entry = data.get(quantity)
    if not entry or temperature not in entry['temperatures']:
        return ''
    index = entry['temperatures'].index(temperature)
    value, error = entry['values'][index], entry['errors'][index]
    digits = 4 if quantity == 'lattice_constant' else 2
    if value != value:  # NaN: undefined (e.g. Born-unstable constants)
        return 'n/a'
    return f'{value:.{digits}f} ± {error:.{digits}f}'
