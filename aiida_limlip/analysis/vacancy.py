"""Mono-vacancy supercells and the formation energy (no AiiDA)."""

from __future__ import annotations

from collections.abc import Sequence

from ase import Atoms

from .structures import conventional_cell


def vacancy_supercells(atoms: Atoms, size: int) -> tuple[Atoms, Atoms]:
    """Return the perfect ``size``^3 supercell of the conventional cell, and the same with atom 0 removed.

    For one element every site is equivalent, so which atom goes does not matter.

    Raises
    ------
    ValueError
        If ``size`` is below 1 or the crystal has more than one element.
    """
    if size < 1:
        raise ValueError(f'supercell size must be at least 1, got {size}')
    if len(set(atoms.get_chemical_symbols())) != 1:
        raise ValueError('vacancy_supercells handles elemental crystals only (every site equivalent)')
    perfect = conventional_cell(atoms).repeat((size, size, size))
    vacancy = perfect.copy()
    del vacancy[0]
    return perfect, vacancy


def vacancy_formation_energy(perfect_energy: float, perfect_natoms: int, vacancy_energy: float) -> float:
    """Return E_v = E(N-1) - (N-1)/N E(N) in eV, with both energies in eV for the same cell."""
    return vacancy_energy - (perfect_natoms - 1) / perfect_natoms * perfect_energy


def size_convergence(sizes: Sequence[int], energies: Sequence[float]) -> float | None:
    """Return |E_v(largest) - E_v(second largest)| (eV), or ``None`` with a single size."""
    if len(sizes) < 2:
        return None
    ordered = [energy for _, energy in sorted(zip(sizes, energies, strict=True))]
    return abs(ordered[-1] - ordered[-2])
