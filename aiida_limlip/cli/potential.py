"""``aiida-limlip potential``: create and list potential nodes."""

from __future__ import annotations

import click
from aiida.cmdline.utils import decorators, echo

from . import cmd_root


@cmd_root.group('potential')
def cmd_potential():
    """Create and inspect `PotentialData` nodes."""


@cmd_potential.command('snap')
@decorators.with_dbenv()
def cmd_potential_snap():
    """Store the Li SNAP of Zuo et al. (2020) that ships with LAMMPS (reused if already stored)."""
    from ..data.potential import PotentialData

    node = PotentialData.from_snap_zuo2020().get_or_store()
    echo.echo_success(f'{node.label}: PotentialData<{node.pk}> sha256 {node.sha256[:12]}')


@cmd_potential.command('list')
@decorators.with_dbenv()
def cmd_potential_list():
    """List stored potentials."""
    from aiida.orm import QueryBuilder

    from ..data.potential import PotentialData

    rows = (
        QueryBuilder()
        .append(
            PotentialData,
            project=['id', 'label', 'attributes.kind', 'attributes.species', 'attributes.sha256'],
        )
        .all()
    )
    if not rows:
        echo.echo_report('no potentials stored; create one with `aiida-limlip potential snap`')
    for pk, label, kind, species, sha in rows:
        click.echo(f'{pk:>6}  {kind:<8} {"-".join(species):<8} {sha[:12]}  {label}')
