"""Which engine evaluates what: decided once, from the task, the potential and the codes at hand (no AiiDA).

Engines:

* ``ase``: ASE on the compute node (the ``limlip-runner`` code): every task, any potential (NequIP, DeePMD, SNAP,
  MEAM, ...).
* ``lammps``: LAMMPS (``lmp``) for MD with potentials that have a LAMMPS pair style (SNAP, MEAM, DeePMD, with a DeePMD
  ensemble's model deviation from the ``deepmd`` pair style itself). Faster than ASE for these.
* ``pw``: Quantum ESPRESSO's pw.x through aiida-quantumespresso, for DFT frames (single points and relaxations).

The choice is data carried by the work chains (the ``engine`` input of the evaluation), never re-derived.
"""

from __future__ import annotations

from collections.abc import Collection

ENGINES = ('ase', 'lammps', 'pw')
#: CalcJob plugin of each engine's code.
PLUGINS = {'ase': 'limlip.run', 'lammps': 'limlip.lammps', 'pw': 'quantumespresso.pw'}
#: Output kinds each engine can make (see ``aiida_limlip.runner.base.OUTPUT_KINDS``).
OUTPUT_KINDS = {'ase': ('frames', 'trajectory', 'path'), 'lammps': ('trajectory',), 'pw': ('frames',)}
#: Tasks each engine runs.
TASKS = {'ase': None, 'lammps': ('md',), 'pw': ('singlepoint', 'relax')}


def engine_of_plugin(plugin: str | None) -> str | None:
    """Return the engine whose code is set up for the CalcJob ``plugin``, or None."""
    return next((engine for engine, name in PLUGINS.items() if name == plugin), None)


def engine_error(
    engine: str,
    task: str,
    output: str,
    potential_kind: str | None,
    lammps_pair_style: bool,
    ensemble_kinds: Collection[str] = (),
) -> str | None:
    """Return why ``engine`` cannot run ``task`` with this potential, or None if it can."""
    if engine not in ENGINES:
        return f'unknown engine {engine!r}; choose from {", ".join(ENGINES)}'
    if output not in OUTPUT_KINDS[engine] or (TASKS[engine] is not None and task not in TASKS[engine]):
        return f'the {engine} engine does not run the task {task!r}'
    if engine == 'pw':
        return 'pw.x computes DFT: give no potential' if potential_kind is not None else None
    if potential_kind is None:
        return f'the {engine} engine evaluates a potential: give one'
    if engine == 'lammps':
        if not lammps_pair_style:
            return f'a {potential_kind} potential has no LAMMPS pair style; use the ase engine'
        if ensemble_kinds and (potential_kind != 'deepmd' or set(ensemble_kinds) != {'deepmd'}):
            return 'LAMMPS computes the model deviation of DeePMD ensembles only; use the ase engine'
    return None


def select_engine(
    task: str,
    output: str,
    potential_kind: str | None,
    lammps_pair_style: bool,
    available: Collection[str],
    ensemble_kinds: Collection[str] = (),
    forced: str | None = None,
) -> str:
    """Return the engine for a task.

    ``forced`` if given, else pw.x without a potential, else LAMMPS for MD where it can, else ASE.

    Parameters
    ----------
    task, output
        The runner task and its output kind.
    potential_kind
        The potential's kind, or None for DFT.
    lammps_pair_style
        Whether the potential has a LAMMPS pair style.
    available
        The engines whose code was given.
    ensemble_kinds
        The kinds of the ensemble's models (model deviation), if any.
    forced
        An engine to use whatever the preference.

    Raises
    ------
    ValueError
        If no available engine can run the task, or the forced one cannot or was given no code.
    """
    candidates = [forced] if forced else (['pw'] if potential_kind is None else ['lammps', 'ase'])
    reasons = []
    for engine in candidates:
        message = engine_error(engine, task, output, potential_kind, lammps_pair_style, ensemble_kinds)
        if message is None and engine not in available:
            given = ', '.join(sorted(available)) or 'none'
            message = f'no code was given for the {engine} engine (a `{PLUGINS.get(engine)}` code); given for: {given}'
        if message is None:
            return engine
        if forced or engine != 'lammps' or 'lammps' in available:
            reasons.append(message)
    raise ValueError('; '.join(reasons) or f'no engine can run {task!r}')
