"""Convergence of a setting (cutoff, k-spacing) against an energy tolerance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def converged_setting(
    values: Sequence[float], energies: Sequence[float], tolerance: float, higher_is_more_accurate: bool = True
) -> float:
    """Return the least accurate value from which on every energy lies within ``tolerance`` of the most accurate.

    Parameters
    ----------
    values
        The setting, e.g. cutoffs in Ry (``higher_is_more_accurate``) or k-spacings in 1/Å (not).
    energies
        Energies per atom (eV/atom), one per value.
    tolerance
        Allowed deviation from the most accurate energy (eV/atom).
    higher_is_more_accurate
        Whether larger values are more accurate (cutoffs) or smaller ones (k-spacings).

    Raises
    ------
    ValueError
        For fewer than two points or mismatched lengths.
    """
    values = np.asarray(values, dtype=float)
    energies = np.asarray(energies, dtype=float)
    if values.shape != energies.shape or values.size < 2:
        raise ValueError('need at least two (value, energy) pairs of equal length')
    order = np.argsort(values)
    if not higher_is_more_accurate:
        order = order[::-1]
    values, energies = values[order], energies[order]  # least to most accurate
    reference = energies[-1]
    within = np.abs(energies - reference) <= tolerance
    # The first index from which every more accurate point is within tolerance.
    first = len(values) - 1
    while first > 0 and within[first - 1]:
        first -= 1
    return float(values[first])
