"""Tests of the finite-displacement phonons against ASE's own phonon code and an analytic spring model."""

import itertools
import json

import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones
from ase.phonons import Phonons

from aiida_limlip.analysis.phonons import displaced_supercells, phonon_results, plot_band_structures

EV_TO_THZ = units._e / units._hplanck / 1e12
# sqrt(eV / (Å^2 amu)) in rad/s, converted to THz
SPRING_TO_THZ = np.sqrt(units._e / units._amu) * 1e10 / (2 * np.pi) / 1e12

# Lennard-Jones argon with the cutoff between first and second neighbours at the nearest-neighbour minimum: a
# crystal of central springs k = phi''(r0) = 72 epsilon / r0^2 between nearest neighbours only, with no tension.
EPSILON, SIGMA = 0.0104, 3.40
R0 = 2 ** (1 / 6) * SIGMA
A_AR = np.sqrt(2) * R0


def forces_of(supercells, calculator):
    forces = []
    for atoms in supercells:
        atoms.calc = calculator
        forces.append(atoms.get_forces())
    return forces


def lennard_jones():
    return LennardJones(sigma=SIGMA, epsilon=EPSILON, rc=1.2 * R0)


def spring_model_frequencies(qpoints, atoms):
    """Textbook fcc nearest-neighbour central-force model: D(q) = k/m sum_R (1 - cos q.R) R^R^T."""
    k, mass = 72 * EPSILON / R0**2, atoms.get_masses()[0]
    neighbours = np.array([p for p in itertools.product((-1, 0, 1), repeat=3) if np.abs(p).sum() == 2]) * A_AR / 2
    projectors = np.einsum('ri,rj->rij', neighbours, neighbours) / (A_AR**2 / 2)
    frequencies = []
    for q in 2 * np.pi * np.asarray(qpoints) @ atoms.cell.reciprocal():
        matrix = np.einsum('r,rij->ij', 1 - np.cos(neighbours @ q), projectors) * k / mass
        frequencies.append(np.sqrt(np.abs(np.linalg.eigvalsh(matrix))) * SPRING_TO_THZ)
    return np.array(frequencies)


@pytest.fixture(scope='module')
def copper_4x4x4():
    copper = bulk('Cu', 'fcc', a=3.61)
    params, supercells = displaced_supercells(copper, (4, 4, 4))
    return copper, params, phonon_results(params, forces_of(supercells, EMT()))


def test_bcc_lithium_needs_one_displacement():
    lithium = bulk('Li', 'bcc', a=3.44)
    params, supercells = displaced_supercells(lithium)
    assert len(supercells) == len(params['dataset']) == 1
    assert len(supercells[0]) == params['natoms_supercell'] == 125
    assert all(supercells[0].pbc)
    assert np.allclose(params['supercell_matrix'], 5 * np.eye(3))
    assert np.allclose(supercells[0].cell, 5 * lithium.cell)
    # Distance of every atom from its lattice site (phonopy orders the supercell atoms differently from ASE's repeat).
    fractional = supercells[0].positions @ np.linalg.inv(lithium.cell)
    moved = np.linalg.norm((fractional - np.round(fractional)) @ lithium.cell, axis=1)
    number = params['dataset'][0]['number']
    assert moved[number] == pytest.approx(0.01, abs=1e-9)
    assert np.delete(moved, number).max() < 1e-9
    assert np.linalg.norm(params['dataset'][0]['displacement']) == pytest.approx(0.01)
    assert json.loads(json.dumps(params)) == params


def test_copper_agrees_with_ase_phonons(copper_4x4x4, tmp_path):
    copper, params, result = copper_4x4x4
    qpoints, frequencies = np.array(result['qpoints']), np.array(result['frequencies'])
    reference = Phonons(copper, EMT(), supercell=(4, 4, 4), delta=0.01, name=str(tmp_path / 'phonon'))
    reference.run()
    reference.read(acoustic=True)
    ase_frequencies = np.sort(reference.band_structure(qpoints, verbose=False), axis=1) * EV_TO_THZ
    # Compare on the q-points commensurate with the supercell (Γ, X, W, L and some between), where both Fourier
    # sums are exact; elsewhere phonopy shares forces between equidistant periodic images and ASE does not, which
    # alone makes ~0.1 THz. Same supercell forces, so only ASE's +/- displacements against phonopy's one
    # symmetry-reduced displacement remain: measured 5e-4 THz, an error in mass, units or q basis is > 0.05 THz.
    commensurate = np.all(np.isclose(4 * qpoints, np.round(4 * qpoints)), axis=1)
    assert commensurate.sum() >= 6
    assert np.abs(frequencies - ase_frequencies)[commensurate].max() < 0.005
    at_x = np.flatnonzero(np.all(np.isclose(qpoints, [0.5, 0, 0.5]), axis=1))[0]
    assert frequencies[at_x] == pytest.approx([5.33, 5.33, 7.81], abs=0.01)  # two degenerate transverse modes
    assert np.abs(frequencies[0]).max() < 0.05  # acoustic modes at Γ
    assert result['min_frequency'] > -0.05
    assert result['path'] == 'GXWKGLUWLK,UX'


def test_result_layout_and_labels(copper_4x4x4):
    _, params, result = copper_4x4x4
    assert json.loads(json.dumps(result)) == result
    nq = len(result['distances'])
    assert nq == 51 and np.shape(result['frequencies']) == (51, 3) and np.shape(result['qpoints']) == (51, 3)
    assert result['segment_ends'] == [result['segment_ends'][0], 51]
    names = [name for _, name in result['labels']]
    assert names == ['Γ', 'X', 'W', 'K', 'Γ', 'L', 'U', 'W', 'L', 'K|U', 'X']
    ticks = [x for x, _ in result['labels']]
    assert ticks[0] == 0 and ticks[-1] == pytest.approx(result['distances'][-1]) and np.all(np.diff(ticks) > 0)
    # The jump K|U: the last point of the first segment is K, the next one U, at the same distance.
    end = result['segment_ends'][0]
    assert result['distances'][end] == pytest.approx(result['distances'][end - 1])
    assert np.allclose(result['qpoints'][end - 1], [0.375, 0.375, 0.75])
    assert np.allclose(result['qpoints'][end], [0.625, 0.25, 0.625])
    with pytest.raises(ValueError, match='expected forces of 1'):
        phonon_results(params, [])
    with pytest.raises(ValueError, match='shape'):
        phonon_results(params, [np.zeros((3, 3))])


def test_argon_spring_model_and_dos_normalisation():
    argon = bulk('Ar', 'fcc', a=A_AR)
    params, supercells = displaced_supercells(argon, (3, 3, 3))
    result = phonon_results(params, forces_of(supercells, lennard_jones()), path='GXWKGLUWLK,UX')
    # The whole path against the analytic dispersion; at X these are sqrt(4k/m) (twice) and sqrt(8k/m).
    expected = spring_model_frequencies(result['qpoints'], argon)
    assert np.abs(np.array(result['frequencies']) - expected).max() < 2e-3  # measured 2e-4 THz of 1.6 THz
    frequencies, dos = np.array(result['dos_frequencies']), np.array(result['dos'])
    assert np.trapezoid(dos, frequencies) == pytest.approx(3, rel=0.01)  # 3 modes per atom; measured 0.04 % off
    # Moment theorem: the BZ average of Tr D(q) = sum_R k/m = 12 k/m is the second moment of the DOS in omega.
    second_moment = 12 * 72 * EPSILON / R0**2 / argon.get_masses()[0] * SPRING_TO_THZ**2
    assert np.trapezoid(dos * frequencies**2, frequencies) == pytest.approx(second_moment, rel=0.01)  # 0.16 %

    # The conventional cube (4 atoms): DOS per given cell, and the X points of the fcc zone fold onto its Γ.
    cube = bulk('Ar', 'fcc', a=A_AR, cubic=True)
    params, supercells = displaced_supercells(cube, (2, 2, 2))
    assert len(supercells) == 1 and params['natoms_supercell'] == 32
    folded = phonon_results(params, forces_of(supercells, lennard_jones()), mesh=(10, 10, 10))
    assert folded['path'] == 'GXMGRX,MR'
    assert np.trapezoid(folded['dos'], folded['dos_frequencies']) == pytest.approx(12, rel=0.01)
    at_x = spring_model_frequencies([[0.5, 0, 0.5]], argon)[0]
    assert np.sort(folded['frequencies'][0]) == pytest.approx([0] * 3 + [at_x[0]] * 6 + [at_x[2]] * 3, abs=2e-3)


def test_plot_band_structures(copper_4x4x4, tmp_path):
    _, _, result = copper_4x4x4
    stiffer = dict(result, frequencies=(1.1 * np.array(result['frequencies'])).tolist())
    output = tmp_path / 'bands.png'
    plot_band_structures({'EMT': result, 'stiffer': stiffer}, output, reference='EMT', title='Cu')
    assert output.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and output.stat().st_size > 10_000
    with pytest.raises(ValueError, match='same band path'):
        plot_band_structures({'EMT': result, 'other': dict(result, path='GXL')}, tmp_path / 'bad.png')
    with pytest.raises(ValueError, match='same band path'):
        shifted = dict(result, distances=(np.array(result['distances']) * 1.01).tolist())
        plot_band_structures({'EMT': result, 'other': shifted}, tmp_path / 'bad.png')
    with pytest.raises(ValueError, match='reference'):
        plot_band_structures({'EMT': result}, tmp_path / 'bad.png', reference='DFT')
