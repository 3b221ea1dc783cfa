"""``aiida-limlip campaign submit|status`` and ``aiida-limlip report``: the whole study, from the graph."""

from __future__ import annotations

import pathlib
import time

import click
from aiida.cmdline.params import arguments
from aiida.cmdline.utils import decorators, echo

from . import cmd_root
from .setup import RUNNER_LABEL

CODES = {
    'pw': 'pw@localhost',
    'runner': f'{RUNNER_LABEL}@localhost',
    'lammps': 'lmp@localhost',
    'dp': 'dp@localhost',
    'nequip': 'nequip-train@localhost',
    'nequip_compile': 'nequip-compile@localhost',
}


@cmd_root.group('campaign')
def cmd_campaign():
    """Run the whole study (active learning, training, Table 1) as one work chain on the daemon."""


@cmd_campaign.command('submit')
@click.option('--protocol', default='demo', show_default=True, type=click.Choice(['demo', 'fast', 'paper']))
@click.option('--element', default='Li', show_default=True, help='The element (Li).')
@click.option('--follow/--no-follow', default=False, help='Follow the campaign until it ends, then print Table 1.')
@click.option('--timeout', default=3600.0, show_default=True, help='Seconds to follow before giving up.')
@click.option(
    '--output',
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    help='With --follow: write the report (Table 1, figures) here when the campaign ends.',
)
@decorators.with_dbenv()
def cmd_submit(protocol, element, follow, timeout, output):
    """Submit the campaign to the daemon (starting it if needed)."""
    from aiida.common import exceptions
    from aiida.engine import submit

    from ..workchains.campaign import CampaignWorkChain
    from .demo import ensure_daemon
    from .demo import follow as follow_node

    try:
        builder = CampaignWorkChain.get_builder_from_protocol(CODES, protocol=protocol, element=element)
    except (ValueError, FileNotFoundError, exceptions.NotExistent) as exception:
        echo.echo_critical(str(exception))
    ensure_daemon()
    builder.metadata.label = f'campaign {element} ({protocol})'
    start = time.monotonic()
    node = submit(builder)
    echo.echo_success(
        f'submitted {node.process_label}<{node.pk}>; watch it with `aiida-limlip campaign status {node.pk}`'
    )
    if not follow:
        return
    follow_node(node, timeout)
    elapsed = time.monotonic() - start
    print_status(node)
    if not node.is_finished_ok:
        echo.echo_critical(f'the campaign did not finish ok: see `verdi process report {node.pk}`')
    click.echo(f'\ncampaign wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)')
    print_breakdown(node)
    if output is None:
        click.echo(f'write Table 1 and the figures with: aiida-limlip report {node.pk} --output campaign-{node.pk}')
        return
    from ..query import write_campaign_report

    written = write_campaign_report(node, output)
    echo.echo_success(f'report of {node.process_label}<{node.pk}> in {output}: ' + ', '.join(p.name for p in written))


@cmd_campaign.command('status')
@arguments.PROCESS()
@click.option('--watch', is_flag=True, help='Refresh every few seconds until the campaign ends.')
@click.option('--interval', default=5.0, show_default=True, help='Seconds between refreshes with --watch.')
@decorators.with_dbenv()
def cmd_status(process, watch, interval):
    """Stage, iteration, counts, errors and elapsed time of a campaign (or an active-learning run)."""
    while True:
        if watch:
            click.clear()
        print_status(process)
        if not watch or process.is_terminated:
            return
        time.sleep(interval)


def print_status(node) -> None:
    """Print the progress of a campaign or active-learning node, read from the graph."""
    from ..query import campaign_progress

    progress = campaign_progress(node)
    done, total = progress['stages_done'], progress['stages_total']
    width = 30
    bar = '#' * int(width * done / total) + '-' * (width - int(width * done / total)) if total else ''
    click.echo(f'{node.process_label}<{node.pk}> {progress["state"]}, {progress["elapsed"]:.0f} s elapsed')
    click.echo(f'[{bar}] {done}/{total} stages; now: {progress["current"] or "-"}')
    for record in progress['iterations']:
        overall = record['exploration']['overall']
        errors = record['test_errors']
        fraction = overall['accurate_fraction']
        click.echo(
            f'  iteration {record["iteration"]}: {overall["accurate"]} accurate / {overall["candidate"]} candidate / '
            f'{overall["failed"]} failed ({"n/a" if fraction is None else f"{fraction:.0%}"} accurate, median '
            f'deviation {_fmt(overall.get("median_max_devi_f"))} eV/Å), '
            f'{record["labels_added"]} labels added, {record["training_frames"]} training frames, test RMSE '
            f'{_fmt(errors["energy"])} meV/atom, {_fmt(errors["forces"])} meV/Å'
        )
    for name, summary in progress['training'].items():
        click.echo(
            f'  {name}: test RMSE {_fmt(summary.get("energy_rmse_mean"))} meV/atom, '
            f'{_fmt(summary.get("forces_rmse_mean"))} meV/Å over {len(summary.get("models", {}))} models'
        )
    if progress['table']:
        click.echo('\nTable 1 (ensembles: mean ± std over their models):')
        click.echo(progress['table'])


def print_breakdown(node) -> None:
    """Print where the campaign's time went: per stage its wall time, the time jobs ran, and AiiDA's share."""
    from ..query import campaign_breakdown

    breakdown = campaign_breakdown(node)
    click.echo(f'{"stage":<16} {"wall (s)":>9} {"jobs running (s)":>17} {"overhead (s)":>13}  job time by kind (s)')
    for stage, entry in breakdown['stages'].items():
        jobs = ', '.join(f'{kind} {seconds:.0f}' for kind, seconds in entry['jobs'].items())
        click.echo(f'{stage:<16} {entry["wall"]:9.0f} {entry["busy"]:17.0f} {entry["overhead"]:13.0f}  {jobs}')
    click.echo(
        f'{"campaign":<16} {breakdown["wall"]:9.0f} {breakdown["busy"]:17.0f} {breakdown["overhead"]:13.0f}  '
        '(overhead: wall time with no job running: work-chain steps, calcfunctions, submission)'
    )


def _fmt(value) -> str:
    return 'n/a' if value is None else f'{value:.3g}'


@cmd_root.command('report')
@arguments.PROCESS()
@click.option(
    '--output',
    'output',
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    required=True,
    help='Folder for the tables and figures.',
)
@decorators.with_dbenv()
def cmd_report(process, output):
    """Write Table 1 (Markdown, CSV), Fig. 1, learning curves, parity plots and active-learning statistics."""
    from ..query import write_campaign_report

    try:
        written = write_campaign_report(process, output)
    except ValueError as exception:
        echo.echo_critical(str(exception))
    for path in written:
        click.echo(f'  {path}')
    echo.echo_success(f'{len(written)} files written to {output}')
