"""Helpers every work chain shares: codes, failed children, and checking a builder before anything is submitted."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from aiida import orm
from aiida.common import exceptions
from aiida.engine.processes.builder import ProcessBuilderNamespace

from ..code_version import stale_code_message
from ..engines import ENGINES, PLUGINS, engine_of_plugin

#: Scheduler options every job starts from; protocols and users override them.
DEFAULT_OPTIONS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}}

#: Seconds between checks of an awaited child in a foreground run (``engine.run``), where they are the only way to
#: learn that the child ended (see :func:`hasten_foreground_polling`).
FOREGROUND_POLL_INTERVAL = 0.5


def hasten_foreground_polling(runner) -> None:
    """Poll awaited children every :data:`FOREGROUND_POLL_INTERVAL` in a runner without a communicator.

    aiida-core's ``run``/``run_get_node`` (2.9) run the process in a new runner without a communicator, so no process
    broadcasts its end: a work chain learns that a child finished only by the runner's fail-safe poll, every
    ``runner.poll.interval`` (60 s by default). Each step of a foreground work chain then waited up to that long after
    its jobs had ended (measured: an SNAP equation of state of two 5-10 s jobs took 130 s with a 30 s interval). Daemon
    runners have a communicator and are left alone; they learn of the end from the broadcast.
    """
    if (
        getattr(runner, 'communicator', True) is None
        and getattr(runner, '_poll_interval', 0) > FOREGROUND_POLL_INTERVAL
    ):
        runner._poll_interval = FOREGROUND_POLL_INTERVAL  # read each time a poll is scheduled


class FreshCodeMixin:
    """Refuse to run in a Python process whose aiida-limlip modules are older than the installed files.

    A daemon worker that imported the package before an upgrade or an edit would import the rest from the new files
    and mix classes (seen as an ``AttributeError`` deep in an outline). The check runs when the work chain starts,
    before its first step, and fails it with exit code 390 and a message that says ``verdi daemon restart``.

    In a foreground run it also makes the runner check awaited children often (:func:`hasten_foreground_polling`).
    """

    @classmethod
    def define(cls, spec):
        """Add the exit code of stale code."""
        super().define(spec)
        spec.exit_code(390, 'ERROR_STALE_CODE', message='{message}')

    async def run(self):
        """Start the outline, unless this process runs aiida-limlip code older than the files on disk."""
        import aiida_limlip

        message = stale_code_message(aiida_limlip.LOADED_FINGERPRINT)
        if message:
            self.report(message)
            return self.exit_codes.ERROR_STALE_CODE.format(message=message)
        hasten_foreground_polling(self.runner)
        result = super().run()  # a coroutine in aiida-core >= 2.7 (plumpy's async run), a value before
        return await result if inspect.isawaitable(result) else result


def pop_terminated(pks: dict[str, int]) -> dict[str, orm.ProcessNode]:
    """Remove from ``pks`` (label -> pk of a submitted process) those that have terminated, and return their nodes.

    The pools of the work chains (the labelling SCFs, the benchmark's equations of state) await one process at a time
    and take every other one that ended meanwhile.
    """
    ended = {}
    for label, pk in list(pks.items()):
        node = orm.load_node(pk)
        if node.is_terminated:
            ended[label] = node
            del pks[label]
    return ended


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


def codes_by_engine(codes: orm.AbstractCode | str | Mapping | None) -> dict[str, orm.AbstractCode]:
    """Return the codes given to a builder by engine (``ase``, ``lammps``, ``pw``).

    ``codes`` is one code (its CalcJob plugin names its engine) or a mapping ``{engine: code}`` (needed for a code set
    up without a default plugin, e.g. ``{'lammps': 'lmp@localhost'}``).

    Raises
    ------
    ValueError
        For a missing code, an unknown engine, or a code of another plugin.
    """
    if isinstance(codes, Mapping):
        result = {}
        for engine, code in codes.items():
            if engine not in ENGINES:
                raise ValueError(f'unknown engine {engine!r} in the codes; choose from {", ".join(ENGINES)}')
            result[engine] = load_code(code, PLUGINS[engine])
        if not result:
            raise ValueError('no code given')
        return result
    code = load_code(codes, None)
    engine = engine_of_plugin(code.default_calc_job_plugin)
    if engine is None:
        raise ValueError(
            f'code `{code.full_label}` is set up for `{code.default_calc_job_plugin}`, which no engine runs; give a '
            f'code of {", ".join(PLUGINS.values())}, or a mapping {{engine: code}}'
        )
    return {engine: code}


def describe_failure(node: orm.ProcessNode) -> str:
    """Return ``Label<pk> [status] message`` of a failed (or killed, or excepted) child process."""
    status = node.exit_status if node.exit_status is not None else node.process_state.value
    return f'{node.process_label}<{node.pk}> [{status}] {node.exit_message or ""}'.rstrip()


def builder_inputs(builder: ProcessBuilderNamespace) -> dict[str, Any]:
    """Return the inputs set on a builder as a plain nested dictionary (empty namespaces left out)."""
    inputs = {}
    for key, value in builder.items():
        if isinstance(value, ProcessBuilderNamespace):
            value = builder_inputs(value)
            if not value:
                continue
        inputs[key] = value
    return inputs


def copy_builder_inputs(source, target, exclude: tuple[str, ...] = ()) -> None:
    """Copy the inputs set on builder ``source`` into builder namespace ``target`` (a child's exposed namespace).

    ``metadata``, empty namespaces and the keys in ``exclude`` (ports the parent fills in itself) are left out.
    """
    for key, value in source.items():
        if key == 'metadata' or key in exclude:
            continue
        if isinstance(value, ProcessBuilderNamespace):
            if value:
                copy_builder_inputs(value, target[key])
            continue
        target[key] = value


def check_builder(builder) -> None:
    """Validate a builder's inputs as the engine would on submission, so bad input fails before anything is stored.

    Raises
    ------
    ValueError
        With the message of the first port or validator that refuses the inputs.
    """
    namespace = builder.process_class.spec().inputs
    error = namespace.validate(namespace.pre_process(builder_inputs(builder)))
    if error is not None:
        raise ValueError(str(error))
