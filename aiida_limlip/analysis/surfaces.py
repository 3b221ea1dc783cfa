"""Surface slabs, surface energies and Wulff shapes (no AiiDA).

Miller indices always refer to the conventional standard cell of the bulk crystal (pymatgen's convention), so that a
primitive and a conventional input cell of the same crystal give the same facets. Lengths in Å, energies in eV,
surface energies in eV/Å^2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from numbers import Real
from pathlib import Path

import numpy as np
from ase import Atoms

from .structures import conventional_standard_structure
from .units import EV_PER_ANGSTROM2_TO_J_PER_M2


def check_miller_index(miller: Sequence[int]) -> tuple[int, int, int]:
    """Return ``miller`` as a tuple of three ints.

    Raises
    ------
    ValueError
        If ``miller`` is not three integers (integer-valued floats are accepted) or is (0, 0, 0).
    """
    if isinstance(miller, str) or not isinstance(miller, Sequence | np.ndarray) or len(miller) != 3:
        raise ValueError(f'a Miller index must be a sequence of three integers, got {miller!r}')
    if not all(isinstance(i, Real) and not isinstance(i, bool) and float(i).is_integer() for i in miller):
        raise ValueError(f'a Miller index must contain integers only, got {miller!r}')
    index = tuple(int(i) for i in miller)
    if index == (0, 0, 0):
        raise ValueError('(0, 0, 0) is not a Miller index')
    return index


def miller_label(miller: Sequence[int]) -> str:
    """Return a compact label of a Miller index: ``(1, -1, 0) -> '1-10'``.

    Indices beyond one digit are joined with underscores (``(10, 0, 1) -> '10_0_1'``) so that the label stays
    unambiguous; :func:`parse_miller_label` inverts both forms.
    """
    index = check_miller_index(miller)
    separator = '_' if any(abs(i) > 9 for i in index) else ''
    return separator.join(str(i) for i in index)


def parse_miller_label(label: str) -> tuple[int, int, int]:
    """Return the Miller index of a label made by :func:`miller_label`.

    Raises
    ------
    ValueError
        If ``label`` is not such a label.
    """
    if not isinstance(label, str):
        raise ValueError(f'a Miller index label must be a string, got {label!r}')
    pattern = r'(-?\d+)_(-?\d+)_(-?\d+)' if '_' in label else r'(-?\d)(-?\d)(-?\d)'
    match = re.fullmatch(pattern, label.strip())
    if match is None:
        raise ValueError(f'not a Miller index label: {label!r}')
    return check_miller_index([int(i) for i in match.groups()])


def distinct_miller_indices(bulk: Atoms, max_index: int) -> list[tuple[int, int, int]]:
    """Return the symmetrically distinct Miller indices with no component larger than ``max_index``.

    Sorted by the sum of the absolute values, then lexicographically: for bcc, ``max_index=1`` gives
    ``[(1, 0, 0), (1, 1, 0), (1, 1, 1)]``.
    """
    from pymatgen.core.surface import get_symmetrically_distinct_miller_indices

    if max_index < 1:
        raise ValueError(f'max_index must be at least 1, got {max_index}')
    indices = get_symmetrically_distinct_miller_indices(conventional_standard_structure(bulk), max_index)
    return sorted((check_miller_index(m) for m in indices), key=lambda m: (sum(abs(i) for i in m), m))


def make_slab(bulk: Atoms, miller: Sequence[int], min_slab_size: float, min_vacuum_size: float) -> Atoms:
    """Return a symmetric slab (two equivalent surfaces) of ``bulk`` cut parallel to ``miller``.

    The slab is stacked from whole oriented unit cells of the conventional cell, then reduced to the smallest surface
    cell; its c axis is made normal to the surface (along z) and the slab is centred in the vacuum.

    Parameters
    ----------
    bulk
        The bulk crystal (any cell; it is converted to the conventional standard cell).
    miller
        Miller index of the surface, in the conventional cell.
    min_slab_size, min_vacuum_size
        Minimum slab and vacuum thickness in Å.

    Returns
    -------
    ase.Atoms
        The slab, with ``info`` keys ``miller`` (list), ``area`` (Å^2, one surface), ``slab_thickness`` (Å: the
        bulk-equivalent thickness, atoms x bulk volume per atom / area, i.e. layers x interlayer spacing) and
        ``vacuum`` (Å: the cell height minus that thickness).

    Raises
    ------
    ValueError
        If the index or the sizes are invalid, or no termination gives two equivalent surfaces.
    """
    from pymatgen.core.surface import SlabGenerator

    index = check_miller_index(miller)
    if min_slab_size <= 0 or min_vacuum_size < 0:
        raise ValueError(f'need min_slab_size > 0 and min_vacuum_size >= 0, got {min_slab_size}, {min_vacuum_size}')
    conventional = conventional_standard_structure(bulk)
    # allow_smaller_than_ouc: without it the slab keeps the in-plane cell of the oriented conventional cell, e.g. two
    # atoms per layer for bcc (110), doubling the cost for nothing.
    generator = SlabGenerator(
        conventional,
        index,
        min_slab_size,
        min_vacuum_size,
        lll_reduce=True,
        center_slab=True,
        in_unit_planes=False,
        primitive=True,
        allow_smaller_than_ouc=True,
    )
    symmetric = [slab for slab in generator.get_slabs() if slab.is_symmetric()]
    if not symmetric:
        raise ValueError(f'no termination of the ({miller_label(index)}) surface has two equivalent surfaces')
    slab = symmetric[0].get_orthogonal_c_slab()

    atoms = Atoms(
        symbols=[site.specie.symbol for site in slab],
        positions=slab.cart_coords,
        cell=slab.lattice.matrix,
        pbc=True,
    )
    atoms.wrap()
    area = float(np.linalg.norm(np.cross(atoms.cell[0], atoms.cell[1])))
    thickness = len(atoms) * conventional.volume / len(conventional) / area
    height = abs(float(atoms.cell[2] @ np.cross(atoms.cell[0], atoms.cell[1]))) / area
    atoms.info.update(miller=list(index), area=area, slab_thickness=thickness, vacuum=height - thickness)
    return atoms


def surface_energy(slab_energy: float, slab_natoms: int, bulk_energy_per_atom: float, area: float) -> float:
    """Return the surface energy (eV/Å^2) of a slab with two equivalent surfaces of ``area`` Å^2 each.

    gamma = (E_slab - N e_bulk) / (2 A).
    """
    if area <= 0:
        raise ValueError(f'the surface area must be positive, got {area}')
    return (slab_energy - slab_natoms * bulk_energy_per_atom) / (2.0 * area)


def facet_surface_energies(
    slabs: dict[str, dict], slab_energies: dict[str, float], bulk_energy_per_atom: float
) -> tuple[dict[str, float], dict[str, dict]]:
    """Return gamma per facet (eV/Å^2) and per-facet details (with gamma also in J/m^2) of several slabs.

    Parameters
    ----------
    slabs
        Slab label to its metadata: ``facet`` (label), ``natoms``, ``area`` (Å^2), ...
    slab_energies
        Slab label to its energy (eV).
    bulk_energy_per_atom
        Energy per atom of the bulk reference (eV/atom).

    Raises
    ------
    ValueError
        If a surface energy is not positive: the slab or the bulk reference is wrong (or the potential is).
    """
    energies, details = {}, {}
    for label, info in slabs.items():
        gamma = surface_energy(slab_energies[label], info['natoms'], bulk_energy_per_atom, info['area'])
        energies[info['facet']] = gamma
        details[info['facet']] = {
            **info,
            'surface_energy': gamma,
            'surface_energy_J_m2': gamma * EV_PER_ANGSTROM2_TO_J_PER_M2,
        }
    if any(gamma <= 0 for gamma in energies.values()):
        raise ValueError(f'a surface energy is not positive: {energies}; the slab or bulk reference is wrong')
    return energies, details


def _wulff_shape(bulk: Atoms, surface_energies: dict):
    """Return the pymatgen ``WulffShape`` and the labels of the facets, in input order."""
    from pymatgen.analysis.wulff import WulffShape

    millers = [parse_miller_label(k) if isinstance(k, str) else check_miller_index(k) for k in surface_energies]
    if len(set(millers)) != len(millers):
        raise ValueError(f'a Miller index is given more than once: {list(surface_energies)}')
    energies = [float(e) for e in surface_energies.values()]
    # A Wulff shape of non-positive energies is meaningless; pymatgen would only warn.
    if not energies or min(energies) <= 0:
        raise ValueError(f'need positive surface energies, got {energies}')
    shape = WulffShape(conventional_standard_structure(bulk).lattice, millers, energies)
    return shape, [miller_label(m) for m in millers]


def wulff_analysis(bulk: Atoms, surface_energies: dict) -> dict:
    """Return the properties of the Wulff shape of ``bulk`` with the given surface energies.

    Parameters
    ----------
    bulk
        The bulk crystal; Miller indices refer to its conventional standard cell.
    surface_energies
        Surface energy (eV/Å^2) of each facet, keyed by Miller label (``'110'``) or index tuple.

    Returns
    -------
    dict
        JSON-serialisable: ``area_fractions`` (label -> fraction of the shape's area, 0.0 for facets absent from the
        shape), ``facets_on_shape`` (labels with fraction > 1e-6, by decreasing fraction), ``weighted_surface_energy``
        (area-weighted, eV/Å^2), ``anisotropy`` (area-weighted coefficient of variation of the energies),
        ``shape_factor`` (area / volume^(2/3), 6 for a cube), ``surface_area``, ``volume`` and ``effective_radius``
        (radius of the sphere of equal volume). The shape is built with the surface energies as facet distances, so
        its size is in units of the energies (eV/Å^2, not Å); only the dimensionless quantities are physical.
    """
    shape, labels = _wulff_shape(bulk, surface_energies)
    fractions = {label: float(f) for label, f in zip(labels, shape.area_fraction_dict.values(), strict=True)}
    return {
        'area_fractions': fractions,
        'facets_on_shape': [label for label, f in sorted(fractions.items(), key=lambda x: -x[1]) if f > 1e-6],
        'weighted_surface_energy': float(shape.weighted_surface_energy),
        'anisotropy': float(shape.anisotropy),
        'shape_factor': float(shape.shape_factor),
        'surface_area': float(shape.surface_area),
        'volume': float(shape.volume),
        'effective_radius': float(shape.effective_radius),
    }


def plot_wulff(bulk: Atoms, surface_energies: dict, path: str | Path, title: str | None = None) -> None:
    """Save a PNG image of the Wulff shape to ``path`` (arguments as in :func:`wulff_analysis`)."""
    import matplotlib.pyplot as plt

    shape, _ = _wulff_shape(bulk, surface_energies)
    figure = shape.get_plot().figure
    if title:
        figure.suptitle(title)
    # savefig renders the PNG with Agg whatever the active backend, so the caller's backend is left alone.
    figure.savefig(path, format='png', dpi=100)
    plt.close(figure)
