"""Harmonic phonons by finite displacements with phonopy (no AiiDA).

The workflow is split at the force calculation: :func:`displaced_supercells` returns JSON-serialisable parameters
plus the displaced supercells, the forces of all supercells are computed elsewhere in one batch, and
:func:`phonon_results` rebuilds phonopy from the parameters and those forces. The unit cell is used as phonopy's
primitive cell, so q-points are fractional in the reciprocal basis of the given cell (as ASE's band paths are) and
the DOS is per given cell. Units: Å, eV, amu; frequencies in THz; reciprocal distances in 1/Å without 2π.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from ase import Atoms

UNITS = {
    'distances': '1/Å (no 2π)',
    'frequencies': 'THz',
    'qpoints': 'fractional, reciprocal basis of the unit cell',
    'dos_frequencies': 'THz',
    'dos': 'states/THz per unit cell',
    'min_frequency': 'THz (negative = imaginary)',
}


def _phonopy(params: dict):
    """Return a Phonopy object for the unit cell and supercell matrix of ``params`` (no dataset yet)."""
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    unitcell = PhonopyAtoms(
        symbols=params['symbols'],
        cell=params['cell'],
        scaled_positions=params['scaled_positions'],
        masses=params['masses'],
    )
    # 'P': the given cell is the primitive cell, so q-points and band counts refer to it and not to a guessed one.
    return Phonopy(unitcell, supercell_matrix=params['supercell_matrix'], primitive_matrix='P', log_level=0)


def displaced_supercells(
    unitcell: Atoms, supercell: Sequence[int] | np.ndarray = (5, 5, 5), displacement: float = 0.01
) -> tuple[dict, list[Atoms]]:
    """Generate the symmetry-reduced set of displaced supercells.

    Parameters
    ----------
    unitcell
        The (relaxed) unit cell; its masses are kept.
    supercell
        Three repetitions, or a 3x3 integer supercell matrix.
    displacement
        Displacement distance in Å.

    Returns
    -------
    tuple
        ``params``, a JSON-serialisable dict to pass to :func:`phonon_results`, and the displaced supercells
        (periodic ``ase.Atoms``) in the order in which their forces must be given.
    """
    import phonopy

    matrix = np.asarray(supercell, dtype=int)
    matrix = np.diag(matrix) if matrix.shape == (3,) else matrix
    if matrix.shape != (3, 3) or round(abs(np.linalg.det(matrix))) == 0:
        raise ValueError(f'supercell must be 3 repetitions or a non-singular 3x3 matrix, got {supercell!r}')
    params = {
        'cell': np.asarray(unitcell.cell).tolist(),
        'symbols': unitcell.get_chemical_symbols(),
        'scaled_positions': unitcell.get_scaled_positions().tolist(),
        'masses': unitcell.get_masses().tolist(),
        'supercell_matrix': matrix.tolist(),
        'displacement': float(displacement),
        'phonopy_version': phonopy.__version__,
    }
    phonon = _phonopy(params)
    phonon.generate_displacements(distance=displacement)
    params['dataset'] = [
        {'number': int(d['number']), 'displacement': np.asarray(d['displacement'], dtype=float).tolist()}
        for d in phonon.dataset['first_atoms']
    ]
    params['natoms_supercell'] = len(phonon.supercell)
    supercells = [
        Atoms(symbols=s.symbols, cell=s.cell, positions=s.positions, masses=s.masses, pbc=True)
        for s in phonon.supercells_with_displacements
    ]
    return params, supercells


def _segments(bandpath) -> tuple[list[np.ndarray], list[int], list[tuple[int, str]]]:
    """Split an ASE band path into its continuous segments.

    Returns the q-points of each segment, the index (exclusive) where each segment ends in the concatenated
    q-points, and ``(index, name)`` of every special point.
    """
    from ase.dft.kpoints import parse_path_string

    kpts, special = bandpath.kpts, bandpath.special_points
    ends, points, index = [], [], 0
    for names in parse_path_string(bandpath.path):
        for name in names:
            # ASE includes the special points in kpts; searching forward finds repeated points in path order.
            while not np.allclose(kpts[index], special[name], atol=1e-8):
                index += 1
            points.append((index, name))
        index += 1
        ends.append(index)
    return np.split(kpts, ends[:-1]), ends, points


#: Lowest frequency (THz) above which a crystal counts as dynamically stable: small imaginary frequencies near Gamma
#: come from finite displacements and the acoustic sum rule, not from an instability.
STABILITY_THRESHOLD = -0.05


def is_dynamically_stable(min_frequency: float) -> bool:
    """Return whether the lowest phonon frequency (THz, negative = imaginary) shows a dynamically stable crystal."""
    return bool(min_frequency > STABILITY_THRESHOLD)


def phonon_results(
    params: dict,
    forces: Sequence[np.ndarray],
    npoints: int = 51,
    mesh: Sequence[int] = (20, 20, 20),
    path: str | None = None,
    symmetrize: bool = True,
) -> dict:
    """Compute the band structure and total DOS from the forces of the displaced supercells.

    Parameters
    ----------
    params
        As returned by :func:`displaced_supercells`.
    forces
        Forces (eV/Å) of each displaced supercell, shape (natoms_supercell, 3), in the order of the supercells.
    npoints
        Number of q-points along the whole band path.
    mesh
        q-point mesh of the DOS (tetrahedron method).
    path
        Special-point path string of ASE, segments separated by ','; default: ASE's path for the lattice.
    symmetrize
        Impose translational invariance (acoustic sum rule) and index-permutation symmetry on the force constants.

    Returns
    -------
    dict
        JSON-serialisable: ``distances``, ``frequencies`` (nq, nbands), ``qpoints``, ``labels`` ([distance, label],
        jumps merged as 'H|P'), ``segment_ends``, ``path``, ``dos_frequencies``, ``dos``, ``min_frequency`` and
        ``units``.

    Raises
    ------
    ValueError
        If the number or the shape of the force arrays does not match the displacement dataset.
    """
    natoms, dataset = params['natoms_supercell'], params['dataset']
    if len(forces) != len(dataset):
        raise ValueError(f'expected forces of {len(dataset)} displaced supercells, got {len(forces)}')
    forces = np.array([np.asarray(f, dtype=float) for f in forces])
    if forces.shape[1:] != (natoms, 3):
        raise ValueError(f'each force array must have shape ({natoms}, 3), got {forces.shape[1:]}')
    phonon = _phonopy(params)
    phonon.dataset = {'natom': natoms, 'first_atoms': [dict(d) for d in dataset]}
    phonon.forces = forces
    phonon.produce_force_constants()
    if symmetrize:
        phonon.symmetrize_force_constants()

    bandpath = Atoms(cell=params['cell'], pbc=True).cell.bandpath(path, npoints=npoints)
    qpaths, ends, points = _segments(bandpath)
    # Read the results from the properties: the run_* methods of older phonopy versions return None.
    phonon.run_band_structure(qpaths)
    bands = phonon.band_structure
    distances = np.concatenate(bands.distances)
    frequencies = np.concatenate(bands.frequencies)
    labels = []
    for index, name in points:
        name = 'Γ' if name == 'G' else name
        # Phonopy does not advance the distance across a jump, so the two ends of a jump share one tick.
        if labels and np.isclose(labels[-1][0], distances[index]):
            labels[-1][1] += f'|{name}'
        else:
            labels.append([float(distances[index]), name])

    phonon.run_mesh(list(mesh), is_gamma_center=True)
    phonon.run_total_dos()
    dos = phonon.total_dos
    return {
        'distances': distances.tolist(),
        'frequencies': frequencies.tolist(),
        'qpoints': np.concatenate(qpaths).tolist(),
        'labels': labels,
        'segment_ends': ends,
        'path': bandpath.path,
        'dos_frequencies': np.asarray(dos.frequency_points).tolist(),
        'dos': np.asarray(dos.dos).tolist(),
        'min_frequency': float(frequencies.min()),
        'units': dict(UNITS),
    }


def plot_band_structures(
    bands: dict[str, dict], path: str | os.PathLike, reference: str | None = None, title: str | None = None
) -> None:
    """Overlay phonon band structures, with their DOS in a narrow right panel, and save a PNG.

    Parameters
    ----------
    bands
        Name -> result of :func:`phonon_results`; all on the same band path and q-point distances.
    path
        Output file of the PNG.
    reference
        Name of the result drawn in black dashed lines (e.g. the DFT one).
    title
        Figure title.

    Raises
    ------
    ValueError
        If there is nothing to plot, ``reference`` is not in ``bands``, or the results do not share the band path.
    """
    # A bare Figure (Agg canvas) touches neither pyplot's global state nor the backend of the calling process.
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    if not bands:
        raise ValueError('no band structures to plot')
    if reference is not None and reference not in bands:
        raise ValueError(f'reference {reference!r} is not one of {sorted(bands)}')
    first = next(iter(bands.values()))
    for name, result in bands.items():
        same_path = result['path'] == first['path'] and result['segment_ends'] == first['segment_ends']
        if not same_path or not np.allclose(result['distances'], first['distances'], rtol=1e-6, atol=1e-8):
            raise ValueError(f'{name!r} is not on the same band path as {next(iter(bands))!r}')

    figure = Figure(figsize=(8, 5))
    axis, dos_axis = figure.subplots(1, 2, sharey=True, gridspec_kw={'width_ratios': [4, 1], 'wspace': 0.05})
    colours = iter(rcParams['axes.prop_cycle'].by_key()['color'] * len(bands))
    for name, result in bands.items():
        style = {'color': 'black', 'linestyle': '--'} if name == reference else {'color': next(colours)}
        distances, frequencies = np.asarray(result['distances']), np.asarray(result['frequencies'])
        for start, end in zip([0, *result['segment_ends'][:-1]], result['segment_ends'], strict=True):
            # One line set per continuous segment, so that no line is drawn across a jump such as H|P.
            axis.plot(distances[start:end], frequencies[start:end], linewidth=1, **style)
        axis.plot([], [], label=name, **style)
        dos_axis.plot(result['dos'], result['dos_frequencies'], linewidth=1, **style)

    ticks, names = zip(*first['labels'], strict=True)
    for tick in ticks:
        axis.axvline(tick, color='grey', linewidth=0.5)
    axis.axhline(0, color='grey', linewidth=0.5)
    axis.set_xticks(ticks, names)
    axis.set_xlim(first['distances'][0], first['distances'][-1])
    axis.set_ylabel('Frequency (THz)')
    axis.legend(loc='best', fontsize='small')
    dos_axis.set_xlabel('DOS (1/THz)')
    dos_axis.set_xlim(left=0)
    dos_axis.set_xticks([])
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=150, bbox_inches='tight')
