"""``aiida-limlip table``: Table 1 and Fig. 1 of a finished ``BenchmarkWorkChain``."""

from __future__ import annotations

import pathlib

import click
from aiida.cmdline.params import arguments
from aiida.cmdline.utils import decorators, echo

from . import cmd_root


@cmd_root.command('table')
@arguments.PROCESS()
@click.option('--csv', 'csv_path', type=click.Path(dir_okay=False, path_type=pathlib.Path), help='Write CSV here.')
@click.option(
    '--figure', 'figure_path', type=click.Path(dir_okay=False, path_type=pathlib.Path), help='Write Fig. 1 (PNG).'
)
@decorators.with_dbenv()
def cmd_table(process, csv_path, figure_path):
    """Print Table 1 of a BenchmarkWorkChain PROCESS as Markdown; optionally write CSV and Fig. 1."""
    if process.process_label != 'BenchmarkWorkChain' or 'table' not in process.outputs:
        echo.echo_critical(f'{process.process_label}<{process.pk}> has no `table` output (not a finished benchmark)')
    table = process.outputs.table
    click.echo(table['markdown'])
    for column, notes in table.get_dict().get('notes', {}).items():
        for note in notes:
            click.echo(f'* {column}: {note}')
    if csv_path:
        csv_path.write_text(table['csv'])
        echo.echo_success(f'CSV written to {csv_path}')
    if figure_path:
        if 'figure' not in process.outputs:
            echo.echo_critical('this benchmark has no figure (no phonons or surfaces were computed)')
        figure_path.write_bytes(process.outputs.figure.get_content('rb'))
        echo.echo_success(f'Fig. 1 written to {figure_path}')
