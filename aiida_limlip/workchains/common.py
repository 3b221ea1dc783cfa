"""Checks shared by the ``get_builder_from_protocol`` methods: run before anything is submitted."""

from __future__ import annotations

from aiida import orm
from aiida.common import exceptions

from ..data.potential import PotentialData

#: Scheduler options every job starts from; protocols and users override them.
DEFAULT_OPTIONS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}}


def load_code(code: orm.AbstractCode | str | int | None, plugin: str | None) -> orm.AbstractCode:
    """Return ``code`` as a code node, checking it exists and is meant for the CalcJob ``plugin`` (``None``: any).

    Raises
    ------
    ValueError
        If the code is missing, does not exist, or is set up for another plugin.
    """
    if code is None:
        raise ValueError(
            f'a code for `{plugin or "limlip.run or quantumespresso.pw"}` is required; run setup_profile.sh or '
            'create one with `verdi code create`'
        )
    if not isinstance(code, orm.AbstractCode):
        try:
            code = orm.load_code(code)
        except (exceptions.NotExistent, exceptions.MultipleObjectsError, ValueError) as exception:
            raise ValueError(
                f'code {code!r} not found ({exception}); list codes with `verdi code list`, or run setup_profile.sh'
            ) from exception
    if plugin is not None and code.default_calc_job_plugin not in (None, plugin):
        raise ValueError(f'code `{code.full_label}` is set up for `{code.default_calc_job_plugin}`, not for `{plugin}`')
    return code


def check_species(structure: orm.StructureData, potential: PotentialData) -> None:
    """Raise ``ValueError`` if ``structure`` contains an element that ``potential`` does not cover."""
    from ..calculations.runner import validate_species

    message = validate_species({'structure': structure}, potential)
    if message:
        raise ValueError(message)
