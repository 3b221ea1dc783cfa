"""The restart work chains of the training jobs, with the real nequip-train and dp: killed jobs continue from their
checkpoint, a diverging one is retried once at a lower learning rate (time budgets: tests/calculations/test_nequip.py).
"""

import numpy as np
import pytest
from aiida import engine, orm

from aiida_limlip.calculations.nequip import NequipTrainingCalculation
from aiida_limlip.workchains.training_base import (
    LEARNING_RATE_FACTOR,
    DeepmdTrainingBaseWorkChain,
    NequipTrainingBaseWorkChain,
)

from ..models import TINY_DEEPMD
from ..models import TINY_NEQUIP as TINY

#: CPU seconds a job may use before the kernel kills it (SIGXCPU): a stand-in for a scheduler's walltime that does
#: not depend on the machine's load. dp needs about 15 CPU-s to start, then does about 20 steps of the tiny model a
#: second.
CPU_LIMIT = 'ulimit -t {seconds}'


def reports(node) -> str:
    return '\n'.join(log.message for log in orm.Log.collection.get_logs_for(node))


def check_restarted_jobs(node, counter: str) -> list:
    """Return the jobs of ``node`` in order, after checking it finished and restarted at least once; a failure shows
    the first and last ``counter`` (epoch or step) of each job's learning curve."""
    jobs = sorted(node.called, key=lambda job: job.ctime)
    ranges = [
        list(job.outputs.learning_curve.get_array(counter)[[0, -1]]) if 'learning_curve' in job.outputs else None
        for job in jobs
    ]
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}; {counter}s of each job: {ranges}'
    assert len(jobs) >= 2, f'the limit did not kill the first job ({counter}s {ranges}): lower CPU_LIMIT'
    return jobs


class _Job:
    """A stand-in for a finished training job: its ``outputs`` hold a learning curve of the given epochs or steps."""

    class _Outputs(dict):
        __getattr__ = dict.__getitem__

    class _Curve:
        def __init__(self, name, values):
            self.arrays = {name: np.asarray(values)}

        def get_array(self, name):
            return self.arrays[name]

    def __init__(self, name, values):
        self.outputs = self._Outputs(learning_curve=self._Curve(name, values))


def test_progress_counts_from_the_start_of_the_training_not_of_the_job():
    """A continued job that made fewer epochs than the one before still made progress (CI: jobs of epochs 0-15,
    16-33, 34-48 ended 'no progress' after the third, since 15 epochs < 18)."""
    assert NequipTrainingBaseWorkChain.progress(_Job('epoch', range(16, 34))) == ('epoch', 34)
    assert NequipTrainingBaseWorkChain.progress(_Job('epoch', range(34, 49))) == ('epoch', 49)
    assert DeepmdTrainingBaseWorkChain.progress(_Job('step', [140, 160, 180])) == ('step', 180)
    assert NequipTrainingBaseWorkChain.progress(type('Job', (), {'outputs': {}})()) == ('epoch', 0)


@pytest.mark.slow
def test_a_killed_nequip_training_continues_from_its_checkpoint(nequip_train_code, snap_labelled_set):
    """Each job is killed after 20 CPU-s; the next one continues from the last checkpoint until max_epochs.

    nequip-train takes about 10 CPU-s to start; the tiny model then runs 1 to 4 epochs a CPU-second (measured: 30
    epochs fitted in one 25-s job in CI, not outside it), so 60 epochs need two to six jobs.
    """
    inputs = {
        'code': nequip_train_code,
        'training_set': snap_labelled_set,
        # 1e-3, not the default 1e-2: at 1e-2 this tiny model's first job diverged in two CI runs (then 310, retried
        # at 1e-3 by the other handler), which is not what this test is about.
        'parameters': orm.Dict({**TINY, 'max_epochs': 60, 'learning_rate': 1.0e-3}),
        'metadata': {'options': {'prepend_text': CPU_LIMIT.format(seconds=20)}},
    }
    results, node = engine.run_get_node(NequipTrainingBaseWorkChain, training=inputs, max_iterations=orm.Int(8))
    jobs = check_restarted_jobs(node, 'epoch')
    killed = NequipTrainingCalculation.exit_codes.ERROR_OUT_OF_WALLTIME.status
    assert [job.exit_status for job in jobs] == [killed] * (len(jobs) - 1) + [0]
    for before, after in zip(jobs[:-1], jobs[1:], strict=True):
        assert after.inputs.parent_folder.uuid == before.outputs.remote_folder.uuid
        # Continued, not started again: the epochs of a job begin after the first epoch of the job before.
        assert after.outputs.learning_curve.get_array('epoch')[0] > before.outputs.learning_curve.get_array('epoch')[0]
    assert results['learning_curve'].get_array('epoch')[-1] == 59
    assert results['potential'].base.attributes.get('parameters')['finished'] is True
    assert 'restarting from the last checkpoint' in reports(node)


@pytest.mark.slow
def test_a_diverging_nequip_training_is_retried_once_then_fails(nequip_train_code, snap_labelled_set):
    inputs = {
        'code': nequip_train_code,
        'training_set': snap_labelled_set,
        'parameters': orm.Dict({**TINY, 'learning_rate': 1.0e4}),
    }
    results, node = engine.run_get_node(NequipTrainingBaseWorkChain, training=inputs)
    assert node.exit_status == NequipTrainingBaseWorkChain.exit_codes.ERROR_DIVERGED_AGAIN.status
    jobs = sorted(node.called, key=lambda job: job.ctime)
    assert [job.inputs.parameters['learning_rate'] for job in jobs] == [1.0e4, 1.0e4 / LEARNING_RATE_FACTOR]
    assert 'learning rate 10000.0 and again with 1000.0' in node.exit_message
    assert 'potential' not in results


@pytest.mark.slow
def test_a_killed_deepmd_training_continues_from_its_checkpoint(dp_code, snap_labelled_set):
    """As for NequIP: killed after 20 CPU-s (60-100 steps a job), the next job continues from model.ckpt.pt to
    numb_steps (measured: steps 1-60, 60-140, then 140-200)."""
    import copy

    parameters = copy.deepcopy(TINY_DEEPMD)
    parameters['training'] = {**parameters.get('training', {}), 'numb_steps': 200, 'disp_freq': 20, 'save_freq': 20}
    inputs = {
        'code': dp_code,
        'training_set': snap_labelled_set,
        'parameters': orm.Dict(parameters),
        'batch_size': orm.Int(2),
        'metadata': {'options': {'prepend_text': CPU_LIMIT.format(seconds=20)}},
    }
    results, node = engine.run_get_node(DeepmdTrainingBaseWorkChain, training=inputs)
    jobs = check_restarted_jobs(node, 'step')
    for before, after in zip(jobs[:-1], jobs[1:], strict=True):
        assert after.inputs.parent_folder.uuid == before.outputs.remote_folder.uuid
        assert after.outputs.learning_curve.get_array('step')[0] > 0  # continued from a checkpoint
    assert results['learning_curve'].get_array('step')[-1] == 200
    assert 'potential' in results
