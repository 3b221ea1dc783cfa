"""Tests of ``FrameSetData`` and its provenance-keeping operations."""

import numpy as np
import pytest
from aiida import orm
from ase.build import bulk

from aiida_limlip.calcfunctions.frame_set import (
    filter_frame_set,
    import_extxyz,
    merge_frame_sets,
    split_frame_set,
    split_frame_set_by_class,
)
from aiida_limlip.data.frame_set import FrameSetData


def make_frames(count, config_class='bulk', seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for index in range(count):
        atoms = bulk('Li', 'bcc', a=3.4 + 0.01 * index, cubic=True).repeat((2, 1, 1))
        atoms.positions += rng.normal(0, 0.02, atoms.positions.shape)
        frames.append(
            FrameSetData.make_frame(
                atoms,
                energy=-7.6 + 0.01 * index,
                forces=rng.normal(0, 0.1, (4, 3)),
                stress=rng.normal(0, 1e-3, 6),
                config_class=config_class,
            )
        )
    return frames


def test_round_trip_and_attributes():
    frames = make_frames(3) + make_frames(2, 'vacancy', seed=1)
    node = FrameSetData(frames)
    assert node.num_frames == 5
    assert node.config_classes == {'bulk': 3, 'vacancy': 2}
    assert node.labels == ['energy', 'forces', 'stress']
    assert node.base.attributes.get('num_atoms') == 20
    assert node.base.attributes.get('units')['stress'].startswith('eV/Å^3')
    back = node.get_frames()
    for original, read in zip(frames, back, strict=True):
        assert read.get_potential_energy() == pytest.approx(original.get_potential_energy(), abs=1e-12)
        # extxyz keeps 8 decimals: 1e-8 eV/Å and eV/Å^3, far below any DFT label's noise.
        assert read.get_forces() == pytest.approx(original.get_forces(), abs=1e-8)
        assert read.get_stress() == pytest.approx(original.get_stress(), abs=1e-8)
        assert read.info['config_class'] == original.info['config_class']


def test_full_stress_tensor_is_stored_in_voigt_order():
    atoms = bulk('Li', 'bcc', a=3.4)
    tensor = np.array([[1.0, 6.0, 5.0], [6.0, 2.0, 4.0], [5.0, 4.0, 3.0]])
    frame = FrameSetData.make_frame(atoms, energy=0.0, stress=tensor)
    assert frame.get_stress() == pytest.approx([1, 2, 3, 4, 5, 6])


def test_empty_or_unlabelled_sets_are_refused():
    with pytest.raises(ValueError, match='empty'):
        FrameSetData([])
    with pytest.raises(ValueError, match='no energy'):
        FrameSetData([bulk('Li')])


def test_deepmd_export(tmp_path):
    """deepmd-kit's own data reader loads the export; virial = -stress * volume."""
    from deepmd.utils.data import DeepmdData

    frames = make_frames(3) + [
        FrameSetData.make_frame(bulk('Li', 'bcc', a=3.4), energy=-1.9, forces=np.zeros((1, 3)), stress=np.full(6, 1e-3))
    ]
    folders = FrameSetData(frames).write_deepmd(tmp_path)
    assert len(folders) == 2  # one system per composition / atom count
    data = DeepmdData(str(folders[1]), set_prefix='set', type_map=['Li'])
    data.add('energy', 1, atomic=False, must=True, high_prec=True)
    data.add('force', 3, atomic=True, must=True)
    data.add('virial', 9, atomic=False, must=True)
    loaded = data.get_test()
    assert loaded['find_energy'] == loaded['find_force'] == loaded['find_virial'] == 1.0
    # deepmd-kit may reorder frames: match them by their (distinct) energies.
    order = np.argsort(loaded['energy'].ravel())
    reference = sorted(frames[:3], key=lambda f: f.get_potential_energy())
    assert loaded['energy'].ravel()[order] == pytest.approx([f.get_potential_energy() for f in reference])
    forces = np.array([f.get_forces() for f in reference])
    assert loaded['force'].reshape(3, 4, 3)[order] == pytest.approx(forces, abs=1e-8)  # extxyz precision
    virials = np.array([-f.get_stress(voigt=False).ravel() * f.get_volume() for f in reference])
    assert loaded['virial'][order] == pytest.approx(virials, abs=1e-7)


def test_split_is_deterministic_disjoint_and_keeps_provenance():
    node = FrameSetData(make_frames(10)).store()
    first = split_frame_set(node, orm.Float(0.3), orm.Int(1))
    second = split_frame_set(node, orm.Float(0.3), orm.Int(1))
    assert first['test'].num_frames == 3 and first['train'].num_frames == 7
    energies = lambda s: sorted(f.get_potential_energy() for f in s.get_frames())  # noqa: E731
    assert energies(first['test']) == energies(second['test'])
    assert not set(energies(first['test'])) & set(energies(first['train']))
    assert first['test'].creator.base.links.get_incoming().get_node_by_label('frames').uuid == node.uuid
    with pytest.raises(ValueError, match='strictly between'):
        split_frame_set(node, orm.Float(1.0), orm.Int(1))


def test_split_by_class_keeps_every_class_in_training():
    frames = make_frames(5) + make_frames(1, 'vacancy', seed=2) + make_frames(2, 'surface', seed=3)
    node = FrameSetData(frames).store()
    parts = split_frame_set_by_class(node, orm.Float(0.4), orm.Int(1))
    # bulk: 2 of 5 held out; surface: 1 of 2; the single vacancy frame stays in training.
    assert parts['test'].config_classes == {'bulk': 2, 'surface': 1}
    assert parts['train'].config_classes == {'bulk': 3, 'surface': 1, 'vacancy': 1}
    again = split_frame_set_by_class(node, orm.Float(0.4), orm.Int(1))
    energies = lambda s: sorted(f.get_potential_energy() for f in s.get_frames())  # noqa: E731
    assert energies(again['test']) == energies(parts['test'])
    # No class with two frames: a random split of everything, as split_frame_set.
    lonely = FrameSetData(make_frames(1) + make_frames(1, 'vacancy', seed=2)).store()
    parts = split_frame_set_by_class(lonely, orm.Float(0.4), orm.Int(1))
    assert parts['test'].num_frames == 1 and parts['train'].num_frames == 1


def test_merge_and_filter():
    bulk_set = FrameSetData(make_frames(3)).store()
    vacancy_set = FrameSetData(make_frames(2, 'vacancy', seed=2)).store()
    merged = merge_frame_sets(a=bulk_set, b=vacancy_set)
    assert merged.num_frames == 5 and merged.config_classes == {'bulk': 3, 'vacancy': 2}
    only_vacancy = filter_frame_set(merged, orm.List(['vacancy']))
    assert only_vacancy.config_classes == {'vacancy': 2}
    with pytest.raises(ValueError, match='no frames of class'):
        filter_frame_set(merged, orm.List(['surface']))


def test_import_extxyz(tmp_path):
    path = FrameSetData(make_frames(2)).write_extxyz(tmp_path / 'data.extxyz')
    imported = import_extxyz(orm.SinglefileData(path), orm.Str('external'))
    assert imported.num_frames == 2
    assert imported.labels == ['energy', 'forces', 'stress']
    assert imported.config_classes == {'bulk': 2}  # classes in the file win over the default


def test_provenance_graph_of_a_split(tmp_path):
    """`verdi node graph generate` draws a split with its parent set (needs graphviz, installed by the set-up)."""
    from aiida.cmdline.commands.cmd_node import graph_generate
    from click.testing import CliRunner

    parent = FrameSetData(make_frames(4)).store()
    test_set = split_frame_set(parent, orm.Float(0.5), orm.Int(3))['test']
    output = tmp_path / 'graph.dot'
    result = CliRunner().invoke(
        graph_generate, ['-a', '2', '-d', '0', '-f', 'dot', '-O', str(output), str(test_set.pk)]
    )
    assert result.exit_code == 0, result.output
    graph = output.read_text()
    assert parent.uuid.split('-')[0] in graph and 'split_frame_set' in graph
