"""Displaced supercells and the phonon band structure and DOS (phonopy), with provenance."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..analysis import phonons
from ..data.frame_set import FrameSetData
from .frames import frames_by_label


def displacement_label(index: int) -> str:
    """Return the label of the ``index``-th displaced supercell."""
    return f'displacement_{index:03d}'


@calcfunction
def phonon_displacements(structure: orm.StructureData, settings: orm.Dict) -> dict:
    """Return the displaced supercells (``displacement_NNN``) and ``phonopy`` (what rebuilds phonopy later).

    ``settings``: ``supercell`` (3 repeats or a 3x3 matrix) and ``displacement`` (Å).
    """
    params, supercells = phonons.displaced_supercells(
        structure.get_ase(), settings['supercell'], settings['displacement']
    )
    outputs = {displacement_label(index): orm.StructureData(ase=atoms) for index, atoms in enumerate(supercells)}
    outputs['phonopy'] = orm.Dict(params)
    return outputs


@calcfunction
def phonon_analysis(frames: FrameSetData, phonopy: orm.Dict, settings: orm.Dict) -> dict:
    """Return the band structure along the standard path, the DOS, their data and a plot.

    ``settings``: ``npoints`` (q-points along the path), ``mesh`` (DOS q-mesh), optional ``path`` (ASE's notation).
    """
    by_label = frames_by_label(frames)
    params = phonopy.get_dict()
    forces = [by_label[displacement_label(index)].get_forces() for index in range(len(params['dataset']))]
    try:
        data = phonons.phonon_results(
            params, forces, npoints=settings['npoints'], mesh=settings['mesh'], path=settings.get('path')
        )
    except ValueError as exception:
        return ExitCode(411, f'the phonon analysis failed: {exception}')

    bands = orm.BandsData()
    bands.set_cell(params['cell'])
    bands.set_kpoints(np.array(data['qpoints']), cartesian=False)
    distances = np.array(data['distances'])
    labels = [(int(np.argmin(np.abs(distances - distance))), label) for distance, label in data['labels']]
    bands.labels = labels
    bands.set_bands(np.array(data['frequencies']), units='THz')
    bands.label = 'phonon_bands'

    dos = orm.XyData()
    dos.set_x(np.array(data['dos_frequencies']), 'frequency', 'THz')
    dos.set_y(np.array(data['dos']), 'dos', 'states/THz per unit cell')

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / 'phonons.png'
        phonons.plot_band_structures({'phonons': data}, path)
        plot = orm.SinglefileData(path)
    results = {
        'min_frequency': data['min_frequency'],
        'max_frequency': float(np.max(data['frequencies'])),
        'special_points': {
            label: sorted(float(f) for f in data['frequencies'][index]) for index, label in labels if '|' not in label
        },
        'path': data['path'],
        'units': {'min_frequency': 'THz', 'max_frequency': 'THz', 'special_points': 'THz'},
        'dynamically_stable': phonons.is_dynamically_stable(data['min_frequency']),
    }
    return {
        'results': orm.Dict(results),
        'phonon_data': orm.Dict(data),
        'band_structure': bands,
        'dos': dos,
        'band_plot': plot,
    }
