"""A daemon killed hard in the middle of a work chain: started again, it finishes the work with the same results."""

import os
import signal
import time

import psutil
import pytest
from aiida import orm
from aiida.engine import submit
from ase.build import bulk

from aiida_limlip.workchains.benchmark import BenchmarkWorkChain


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f'waited {timeout} s for {what}')
        time.sleep(0.5)


def jobs_of(node: orm.WorkflowNode) -> list[orm.CalcJobNode]:
    return [child for child in node.called_descendants if isinstance(child, orm.CalcJobNode)]


def command_line(process: psutil.Process) -> str:
    """The command line, or '' for a process that ended meanwhile (a finished job is a zombie until reaped)."""
    try:
        return ' '.join(process.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess, psutil.AccessDenied):
        return ''


def kill_daemon(client) -> list[int]:
    """SIGKILL circus and every daemon worker (circus first, so it cannot start new workers); return their pids."""
    circus = psutil.Process(client.get_daemon_pid())
    workers = [child for child in circus.children(recursive=True) if 'verdi' in command_line(child)]
    killed = []
    for process in [circus, *workers]:
        os.kill(process.pid, signal.SIGKILL)
        killed.append(process.pid)
    psutil.wait_procs([circus, *workers], timeout=10)
    return killed


@pytest.mark.slow
def test_a_benchmark_survives_a_killed_daemon(started_daemon_client, runner_code, snap_potential):
    """SNAP's equation of state, elastic constants and vacancy (a pipeline of work chains and runner jobs), twice:
    undisturbed, and with the daemon killed with SIGKILL while the elastic constants' job runs, then started again.
    The second run finishes with the same Table 1 column and as many jobs: none was lost or run again."""
    builder = BenchmarkWorkChain.get_builder_from_protocol(
        runner_code,
        orm.StructureData(ase=bulk('Li', 'bcc', a=3.45)),
        {'SNAP': snap_potential},
        properties=['elastic', 'vacancy'],
        dft_properties=[],
        overrides={
            'elastic': {'strain_components': [0, 3], 'strain_magnitudes': [0.01]},
            'vacancy': {'supercell_sizes': [2]},
        },
    )
    reference = submit(builder)
    wait_for(lambda: reference.is_terminated, 600, 'the undisturbed benchmark')
    assert reference.is_finished_ok, f'[{reference.exit_status}] {reference.exit_message}'

    node = submit(builder)

    def elastic_job_running() -> bool:
        elastic = node.base.links.get_outgoing(link_label_filter='elastic_SNAP').all()
        return bool(elastic) and any(
            job.get_job_id() is not None and not job.is_terminated for job in jobs_of(elastic[0].node)
        )

    wait_for(elastic_job_running, 300, 'a running job of the elastic constants')
    elastic = node.base.links.get_outgoing(link_label_filter='elastic_SNAP').one().node
    running = {job.pk: job.get_job_id() for job in jobs_of(elastic) if job.get_job_id() and not job.is_terminated}
    killed = kill_daemon(started_daemon_client)
    assert not any(psutil.pid_exists(pid) for pid in killed)
    assert not node.is_terminated
    started_daemon_client.start_daemon(number_workers=1)
    wait_for(lambda: node.is_terminated, 600, f'the benchmark after killing {killed}')

    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    assert node.outputs.table['values']['SNAP'] == reference.outputs.table['values']['SNAP']
    jobs, reference_jobs = jobs_of(node), jobs_of(reference)
    assert len(jobs) == len(reference_jobs) and all(job.is_finished_ok for job in jobs)
    # Every job was submitted once: the jobs that ran when the daemon died kept their scheduler job id (picked up,
    # not submitted again), and both graphs have as many processes.
    assert {pk: orm.load_node(pk).get_job_id() for pk in running} == running
    assert len({job.get_job_id() for job in jobs}) == len(jobs)
    assert len(node.called_descendants) == len(reference.called_descendants)
