"""Structure analysis on ASE ``Atoms`` (no AiiDA)."""

from __future__ import annotations

import numpy as np
from ase import Atoms


def conventional_standard_structure(atoms: Atoms, symprec: float = 1e-3):
    """Return the conventional standard cell of ``atoms`` as a pymatgen ``Structure`` (spglib tolerance in Å)."""
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    structure = AseAtomsAdaptor.get_structure(atoms)
    return SpacegroupAnalyzer(structure, symprec=symprec).get_conventional_standard_structure()


def conventional_cell(atoms: Atoms, symprec: float = 1e-3) -> Atoms:
    """Return the conventional standard cell of ``atoms`` (e.g. the 2-atom cube of bcc) as ASE ``Atoms``."""
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_atoms(conventional_standard_structure(atoms, symprec))


def conventional_lattice_constant(atoms: Atoms, symprec: float = 1e-3) -> float:
    """Return the lattice parameter ``a`` (Å) of the conventional standard cell of ``atoms``.

    For bcc lithium given as a 2-atom cubic cell or as a 1-atom primitive cell, this is the cube edge in both cases.

    Parameters
    ----------
    atoms
        The crystal.
    symprec
        Symmetry tolerance in Å, as in spglib.
    """
    return float(conventional_standard_structure(atoms, symprec).lattice.a)


def is_cubic(atoms: Atoms, symprec: float = 1e-3) -> bool:
    """Return whether the crystal has a cubic lattice (spglib crystal system, tolerance ``symprec`` in Å)."""
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    analyzer = SpacegroupAnalyzer(AseAtomsAdaptor.get_structure(atoms), symprec=symprec)
    return analyzer.get_crystal_system() == 'cubic'


def scale_to_volume(atoms: Atoms, volume: float) -> Atoms:
    """Return a copy of ``atoms`` scaled isotropically (fractional coordinates kept) to ``volume`` (Å^3)."""
    scaled = atoms.copy()
    factor = (volume / atoms.get_volume()) ** (1.0 / 3.0)
    scaled.set_cell(np.asarray(atoms.cell) * factor, scale_atoms=True)
    return scaled


def vacuum_axes(atoms: Atoms, min_gap: float = 4.0) -> list[bool]:
    """Return, per cell axis, whether the atoms leave an empty gap wider than ``min_gap`` (Å) along it (a slab)."""
    scaled = atoms.get_scaled_positions(wrap=True)
    result = []
    for axis in range(3):
        spacing = np.linalg.norm(np.cross(*(atoms.cell[j] for j in range(3) if j != axis)))
        height = atoms.get_volume() / spacing  # distance between the lattice planes normal to this axis
        values = np.sort(scaled[:, axis])
        gaps = np.diff(np.concatenate([values, [values[0] + 1.0]])) * height
        result.append(bool(gaps.max() > min_gap))
    return result
