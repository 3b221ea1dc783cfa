"""Tests of the slab, surface-energy and Wulff helpers, against analytical results and ASE's own slab builder."""

import itertools
import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from ase.build import bulk, fcc100
from ase.calculators.emt import EMT

from aiida_limlip.analysis.surfaces import (
    check_miller_index,
    distinct_miller_indices,
    make_slab,
    miller_label,
    parse_miller_label,
    plot_wulff,
    surface_energy,
    wulff_analysis,
)

A_LI = 3.44


def li_bulk(cubic):
    return bulk('Li', 'bcc', a=A_LI, cubic=cubic)


def test_check_miller_index_accepts_integers():
    assert check_miller_index([1, -1, 0]) == (1, -1, 0)
    assert check_miller_index(np.array([2, 1, 1])) == (2, 1, 1)
    assert check_miller_index((1.0, 0, 0)) == (1, 0, 0)
    assert all(type(i) is int for i in check_miller_index(np.array([1, 1, 0])))


@pytest.mark.parametrize('miller', [(0, 0, 0), (1, 2), (1, 0, 0, 1), (1.5, 0, 0), '110', (True, 0, 0), None])
def test_check_miller_index_rejects(miller):
    with pytest.raises(ValueError):
        check_miller_index(miller)


def test_miller_labels():
    assert miller_label((1, 1, 0)) == '110'
    assert miller_label([1, -1, 0]) == '1-10'
    assert miller_label((-2, -1, -1)) == '-2-1-1'
    assert miller_label((10, 0, -1)) == '10_0_-1'  # two-digit indices need a separator to stay unambiguous
    for miller in [*itertools.product(range(-3, 4), repeat=3), (10, 0, -1), (12, 11, 10)]:
        if any(miller):
            assert parse_miller_label(miller_label(miller)) == miller
    for label in ['abc', '11', '1100', '000', '1.10', '', (1, 1, 0)]:
        with pytest.raises(ValueError):
            parse_miller_label(label)


def cubic_families(max_index):
    """One representative h >= k >= l >= 0 per family of the m-3m point group, with no common divisor."""
    return [
        m for m in itertools.product(range(max_index, -1, -1), repeat=3) if m[0] >= m[1] >= m[2] and math.gcd(*m) == 1
    ]


@pytest.mark.parametrize('cubic', [True, False])
def test_distinct_miller_indices_of_bcc(cubic):
    atoms = li_bulk(cubic)
    assert distinct_miller_indices(atoms, 1) == [(1, 0, 0), (1, 1, 0), (1, 1, 1)]
    assert distinct_miller_indices(atoms, 2) == [(1, 0, 0), (1, 1, 0), (1, 1, 1), (2, 1, 0), (2, 1, 1), (2, 2, 1)]
    indices = distinct_miller_indices(atoms, 3)
    assert len(indices) == 13
    assert set(indices) == set(cubic_families(3))
    assert indices == sorted(indices, key=lambda m: (sum(map(abs, m)), m))
    with pytest.raises(ValueError, match='max_index'):
        distinct_miller_indices(atoms, 0)


def bcc_layer_spacing(miller, a):
    """Spacing of the lattice planes (hkl) of bcc: a / sqrt(h^2+k^2+l^2), halved when h+k+l is odd.

    For odd h+k+l the body-centre atoms lie half-way between the planes of the simple-cubic sublattice.
    """
    d = a / math.sqrt(sum(i * i for i in miller))
    return d if sum(miller) % 2 == 0 else d / 2


def has_inversion_centre(atoms, tol=1e-5):
    """Whether an inversion through the midpoint of a bottom atom and some top atom maps the slab onto itself.

    For a slab of a Bravais lattice with two equivalent surfaces such a centre exists; the in-plane directions are
    periodic, the c direction is not used (the images stay inside the slab).
    """
    positions = atoms.positions
    bottom = positions[np.argmin(positions[:, 2])]
    tops = positions[positions[:, 2] > positions[:, 2].max() - tol]
    inverse = np.linalg.inv(atoms.cell[:])
    for top in tops:
        images = bottom + top - positions
        frac = (images[:, None, :] - positions[None, :, :]) @ inverse
        frac[..., :2] -= np.round(frac[..., :2])
        distances = np.linalg.norm(frac @ atoms.cell[:], axis=2)
        if np.all(distances.min(axis=1) < tol):
            return True
    return False


@pytest.mark.parametrize('cubic', [True, False])
@pytest.mark.parametrize('miller', [(1, 0, 0), (1, 1, 0), (1, 1, 1), (2, 1, 0), (2, 1, 1), (3, 2, 1)])
def test_make_slab_of_bcc_lithium(cubic, miller):
    min_slab, min_vacuum = 10.0, 12.0
    slab = make_slab(li_bulk(cubic), miller, min_slab, min_vacuum)
    d = bcc_layer_spacing(miller, A_LI)

    assert slab.info['miller'] == list(miller)
    assert slab.pbc.all()
    cell = slab.cell[:]
    assert cell[2, :2] == pytest.approx([0, 0], abs=1e-8)  # c along z, normal to the surface
    assert cell[:2, 2] == pytest.approx([0, 0], abs=1e-8)

    # The smallest surface cell of a Bravais lattice holds one atom per plane: area = volume per atom / spacing.
    assert slab.info['area'] == pytest.approx(A_LI**3 / 2 / d, rel=1e-8)
    assert abs(np.linalg.det(cell[:2, :2])) == pytest.approx(A_LI**3 / 2 / d, rel=1e-8)
    layers = np.unique(np.round(slab.positions[:, 2], 6))
    assert len(layers) == len(slab)
    assert np.diff(layers) == pytest.approx(np.full(len(layers) - 1, d), abs=1e-6)

    assert slab.info['slab_thickness'] == pytest.approx(len(slab) * d, rel=1e-8)
    assert min_slab <= slab.info['slab_thickness'] < min_slab + A_LI  # whole oriented cells, no more
    assert slab.info['vacuum'] == pytest.approx(cell[2, 2] - len(slab) * d, abs=1e-8)
    assert slab.info['vacuum'] >= min_vacuum
    gap = cell[2, 2] - np.ptp(slab.positions[:, 2])
    assert gap == pytest.approx(slab.info['vacuum'] + d, abs=1e-6)
    assert layers.mean() == pytest.approx(cell[2, 2] / 2, abs=1e-6)  # centred in the vacuum

    assert has_inversion_centre(slab)
    relaxed_on_one_side = slab.copy()
    relaxed_on_one_side.positions[np.argmax(slab.positions[:, 2]), 2] += 0.1
    assert not has_inversion_centre(relaxed_on_one_side)  # the check can fail


def test_make_slab_size_of_bcc_100():
    """10 Å of bcc (100) at a = 3.44 Å: three conventional cells of two planes, one atom per plane."""
    assert len(make_slab(li_bulk(False), (1, 0, 0), 10.0, 10.0)) == 6


def test_make_slab_rejects_bad_input():
    with pytest.raises(ValueError, match='Miller'):
        make_slab(li_bulk(True), (0, 0, 0), 10.0, 10.0)
    with pytest.raises(ValueError, match='min_slab_size'):
        make_slab(li_bulk(True), (1, 0, 0), 0.0, 10.0)


def test_surface_energy_formula():
    assert surface_energy(-10.0, 4, -3.0, 5.0) == pytest.approx(0.2)
    with pytest.raises(ValueError, match='area'):
        surface_energy(-10.0, 4, -3.0, 0.0)


@pytest.mark.parametrize('cubic', [True, False])
def test_surface_energy_of_cu_100_agrees_with_ase_builder(cubic):
    """EMT Cu(100), unrelaxed: make_slab + surface_energy against a slab from ase.build.fcc100.

    EMT has a finite cutoff (between the third and fourth neighbour shells), so the unrelaxed surface energy is
    converged to ~1e-12 eV/Å^2 from five layers and the 10 Å vacua are wider than the cutoff: the two routes should
    agree to rounding even with different layer counts (6 vs 8). The 1e-6 eV/Å^2 tolerance is far below a wrong
    area (factor 2) or atom count (0.0057 eV/atom over 2 x 6.5 Å^2 = 4e-4 eV/Å^2) would give.
    """
    a = 3.61
    cu = bulk('Cu', 'fcc', a=a, cubic=cubic)
    cu.calc = EMT()
    e_bulk = cu.get_potential_energy() / len(cu)

    reference = fcc100('Cu', size=(1, 1, 8), a=a, vacuum=10.0)
    reference.calc = EMT()
    gamma_ase = surface_energy(reference.get_potential_energy(), len(reference), e_bulk, a * a / 2)

    slab = make_slab(cu, (1, 0, 0), 10.0, 10.0)
    slab.calc = EMT()
    gamma = surface_energy(slab.get_potential_energy(), len(slab), e_bulk, slab.info['area'])

    assert len(slab) == 6  # ceil(10 / 3.61) = 3 conventional cells of two planes
    assert gamma == pytest.approx(gamma_ase, abs=1e-6)
    assert 0.05 < gamma < 0.1  # an unrelaxed Cu(100) EMT surface, ~1.1 J/m^2


def test_wulff_cube():
    """Only {100} low: the shape is a cube of half-edge gamma_100; shape factor S / V^(2/3) = 6 L^2 / L^2 = 6.

    {110} stays off while gamma_110 > sqrt(2) gamma_100 (the cube edge is at that distance along <110>), {111} while
    gamma_111 > sqrt(3) gamma_100 (corner).
    """
    for cubic in (True, False):
        result = wulff_analysis(li_bulk(cubic), {'100': 0.02, '110': 0.04, '111': 0.05})
        assert result['area_fractions'] == pytest.approx({'100': 1.0, '110': 0.0, '111': 0.0}, abs=1e-9)
        assert result['facets_on_shape'] == ['100']
        assert result['shape_factor'] == pytest.approx(6.0, rel=1e-9)
        assert result['volume'] == pytest.approx((2 * 0.02) ** 3, rel=1e-9)
        assert result['surface_area'] == pytest.approx(6 * (2 * 0.02) ** 2, rel=1e-9)
        assert result['effective_radius'] == pytest.approx((3 * (2 * 0.02) ** 3 / (4 * math.pi)) ** (1 / 3), rel=1e-9)
        assert result['weighted_surface_energy'] == pytest.approx(0.02, rel=1e-9)
        assert result['anisotropy'] == pytest.approx(0.0, abs=1e-9)


def test_wulff_rhombic_dodecahedron():
    """Only {110} low: rhombic dodecahedron with faces at r = gamma_110 from the centre.

    Its vertices are at (c, 0, 0) and (c/2, c/2, c/2) with c = sqrt(2) r; the volume is a cube of edge c plus six
    pyramids of height c/2: 2 c^3, and the area is 3 V / r = 6 sqrt(2) c^2, so S / V^(2/3) = 6 * 2^(-1/6). {100} is
    absent when gamma_100 >= c = sqrt(2) gamma_110 and {111} when gamma_111 >= sqrt(3) c / 2.
    """
    g110 = 0.02
    c = math.sqrt(2) * g110
    result = wulff_analysis(li_bulk(False), {(1, 0, 0): 1.01 * c, (1, 1, 0): g110, (1, 1, 1): 1.01 * c * 3**0.5 / 2})
    assert result['area_fractions'] == pytest.approx({'100': 0.0, '110': 1.0, '111': 0.0}, abs=1e-9)
    assert result['facets_on_shape'] == ['110']
    assert result['shape_factor'] == pytest.approx(6 * 2 ** (-1 / 6), rel=1e-9)
    assert result['volume'] == pytest.approx(2 * c**3, rel=1e-9)
    assert result['surface_area'] == pytest.approx(6 * math.sqrt(2) * c**2, rel=1e-9)

    # Just below the thresholds the {100} and {111} facets appear, as small facets.
    result = wulff_analysis(li_bulk(False), {(1, 0, 0): 0.99 * c, (1, 1, 0): g110, (1, 1, 1): 0.99 * c * 3**0.5 / 2})
    assert result['facets_on_shape'][0] == '110'
    assert set(result['facets_on_shape']) == {'100', '110', '111'}
    assert 0 < result['area_fractions']['100'] < 0.01
    assert 0 < result['area_fractions']['111'] < 0.01


@pytest.mark.parametrize(
    'energies', [{'100': 0.03, '110': 0.03, '111': 0.03}, {'100': 0.031, '110': 0.028, '111': 0.033, '211': 0.032}]
)
def test_wulff_mixed_shape_is_consistent(energies):
    """Properties of any Wulff shape: fractions sum to 1; the volume is the sum of the pyramids on the facets,
    V = sum(A_i gamma_i) / 3; the weighted energy is sum(f_i gamma_i); primitive and cubic cells agree."""
    result = wulff_analysis(li_bulk(True), energies)
    assert json.loads(json.dumps(result)) == result
    fractions = result['area_fractions']
    assert set(fractions) == set(energies)
    assert sum(fractions.values()) == pytest.approx(1.0, abs=1e-9)
    weighted = sum(fractions[k] * energies[k] for k in energies)
    assert result['weighted_surface_energy'] == pytest.approx(weighted, rel=1e-9)
    assert result['volume'] == pytest.approx(result['surface_area'] * weighted / 3, rel=1e-9)
    assert result['facets_on_shape'] == sorted(
        (k for k in energies if fractions[k] > 1e-6), key=lambda k: -fractions[k]
    )
    assert {'100', '110', '111'} <= set(result['facets_on_shape'])

    from_tuples = wulff_analysis(li_bulk(False), {parse_miller_label(k): v for k, v in energies.items()})
    assert from_tuples['area_fractions'] == pytest.approx(fractions, abs=1e-9)
    for key in ('shape_factor', 'volume', 'weighted_surface_energy', 'anisotropy'):
        assert from_tuples[key] == pytest.approx(result[key], rel=1e-9, abs=1e-12)


def test_wulff_rejects_bad_energies():
    with pytest.raises(ValueError, match='positive'):
        wulff_analysis(li_bulk(True), {'100': 0.02, '110': -0.01})
    with pytest.raises(ValueError, match='more than once'):
        wulff_analysis(li_bulk(True), {'100': 0.02, (1, 0, 0): 0.03, '110': 0.03})


def test_plot_wulff_writes_png(tmp_path):
    figures = plt.get_fignums()
    path = tmp_path / 'wulff.png'
    plot_wulff(li_bulk(True), {'100': 0.03, '110': 0.029, '111': 0.032}, path, title='Li')
    data = path.read_bytes()
    assert data.startswith(b'\x89PNG') and len(data) > 1000
    assert plt.get_fignums() == figures  # the figure is closed
