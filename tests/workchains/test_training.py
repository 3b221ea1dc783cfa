"""Tests of ``TrainingWorkChain`` and ``PredictionErrorsWorkChain`` (real training, tiny models)."""

import numpy as np
import pytest
from aiida import engine, orm
from ase.stress import voigt_6_to_full_3x3_stress

from aiida_limlip.analysis.errors import prediction_errors
from aiida_limlip.calcfunctions.errors import compute_test_errors
from aiida_limlip.data.frame_set import FrameSetData
from aiida_limlip.workchains.prediction_errors import PredictionErrorsWorkChain
from aiida_limlip.workchains.training import TrainingWorkChain


def test_prediction_errors_by_hand():
    """RMSE per atom, per force component and per 3x3 stress component, overall and per class."""
    reference = [
        {'natoms': 2, 'energy': -4.0, 'forces': np.zeros((2, 3)), 'stress': np.zeros(6)},
        {'natoms': 1, 'energy': -2.0, 'forces': np.zeros((1, 3)), 'stress': np.zeros(6)},
    ]
    predicted = [
        {'natoms': 2, 'energy': -3.996, 'forces': np.full((2, 3), 0.01), 'stress': np.array([0, 0, 0, 0, 0, 1e-3])},
        {'natoms': 1, 'energy': -2.002, 'forces': np.full((1, 3), -0.02), 'stress': np.zeros(6)},
    ]
    result = prediction_errors(reference, predicted, ['a', 'b'])
    overall = result['overall']
    assert overall['energy']['rmse'] == pytest.approx(2.0)  # both frames are 2 meV/atom off
    assert result['energy_offset'] == pytest.approx(0.0)  # ... in opposite directions
    assert overall['energy_centered']['rmse'] == pytest.approx(2.0)
    shifted = [{**frame, 'energy': frame['energy'] + 5.0 * frame['natoms']} for frame in predicted]
    result_shifted = prediction_errors(reference, shifted, ['a', 'b'])
    assert result_shifted['energy_offset'] == pytest.approx(5000.0)
    assert result_shifted['overall']['energy_centered']['rmse'] == pytest.approx(2.0)
    assert overall['forces']['rmse'] == pytest.approx(np.sqrt((6 * 10**2 + 3 * 20**2) / 9))
    # One xy shear of 1e-3 eV/Å^3 appears twice (xy and yx) among the 18 components of two full tensors.
    assert overall['stress']['rmse'] == pytest.approx(160.21766 * 1e-3 * np.sqrt(2 / 18), rel=1e-5)
    assert result['per_class']['b']['forces']['mae'] == pytest.approx(20.0)
    assert result['per_class']['a']['num_frames'] == 1
    predicted[1]['stress'] = None
    assert prediction_errors(reference, predicted)['overall']['stress'] is None
    with pytest.raises(ValueError, match='empty'):
        prediction_errors([], [])


def test_compute_test_errors_matches_numpy(snap_labelled_set):
    """The calcfunction on predicted frames agrees with a direct numpy computation."""
    frames = snap_labelled_set.get_frames()
    rng = np.random.default_rng(5)
    energies, stresses, forces, predicted = [], [], [], []
    for atoms in frames:
        energies.append(atoms.get_potential_energy() + rng.normal(0, 0.01))
        stresses.append(atoms.get_stress() + rng.normal(0, 1e-4, 6))
        forces.append(atoms.get_forces() + rng.normal(0, 0.02, (len(atoms), 3)))
        predicted.append(FrameSetData.make_frame(atoms, energies[-1], forces[-1], stresses[-1]))
    errors = compute_test_errors(snap_labelled_set, FrameSetData(predicted)).get_dict()

    natoms = np.array([len(a) for a in frames])
    ref_e = np.array([a.get_potential_energy() for a in frames])
    expected_e = 1000 * np.sqrt(np.mean(((np.array(energies) - ref_e) / natoms) ** 2))
    expected_f = 1000 * np.sqrt(
        np.mean(np.concatenate([(f - a.get_forces()).ravel() for f, a in zip(forces, frames, strict=True)]) ** 2)
    )
    full = [voigt_6_to_full_3x3_stress(s - a.get_stress()) for s, a in zip(stresses, frames, strict=True)]
    expected_s = 160.21766208 * np.sqrt(np.mean(np.array(full) ** 2))
    assert errors['overall']['energy']['rmse'] == pytest.approx(expected_e, rel=1e-9)
    assert errors['overall']['forces']['rmse'] == pytest.approx(expected_f, rel=1e-6)
    assert errors['overall']['stress']['rmse'] == pytest.approx(expected_s, rel=1e-6)
    assert set(errors['per_class']) == {'rattled', 'vacancy'}
    assert errors['units'] == {'energy': 'meV/atom', 'forces': 'meV/Å', 'stress': 'GPa'}


def test_snap_scores_zero_on_its_own_labels(runner_code, snap_potential, snap_labelled_set):
    """Any potential goes through the same evaluation; SNAP reproduces the labels it made (to file precision)."""
    builder = PredictionErrorsWorkChain.get_builder_from_protocol(runner_code, snap_potential, snap_labelled_set)
    results, node = engine.run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    overall = results['errors']['overall']
    assert overall['num_frames'] == 16
    assert overall['energy']['rmse'] < 1e-4 and overall['forces']['rmse'] < 1e-4
    assert overall['stress']['rmse'] < 1e-6
    predictions = results['predictions'].get_frames()
    labels = snap_labelled_set.get_frames()
    energies = [a.get_potential_energy() for a in predictions]
    assert energies == pytest.approx([a.get_potential_energy() for a in labels], abs=1e-6)
    assert predictions[1].get_forces() == pytest.approx(labels[1].get_forces(), abs=1e-6)
    assert [a.info['label'] for a in predictions[:2]] == ['frame_000000', 'frame_000001']


def test_bad_inputs_fail_before_submission(runner_code, dp_code, snap_labelled_set):
    with pytest.raises(ValueError, match='unknown architecture'):
        TrainingWorkChain.get_builder_from_protocol(dp_code, runner_code, snap_labelled_set, 'mace')
    with pytest.raises(ValueError, match='unknown protocol'):
        TrainingWorkChain.get_builder_from_protocol(dp_code, runner_code, snap_labelled_set, 'deepmd', 'huge')
    with pytest.raises(ValueError, match='is set up for `limlip.deepmd.train`'):
        TrainingWorkChain.get_builder_from_protocol(dp_code, runner_code, snap_labelled_set, 'nequip32')
    tiny = FrameSetData(snap_labelled_set.get_frames()[:2])
    with pytest.raises(ValueError, match='at least 3'):
        TrainingWorkChain.get_builder_from_protocol(dp_code, runner_code, tiny, 'deepmd')
    with pytest.raises(ValueError, match='empty'):
        FrameSetData([])
    builder = TrainingWorkChain.get_builder_from_protocol(dp_code, runner_code, snap_labelled_set, 'deepmd')
    builder.split = orm.Dict({'test_fraction': 1.5, 'validation_fraction': 0.1})
    with pytest.raises(ValueError, match='strictly between 0 and 1'):
        engine.run(builder)


def test_protocols():
    assert set(TrainingWorkChain.get_available_protocols()) == {'paper', 'fast', 'demo'}
    paper = TrainingWorkChain.get_protocol_inputs('paper')
    assert paper['nequip']['cutoff'] == 6.0 and paper['compile'] is True
    assert paper['deepmd']['parameters']['model']['descriptor']['type'] == 'se_e3'
    assert paper['deepmd']['parameters']['model']['fitting_net']['resnet_dt'] is True


@pytest.mark.slow
def test_deepmd_ensemble_end_to_end(dp_code, runner_code, lmp_code, snap_labelled_set, tmp_path):
    """Two DeePMD models differing only in seed, scored on held-out frames, then run in LAMMPS as an ensemble."""
    builder = TrainingWorkChain.get_builder_from_protocol(
        dp_code, runner_code, snap_labelled_set, 'deepmd', 'fast', num_models=2
    )
    results, node = engine.run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    sizes = [results[key].num_frames for key in ('train_set', 'validation_set', 'test_set')]
    assert sum(sizes) == 16 and sizes[2] == 3

    # The held-out frames are not among those trained on.
    def key(atoms):
        return round(float(atoms.get_potential_energy()), 8)

    assert {key(a) for a in results['test_set'].get_frames()}.isdisjoint(
        key(a) for a in results['train_set'].get_frames()
    )
    assert set(results['potentials']) == {'model_00', 'model_01'}
    first, second = (results['potentials'][key] for key in ('model_00', 'model_01'))
    assert not first.is_same_potential(second)  # different seeds, different weights
    summary = results['summary'].get_dict()
    assert summary['architecture'] == 'deepmd' and set(summary['models']) == {'model_00', 'model_01'}
    for label in ('model_00', 'model_01'):
        errors = results['test_errors'][label].get_dict()
        assert errors['overall']['num_frames'] == 3
        assert summary['models'][label]['forces'] == errors['overall']['forces']['rmse'] > 0
    mean = np.mean([m['energy'] for m in summary['models'].values()])
    assert summary['energy_rmse_mean'] == pytest.approx(mean)
    seeds = {
        call.inputs.parameters['model']['descriptor']['seed']
        for call in node.called_descendants
        if call.process_label == 'DeepmdTrainingCalculation'
    }
    assert seeds == {1, 2}
    check_models_in_lammps(lmp_code, [first, second])


def check_models_in_lammps(lmp_code, potentials):
    """MD of the ensemble in LAMMPS (pair_style deepmd) against the models' own calculators.

    The model deviation is that of the calculators on the sampled frames, the frames' energies are the first
    model's, and an ensemble of one model twice deviates by nothing.
    """
    from ase.build import bulk

    from aiida_limlip.workchains.evaluation import EvaluationWorkChain, build_evaluation_inputs

    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.44, cubic=True).repeat(3))
    parameters = {
        'ensemble': 'nvt_langevin',
        'temperature': 300.0,
        'steps': 20,
        'thermo_interval': 5,
        'frame_interval': 5,
    }
    first, second = potentials
    deviations = {}
    for name, model in (('pair', second), ('same', first)):
        inputs = build_evaluation_inputs({'lammps': lmp_code}, 'md', first, parameters, ensemble={'m1': model})
        inputs.update(structures={'bcc': structure}, task=orm.Str('md'))
        outputs, node = engine.run_get_node(EvaluationWorkChain, inputs)
        assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
        assert inputs['engine'].value == 'lammps'
        deviations[name] = outputs['model_deviation']['bcc']
        if name == 'pair':
            trajectory = outputs['trajectory']['bcc']
    assert np.abs(deviations['same'].get_array('max_devi_f')).max() < 1e-8
    deviation = deviations['pair']
    assert list(deviation.get_array('step')) == [0, 5, 10, 15, 20]
    calculators = [potential.get_ase_calculator() for potential in potentials]
    for index in range(trajectory.numsteps):
        atoms = trajectory.get_step_structure(index).get_ase()
        forces = []
        for calculator in calculators:
            atoms.calc = calculator
            forces.append(atoms.get_forces())
            if calculator is calculators[0]:
                assert atoms.get_potential_energy() == pytest.approx(trajectory.get_array('energies')[index], abs=1e-6)
        spread = np.linalg.norm(np.std(np.array(forces), axis=0), axis=1)  # per-atom norm of the force std
        assert deviation.get_array('max_devi_f')[index] == pytest.approx(spread.max(), rel=1e-5, abs=1e-8)
        assert deviation.get_array('avg_devi_f')[index] == pytest.approx(spread.mean(), rel=1e-5, abs=1e-8)


@pytest.mark.slow
def test_nequip_through_the_work_chain(nequip_train_code, runner_code, snap_labelled_set):
    """NequIP64 with a fixed test set: no test split, errors on exactly the given frames, precision recorded."""
    frames = snap_labelled_set.get_frames()
    training, test = FrameSetData(frames[:12]), FrameSetData(frames[12:])
    builder = TrainingWorkChain.get_builder_from_protocol(
        nequip_train_code, runner_code, training, 'nequip64', 'fast', test_set=test
    )
    results, node = engine.run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert results['test_set'].uuid == test.uuid
    assert results['train_set'].num_frames + results['validation_set'].num_frames == 12
    potential = results['potentials']['model_00']
    assert potential.kind == 'nequip' and potential.precision == 'float64'
    assert len(results['learning_curves']['model_00'].get_array('epoch')) == 4
    errors = results['test_errors']['model_00'].get_dict()
    assert errors['overall']['num_frames'] == 4 and set(errors['per_class']) == {'rattled', 'vacancy'}
    assert errors['overall']['stress']['rmse'] > 0
