"""Tests of ``RunnerCalculation``: inputs, files written for the runner, and a real run."""

import json

import numpy as np
import pytest
from aiida import engine, orm
from aiida.common.folders import Folder
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from ase.build import bulk

from aiida_limlip.calculations.runner import RunnerCalculation
from aiida_limlip.runner import files


@pytest.fixture
def inputs(runner_code, snap_potential, bcc_li):
    return {
        'code': runner_code,
        'potential': snap_potential,
        'structures': {'b': bcc_li(3.5), 'a': bcc_li(3.4)},
        'task': orm.Str('singlepoint'),
    }


def test_prepare_for_submission(inputs, tmp_path):
    process = instantiate_process(get_manager().get_runner(), RunnerCalculation, **inputs)
    calcinfo = process.prepare_for_submission(Folder(str(tmp_path)))
    request = json.loads((tmp_path / files.INPUT_FILE).read_text())
    assert request['task'] == 'singlepoint'
    assert request['labels'] == ['a', 'b']  # evaluated in label order
    assert request['potential']['files'] == ['Li_Zuo_JPCA2020.snapcoeff', 'Li_Zuo_JPCA2020.snapparam']
    import ase.io

    structures = ase.io.read(tmp_path / files.STRUCTURES_FILE, index=':')
    assert [s.info['label'] for s in structures] == ['a', 'b']
    assert structures[0].cell.lengths() == pytest.approx([3.4] * 3)
    assert sorted(target for _, _, target in calcinfo.local_copy_list) == [
        'potential/Li_Zuo_JPCA2020.snapcoeff',
        'potential/Li_Zuo_JPCA2020.snapparam',
    ]
    assert files.RESULTS_FILE in calcinfo.retrieve_list


@pytest.mark.parametrize(
    ('change', 'message'),
    [
        (lambda: {'task': orm.Str('phonopy')}, 'unknown runner task'),
        (lambda: {'parameters': orm.Dict({'fmx': 0.1})}, 'unknown parameter'),
        (lambda: {'structures': {}}, 'at least one structure'),
        (lambda: {'structures': {'nacl': orm.StructureData(ase=bulk('NaCl', 'rocksalt', a=5.6))}}, r"\['Cl', 'Na'\]"),
    ],
)
def test_invalid_inputs_are_rejected_before_submission(inputs, change, message):
    with pytest.raises(ValueError, match=message):
        engine.run(RunnerCalculation, **{**inputs, **change()})


def test_code_of_another_plugin_is_rejected(inputs, aiida_code_installed):
    pw = aiida_code_installed(
        label='pw-test', default_calc_job_plugin='quantumespresso.pw', filepath_executable='/bin/true'
    )
    with pytest.raises(ValueError, match='not for `limlip.run`'):
        engine.run(RunnerCalculation, **{**inputs, 'code': pw})


@pytest.mark.slow
def test_real_singlepoint_run(inputs, snap_potential):
    """A real job on localhost: energies, forces and stresses equal a direct evaluation of the same potential."""
    results, node = engine.run_get_node(RunnerCalculation, **inputs)
    assert node.is_finished_ok, node.exit_message
    frames = {atoms.info['label']: atoms for atoms in results['frames'].get_frames()}
    assert sorted(frames) == ['a', 'b'] and 'structures' not in results  # a single point makes no new structures
    for label in ('a', 'b'):
        atoms = inputs['structures'][label].get_ase()
        atoms.calc = snap_potential.get_ase_calculator()
        # The frames file keeps 8 decimals of the stress (eV/Å^3) and the energy to full precision.
        assert frames[label].get_potential_energy() == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
        assert frames[label].get_stress() == pytest.approx(atoms.get_stress(), abs=1e-8)
        assert np.abs(frames[label].get_forces()).max() < 1e-8  # perfect bcc: no forces
        assert results['results']['items'][label]['energy'] == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
