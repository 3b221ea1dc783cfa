"""Tests of ``DeepmdTrainingCalculation`` with the real deepmd-kit (tiny model, a few steps, CPU)."""

import copy

import numpy as np
import pytest
from aiida import engine, orm
from ase.build import bulk

from aiida_limlip.calculations.deepmd import DeepmdTrainingCalculation
from aiida_limlip.training.curves import divergence_reason

from ..models import deepmd_parameters

PARAMETERS = deepmd_parameters()


def test_divergence_criterion():
    assert divergence_reason({'rmse_trn': np.array([10.0, 5.0, 2.0])}) is None
    assert 'non-finite' in divergence_reason({'rmse_trn': np.array([10.0, np.nan])})
    assert 'grew' in divergence_reason({'rmse_trn': np.array([10.0, 5e3])})


def test_invalid_inputs(dp_code, snap_labelled_set):
    wrong_types = copy.deepcopy(PARAMETERS)
    wrong_types['model']['type_map'] = ['Na']
    with pytest.raises(ValueError, match='must list every species'):
        engine.run(
            DeepmdTrainingCalculation, code=dp_code, training_set=snap_labelled_set, parameters=orm.Dict(wrong_types)
        )
    manual = copy.deepcopy(PARAMETERS)
    manual['training']['training_data'] = {'systems': ['x']}
    with pytest.raises(ValueError, match='leave training.training_data'):
        engine.run(DeepmdTrainingCalculation, code=dp_code, training_set=snap_labelled_set, parameters=orm.Dict(manual))


@pytest.mark.slow
def test_train_and_use_the_model(tiny_potentials, tmp_path):
    """The session's DeePMD model (trained by this CalcJob): learning curve, and inference as deepmd-kit's own."""
    potential = tiny_potentials['DeePMD']
    node = potential.creator
    assert node.process_class is DeepmdTrainingCalculation and node.is_finished_ok
    # The data loader runs in the training process (no worker processes) unless the job says otherwise.
    assert 'export NUM_WORKERS=${NUM_WORKERS:-0}' in node.base.repository.get_object_content('_aiidasubmit.sh')
    curve = node.outputs.learning_curve
    assert list(curve.get_array('step')) == [1, *range(100, 1001, 100)]
    # Columns are mapped by name: the learning rate starts at start_lr and decays exponentially towards stop_lr.
    rate = curve.get_array('lr')
    assert rate[0] == pytest.approx(5e-3, rel=0.01)
    assert np.all(np.diff(rate) < 0) and rate[-1] > 1e-4 * 0.99
    assert np.all(curve.get_array('rmse_f_trn') > 0) and np.all(np.isfinite(curve.get_array('rmse_e_val')))
    assert potential.kind == 'deepmd' and potential.precision == 'float64' and potential.cutoff == 6.0

    # The node's calculator is deepmd-kit's own inference on the stored model file.
    from deepmd.infer import DeepPot

    atoms = bulk('Li', 'bcc', a=3.43, cubic=True).repeat(2)
    atoms.rattle(0.03, seed=99)
    atoms.calc = potential.get_ase_calculator()
    energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert forces.shape == (16, 3) and stress.shape == (6,)
    model = tmp_path / 'graph.pth'
    model.write_bytes(potential.base.repository.get_object_content('graph.pth', mode='rb'))
    direct_e, direct_f, _ = DeepPot(str(model)).eval(
        atoms.positions.reshape(1, -1), np.asarray(atoms.cell).reshape(1, -1), [0] * 16
    )
    assert energy == pytest.approx(float(direct_e.ravel()[0]), abs=1e-8)
    assert forces == pytest.approx(direct_f.reshape(16, 3), abs=1e-8)


@pytest.mark.slow
def test_diverged_training_returns_no_potential(dp_code, snap_labelled_set):
    parameters = copy.deepcopy(PARAMETERS)
    parameters['learning_rate'].update(start_lr=1e4, stop_lr=1e3)
    results, node = engine.run_get_node(
        DeepmdTrainingCalculation, code=dp_code, training_set=snap_labelled_set, parameters=orm.Dict(parameters)
    )
    assert node.exit_status == DeepmdTrainingCalculation.exit_codes.ERROR_DIVERGED.status
    assert 'potential' not in results
    assert 'learning_curve' in results
