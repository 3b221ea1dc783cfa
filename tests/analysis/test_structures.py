"""Tests of the structure helpers."""

import pytest
from ase.build import bulk

from aiida_limlip.analysis.structures import conventional_lattice_constant, is_cubic, scale_to_volume


@pytest.mark.parametrize('cubic', [True, False])
def test_conventional_lattice_constant_of_bcc(cubic):
    """The primitive (1-atom) and the conventional (2-atom) bcc cell have the same conventional a."""
    assert conventional_lattice_constant(bulk('Li', 'bcc', a=3.434, cubic=cubic)) == pytest.approx(3.434, abs=1e-9)


def test_is_cubic():
    assert is_cubic(bulk('Li', 'bcc', a=3.43))
    assert not is_cubic(bulk('Li', 'hcp', a=3.1, c=5.1))


def test_scale_to_volume_keeps_fractional_coordinates():
    atoms = bulk('Li', 'bcc', a=3.4, cubic=True)
    scaled = scale_to_volume(atoms, atoms.get_volume() * 1.1)
    assert scaled.get_volume() == pytest.approx(atoms.get_volume() * 1.1, rel=1e-12)
    assert scaled.get_scaled_positions() == pytest.approx(atoms.get_scaled_positions())
    assert atoms.get_volume() == pytest.approx(3.4**3)  # the input is not modified
