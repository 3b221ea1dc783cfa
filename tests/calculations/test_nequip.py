"""Tests of the NequIP training and compile CalcJobs with the real nequip (tiny models, a few epochs, CPU)."""

import numpy as np
import pytest
import yaml
from aiida import engine, orm
from ase.build import bulk

from aiida_limlip.calculations.nequip import NequipCompileCalculation, NequipTrainingCalculation
from aiida_limlip.calculations.runner import RunnerCalculation
from aiida_limlip.training import nequip as nequip_setup

from ..models import TINY_NEQUIP as TINY
from ..models import train_nequip as train


def test_config_follows_settings():
    config = nequip_setup.build_config({'model_dtype': 'float64', 'cutoff': 5.5, 'seed': 7}, ['Li'])
    model = config['training_module']['model']
    assert model['model_dtype'] == 'float64' and model['r_max'] == 5.5 and model['seed'] == 7
    assert config['data']['transforms'][1]['r_max'] == 5.5
    assert config['training_module']['loss']['coeffs'] == {'total_energy': 1.0, 'forces': 1.0, 'stress': 1.0}
    assert 'ckpt_path' not in config
    no_stress = nequip_setup.build_config({'loss_coeffs': {'stress': 0}}, ['Li'])
    assert no_stress['training_module']['loss']['_target_'] == 'nequip.train.EnergyForceLoss'
    restart = nequip_setup.build_config({'max_train_seconds': 59.5}, ['Li'], restart=True)
    assert restart['ckpt_path'] == nequip_setup.RESTART_CHECKPOINT
    assert restart['trainer']['max_time'] == '00:00:01:00'
    assert nequip_setup.build_config({'max_train_seconds': 90061}, ['Li'])['trainer']['max_time'] == '01:01:01:01'
    overridden = nequip_setup.build_config({'config_overrides': {'trainer': {'max_epochs': 3}}}, ['Li'])
    assert overridden['trainer']['max_epochs'] == 3 and overridden['trainer']['accelerator'] == 'cpu'
    assert yaml.safe_load(yaml.safe_dump(config)) == config


@pytest.mark.parametrize(
    ('settings', 'message'),
    [
        ({'layers': 3}, 'unknown NequIP settings'),
        ({'model_dtype': 'float16'}, 'model_dtype'),
        ({'num_layers': 0}, 'num_layers'),
        ({'loss_coeffs': {'virial': 1}}, 'loss_coeffs'),
    ],
)
def test_invalid_settings(settings, message):
    assert message in nequip_setup.validate_settings(settings)


def test_read_metrics_merges_epoch_rows():
    text = (
        'epoch,step,train_loss_epoch/weighted_sum,train_loss_step/weighted_sum,val0_epoch/forces_rmse,'
        'val0_epoch/weighted_sum\n'
        '0,0,,0.5,,\n0,1,,,0.20,0.3\n0,1,0.4,,,\n1,2,,0.3,,\n1,3,,,0.10,0.2\n1,3,0.25,,,\n'
    )
    columns = nequip_setup.read_metrics(text)
    assert columns == {'epoch': [0.0, 1.0], 'train_loss': [0.4, 0.25], 'val_forces_rmse': [0.2, 0.1],
                       'val_weighted_sum': [0.3, 0.2]}  # fmt: skip


def test_invalid_inputs(nequip_train_code, snap_labelled_set):
    with pytest.raises(ValueError, match='unknown NequIP settings'):
        engine.run(
            NequipTrainingCalculation,
            code=nequip_train_code,
            training_set=snap_labelled_set,
            parameters=orm.Dict({'epochs': 3}),
        )


def finite_difference_error(potential, delta: float = 1e-3) -> float:
    """Return the largest difference (eV/Å) between the model's forces and central differences of its energy."""
    atoms = bulk('Li', 'bcc', a=3.43, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=3)
    calculator = potential.get_ase_calculator()
    atoms.calc = calculator
    forces = atoms.get_forces()
    worst = 0.0
    for atom, axis in ((0, 0), (5, 1), (9, 2)):
        energies = []
        for sign in (1, -1):
            displaced = atoms.copy()
            displaced.positions[atom, axis] += sign * delta
            displaced.calc = calculator
            energies.append(displaced.get_potential_energy())
        worst = max(worst, abs(-(energies[0] - energies[1]) / (2 * delta) - forces[atom, axis]))
    return worst


@pytest.mark.slow
def test_train_float32_and_float64(tiny_potentials, snap_labelled_set, runner_code):
    """Both precisions train (the session's models, from this CalcJob), load in the runner with the right shapes,
    and float64 really computes in float64."""
    from ..models import MATRIX_NEQUIP

    errors = {}
    for dtype, name in (('float32', 'NequIP32'), ('float64', 'NequIP64')):
        potential = tiny_potentials[name]
        node = potential.creator
        assert node.process_class is NequipTrainingCalculation and node.is_finished_ok
        assert potential.kind == 'nequip' and potential.precision == dtype and potential.cutoff == 6.0
        epochs = MATRIX_NEQUIP['max_epochs']
        assert potential.base.attributes.get('parameters') == {
            'format': 'checkpoint',
            'epochs': epochs,
            'max_epochs': epochs,
            'finished': True,
        }
        curve = node.outputs.learning_curve
        assert list(curve.get_array('epoch')) == [float(epoch) for epoch in range(epochs)]
        assert np.all(curve.get_array('val_forces_rmse') > 0) and np.all(np.isfinite(curve.get_array('train_loss')))
        errors[dtype] = finite_difference_error(potential)

        # Through the runner job, on the frames of the data set: one energy, a force per atom, a 6-stress each.
        predicted, job = engine.run_get_node(
            RunnerCalculation,
            code=runner_code,
            potential=potential,
            frames=snap_labelled_set,
            task=orm.Str('singlepoint'),
        )
        assert job.is_finished_ok, job.exit_message
        frames = predicted['frames'].get_frames()
        energies = np.array([atoms.get_potential_energy() for atoms in frames])
        assert energies.shape == (16,) and frames[3].get_stress().shape == (6,)
        assert frames[1].get_forces().shape == (15, 3)
        # Energies in eV of 15-16 Li atoms: about -1.9 eV/atom like the SNAP labels, not eV/atom or Hartree.
        per_atom = energies / np.array([16, 15] * 8)
        assert np.all(np.abs(per_atom + 1.9) < 0.3)
    # In float64, central differences (1e-3 Å) agree with the analytic forces to ~1e-7 eV/Å; float32 rounding of a
    # -30 eV total energy alone (~2e-6 eV) spoils them by ~1e-3 eV/Å. This tells the precisions apart.
    assert errors['float64'] < 1e-5
    assert errors['float32'] > 10 * errors['float64']


@pytest.mark.slow
def test_diverged_training_returns_no_potential(nequip_train_code, snap_labelled_set):
    results, node = train(nequip_train_code, snap_labelled_set, learning_rate=1e4)
    assert node.exit_status == NequipTrainingCalculation.exit_codes.ERROR_DIVERGED.status
    assert 'non-finite' in node.exit_message
    assert 'potential' not in results and 'learning_curve' in results


@pytest.mark.slow
def test_time_budget_then_restart(nequip_train_code, snap_labelled_set):
    """A run stopped by its time budget succeeds with the best model so far, marked unfinished; a restart from its
    folder continues the epochs."""
    results, node = train(nequip_train_code, snap_labelled_set, max_epochs=200, max_train_seconds=6)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    done = len(results['learning_curve'].get_array('epoch'))
    assert 0 < done < 200
    parameters = results['potential'].base.attributes.get('parameters')
    assert parameters == {'format': 'checkpoint', 'epochs': done, 'max_epochs': 200, 'finished': False}
    atoms = snap_labelled_set.get_frames()[0]
    atoms.calc = results['potential'].get_ase_calculator()
    assert np.isfinite(atoms.get_potential_energy())  # a usable model, if a poor one
    assert 'time budget' in ' '.join(log.message for log in orm.Log.collection.get_logs_for(node))

    results, restarted = engine.run_get_node(
        NequipTrainingCalculation,
        code=nequip_train_code,
        training_set=snap_labelled_set,
        parameters=orm.Dict({**TINY, 'max_epochs': done + 1}),
        parent_folder=node.outputs.remote_folder,
    )
    assert restarted.is_finished_ok, restarted.exit_message
    # The restarted run continues the epoch counter of the first one instead of starting again from zero. It resumes
    # from `last.ckpt`, which can lag the learning curve when the time limit stops training under load (seen in CI:
    # 5 epochs logged, epochs 3, 4 and 5 run by the restart).
    epochs = list(results['learning_curve'].get_array('epoch'))
    assert epochs == [float(epoch) for epoch in range(int(epochs[0]), done + 1)]
    assert 1 <= epochs[0] <= done, epochs
    assert 'potential' in results


@pytest.mark.slow
def test_compile(nequip_train_code, nequip_compile_code, snap_labelled_set):
    """The AOTInductor model predicts what the checkpoint it came from predicts."""
    results, _ = train(nequip_train_code, snap_labelled_set, max_epochs=1, model_dtype='float64')
    checkpoint = results['potential']
    compiled, node = engine.run_get_node(
        NequipCompileCalculation, code=nequip_compile_code, potential=checkpoint, training_set=snap_labelled_set
    )
    assert node.is_finished_ok, node.exit_message
    model = compiled['potential']
    assert model.filenames == ['model.nequip.pt2'] and model.precision == 'float64'
    assert model.base.attributes.get('parameters')['format'] == 'aotinductor'
    atoms = bulk('Li', 'bcc', a=3.43, cubic=True).repeat(3)
    atoms.rattle(0.05, seed=1)
    values = []
    for potential in (checkpoint, model):
        atoms.calc = potential.get_ase_calculator()
        values.append((atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    assert values[1][0] == pytest.approx(values[0][0], abs=1e-8)
    assert values[1][1] == pytest.approx(values[0][1], abs=1e-8)
    assert values[1][2] == pytest.approx(values[0][2], abs=1e-10)
