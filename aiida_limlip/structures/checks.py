"""Sanity checks of a structure before anything is computed with it (no AiiDA imports)."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from ase.neighborlist import neighbor_list

#: Atoms closer than this fraction of the sum of their covalent radii overlap (Li-Li: 1.28 Å; bcc Li has 2.97 Å).
OVERLAP_FRACTION = 0.5


def structure_problem(atoms: Atoms) -> str | None:
    """Return what makes ``atoms`` unusable, or None.

    Catches a cell without volume and overlapping atoms, the usual signs of a lattice constant in the wrong unit
    (bcc Li with a = 0.5 Å) or of a duplicated site.

    Parameters
    ----------
    atoms
        The structure (Å), periodic or not.

    Returns
    -------
    str or None
        A sentence naming the problem, or None if there is none.
    """
    if len(atoms) == 0:
        return 'the structure has no atoms'
    if any(atoms.pbc) and abs(atoms.cell.volume) < 1e-6:
        return 'the cell has no volume (its vectors are linearly dependent or zero)'
    radii = np.array([covalent_radii[number] for number in atoms.numbers])
    cutoff = OVERLAP_FRACTION * 2 * radii.max()
    first, second, distances = neighbor_list('ijd', atoms, cutoff, self_interaction=False)
    limits = OVERLAP_FRACTION * (radii[first] + radii[second])
    close = np.flatnonzero(distances < limits)
    if close.size == 0:
        return None
    worst = close[np.argmin(distances[close])]
    i, j = int(first[worst]), int(second[worst])
    where = 'and its periodic image' if i == j else f'and {j}'
    return (
        f'atoms {i} {where} are {distances[worst]:.2f} Å apart, closer than {limits[worst]:.2f} Å (half the sum of '
        'their covalent radii): overlapping atoms, or lengths not in Å?'
    )
