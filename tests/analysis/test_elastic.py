"""Tests of the stress-strain fit and the derived moduli."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.units import GPa

from aiida_limlip.analysis.elastic import (
    cubic_constants,
    deform,
    derived_moduli,
    fit_cubic_tensor,
    fit_elastic_tensor,
    fit_tetragonal_shear,
    strain_matrix,
    strain_set,
)
from aiida_limlip.analysis.eos import fit_birch_murnaghan


def cubic_tensor(c11, c12, c44):
    tensor = np.zeros((6, 6))
    tensor[:3, :3] = c12
    np.fill_diagonal(tensor[:3, :3], c11)
    tensor[3, 3] = tensor[4, 4] = tensor[5, 5] = c44
    return tensor


def test_fit_recovers_a_known_tensor():
    tensor = cubic_tensor(14.8, 13.1, 10.4)  # the paper's DFT column for Li
    pairs = strain_set([0.005, 0.01])
    assert len(pairs) == 24 and (3, -0.01) in pairs
    stresses = np.array([tensor[:, c] * m for c, m in pairs]) + 0.05  # a residual stress offsets every cell
    result = fit_elastic_tensor([c for c, _ in pairs], [m for _, m in pairs], stresses)
    assert np.allclose(result['tensor'], tensor, atol=1e-9)
    assert result['asymmetry'] < 1e-12 and min(result['r2']) == pytest.approx(1.0)
    constants = cubic_constants(result['tensor'])
    assert constants['zener_anisotropy'] == pytest.approx(2 * 10.4 / (14.8 - 13.1))
    moduli = derived_moduli(result['tensor'])
    # Textbook relations for cubic crystals: K_V = K_R = (C11 + 2 C12) / 3, G_V = (C11 - C12 + 3 C44) / 5.
    assert moduli['bulk_modulus_voigt'] == pytest.approx((14.8 + 2 * 13.1) / 3)
    assert moduli['bulk_modulus_reuss'] == pytest.approx((14.8 + 2 * 13.1) / 3)
    assert moduli['shear_modulus_voigt'] == pytest.approx((14.8 - 13.1 + 3 * 10.4) / 5)
    g_reuss = 5 * (14.8 - 13.1) * 10.4 / (4 * 10.4 + 3 * (14.8 - 13.1))
    assert moduli['shear_modulus_reuss'] == pytest.approx(g_reuss)
    k, g = moduli['bulk_modulus_hill'], moduli['shear_modulus_hill']
    assert moduli['youngs_modulus'] == pytest.approx(9 * k * g / (3 * k + g))
    assert moduli['poisson_ratio'] == pytest.approx((3 * k - 2 * g) / (6 * k + 2 * g))


def test_bad_strain_sets():
    with pytest.raises(ValueError, match='non-zero'):
        strain_set([0.0])
    with pytest.raises(ValueError, match='at least two distinct'):
        fit_elastic_tensor([0, 0], [0.01, 0.01], np.zeros((2, 6)))
    with pytest.raises(ValueError, match='unstable'):
        cubic_constants(cubic_tensor(10, 10, 5))
    assert strain_matrix(5, 0.02)[0, 1] == pytest.approx(0.01)  # engineering shear strain


def test_emt_copper_against_its_equation_of_state():
    """With a real calculator, the fitted (C11 + 2 C12) / 3 equals the bulk modulus of an independent E-V fit."""
    atoms = bulk('Cu', 'fcc', a=3.59, cubic=True)
    atoms.calc = EMT()
    volumes, energies = [], []
    cell = atoms.cell.copy()
    for scale in np.linspace(0.98, 1.02, 9):
        atoms.set_cell(cell * scale, scale_atoms=True)
        volumes.append(atoms.get_volume())
        energies.append(atoms.get_potential_energy())
    eos = fit_birch_murnaghan(np.array(volumes), np.array(energies))
    atoms.set_cell(cell * (eos.v0 / np.linalg.det(cell)) ** (1 / 3), scale_atoms=True)
    reference = atoms.get_stress() / GPa
    pairs = strain_set([0.002, 0.004])
    stresses = []
    equilibrium = atoms.cell.copy()
    for component, magnitude in pairs:
        strained = atoms.copy()
        strained.calc = EMT()
        strained.set_cell(deform(equilibrium, component, magnitude), scale_atoms=True)
        stresses.append(strained.get_stress() / GPa)
    result = fit_elastic_tensor([c for c, _ in pairs], [m for _, m in pairs], np.array(stresses), reference)
    constants = cubic_constants(result['tensor'])
    assert (constants['C11'] + 2 * constants['C12']) / 3 == pytest.approx(eos.b0_gpa, rel=0.01)
    assert result['asymmetry'] < 0.01 and min(result['r2']) > 0.999


def test_cubic_fit_from_two_strain_directions():
    """xx and yz strains alone recover a cubic tensor; other components or one strain value are refused."""
    tensor = cubic_tensor(14.8, 13.1, 10.4)
    pairs = strain_set([0.005, 0.01], components=[0, 3])
    assert len(pairs) == 8
    stresses = np.array([tensor[:, c] * m for c, m in pairs]) - 0.02
    result = fit_cubic_tensor([c for c, _ in pairs], [m for _, m in pairs], stresses, reference_stress=[-0.02] * 6)
    assert np.allclose(result['tensor'], tensor, atol=1e-9)
    assert min(result['r2']) == pytest.approx(1.0)
    with pytest.raises(ValueError, match='components 0 \\(xx\\) and 3'):
        fit_cubic_tensor([0, 0, 1, 1], [0.01, -0.01, 0.01, -0.01], np.zeros((4, 6)))
    with pytest.raises(ValueError, match='at least two distinct strains'):
        fit_cubic_tensor([0, 0, 3, 3], [0.01, 0.01, 0.01, -0.01], np.zeros((4, 6)))


def test_tetragonal_shear_from_xx_strains_alone():
    """xx strains give C11, C12 and C' = (C11 - C12)/2 despite a quadratic response; other strains are refused."""
    tensor = cubic_tensor(14.8, 13.1, 10.4)
    pairs = strain_set([0.01], components=[0])
    # A second-order term (third-order constants, here -100 GPa) is even in the strain: both signs cancel it.
    stresses = np.array([tensor[:, c] * m - 100 * m**2 for c, m in pairs]) - 0.02
    result = fit_tetragonal_shear([0, 0], [m for _, m in pairs], stresses, reference_stress=[-0.02] * 6)
    assert result['C11'] == pytest.approx(14.8, abs=1e-9)
    assert result['C12'] == pytest.approx(13.1, abs=1e-9)
    assert result['C_prime'] == pytest.approx(0.85, abs=1e-9)
    with pytest.raises(ValueError, match='component 0 \\(xx\\) only'):
        fit_tetragonal_shear([0, 3], [0.01, 0.01], np.zeros((2, 6)))
