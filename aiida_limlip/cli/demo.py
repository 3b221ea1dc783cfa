"""``aiida-limlip demo``: the main job of the quick start, run through the daemon."""

from __future__ import annotations

import time

import click
from aiida.cmdline.utils import decorators, echo

from ..workchains.common import describe_failure
from . import cmd_root
from .setup import RUNNER_LABEL


def ensure_daemon() -> None:
    """Start the profile's daemon if it is not running, with the profile's ``daemon.default_workers`` workers.

    ``DaemonClient.start_daemon`` starts one worker unless told otherwise; ``verdi daemon start`` reads the option.
    """
    from aiida.engine.daemon.client import get_daemon_client
    from aiida.manage import get_config, get_manager

    client = get_daemon_client()
    if client.is_daemon_running:
        return
    workers = get_config().get_option('daemon.default_workers', get_manager().get_profile().name)
    echo.echo_report(f'starting the daemon with {workers} worker(s)')
    client.start_daemon(number_workers=workers)


def follow(node, timeout: float, interval: float = 2.0) -> None:
    """Print the report messages of ``node`` and its descendants as they appear, until it terminates.

    Each poll reads only the log entries that are new since the last one and keeps those of processes called, at any
    depth, by ``node``. (Reading every log of every descendant each second took a quarter of a core from a campaign's
    jobs once it had a thousand processes.)

    Raises
    ------
    click.ClickException
        If the process does not terminate within ``timeout`` seconds.
    """
    from aiida import orm

    belongs: dict[int, bool] = {node.pk: True}

    def in_tree(pk: int) -> bool:
        """Whether process ``pk`` is ``node`` or called by it at any depth (its callers, cached)."""
        chain, current = [], orm.load_node(pk)
        while current is not None and current.pk not in belongs:
            chain.append(current.pk)
            current = current.caller if isinstance(current, orm.ProcessNode) else None
        answer = belongs[current.pk] if current is not None else False
        belongs.update(dict.fromkeys(chain, answer))
        return answer

    last_id = 0
    start = time.monotonic()
    last_state = None
    while True:
        query = orm.QueryBuilder().append(
            orm.Log, filters={'id': {'>': last_id}, 'time': {'>=': node.ctime}}, project=['id', 'dbnode_id', 'message']
        )
        for log_id, node_pk, message in sorted(query.all(), key=lambda row: row[0]):
            last_id = max(last_id, log_id)
            if in_tree(node_pk):
                click.echo(f'  [{time.monotonic() - start:6.1f} s] {message}')
        state = node.process_state.value if node.process_state else 'created'
        if state != last_state:
            click.echo(f'  [{time.monotonic() - start:6.1f} s] {node.process_label}<{node.pk}> is {state}')
            last_state = state
        if node.is_terminated:
            return
        if time.monotonic() - start > timeout:
            raise click.ClickException(
                f'{node.process_label}<{node.pk}> still {state} after {timeout:.0f} s; follow it with '
                f'`verdi process watch {node.pk}`'
            )
        time.sleep(interval)


@cmd_root.command('demo')
@click.option('--protocol', default='demo', show_default=True, help='Protocol of the EOS work chain.')
@click.option('--code', 'code_label', default=f'{RUNNER_LABEL}@localhost', show_default=True, help='Runner code.')
@click.option('--timeout', default=900.0, show_default=True, help='Seconds to wait for the work chain.')
@decorators.with_dbenv()
def cmd_demo(protocol, code_label, timeout):
    """Lattice constant and bulk modulus of bcc Li with the SNAP potential, through the daemon."""
    from aiida import orm
    from aiida.engine import submit
    from ase.build import bulk

    from ..data.potential import PotentialData
    from ..workchains.properties.eos import EquationOfStateWorkChain

    try:
        potential = PotentialData.from_snap_zuo2020().get_or_store()
        # Start 0.6 % away from the SNAP minimum, so the relaxation does real work.
        structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.45, cubic=True))
        builder = EquationOfStateWorkChain.get_builder_from_protocol(
            code_label, structure, potential, protocol=protocol
        )
    except (ValueError, FileNotFoundError) as exception:
        echo.echo_critical(str(exception))

    ensure_daemon()

    builder.metadata.label = 'demo: bcc Li, SNAP (Zuo 2020)'
    start = time.monotonic()
    node = submit(builder)
    echo.echo_report(f'submitted {node.process_label}<{node.pk}> (protocol `{protocol}`) to the daemon')
    follow(node, timeout)
    elapsed = time.monotonic() - start

    if not node.is_finished_ok:
        echo.echo_critical(f'did not finish ok: {describe_failure(node)}; see `verdi process report {node.pk}`')
    results = node.outputs.results.get_dict()
    click.echo('')
    click.echo(f'bcc Li, {potential.label} (PotentialData<{potential.pk}>), {elapsed:.1f} s wall time')
    for key in (
        'lattice_constant',
        'bulk_modulus',
        'bulk_modulus_derivative',
        'energy_per_atom',
        'volume_per_atom',
    ):
        click.echo(f'  {key:<24} {results[key]:12.5f} {results["units"][key]}')
    click.echo('  paper Table 1, DFT (PBE): a0 = 3.434 Å, B = 13.7 GPa')
    click.echo('')
    click.echo(
        f'Inspect with: verdi process show {node.pk}; verdi process report {node.pk}; verdi node show '
        f'{node.outputs.lattice_constant.pk}'
    )
