"""Small cells that several test modules build."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import bulk


def vacancy_hop(a: float, repeat: int) -> tuple[Atoms, Atoms]:
    """Return the end points of a nearest-neighbour vacancy hop in a ``repeat``-fold conventional bcc Li cell.

    The vacancy sits at the origin in ``initial``; in ``final`` the neighbour at (a/2, a/2, a/2) has moved into it.
    Both have the same atoms in the same order, as NEB needs.
    """
    perfect = bulk('Li', 'bcc', a=a, cubic=True).repeat(repeat)
    neighbour = int(np.argmin(np.linalg.norm(perfect.positions - np.full(3, a / 2), axis=1)))
    initial, final = perfect.copy(), perfect.copy()
    final.positions[neighbour] = perfect.positions[0]
    del initial[0], final[0]
    return initial, final
