"""Adatom geometry on bcc Li surfaces, against what the bcc lattice says by hand (no potential, no AiiDA)."""

import numpy as np
import pytest
from ase.build import bulk
from ase.geometry import find_mic

from aiida_limlip.analysis import surface_kinetics as sk
from aiida_limlip.structures import surface_sites as ss

A = 3.44


@pytest.fixture(scope='module')
def li():
    return bulk('Li', 'bcc', a=A, cubic=True)


def test_nearest_neighbour_distance(li):
    assert ss.nearest_neighbour_distance(li) == pytest.approx(A * np.sqrt(3) / 2, rel=1e-9)


def test_adatom_over_the_100_hollow_touches_its_four_neighbours(li):
    """(0.5, 0.5) of bcc(100) is the four-fold hollow: four top-layer atoms at a/sqrt(2) in plane."""
    slab = ss.adsorption_slab(li, (1, 0, 0), 8.0, 10.0, (3, 3))
    assert len(slab) == 9 * len({round(z, 3) for z in slab.positions[:, 2]})
    d = ss.nearest_neighbour_distance(li)
    hollow = ss.add_adatom(slab, (0.5, 0.5), d)
    distances = hollow.get_distances(len(hollow) - 1, range(len(slab)), mic=True)
    assert np.sort(distances)[:4] == pytest.approx([d] * 4, abs=1e-9)
    assert hollow.positions[-1, 2] - slab.info['top'] == pytest.approx(np.sqrt(d**2 - A**2 / 2), abs=1e-9)
    on_top = ss.add_adatom(slab, (0.0, 0.0), d)
    assert on_top.positions[-1, 2] - slab.info['top'] == pytest.approx(d, abs=1e-9)
    assert ss.fractional_site(hollow.info, hollow.positions[-1]) == pytest.approx([0.5, 0.5], abs=1e-9)


def test_translating_the_adsorbate_keeps_the_slab_and_moves_the_adatom(li):
    """A unit-cell shift maps the slab onto itself (every atom stays within 1e-9 Å) and moves the adatom by a."""
    slab = ss.adsorption_slab(li, (1, 1, 0), 6.0, 10.0, (3, 3))
    rattled = slab.copy()
    rattled.positions[-1] += 0.05  # not a lattice point: the renumbering must still find each atom's place
    adsorbed = ss.add_adatom(rattled, (0.3, 0.6), ss.nearest_neighbour_distance(li))
    moved = ss.translate_adsorbate(adsorbed, (1, 0))
    _, lengths = find_mic(moved.positions[:-1] - adsorbed.positions[:-1], adsorbed.cell, adsorbed.pbc)
    # Every atom keeps its place but two: the rattled one's old place, which an unrattled atom takes, and the place
    # the rattled atom moves into; both are off by the rattle.
    assert np.sort(lengths)[:-2].max() < 1e-9
    assert np.sort(lengths)[-2:] == pytest.approx([0.05 * np.sqrt(3)] * 2, abs=1e-9)
    shift = moved.positions[-1] - adsorbed.positions[-1]
    assert shift == pytest.approx([*slab.info['unit_cell'][0][:2], 0.0], abs=1e-9)
    assert sorted(moved.get_chemical_symbols()) == sorted(adsorbed.get_chemical_symbols())


def test_hop_shifts_of_bcc_100_and_110(li):
    """(100): a and b (a = 3.44 Å), not the diagonals (a sqrt 2); (110): the two 2.98 Å vectors, not a + b."""
    square = ss.adsorption_slab(li, (1, 0, 0), 6.0, 10.0, (1, 1)).info['unit_cell']
    assert ss.hop_shifts(square) == [(0, 1), (1, 0)]
    rhombic = ss.adsorption_slab(li, (1, 1, 0), 6.0, 10.0, (1, 1)).info['unit_cell']
    lengths = [np.linalg.norm(np.asarray(s) @ np.asarray(rhombic)[:, :2]) for s in ss.hop_shifts(rhombic)]
    assert lengths == pytest.approx([A * np.sqrt(3) / 2] * 2, rel=1e-9)


def test_path_waypoints_on_a_square_cell():
    """A hop along a from (0, 0) passes (0.5, 0.02) and not (0.5, 0.5); order along the hop."""
    unit = [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]]
    found = ss.path_waypoints(unit, (0.0, 0.0), (1, 0), [(0.5, 0.5), (0.5, 0.02), (0.25, 0.99)], distance=0.2)
    assert found == [(2, (0, -1)), (1, (0, 0))]
    assert ss.path_waypoints(unit, (0.0, 0.0), (1, 0), [(0.5, 0.5)], distance=0.2) == []


def test_stepped_slab_sites(li):
    """The stripe is one layer on half the cell; the exchange end point swaps the adatom with the edge atom."""
    processes = ss.step_processes(li, 6.0, 10.0, (4, 2))
    upper, direct_end = processes['direct']
    _, exchange_end = processes['exchange']
    flat_start, flat_end = processes['terrace']
    assert processes['info']['stripe_atoms'] == 4
    assert len(upper) == len(flat_start) + 4
    sites = processes['sites']
    edge = sites['edge_atom']
    # The edge atom is a nearest neighbour (in plane, a/sqrt 2) of the upper site, and moves one a along x.
    lateral = np.linalg.norm(upper.positions[edge, :2] - np.asarray(sites['upper'][:2]))
    assert lateral == pytest.approx(A / np.sqrt(2), abs=1e-9)
    assert exchange_end.positions[edge] - upper.positions[edge] == pytest.approx([A, 0, 0], abs=1e-9)
    # Both step-down processes end with an atom at the foot of the step and the same atoms elsewhere.
    assert exchange_end.positions[edge] == pytest.approx(direct_end.positions[-1], abs=1e-9)
    assert flat_end.positions[-1] - flat_start.positions[-1] == pytest.approx([A, 0, 0], abs=1e-9)


def test_bad_geometry_is_refused(li):
    assert 'thicker than its fixed bottom' in ss.check_slab_sizes(6.0, 6.0, 10.0)
    assert ss.check_slab_sizes(14.0, 6.0, 15.0) is None
    with pytest.raises(ValueError, match='two positive repeats'):
        ss.adsorption_slab(li, (1, 0, 0), 6.0, 10.0, (0, 4))
    with pytest.raises(ValueError, match='at least 4 unit cells'):
        ss.stepped_slab(li, 6.0, 10.0, (2, 2))
    with pytest.raises(ValueError, match='at least 2x2'):
        sk.surface_grid([1, 4])


def test_distinct_minima_merge_periodic_copies():
    unit = [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]]
    sites = [(0.5, 0.5), (0.99, 0.0), (0.01, 0.0), (0.5, 0.52)]
    energies = [0.1, 0.3, 0.29, 0.1001]
    assert sk.distinct_minima(sites, energies, unit, tolerance=0.1) == [0, 2]
    assert sk.path_barrier([0.0, 0.05, 0.02, 0.06, 0.0]) == pytest.approx(0.06)
