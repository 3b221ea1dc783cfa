"""Nodes that both MD engines' parsers make from what their job wrote: one shape for every engine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from aiida import orm
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from ..analysis.model_deviation import COLUMNS as DEVIATION_UNITS
from ..data.frame_set import FrameSetData
from ..runner.md import THERMO_UNITS


def frame_set(frames: Sequence[Atoms], labels: Sequence[str], source: str) -> FrameSetData:
    """Return the output frames as a ``FrameSetData``; each keeps its own results, its label and its job's UUID.

    The frames are copied: one may also be a sample of the trajectory, whose ``info`` must keep its step.
    """
    copies = []
    for atoms, label in zip(frames, labels, strict=True):
        copy = atoms.copy()
        copy.calc = SinglePointCalculator(copy, **atoms.calc.results)
        copy.info = {'label': label, 'source': source}
        copies.append(copy)
    return FrameSetData(copies)


def thermo_node(thermo: dict[str, np.ndarray]) -> orm.ArrayData:
    """Return a thermo record (arrays by quantity) as ``ArrayData`` with the units as an attribute."""
    node = orm.ArrayData()
    for key in THERMO_UNITS:
        node.set_array(key, np.asarray(thermo[key]))
    node.base.attributes.set('units', dict(THERMO_UNITS))
    return node


def trajectory_node(samples: Sequence[Atoms], timestep_fs: float) -> orm.TrajectoryData:
    """Return sampled MD frames as ``TrajectoryData`` with their energies, forces, stresses and temperatures."""
    node = orm.TrajectoryData()
    steps = np.array([int(atoms.info['step']) for atoms in samples])
    node.set_trajectory(
        symbols=samples[0].get_chemical_symbols(),
        positions=np.array([atoms.positions for atoms in samples]),
        stepids=steps,
        cells=np.array([np.asarray(atoms.cell) for atoms in samples]),
        times=steps * timestep_fs / 1000.0,
        pbc=[bool(flag) for flag in samples[0].pbc],
    )
    node.set_array('energies', np.array([atoms.get_potential_energy() for atoms in samples]))
    node.set_array('forces', np.array([atoms.get_forces() for atoms in samples]))
    if all('stress' in atoms.calc.results for atoms in samples):
        node.set_array('stresses', np.array([atoms.get_stress(voigt=True) for atoms in samples]))
    node.set_array('temperatures', np.array([float(atoms.info.get('temperature', np.nan)) for atoms in samples]))
    node.base.attributes.set(
        'units',
        {
            'positions': 'Å',
            'cells': 'Å',
            'times': 'ps',
            'energies': 'eV',
            'forces': 'eV/Å',
            'stresses': 'eV/Å^3 (Voigt, positive = tensile)',
            'temperatures': 'K',
        },
    )
    return node


def deviation_node(deviation: dict[str, np.ndarray]) -> orm.ArrayData:
    """Return the model deviation of sampled frames (``step`` and the DP-GEN columns) as ``ArrayData``."""
    node = orm.ArrayData()
    node.set_array('step', np.asarray(deviation['step'], dtype=int))
    for key in DEVIATION_UNITS:
        node.set_array(key, np.asarray(deviation[key], dtype=float))
    node.base.attributes.set('units', {'step': '1', **DEVIATION_UNITS})
    return node


def md_status_exit_code(parser, summary: dict, total_steps: int):
    """Return the exit code of a run that stopped early (outputs are kept), or None for a completed run."""
    status = summary.get('status', 'completed')
    if status == 'temperature':
        return parser.exit_codes.ERROR_TEMPERATURE_BLOWUP.format(
            limit=summary.get('max_temperature'), step=summary.get('steps_completed')
        )
    if status == 'walltime':
        return parser.exit_codes.ERROR_OUT_OF_WALLTIME.format(step=summary.get('steps_completed'), total=total_steps)
    return None
