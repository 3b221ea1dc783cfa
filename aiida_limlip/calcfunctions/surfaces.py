"""Slabs, surface energies and the Wulff shape, with provenance."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..analysis import surfaces
from ..analysis.structures import conventional_cell
from ..data.frame_set import FrameSetData
from .frames import frames_by_label


def slab_label(miller) -> str:
    """Return the node label of a facet's slab, e.g. ``slab_110`` (``-`` becomes ``m``: labels are identifiers)."""
    return 'slab_' + surfaces.miller_label(miller).replace('-', 'm')


@calcfunction
def surface_slabs(structure: orm.StructureData, settings: orm.Dict) -> dict:
    """Return the conventional ``bulk`` cell and one symmetric slab per facet, plus ``slabs`` (facet metadata).

    ``settings``: ``max_index`` (every symmetrically distinct facet up to it) or ``miller_indices`` (a list), and
    ``min_slab_size`` and ``min_vacuum_size`` in Å.
    """
    atoms = structure.get_ase()
    settings = settings.get_dict()
    if settings.get('miller_indices'):
        facets = [surfaces.check_miller_index(miller) for miller in settings['miller_indices']]
    else:
        facets = surfaces.distinct_miller_indices(atoms, int(settings['max_index']))
    outputs = {'bulk': orm.StructureData(ase=conventional_cell(atoms))}
    slabs = {}
    for miller in facets:
        slab = surfaces.make_slab(atoms, miller, settings['min_slab_size'], settings['min_vacuum_size'])
        label = slab_label(miller)
        info = {key: slab.info[key] for key in ('miller', 'area', 'slab_thickness', 'vacuum')}
        slab.info = {}
        outputs[label] = orm.StructureData(ase=slab)
        slabs[label] = {**info, 'facet': surfaces.miller_label(miller), 'natoms': len(slab)}
    outputs['slabs'] = orm.Dict(slabs)
    return outputs


@calcfunction
def surface_energies(frames: FrameSetData, slabs: orm.Dict, structure: orm.StructureData) -> dict:
    """Return gamma = (E_slab - N e_bulk) / 2A per facet (eV/Å^2), the Wulff shape's properties and its image."""
    by_label = frames_by_label(frames)
    bulk = by_label['bulk']
    bulk_energy = bulk.get_potential_energy() / len(bulk)
    slab_energies = {label: by_label[label].get_potential_energy() for label in slabs.keys()}
    try:
        energies, details = surfaces.facet_surface_energies(slabs.get_dict(), slab_energies, bulk_energy)
    except ValueError as exception:
        return ExitCode(410, str(exception))
    atoms = structure.get_ase()
    wulff = surfaces.wulff_analysis(atoms, energies)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / 'wulff.png'
        surfaces.plot_wulff(atoms, energies, path)
        image = orm.SinglefileData(path)
    image.label = 'wulff_shape'
    results = {
        'surface_energies': energies,
        'facets': details,
        'bulk_energy_per_atom': bulk_energy,
        'units': {
            'surface_energies': 'eV/Å^2',
            'bulk_energy_per_atom': 'eV/atom',
            'area': 'Å^2',
            'slab_thickness': 'Å',
        },
    }
    return {'results': orm.Dict(results), 'wulff': orm.Dict(wulff), 'wulff_image': image}
