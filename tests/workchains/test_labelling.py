"""Tests of ``LabellingWorkChain`` with the real pw.x (fast protocol)."""

import numpy as np
import pytest
from aiida import engine, orm
from aiida.common.links import LinkType
from ase import units
from ase.build import bulk

from aiida_limlip.workchains.labelling import LabellingWorkChain


def small_structures():
    displaced = bulk('Li', 'bcc', a=3.43, cubic=True)
    displaced.positions[1] += [0.15, 0.05, 0.0]
    return {
        'compressed': orm.StructureData(ase=bulk('Li', 'bcc', a=3.30)),
        'expanded': orm.StructureData(ase=bulk('Li', 'bcc', a=3.34)),
        'displaced': orm.StructureData(ase=displaced),
    }


def test_protocols_and_bad_inputs(pw_code, li_family, runner_code):
    assert set(LabellingWorkChain.get_available_protocols()) == {'paper', 'fast', 'demo'}
    paper = LabellingWorkChain.get_protocol_inputs('paper')
    assert paper['parameters']['SYSTEM']['ecutwfc'] == 100.0
    assert paper['parameters']['SYSTEM']['degauss'] == pytest.approx(0.27 / 13.605693, abs=1e-4)
    structures = small_structures()
    with pytest.raises(ValueError, match="unknown protocol 'exact'"):
        LabellingWorkChain.get_builder_from_protocol(pw_code, structures, protocol='exact')
    with pytest.raises(ValueError, match='not for `quantumespresso.pw`'):
        LabellingWorkChain.get_builder_from_protocol(runner_code, structures)
    with pytest.raises(ValueError, match='no structures'):
        LabellingWorkChain.get_builder_from_protocol(pw_code, {})
    with pytest.raises(ValueError, match='family `nope` is not installed'):
        LabellingWorkChain.get_builder_from_protocol(pw_code, structures, overrides={'pseudo_family': 'nope'})
    builder = LabellingWorkChain.get_builder_from_protocol(pw_code, structures)
    builder.structures = {'sodium': orm.StructureData(ase=bulk('Na', 'bcc', a=4.2))}
    with pytest.raises(ValueError, match=r"no pseudopotential for \['Na'\]"):
        engine.submit(builder)


@pytest.mark.slow
def test_labels_match_pw_outputs(pw_code, li_family):
    """Stored labels equal the PwCalculation outputs, in the documented units and ASE's stress sign."""
    # 80/320 Ry (instead of the fast protocol's 30/120) so that stress and dE/dV can be compared physically.
    overrides = {'parameters': {'SYSTEM': {'ecutwfc': 80.0, 'ecutrho': 320.0}}}
    builder = LabellingWorkChain.get_builder_from_protocol(
        pw_code, small_structures(), protocol='fast', overrides=overrides, config_classes={'displaced': 'rattled'}
    )
    _, node = engine.run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    training_set = node.outputs.frames
    assert training_set.num_frames == 3
    assert training_set.labels == ['energy', 'forces', 'stress']
    assert training_set.config_classes == {'rattled': 1, 'unknown': 2}

    frames = {frame.info['label']: frame for frame in training_set.get_frames()}
    for link in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all():
        label = link.link_label[len('scf_') :]
        pw = link.node.outputs
        frame = frames[label]
        assert frame.get_potential_energy() == pytest.approx(pw.output_parameters['energy'], abs=1e-8)
        assert frame.get_forces() == pytest.approx(pw.output_trajectory.get_array('forces')[-1], abs=1e-8)
        stress_gpa = pw.output_trajectory.get_array('stress')[-1]
        assert frame.get_stress(voigt=False) == pytest.approx(-stress_gpa * units.GPa, abs=1e-8)
        calculation = link.node.called[-1]
        assert frame.info['source'] == calculation.uuid

    # Signs, physically: both cells are compressed (a < 3.43 Å), so the pressure is positive (ASE stress negative),
    # larger for the smaller cell, and equal to -dE/dV between them. Measured: 1.75 and 1.06 GPa against -dE/dV =
    # 1.68 GPa; the 20 % gap is the Pulay stress left at 80 Ry (ld1.x suggests 103 Ry). A flipped sign would give
    # -1.4 GPa, so 30 % separates right from wrong.
    compressed, expanded = frames['compressed'], frames['expanded']
    p_compressed = -np.trace(compressed.get_stress(voigt=False)) / 3
    p_expanded = -np.trace(expanded.get_stress(voigt=False)) / 3
    assert p_compressed > p_expanded > 0
    dedv = (expanded.get_potential_energy() - compressed.get_potential_energy()) / (
        expanded.get_volume() - compressed.get_volume()
    )
    assert (p_compressed + p_expanded) / 2 == pytest.approx(-dedv, rel=0.3)
    # Forces push the displaced atom back (restoring), and sum to zero.
    displaced = frames['displaced']
    assert np.dot(displaced.get_forces()[1], [0.15, 0.05, 0.0]) < 0
    assert np.abs(displaced.get_forces().sum(axis=0)).max() < 1e-3

    from aiida_limlip.query import get_labelling_calculations

    sources = get_labelling_calculations(training_set)
    assert len(sources) == 3
    for key, calculation in sources.items():
        assert calculation.outputs.output_parameters['energy'] == pytest.approx(
            frames[key.split(':')[1]].get_potential_energy(), abs=1e-8
        )

    report = '\n'.join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert 'labelling 3 structures' in report and 'FrameSetData<' in report and '3 frames' in report


@pytest.mark.slow
def test_one_failed_scf_leaves_a_complete_set_of_the_others(pw_code, li_family):
    """An impossible setting (one band for six electrons) fails one SCF; the others form the frame set."""
    structures = small_structures()
    builder = LabellingWorkChain.get_builder_from_protocol(
        pw_code, structures, protocol='fast', overrides={'structure_parameters': {'expanded': {'SYSTEM': {'nbnd': 1}}}}
    )
    _, node = engine.run_get_node(builder)
    assert node.exit_status == LabellingWorkChain.exit_codes.ERROR_SOME_STRUCTURES_FAILED.status
    assert '1 of 3 SCFs failed: expanded' in node.exit_message
    training_set = node.outputs.frames
    assert sorted(frame.info['label'] for frame in training_set.get_frames()) == ['compressed', 'displaced']
    assert training_set.labels == ['energy', 'forces', 'stress']
    report = '\n'.join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert 'structure `expanded` left out' in report


@pytest.mark.slow
def test_max_iterations_bounds_the_restarts_of_a_stalled_scf(pw_code, li_family):
    """An SCF stopped after 2 steps is not converged: PwBaseWorkChain restarts it with less mixing, up to
    ``max_iterations`` pw.x runs in all; with 1 the structure is left out at once (the demo's active learning)."""
    structures = {'displaced': small_structures()['displaced']}
    stalled = {'structure_parameters': {'displaced': {'ELECTRONS': {'electron_maxstep': 2}}}}
    runs = {}
    for limit in (1, 2):
        builder = LabellingWorkChain.get_builder_from_protocol(
            pw_code, structures, protocol='fast', overrides={**stalled, 'max_iterations': limit}
        )
        _, node = engine.run_get_node(builder)
        assert node.exit_status == LabellingWorkChain.exit_codes.ERROR_ALL_STRUCTURES_FAILED.status
        (base,) = node.called
        assert base.inputs.max_iterations.value == limit
        runs[limit] = [call for call in base.called if call.process_label == 'PwCalculation']
    assert len(runs[1]) == 1 and len(runs[2]) == 2
    betas = [run.inputs.parameters['ELECTRONS']['mixing_beta'] for run in runs[2]]
    assert betas[1] < betas[0]  # the restart had less mixing


@pytest.mark.slow
def test_a_free_slot_takes_the_next_structure_at_once(pw_code, li_family):
    """Two SCFs at a time: while a 16-atom cell runs, the 1-atom cells pass one after another through the other slot.

    With batches of two (the former behaviour) the second small cell would start only after the big cell ended.
    """
    big = bulk('Li', 'bcc', a=3.43, cubic=True).repeat(2)
    big.rattle(0.05, seed=1)
    structures = {'big': orm.StructureData(ase=big), **small_structures()}
    overrides = {'max_concurrent': 2, 'kpoints_spacing': 0.25}  # the big cell at the Gamma point (~10 s alone)
    builder = LabellingWorkChain.get_builder_from_protocol(pw_code, structures, protocol='fast', overrides=overrides)
    _, node = engine.run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert node.outputs.frames.num_frames == 4
    scf = {
        link.link_label[len('scf_') :]: link.node
        for link in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()
    }
    order = sorted(scf, key=lambda label: scf[label].ctime)
    assert order[0] == 'big'  # the costliest first
    # At most two at a time: every SCF started after all but one of those before it had ended.
    for index, label in enumerate(order[2:], start=2):
        ended = [other for other in order[:index] if scf[other].mtime <= scf[label].ctime]
        assert len(ended) >= index - 1, (label, ended)
    second_small = order[2]
    assert scf[second_small].ctime < scf['big'].mtime, 'the free slot waited for the big cell'


@pytest.mark.slow
def test_a_wrong_prediction_does_not_hold_a_free_slot(pw_code, li_family, monkeypatch):
    """The pool awaits the SCF predicted to end first; when another one ends first, it refills that slot at once.

    The prediction is made as wrong as it can be (always the big cell, which runs longest): the 1-atom cells must
    still pass one after another through the second slot while the big cell runs. Before, a slot stayed idle until
    the awaited SCF ended (seen in the demo campaign: 90 s behind an adatom slab whose SCF was restarted).
    """
    from aiida_limlip.workchains import labelling

    monkeypatch.setattr(labelling, 'expected_to_end_first', lambda running: max(running, key=lambda k: running[k][1]))
    big = bulk('Li', 'bcc', a=3.43, cubic=True).repeat(2)
    big.rattle(0.05, seed=2)
    structures = {'big': orm.StructureData(ase=big), **small_structures()}
    overrides = {'max_concurrent': 2, 'kpoints_spacing': 0.25}
    builder = LabellingWorkChain.get_builder_from_protocol(pw_code, structures, protocol='fast', overrides=overrides)
    _, node = engine.run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    scf = {
        link.link_label[len('scf_') :]: link.node
        for link in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()
    }
    order = sorted(scf, key=lambda label: scf[label].ctime)
    assert order[0] == 'big'
    assert scf[order[2]].ctime < scf['big'].mtime, 'the free slot waited for the awaited big cell'


def test_the_pool_waits_for_the_job_expected_to_end_first():
    from aiida_limlip.workchains.labelling import expected_to_end_first

    assert expected_to_end_first({'slab': (5.0, 120.0), 'bulk': (0.0, 15.0)}) == 'bulk'
    # Past its expected 40 s by far: the slab is in trouble, the fresh bulk cell will end first.
    assert expected_to_end_first({'slab': (130.0, 40.0), 'bulk': (5.0, 15.0)}) == 'bulk'
    assert expected_to_end_first({'a': (10.0, 20.0), 'b': (10.0, 20.0)}) == 'a'  # ties: reproducible


@pytest.mark.slow
def test_gamma_tricks_give_the_same_labels(pw_code, li_family):
    """A cell at the Gamma point alone, labelled with pw.x's Gamma tricks (K_POINTS gamma) and without (automatic).

    The tricks store only the real wavefunctions of the Gamma point, so converged SCFs agree: energy, forces and
    stress. Converged tightly (1e-10 Ry/atom), because at the demo's 5e-7 Ry/atom the two SCF paths end up to
    0.26 eV/Å apart on one atom of a 16-atom cell (pw.x's "SCF correction" to the forces: 0.2 eV/Å), and at 1e-9 Ry
    within 4 meV/Å of each other with identical energies (measured with pw.x directly).
    """
    cell = bulk('Li', 'bcc', a=3.43, cubic=True).repeat((2, 1, 1))
    cell.rattle(0.08, seed=3)
    structures = {'rattled': orm.StructureData(ase=cell)}
    frames, meshes = {}, {}
    for tricks in (True, False):
        overrides = {
            'kpoints_mesh': [1, 1, 1],
            'gamma_tricks': tricks,
            'parameters': {'ELECTRONS': {'conv_thr_per_atom': 1e-10, 'electron_maxstep': 300}},
        }
        builder = LabellingWorkChain.get_builder_from_protocol(pw_code, structures, 'fast', overrides=overrides)
        _, node = engine.run_get_node(builder)
        assert node.is_finished_ok, node.exit_message
        (calculation,) = [n for n in node.called_descendants if n.process_label == 'PwCalculation']
        meshes[tricks] = calculation.base.repository.get_object_content('aiida.in').split('K_POINTS')[1].split()[0]
        frames[tricks] = node.outputs.frames.get_frames()[0]
    assert meshes == {True: 'gamma', False: 'automatic'}
    fast, plain = frames[True], frames[False]
    assert fast.get_potential_energy() / 4 == pytest.approx(plain.get_potential_energy() / 4, abs=1e-4)
    np.testing.assert_allclose(fast.get_forces(), plain.get_forces(), atol=5e-3)
    np.testing.assert_allclose(fast.get_stress() / units.GPa, plain.get_stress() / units.GPa, atol=0.01)
    assert np.abs(plain.get_forces()).max() > 0.05  # the rattle gives forces to compare
