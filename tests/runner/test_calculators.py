"""Tests of the potential specification -> ASE calculator conversion."""

import pytest
from ase.build import bulk

from aiida_limlip.runner.calculators import PotentialSpecError, lammps_commands, make_calculator_factory


def test_lammps_commands_resolve_file_names(snap_spec):
    spec, directory = snap_spec
    style, coeff = lammps_commands(spec, directory)
    assert style == 'pair_style snap'
    assert coeff == (
        f'pair_coeff * * {directory.resolve()}/Li_Zuo_JPCA2020.snapcoeff '
        f'{directory.resolve()}/Li_Zuo_JPCA2020.snapparam Li'
    )


@pytest.mark.parametrize(
    ('change', 'message'),
    [
        ({'kind': 'gap'}, 'unknown potential kind'),
        ({'species': []}, 'no species'),
        ({'files': ['missing.snapcoeff']}, 'missing'),
        ({'pair_style': None}, 'no pair_style'),
    ],
)
def test_invalid_specifications(snap_spec, change, message):
    spec, directory = snap_spec
    with pytest.raises(PotentialSpecError, match=message):
        make_calculator_factory({**spec, **change}, directory)


def test_snap_calculator_is_translation_invariant_and_extensive(snap_spec):
    """Same energy per atom for a cell and its 2x2x2 supercell; zero forces in perfect bcc."""
    spec, directory = snap_spec
    factory = make_calculator_factory(spec, directory)
    small = bulk('Li', 'bcc', a=3.43, cubic=True)
    large = small.repeat(2)
    small.calc, large.calc = factory(), factory()
    assert large.get_potential_energy() / 16 == pytest.approx(small.get_potential_energy() / 2, abs=1e-9)
    assert abs(large.get_forces()).max() < 1e-8


def test_ase_kind_morse_dimer_at_r0_has_energy_minus_epsilon():
    """A Morse dimer at its equilibrium distance, well inside the smoothing radius, has energy exactly -epsilon."""
    from ase import Atoms

    parameters = {'calculator': 'morse', 'epsilon': 0.8, 'r0': 3.0, 'rho0': 4.0, 'rcut1': 5.0, 'rcut2': 6.0}
    factory = make_calculator_factory({'kind': 'ase', 'species': ['Li'], 'parameters': parameters}, '.')
    dimer = Atoms('Li2', positions=[(0, 0, 0), (0, 0, 3.0)])
    dimer.calc = factory()
    assert dimer.get_potential_energy() == pytest.approx(-0.8, abs=1e-12)
    assert abs(dimer.get_forces()).max() < 1e-12


def test_ase_kind_needs_known_calculator():
    with pytest.raises(PotentialSpecError, match='parameters.calculator'):
        make_calculator_factory({'kind': 'ase', 'species': ['Li'], 'parameters': {'calculator': 'gap'}}, '.')
