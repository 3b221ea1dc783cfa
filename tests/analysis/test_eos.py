"""Tests of the Birch-Murnaghan fit."""

import numpy as np
import pytest
from ase.eos import EquationOfState
from ase.units import GPa

from aiida_limlip.analysis.eos import birch_murnaghan_energy, fit_birch_murnaghan


def test_fit_recovers_parameters_of_exact_data():
    """Noise-free BM data must give back the parameters it was made from."""
    e0, v0, b0, bp = -3.8, 43.1, 13.7 * GPa, 3.5
    volumes = np.linspace(0.94, 1.06, 9) * v0
    fit = fit_birch_murnaghan(volumes, birch_murnaghan_energy(volumes, e0, v0, b0, bp))
    assert fit.e0 == pytest.approx(e0, abs=1e-9)
    assert fit.v0 == pytest.approx(v0, rel=1e-8)
    assert fit.b0_gpa == pytest.approx(13.7, rel=1e-6)
    assert fit.b0_prime == pytest.approx(bp, rel=1e-5)
    assert fit.rms_residual < 1e-9


def test_fit_agrees_with_ase_on_noisy_data():
    """ASE's independent BM implementation on the same (noisy, non-BM) data gives the same minimum and modulus."""
    rng = np.random.default_rng(7)
    volumes = np.linspace(40.0, 46.0, 11)
    energies = 0.002 * (volumes - 43.0) ** 2 - 0.0001 * (volumes - 43.0) ** 3 + rng.normal(0, 1e-5, volumes.size)
    fit = fit_birch_murnaghan(volumes, energies)
    v0, e0, b0 = EquationOfState(volumes, energies, eos='birchmurnaghan').fit()
    assert fit.v0 == pytest.approx(v0, rel=1e-5)
    assert fit.e0 == pytest.approx(e0, abs=1e-7)
    assert fit.b0_gpa == pytest.approx(b0 / GPa, rel=1e-4)


def test_fit_rejects_grid_that_does_not_bracket_the_minimum():
    volumes = np.linspace(30.0, 36.0, 7)
    with pytest.raises(ValueError, match='edge of the volume grid'):
        fit_birch_murnaghan(volumes, 0.01 * (volumes - 43.0) ** 2)


@pytest.mark.parametrize('count', [0, 3, 4])
def test_fit_needs_five_points(count):
    volumes = np.linspace(40.0, 46.0, count)
    with pytest.raises(ValueError, match='at least 5'):
        fit_birch_murnaghan(volumes, (volumes - 43.0) ** 2)


def test_equilibrium_lattice_constant_is_the_cube_of_the_volume():
    """A relaxation may leave a cubic cell slightly strained: a0 is the edge of the cube with the fitted volume."""
    from ase.build import bulk

    from aiida_limlip.analysis.eos import equilibrium_lattice_constant

    strained = bulk('Li', 'bcc', a=3.45, cubic=True)
    strained.set_cell(strained.cell * [1.0, 1.0, 1.0004], scale_atoms=True)
    assert equilibrium_lattice_constant(strained, 41.0) == pytest.approx(41.0 ** (1 / 3), rel=1e-12)
    primitive = bulk('Li', 'bcc', a=3.45)
    assert equilibrium_lattice_constant(primitive, 20.5) == pytest.approx(41.0 ** (1 / 3), rel=1e-12)
    hcp = bulk('Mg', 'hcp', a=3.2, c=5.2)
    assert equilibrium_lattice_constant(hcp, hcp.get_volume() * 1.03**3) == pytest.approx(3.2 * 1.03, rel=1e-9)
