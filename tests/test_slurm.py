"""The same work chains through a real scheduler: the one-node Slurm of ``setup_profile.sh --slurm`` (run_tests.sh
sets it up), on a ``core.slurm`` computer made as ``aiida-limlip setup codes --scheduler core.slurm`` makes it."""

import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from aiida import engine, orm
from ase.build import bulk

from aiida_limlip.calculations.nequip import NequipTrainingCalculation
from aiida_limlip.workchains.labelling import LabellingWorkChain
from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain
from aiida_limlip.workchains.training_base import NequipTrainingBaseWorkChain

from .models import TINY_NEQUIP


@pytest.fixture(scope='module')
def slurm_computer(tmp_path_factory):
    """The ``core.slurm`` computer of this machine; fails (not skips) if Slurm is not running."""
    from aiida_limlip.cli.setup import get_or_create_localhost

    sinfo = shutil.which('sinfo')
    states = subprocess.run([sinfo, '-h', '-o', '%T'], capture_output=True, text=True).stdout if sinfo else ''
    if not any(state in states for state in ('idle', 'mixed', 'allocated')):
        pytest.fail(f'no Slurm node is up (sinfo: {states.strip() or "not installed"}): run setup_profile.sh --slurm')
    computer = get_or_create_localhost(str(tmp_path_factory.mktemp('slurm')), scheduler='core.slurm')
    computer.set_minimum_job_poll_interval(1.0)
    return computer


def slurm_code(computer, label: str, executable: str, plugin: str):
    from aiida_limlip.cli.setup import get_or_create_code

    prepend = 'export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1'
    return get_or_create_code(label, computer, executable, plugin, prepend_text=prepend)


def venv_executable(name: str) -> str:
    return str(pathlib.Path(sys.executable).parent / name)


def assert_ran_through_slurm(node: orm.ProcessNode) -> list[orm.CalcJobNode]:
    """Every job of ``node`` was a Slurm job on the core.slurm computer, and was parsed."""
    jobs = [node] if isinstance(node, orm.CalcJobNode) else []
    jobs += [child for child in node.called_descendants if isinstance(child, orm.CalcJobNode)]
    assert jobs
    for job in jobs:
        assert job.computer.scheduler_type == 'core.slurm'
        assert job.get_job_id() and job.get_job_id().isdigit()  # a Slurm job id, not a process id
        assert 'retrieved' in job.outputs
        script = job.base.repository.get_object_content('_aiidasubmit.sh')
        assert '#SBATCH' in script
    return jobs


@pytest.mark.slow
def test_runner_jobs_through_slurm(slurm_computer, snap_potential):
    """SNAP's equation of state with the runner submitted to Slurm: the same numbers as on the direct scheduler."""
    code = slurm_code(slurm_computer, 'limlip-runner', venv_executable('limlip-runner'), 'limlip.run')
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.45))
    results, node = engine.run_get_node(
        EquationOfStateWorkChain.get_builder_from_protocol(code, structure, snap_potential)
    )
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    assert_ran_through_slurm(node)
    assert results['lattice_constant'].value == pytest.approx(3.506, abs=2e-3)  # SNAP's, as in the tutorial


@pytest.mark.slow
def test_a_labelling_batch_through_slurm(slurm_computer, li_family):
    """Two pw.x SCFs as Slurm jobs, labels stored; the pressure of the compressed cell is the larger."""
    code = slurm_code(slurm_computer, 'pw', '/usr/bin/pw.x', 'quantumespresso.pw')
    structures = {
        'compressed': orm.StructureData(ase=bulk('Li', 'bcc', a=3.30)),
        'expanded': orm.StructureData(ase=bulk('Li', 'bcc', a=3.40)),
    }
    _, node = engine.run_get_node(LabellingWorkChain.get_builder_from_protocol(code, structures, protocol='fast'))
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    assert len([job for job in assert_ran_through_slurm(node) if job.process_label == 'PwCalculation']) == 2
    frames = {frame.info['label']: frame for frame in node.outputs.frames.get_frames()}
    pressure = {key: -np.trace(frame.get_stress(voigt=False)) / 3 for key, frame in frames.items()}
    assert pressure['compressed'] > pressure['expanded']


@pytest.mark.slow
def test_a_training_killed_by_the_slurm_walltime_is_restarted(slurm_computer, snap_labelled_set):
    """A NequIP training far longer than its 1-minute Slurm time limit: Slurm kills it (TIMEOUT), the job is parsed as
    killed (exit 320, no potential, its learning curve kept), and the restart work chain continues from its checkpoint
    in a second Slurm job, which Slurm kills again; two jobs are allowed, so the work chain then stops (401).

    Finishing in the second job would depend on the epoch rate, which varies twofold with the load; the continuation
    to the end is tested on the direct scheduler (tests/workchains/test_training_restarts.py).
    """
    code = slurm_code(slurm_computer, 'nequip-train', venv_executable('nequip-train'), 'limlip.nequip.train')
    inputs = {
        'code': code,
        'training_set': snap_labelled_set,
        'parameters': orm.Dict({**TINY_NEQUIP, 'max_epochs': 100000}),
        'metadata': {'options': {'max_wallclock_seconds': 60}},
    }
    _, node = engine.run_get_node(NequipTrainingBaseWorkChain, training=inputs, max_iterations=orm.Int(2))
    assert node.exit_status == NequipTrainingBaseWorkChain.exit_codes.ERROR_MAXIMUM_ITERATIONS_EXCEEDED.status
    first, second = sorted(assert_ran_through_slurm(node), key=lambda job: job.ctime)
    killed = NequipTrainingCalculation.exit_codes.ERROR_OUT_OF_WALLTIME.status
    assert first.exit_status == second.exit_status == killed
    assert '#SBATCH --time=00:01:00' in first.base.repository.get_object_content('_aiidasubmit.sh')
    assert 'potential' not in first.outputs
    assert second.inputs.parent_folder.uuid == first.outputs.remote_folder.uuid
    last_of_first = first.outputs.learning_curve.get_array('epoch')[-1]
    assert 0 < second.outputs.learning_curve.get_array('epoch')[0] <= last_of_first + 1  # continued, not restarted
