"""Adatoms on surfaces (no AiiDA): slabs with a fixed bottom, grids of sites, hops and a stepped (100) surface.

The geometry behind the paper's Fig. 3. A surface *unit* cell is the smallest in-plane cell of a facet's slab (its
``a`` and ``b`` vectors); the simulation cell repeats it ``repeat`` times. Fractional site coordinates ``(u, v)`` are
in the unit cell with the origin above the topmost slab atom, so ``(0, 0)`` is always the on-top site. Lengths in Å.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from ..analysis.surfaces import check_miller_index, make_slab


def nearest_neighbour_distance(bulk: Atoms) -> float:
    """Return the shortest interatomic distance of the crystal ``bulk`` (Å)."""
    from ase.neighborlist import neighbor_list

    cutoff = 1.5 * (bulk.get_volume() / len(bulk)) ** (1.0 / 3.0)
    distances = neighbor_list('d', bulk, cutoff)
    return float(distances.min())


def check_slab_sizes(min_slab_size: float, fixed_thickness: float, min_vacuum_size: float) -> str | None:
    """Return an error message if the slab cannot hold a fixed bottom and a free top, else None."""
    if min_vacuum_size <= 0:
        return f'the vacuum must be thicker than 0 Å, got {min_vacuum_size}'
    if fixed_thickness < 0:
        return f'the fixed bottom region must be at least 0 Å thick, got {fixed_thickness}'
    if min_slab_size <= fixed_thickness:
        return (
            f'the slab ({min_slab_size} Å) must be thicker than its fixed bottom region ({fixed_thickness} Å), '
            'or no atom near the surface can relax'
        )
    return None


def adsorption_slab(
    bulk: Atoms, miller: Sequence[int], min_slab_size: float, min_vacuum_size: float, repeat: Sequence[int] = (4, 4)
) -> Atoms:
    """Return the clean slab of facet ``miller``: ``repeat`` surface unit cells of a symmetric pymatgen slab.

    Returns
    -------
    ase.Atoms
        With ``info``: ``miller``, ``unit_cell`` (the two in-plane vectors of the surface unit cell, Å), ``repeat``,
        ``origin`` (x, y of the topmost atom, Å), ``top`` (its height, Å), ``area`` (of the unit cell, Å^2),
        ``slab_thickness`` and ``vacuum`` (Å).

    Raises
    ------
    ValueError
        For an impossible Miller index, a repeat below 1 or a facet without a symmetric termination.
    """
    index = check_miller_index(miller)
    repeat = tuple(int(n) for n in repeat)
    if len(repeat) != 2 or min(repeat) < 1:
        raise ValueError(f'the surface supercell must be two positive repeats, got {list(repeat)}')
    unit = make_slab(bulk, index, min_slab_size, min_vacuum_size)
    slab = unit.repeat((*repeat, 1))
    top = int(np.argmax(slab.positions[:, 2]))
    slab.info = {
        'miller': list(index),
        'unit_cell': unit.cell[:2].tolist(),
        'repeat': list(repeat),
        'origin': slab.positions[top, :2].tolist(),
        'top': float(slab.positions[top, 2]),
        'area': float(unit.info['area']),
        'slab_thickness': float(unit.info['slab_thickness']),
        'vacuum': float(unit.info['vacuum']),
    }
    return slab


def site_position(slab: Atoms, site: Sequence[float]) -> np.ndarray:
    """Return the in-plane Cartesian position (x, y) of the fractional site ``(u, v)`` of ``slab``'s unit cell."""
    unit = np.asarray(slab.info['unit_cell'])[:, :2]
    return np.asarray(slab.info['origin']) + np.asarray(site, dtype=float) @ unit


def _in_plane_images(slab: Atoms) -> np.ndarray:
    """Return the slab's positions repeated over the neighbouring in-plane cells, (9 N, 3)."""
    shifts = [i * slab.cell[0] + j * slab.cell[1] for i in (-1, 0, 1) for j in (-1, 0, 1)]
    return np.concatenate([slab.positions + shift for shift in shifts])


def contact_height(slab: Atoms, xy: Sequence[float], distance: float) -> float:
    """Return the height z at which an atom above ``xy`` first touches a slab atom at ``distance`` (Å).

    Used as the adatom's starting height: at the bulk nearest-neighbour distance from its closest neighbours, near
    the bottom of its well above any site (on top, bridge or hollow).
    """
    images = _in_plane_images(slab)
    lateral = np.linalg.norm(images[:, :2] - np.asarray(xy), axis=1)
    near = lateral < distance
    return float(np.max(images[near, 2] + np.sqrt(distance**2 - lateral[near] ** 2)))


def add_adatom(slab: Atoms, site: Sequence[float], distance: float, symbol: str | None = None) -> Atoms:
    """Return ``slab`` with one adatom (appended last) above the fractional ``site``, touching at ``distance`` (Å).

    ``symbol`` defaults to the slab's first species. ``info`` keeps the slab's and adds ``site`` (u, v).
    """
    xy = site_position(slab, site)
    adsorbed = slab.copy()
    adsorbed.append(symbol or slab.get_chemical_symbols()[0])
    adsorbed.positions[-1] = [*xy, contact_height(slab, xy, distance)]
    adsorbed.info = {**slab.info, 'site': [float(s) for s in site]}
    return adsorbed


def fractional_site(slab_info: dict, position: Sequence[float], wrap: bool = True) -> list[float]:
    """Return the fractional site (u, v) of the Cartesian position ``position`` (x, y[, z]); in [0, 1) if ``wrap``."""
    unit = np.asarray(slab_info['unit_cell'])[:, :2]
    relative = np.asarray(position[:2], dtype=float) - np.asarray(slab_info['origin'])
    site = np.linalg.solve(unit.T, relative)
    if not wrap:
        return site.tolist()
    site = site % 1.0
    return [float(s) if not np.isclose(s, 1.0, atol=1e-6) else 0.0 for s in site]


def translate_adsorbate(adsorbed: Atoms, shift: Sequence[int]) -> Atoms:
    """Return ``adsorbed`` with its adatom (the last atom) moved by ``shift`` surface unit cells.

    The slab is moved with it, so the new structure is the old one seen from the neighbouring unit cell: the same
    energy, with the same relaxation around the new site. Its slab atoms are renumbered so that each keeps (nearly)
    its place; a nudged elastic band between the two moves the adatom, not the whole slab. The renumbering is the
    assignment with the least total displacement (periodic distances), which stays right when a soft potential
    has distorted the slab around the adatom.
    """
    from ase.geometry import get_distances
    from scipy.optimize import linear_sum_assignment

    vector = np.zeros(3)
    vector[:2] = np.asarray(shift, dtype=float) @ np.asarray(adsorbed.info['unit_cell'])[:, :2]
    slab = adsorbed.positions[:-1]
    moved = slab + vector
    offsets, lengths = get_distances(slab, moved, cell=adsorbed.cell, pbc=adsorbed.pbc)
    rows, columns = linear_sum_assignment(lengths)
    result = adsorbed.copy()
    # Atom i takes the place of the moved atom assigned to it, as its nearest periodic image.
    result.positions[rows] = slab[rows] + offsets[rows, columns]
    result.positions[-1] = adsorbed.positions[-1] + vector
    return result


def hop_shifts(unit_cell: Sequence[Sequence[float]], tolerance: float = 0.01) -> list[tuple[int, int]]:
    """Return the unit-cell translations an adatom hops by: the two shortest independent ones and any as short.

    Candidates are a, b, a + b and a - b; each is kept once (not also its negative), shortest first.
    """
    unit = np.asarray(unit_cell, dtype=float)[:, :2]
    candidates = [(1, 0), (0, 1), (1, 1), (1, -1)]
    lengths = {shift: float(np.linalg.norm(np.asarray(shift) @ unit)) for shift in candidates}
    ordered = sorted(candidates, key=lambda s: (lengths[s], s))
    limit = lengths[ordered[1]] * (1.0 + tolerance)
    return [shift for shift in ordered if lengths[shift] <= limit]


def path_waypoints(
    unit_cell: Sequence[Sequence[float]],
    start: Sequence[float],
    shift: Sequence[int],
    minima: Sequence[Sequence[float]],
    distance: float,
) -> list[tuple[int, tuple[int, int]]]:
    """Return the minima a straight hop from ``start`` by ``shift`` passes, as (index, unit-cell offset), in order.

    Parameters
    ----------
    unit_cell
        The two in-plane vectors of the surface unit cell (Å).
    start
        Fractional site (u, v) the hop starts from.
    shift
        The hop, in unit cells.
    minima
        Fractional sites of the other minima (not equivalent to ``start``).
    distance
        How close (Å, in plane) a minimum must come to the straight line to be a waypoint.
    """
    unit = np.asarray(unit_cell, dtype=float)[:, :2]
    origin = np.asarray(start, dtype=float) @ unit
    vector = np.asarray(shift, dtype=float) @ unit
    length2 = float(vector @ vector)
    found = []
    for index, site in enumerate(minima):
        for offset in [(i, j) for i in range(-2, 3) for j in range(-2, 3)]:
            point = (np.asarray(site, dtype=float) + offset) @ unit - origin
            along = float(point @ vector) / length2
            lateral = float(np.linalg.norm(point - along * vector))
            if 1e-6 < along < 1 - 1e-6 and lateral < distance:
                found.append((along, index, offset))
    return [(index, offset) for _, index, offset in sorted(found)]


def stepped_slab(
    bulk: Atoms, min_slab_size: float, min_vacuum_size: float, repeat: Sequence[int] = (8, 3)
) -> tuple[Atoms, dict, Atoms]:
    """Return a (100) slab with a one-layer stripe on top, the sites of the step-down processes, and the flat slab.

    The stripe covers half of the cell along x and runs along y, so the cell holds one descending step (at the
    stripe's +x edge) and one ascending step, both along [010]. A stripe rather than a vicinal (1 0 n) slab: the
    terraces stay exact (100) terraces of the same slab that the terrace hop runs on, the step is the densest one
    of bcc (100), and the terrace width and step separation are set by ``repeat`` independently of the thickness.

    Returns
    -------
    tuple
        The stepped slab (stripe atoms last), ``sites`` (Cartesian, Å): ``upper`` (the hollow on the stripe next
        to the edge, one layer up), ``lower`` (the hollow at the foot of the step, in front of the edge, reached by the
        direct hop), ``edge_atom`` (index of the step-edge atom next to ``upper``, which the exchange pushes to
        ``lower``), ``terrace_start`` and ``terrace_end`` (two neighbouring hollows on the flat slab, the terrace
        hop) and ``layer_spacing``; and the flat slab without the stripe.

    Raises
    ------
    ValueError
        If the stripe would be narrower than two rows or the terrace than two (``repeat[0] < 4``).
    """
    repeat = tuple(int(n) for n in repeat)
    if len(repeat) != 2 or repeat[0] < 4 or repeat[1] < 1:
        raise ValueError(f'the step cell needs at least 4 unit cells across the step and 1 along it, got {repeat}')
    flat = adsorption_slab(bulk, (1, 0, 0), min_slab_size, min_vacuum_size, repeat)
    a = float(np.linalg.norm(flat.info['unit_cell'][0]))
    spacing = a / 2
    top = flat.info['top']
    x0, y0 = flat.info['origin']
    # The stripe is the next layer: atoms above the top layer's hollows, in the first half of the cell along x.
    stripe = []
    for i in range(repeat[0] // 2):
        for j in range(repeat[1]):
            stripe.append([x0 + a / 2 + i * a, y0 + a / 2 + j * a, top + spacing])
    stepped = flat.copy()
    for position in stripe:
        stepped.append(flat.get_chemical_symbols()[0])
        stepped.positions[-1] = position
    stepped.wrap()
    x_edge = x0 + a / 2 + (repeat[0] // 2 - 1) * a
    y_edge = y0 + a / 2
    edge_atom = len(flat) + (repeat[0] // 2 - 1) * repeat[1]
    sites = {
        'upper': [x_edge - a / 2, y_edge + a / 2, top + 2 * spacing],
        'lower': [x_edge + a, y_edge, top + spacing],
        'edge_atom': edge_atom,
        'terrace_start': [x0 + a / 2, y0 + a / 2, top + spacing],
        'terrace_end': [x0 + 3 * a / 2, y0 + a / 2, top + spacing],
        'layer_spacing': spacing,
    }
    stepped.info = {**flat.info, 'stripe_atoms': len(stripe)}
    return stepped, sites, flat


def step_processes(bulk: Atoms, min_slab_size: float, min_vacuum_size: float, repeat: Sequence[int] = (8, 3)) -> dict:
    """Return the end points of the terrace hop and of the two step-down processes on a stepped (100) surface.

    ``terrace``: an adatom between neighbouring hollows of the flat (100) slab. ``direct``: from the hollow on the
    stripe next to its edge over the edge to the hollow at the foot of the step. ``exchange``: the adatom takes the
    step-edge atom's place and pushes that atom to the same hollow at the foot of the step. Each is a pair of
    structures with the same atoms in the same order (the adatom last); positions are unrelaxed.
    """
    stepped, sites, flat = stepped_slab(bulk, min_slab_size, min_vacuum_size, repeat)
    symbol = flat.get_chemical_symbols()[0]

    def with_adatom(slab: Atoms, position) -> Atoms:
        atoms = slab.copy()
        atoms.append(symbol)
        atoms.positions[-1] = position
        return atoms

    terrace = (with_adatom(flat, sites['terrace_start']), with_adatom(flat, sites['terrace_end']))
    upper = with_adatom(stepped, sites['upper'])
    direct_end = with_adatom(stepped, sites['lower'])
    exchange_end = upper.copy()
    edge = sites['edge_atom']
    exchange_end.positions[-1] = stepped.positions[edge]
    exchange_end.positions[edge] = sites['lower']
    return {
        'terrace': terrace,
        'direct': (upper, direct_end),
        'exchange': (upper.copy(), exchange_end),
        'sites': sites,
        'info': stepped.info,
    }
