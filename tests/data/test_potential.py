"""Tests of ``PotentialData``."""

import numpy as np
import pytest
from aiida import orm
from ase.build import bulk

from aiida_limlip.data.potential import PotentialData


def test_snap_constructor(lammps_potentials_dir):
    node = PotentialData.from_snap_zuo2020()
    assert node.kind == 'snap'
    assert node.species == ['Li']
    assert node.cutoff == 5.1
    assert node.filenames == ['Li_Zuo_JPCA2020.snapcoeff', 'Li_Zuo_JPCA2020.snapparam']
    content = node.base.repository.get_object_content('Li_Zuo_JPCA2020.snapcoeff', mode='rb')
    assert content == (lammps_potentials_dir / 'Li_Zuo_JPCA2020.snapcoeff').read_bytes()
    assert node.get_lammps_commands('/pot') == [
        'pair_style snap',
        'pair_coeff * * /pot/Li_Zuo_JPCA2020.snapcoeff /pot/Li_Zuo_JPCA2020.snapparam Li',
    ]


def test_same_files_are_the_same_potential(lammps_potentials_dir, tmp_path):
    first = PotentialData.from_snap_zuo2020().get_or_store()
    second = PotentialData.from_snap_zuo2020()
    assert second.sha256 == first.sha256
    assert second.is_same_potential(first)
    assert second.get_or_store().uuid == first.uuid  # no duplicate is stored

    changed = tmp_path / 'Li_Zuo_JPCA2020.snapcoeff'
    changed.write_bytes((lammps_potentials_dir / 'Li_Zuo_JPCA2020.snapcoeff').read_bytes() + b'\n')
    other = PotentialData.from_lammps(
        [changed, lammps_potentials_dir / 'Li_Zuo_JPCA2020.snapparam'],
        'snap',
        '* * Li_Zuo_JPCA2020.snapcoeff Li_Zuo_JPCA2020.snapparam Li',
        ['Li'],
        kind='snap',
    )
    assert other.sha256 != first.sha256
    assert not other.is_same_potential(first)


def test_ase_calculator_of_the_node_equals_direct_lammps(snap_spec):
    """The node's calculator gives exactly what the runner's factory gives with LAMMPS's own copy of the files."""
    from aiida_limlip.runner.calculators import make_calculator_factory

    spec, directory = snap_spec
    node = PotentialData.from_snap_zuo2020()
    atoms = bulk('Li', 'bcc', a=3.43, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=3)
    atoms.calc = node.get_ase_calculator()
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    atoms.calc = make_calculator_factory(spec, directory)()
    assert energy == pytest.approx(atoms.get_potential_energy(), abs=1e-12)
    assert forces == pytest.approx(atoms.get_forces(), abs=1e-12)


def test_meam_from_lammps_library(lammps_potentials_dir):
    """LAMMPS's library.meam has a (Baskes, bcc) Li entry: the node evaluates it and bcc is mechanically sensible."""
    node = PotentialData.from_meam(lammps_potentials_dir / 'library.meam', None, ['Li'])
    assert node.kind == 'meam'
    assert node.get_lammps_commands('/p')[1] == 'pair_coeff * * /p/library.meam Li NULL Li'
    energies = []
    for a in (3.3, 3.5, 3.7):
        atoms = bulk('Li', 'bcc', a=a, cubic=True)
        atoms.calc = node.get_ase_calculator()
        energies.append(atoms.get_potential_energy())
    assert np.isfinite(energies).all()
    assert len({round(e, 8) for e in energies}) == 3  # the energy depends on volume: the potential is really used


@pytest.mark.parametrize(
    ('args', 'kwargs', 'message'),
    [
        (('gap', ['Li']), {}, 'unknown potential kind'),
        (('snap', ['Xx']), {'pair_style': 'snap'}, 'chemical symbols'),
        (('snap', []), {'pair_style': 'snap'}, 'chemical symbols'),
        (('snap', ['Li']), {}, 'needs a pair_style'),
        (('deepmd', ['Li']), {}, 'exactly one model file'),
        (('ase', ['Li']), {}, 'parameters='),
        (('ase', ['Li']), {'precision': 'float16', 'parameters': {'calculator': 'lj'}}, 'precision'),
    ],
)
def test_invalid_potentials(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        PotentialData(*args, **kwargs)


def test_attributes_are_queryable():
    node = PotentialData.from_snap_zuo2020().get_or_store()
    found = orm.QueryBuilder().append(PotentialData, filters={'attributes.kind': 'snap'}, project='uuid').all(flat=True)
    assert node.uuid in found
