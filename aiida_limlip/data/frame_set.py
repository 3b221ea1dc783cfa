"""``FrameSetData``: a set of frames (structures with energy, forces and stress) as one node.

It holds every set of evaluated structures the project makes: DFT labels from pw.x, the predictions of a potential
on a batch, relaxed structures, the candidates of an active-learning iteration, training and test sets. The name says
what it holds, not one use of it: it was ``TrainingSetData`` until the evaluation layer made it the output of every
batch evaluation.
"""

from __future__ import annotations

import collections
import io
import pathlib
from collections.abc import Sequence

import numpy as np
from aiida import orm
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

__all__ = ('FrameSetData',)

FRAMES_FILE = 'frames.extxyz'
UNITS = {
    'energy': 'eV',
    'forces': 'eV/Å',
    'stress': 'eV/Å^3 (ASE convention: positive = tensile; Voigt xx yy zz yz xz xy)',
}


class FrameSetData(orm.Data):
    """Labelled frames in the repository as extended XYZ (``frames.extxyz``), read and written by ASE.

    Each frame carries its labels as an ASE ``SinglePointCalculator`` (``energy`` in eV, ``forces`` in eV/Å,
    ``stress`` in eV/Å^3 with ASE's sign: positive = tensile, so pressure = -trace/3) and, in ``atoms.info``,
    ``config_class`` and ``source`` (the UUID of the calculation that labelled it, if any). Attributes:
    ``num_frames``, ``num_atoms``, ``species``, ``config_classes`` (class to count), ``labels`` and ``units``.
    Per-atom arrays are kept to 8 decimals (1e-8 eV/Å), as ASE writes extended XYZ.
    """

    def __init__(self, frames: Sequence[Atoms], **kwargs):
        """Create a data set from ASE ``Atoms`` that carry their labels as a single-point calculator.

        Raises
        ------
        ValueError
            If ``frames`` is empty or a frame has no energy.
        """
        super().__init__(**kwargs)
        frames = list(frames)
        if not frames:
            raise ValueError('a frame set needs at least one frame (the data set is empty)')
        labels = None
        for index, atoms in enumerate(frames):
            results = atoms.calc.results if atoms.calc is not None else {}
            if 'energy' not in results:
                raise ValueError(f'frame {index} has no energy label')
            present = {key for key in ('energy', 'forces', 'stress') if results.get(key) is not None}
            labels = present if labels is None else labels & present
        buffer = io.StringIO()
        import ase.io

        ase.io.write(buffer, frames, format='extxyz')
        self.base.repository.put_object_from_bytes(buffer.getvalue().encode(), FRAMES_FILE)
        classes = collections.Counter(atoms.info.get('config_class', 'unknown') for atoms in frames)
        self.base.attributes.set_many(
            {
                'num_frames': len(frames),
                'num_atoms': int(sum(len(atoms) for atoms in frames)),
                'species': sorted({symbol for atoms in frames for symbol in atoms.get_chemical_symbols()}),
                'config_classes': dict(sorted(classes.items())),
                'labels': sorted(labels or []),
                'units': UNITS,
            }
        )

    @staticmethod
    def make_frame(
        atoms: Atoms,
        energy: float,
        forces: np.ndarray | None = None,
        stress: np.ndarray | None = None,
        config_class: str = 'unknown',
        source: str | None = None,
    ) -> Atoms:
        """Return a copy of ``atoms`` carrying the labels (eV, eV/Å, eV/Å^3 in ASE's sign convention)."""
        frame = atoms.copy()
        frame.info = {'config_class': config_class}
        if source:
            frame.info['source'] = source
        results = {'energy': float(energy)}
        if forces is not None:
            results['forces'] = np.asarray(forces, dtype=float).reshape(len(atoms), 3)
        if stress is not None:
            stress = np.asarray(stress, dtype=float)
            if stress.shape == (3, 3):
                stress = stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
            results['stress'] = stress
        frame.calc = SinglePointCalculator(frame, **results)
        return frame

    @property
    def num_frames(self) -> int:
        """Return the number of frames."""
        return self.base.attributes.get('num_frames')

    @property
    def config_classes(self) -> dict[str, int]:
        """Return the number of frames per configuration class."""
        return self.base.attributes.get('config_classes')

    @property
    def labels(self) -> list[str]:
        """Return the labels present in every frame."""
        return self.base.attributes.get('labels')

    def get_frames(self) -> list[Atoms]:
        """Return the frames as ASE ``Atoms`` with their labels in a single-point calculator."""
        import ase.io

        text = self.base.repository.get_object_content(FRAMES_FILE)
        return ase.io.read(io.StringIO(text), index=':', format='extxyz')

    def write_extxyz(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write the frames as extended XYZ (keys ``energy``, ``forces``, ``stress``; what nequip reads)."""
        path = pathlib.Path(path)
        path.write_bytes(self.base.repository.get_object_content(FRAMES_FILE, mode='rb'))
        return path

    def write_deepmd(self, directory: str | pathlib.Path, type_map: Sequence[str] | None = None) -> list[pathlib.Path]:
        """Write the frames in deepmd-kit's ``npy`` format, one system folder per composition; return the folders.

        Units as deepmd-kit expects: coordinates and box in Å, ``energy`` in eV, ``force`` in eV/Å and ``virial``
        in eV (virial = -stress * volume, with ASE's stress sign).
        """
        directory = pathlib.Path(directory)
        type_map = list(type_map or self.base.attributes.get('species'))
        groups: dict[tuple, list[Atoms]] = collections.defaultdict(list)
        for atoms in self.get_frames():
            unknown = set(atoms.get_chemical_symbols()) - set(type_map)
            if unknown:
                raise ValueError(f'type_map {type_map} lacks {sorted(unknown)}')
            groups[tuple(atoms.get_chemical_symbols())].append(atoms)
        folders = []
        for index, (symbols, frames) in enumerate(sorted(groups.items(), key=lambda item: (len(item[0]), item[0]))):
            system = directory / f'system_{index:03d}_{len(symbols)}atoms'
            data = system / 'set.000'
            data.mkdir(parents=True, exist_ok=True)
            (system / 'type_map.raw').write_text('\n'.join(type_map) + '\n')
            (system / 'type.raw').write_text('\n'.join(str(type_map.index(s)) for s in symbols) + '\n')
            np.save(data / 'coord.npy', np.array([f.positions.reshape(-1) for f in frames]))
            np.save(data / 'box.npy', np.array([np.asarray(f.cell).reshape(-1) for f in frames]))
            np.save(data / 'energy.npy', np.array([f.get_potential_energy() for f in frames]))
            if 'forces' in self.labels:
                np.save(data / 'force.npy', np.array([f.get_forces().reshape(-1) for f in frames]))
            if 'stress' in self.labels:
                virials = [-f.get_stress(voigt=False) * f.get_volume() for f in frames]
                np.save(data / 'virial.npy', np.array([v.reshape(-1) for v in virials]))
            folders.append(system)
        return folders
