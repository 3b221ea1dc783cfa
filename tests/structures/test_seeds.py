"""Tests of the seed structures and the k-point mesh."""

import numpy as np
import pytest
from ase.build import bcc100, bulk
from ase.neighborlist import neighbor_list

from aiida_limlip.analysis.structures import vacuum_axes
from aiida_limlip.structures.seeds import CONFIG_CLASSES, SeedSettings, generate_seeds
from aiida_limlip.workchains.dft import kpoint_mesh


def test_seeds_cover_every_class_and_are_sane():
    seeds = generate_seeds(SeedSettings(), seed=0)
    labels = [label for label, _, _ in seeds]
    assert len(labels) == len(set(labels))
    assert {cls for _, cls, _ in seeds} == set(CONFIG_CLASSES)
    for label, _, atoms in seeds:
        assert len(atoms) <= 128
        assert atoms.pbc.all()
        distances = neighbor_list('d', atoms, 3.5)
        closest = 3.434 * 5**0.5 / 4 if label == 'interstitial' else 2.6  # tetrahedral site: a*sqrt(5)/4
        assert distances.min() >= closest - 1e-6, f'{label}: atoms {distances.min():.2f} Å apart'
    by_label = {label: atoms for label, _, atoms in seeds}
    assert len(by_label['vacancy']) == 53 and len(by_label['interstitial']) == 55
    assert len(by_label['adatom_110_2']) == len(by_label['surface_110']) + 2


def test_seeds_are_deterministic():
    first = generate_seeds(SeedSettings(), seed=5)
    second = generate_seeds(SeedSettings(), seed=5)
    other = generate_seeds(SeedSettings(), seed=6)
    for (_, _, a), (_, _, b) in zip(first, second, strict=True):
        assert np.array_equal(a.positions, b.positions) and np.array_equal(a.cell, b.cell)
    rattled = [i for i, (label, _, _) in enumerate(first) if label.startswith('rattled')]
    assert not np.allclose(first[rattled[0]][2].positions, other[rattled[0]][2].positions)


def test_volume_per_atom_is_that_of_bcc_for_all_phases():
    seeds = {label: atoms for label, _, atoms in generate_seeds(SeedSettings(lattice_constant=3.4), seed=0)}
    for phase in ('bulk_bcc', 'bulk_fcc', 'bulk_hcp'):
        assert seeds[phase].get_volume() / len(seeds[phase]) == pytest.approx(3.4**3 / 2)


@pytest.mark.parametrize(
    ('settings', 'message'),
    [
        ({'surfaces': ['211']}, 'unsupported surface'),
        ({'colour': 1}, 'unknown seed setting'),
        ({'bulk_phases': ['diamond']}, 'unsupported bulk phase'),
        ({'defect_repeat': 5}, 'more than max_atoms'),
    ],
)
def test_bad_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        generate_seeds(SeedSettings.from_dict(settings))


def test_kpoint_mesh_convention():
    """0.02 1/Å without 2*pi: 15x15x15 for cubic bcc Li at 3.434 Å (the paper's spacing)."""
    assert kpoint_mesh(bulk('Li', 'bcc', a=3.434, cubic=True), 0.02) == [15, 15, 15]
    assert kpoint_mesh(bulk('Li', 'bcc', a=3.434, cubic=True).repeat((2, 1, 1)), 0.02) == [8, 15, 15]
    slab = bcc100('Li', size=(2, 2, 5), a=3.434, vacuum=6.0)
    assert vacuum_axes(slab) == [False, False, True]
    assert kpoint_mesh(slab, 0.02)[2] == 1
    with pytest.raises(ValueError, match='positive'):
        kpoint_mesh(slab, 0.0)


def test_pw_parameters_per_structure_keys():
    """conv_thr per atom and nbnd from the occupied bands; pw.x itself never sees our keys."""
    from aiida_limlip.workchains.dft import pw_parameters

    given = {'SYSTEM': {'nbnd_factor': 1.4, 'ecutwfc': 30.0}, 'ELECTRONS': {'conv_thr_per_atom': 1e-8}}
    # 16 Li atoms with the 1s semicore: 48 electrons, 24 occupied bands; 1.4 x 24 = 33.6 -> 34.
    parameters = pw_parameters(given, 16, 48.0)
    assert parameters['SYSTEM'] == {'ecutwfc': 30.0, 'nbnd': 34}
    assert parameters['ELECTRONS']['conv_thr'] == pytest.approx(1.6e-7)
    # The 2-atom cell: 3 occupied bands, at least 4 empty ones (pw.x's own minimum).
    assert pw_parameters(given, 2, 6.0)['SYSTEM']['nbnd'] == 7
    # An explicit nbnd wins; the input is not changed.
    assert pw_parameters({'SYSTEM': {'nbnd_factor': 2.0, 'nbnd': 40}}, 16, 48.0)['SYSTEM'] == {'nbnd': 40}
    assert given['SYSTEM']['nbnd_factor'] == 1.4
