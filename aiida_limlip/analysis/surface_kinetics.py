"""Surface kinetics without AiiDA: adsorption-energy grids, their minima, the BEP relation and rate ratios.

The pieces of the paper's Fig. 3 that are numbers, not simulations: the grid of adatom positions over a surface
unit cell, the distinct minima of a periodic energy grid (and of relaxed sites), path barriers, the
Bell-Evans-Polanyi fit of the minimum barrier against the adsorption energy across facets, and the diffusion-rate
ratios exp(-dE/kT). The geometry is in :mod:`aiida_limlip.structures.surface_sites`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from ase.units import kB


def adsorption_energy(adsorbed: float, clean: float, bulk_per_atom: float) -> float:
    """Return E_ads = E(adsorbed slab) - E(clean slab) - E(bulk atom) (eV)."""
    return float(adsorbed - clean - bulk_per_atom)


def surface_grid(points: Sequence[int]) -> np.ndarray:
    """Return the fractional positions (n_a * n_b, 2) of a regular grid over a surface unit cell, row by row.

    Raises
    ------
    ValueError
        For fewer than 2 points along either direction (no surface is sampled by a line).
    """
    if len(points) != 2 or min(points) < 2:
        raise ValueError(f'the grid needs at least 2x2 points over the surface unit cell, got {list(points)}')
    a, b = (np.arange(n) / n for n in points)
    return np.array([(x, y) for x in a for y in b])


def periodic_minima(grid: np.ndarray, tolerance: float = 1e-3) -> list[tuple[int, int]]:
    """Return the (i, j) of the local minima of a periodic 2D grid, one per group of equal neighbouring minima.

    A point is a minimum when no one of its eight periodic neighbours is lower by more than ``tolerance`` (eV);
    minima that touch each other (a flat bottom) count once, at the lowest point.
    """
    values = np.asarray(grid, dtype=float)
    rows, columns = values.shape
    candidates = set()
    for i in range(rows):
        for j in range(columns):
            neighbours = [
                values[(i + di) % rows, (j + dj) % columns] for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj
            ]
            if min(neighbours) >= values[i, j] - tolerance:
                candidates.add((i, j))
    minima, seen = [], set()
    for start in sorted(candidates, key=lambda p: values[p]):
        if start in seen:
            continue
        group, stack = {start}, [start]
        while stack:
            i, j = stack.pop()
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    neighbour = ((i + di) % rows, (j + dj) % columns)
                    if neighbour in candidates and neighbour not in group:
                        group.add(neighbour)
                        stack.append(neighbour)
        seen |= group
        minima.append(start)
    return minima


def bep_fit(adsorption: Mapping[str, float], barriers: Mapping[str, float], exclude: Sequence[str] = ()) -> dict:
    """Fit the Bell-Evans-Polanyi relation: the minimum barrier against the adsorption energy, across facets.

    Parameters
    ----------
    adsorption, barriers
        By facet label: the (minimum) adsorption energy and the minimum diffusion barrier (eV).
    exclude
        Facets left out of the fit (the paper leaves out (111)).

    Returns
    -------
    dict
        ``slope`` (1), ``intercept`` (eV), ``r2``, ``facets`` (those fitted), ``excluded``.

    Raises
    ------
    ValueError
        With fewer than three facets to fit, or facets without a barrier.
    """
    missing = sorted(set(adsorption) ^ set(barriers))
    if missing:
        raise ValueError(f'facets without both an adsorption energy and a barrier: {missing}')
    facets = [facet for facet in adsorption if facet not in set(exclude)]
    if len(facets) < 3:
        raise ValueError(f'a BEP fit needs at least three facets, got {facets}')
    x = np.array([adsorption[f] for f in facets])
    y = np.array([barriers[f] for f in facets])
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = np.sum((y - y.mean()) ** 2)
    return {
        'slope': float(slope),
        'intercept': float(intercept),
        'r2': float(1.0 - np.sum(residual**2) / total) if total > 0 else 1.0,
        'facets': facets,
        'excluded': [f for f in adsorption if f in set(exclude)],
    }


def rate_ratios(barriers: Mapping[str, float], reference: str, temperature: float = 300.0) -> dict[str, float]:
    """Return each facet's hopping rate relative to ``reference``'s, exp(-(E - E_ref)/kT), same prefactors assumed.

    Raises
    ------
    ValueError
        If the reference facet has no barrier or the temperature is not positive.
    """
    if reference not in barriers:
        raise ValueError(f'no barrier for the reference facet {reference}')
    if temperature <= 0:
        raise ValueError(f'the temperature must be positive, got {temperature} K')
    return {
        facet: float(np.exp(-(barrier - barriers[reference]) / (kB * temperature)))
        for facet, barrier in barriers.items()
    }


def facet_grid(
    energies: Sequence[float], points: Sequence[int], clean: float, bulk_per_atom: float
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Return the adsorption-energy grid (n_a, n_b) of one facet (eV) and its distinct minima (i, j), lowest first.

    ``energies`` are the adsorbed slabs' energies (eV), row by row as :func:`surface_grid` orders the sites.
    """
    grid = np.asarray(energies, dtype=float).reshape(tuple(points)) - clean - bulk_per_atom
    minima = sorted(periodic_minima(grid), key=lambda p: grid[p])
    return grid, minima


def distinct_minima(
    sites: Sequence[Sequence[float]], energies: Sequence[float], unit_cell: Sequence[Sequence[float]], tolerance: float
) -> list[int]:
    """Return the indices of the distinct minima among relaxed ones, lowest energy first.

    Two minima are one when their sites (fractional, in the surface unit cell) lie within ``tolerance`` (Å) of each
    other, periodically: relaxations that started from different grid points may end in the same well.
    """
    unit = np.asarray(unit_cell, dtype=float)[:, :2]
    kept: list[int] = []
    for index in sorted(range(len(sites)), key=lambda i: energies[i]):
        for other in kept:
            delta = (np.asarray(sites[index]) - np.asarray(sites[other]) + 0.5) % 1.0 - 0.5
            # The nearest periodic image of an oblique cell can be one cell further along a diagonal.
            shifts = [delta + (i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)]
            if min(np.linalg.norm(np.asarray(s) @ unit) for s in shifts) < tolerance:
                break
        else:
            kept.append(index)
    return kept


def path_barrier(energies: Sequence[float]) -> float:
    """Return the barrier of a periodic diffusion path: its highest energy minus its lowest (eV)."""
    values = np.asarray(energies, dtype=float)
    return float(values.max() - values.min())
