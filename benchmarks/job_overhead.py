"""The fixed cost of a job, and a work chain's wall time over the compute it ran, through the daemon.

Two measurements on the current profile, with the SNAP potential:

* a 1-frame single point (``EvaluationWorkChain``), repeated: its wall time from submission to the end, the
  runner's own time for the task, and where the rest goes (a timeline of each job: created, runner started, runner
  finished, job done, work chain done);
* the Table-1 subset at the paper protocols: the equation of state, then elastic constants, the vacancy in 4x4x4
  and the (100), (110) and (111) surfaces at its minimum, concurrently; wall time over the sum of the runner times.

Prints the ratios, measured in one run. Goals (issue 11): per-job overhead under 3 s, the subset under 1.5x.

    python benchmarks/job_overhead.py --repeat 5
"""

import argparse
import statistics
import time

from aiida import load_profile, orm
from aiida.engine import submit
from ase.build import bulk


def wait(nodes, timeout=3600):
    start = time.monotonic()
    while not all(node.is_terminated for node in nodes):
        if time.monotonic() - start > timeout:
            raise TimeoutError('jobs did not finish')
        time.sleep(0.05)
    for node in nodes:
        assert node.is_finished_ok, f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}'
    return time.monotonic() - start


def runner_jobs(node):
    return [n for n in node.called_descendants if n.process_type and n.process_type.endswith('limlip.run')]


def compute_time(node) -> float:
    """Sum of the runner's own task times (s) of every runner job below ``node``."""
    return sum(job.outputs.results['wall_time'] for job in runner_jobs(node))


def timeline(node) -> dict:
    """Seconds from the work chain's creation to: job created, runner started and finished, job and chain done."""
    (job,) = runner_jobs(node)
    origin = node.ctime.timestamp()
    results = job.outputs.results
    return {
        'job created': job.ctime.timestamp() - origin,
        'runner started': results['started'] - origin,
        'runner finished': results['finished'] - origin,
        'job done': job.mtime.timestamp() - origin,
        'chain done': node.mtime.timestamp() - origin,
    }


def one_frame(code, potential, repeat: int):
    from aiida_limlip.workchains.evaluation import EvaluationWorkChain, build_evaluation_inputs

    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.506, cubic=True))
    rows = []
    for _ in range(repeat):
        inputs = build_evaluation_inputs({'ase': code}, 'singlepoint', potential)
        inputs.update(structures={'bcc': structure}, task=orm.Str('singlepoint'))
        builder = EvaluationWorkChain.get_builder()
        builder.update(inputs)
        node = submit(builder)
        wall = wait([node])
        rows.append((wall, compute_time(node), timeline(node)))
    return rows


def table1_subset(code, potential):
    from aiida_limlip.workchains.properties.elastic import ElasticConstantsWorkChain
    from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain
    from aiida_limlip.workchains.properties.surfaces import SurfaceEnergyWorkChain
    from aiida_limlip.workchains.properties.vacancy import VacancyFormationWorkChain

    start = time.monotonic()
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.45))
    eos = submit(EquationOfStateWorkChain.get_builder_from_protocol(code, structure, potential, 'paper'))
    wait([eos])
    equilibrium = eos.outputs.equilibrium_structure
    builders = [
        ElasticConstantsWorkChain.get_builder_from_protocol(code, equilibrium, potential, 'paper'),
        VacancyFormationWorkChain.get_builder_from_protocol(
            code, equilibrium, potential, 'paper', overrides={'supercell_sizes': [4]}
        ),
        SurfaceEnergyWorkChain.get_builder_from_protocol(
            code,
            equilibrium,
            potential,
            'paper',
            overrides={'max_index': None, 'miller_indices': [[1, 0, 0], [1, 1, 0], [1, 1, 1]]},
        ),
    ]
    nodes = [submit(builder) for builder in builders]
    wait(nodes)
    wall = time.monotonic() - start
    per_chain = {node.process_label: (node.mtime - node.ctime).total_seconds() for node in [eos, *nodes]}
    computes = {node.process_label: compute_time(node) for node in [eos, *nodes]}
    return wall, sum(computes.values()), per_chain, computes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--code', default='limlip-runner@localhost')
    parser.add_argument('--skip-subset', action='store_true')
    args = parser.parse_args()
    load_profile()
    from aiida.engine.daemon.client import get_daemon_client

    from aiida_limlip.data.potential import PotentialData

    client = get_daemon_client()
    if not client.is_daemon_running:
        client.start_daemon()
    code = orm.load_code(args.code)
    potential = PotentialData.from_snap_zuo2020().get_or_store()
    print(
        f'computer {code.computer.label}: minimum job poll interval {code.computer.get_minimum_job_poll_interval()} s'
    )

    rows = one_frame(code, potential, args.repeat)
    walls, computes = [row[0] for row in rows], [row[1] for row in rows]
    print(f'\n1-frame single point, {args.repeat} runs (median, min, max):')
    print(f'  wall time       {statistics.median(walls):6.2f} s  ({min(walls):.2f} - {max(walls):.2f})')
    print(f'  runner task     {statistics.median(computes):6.2f} s')
    overheads = [wall - compute for wall, compute in zip(walls, computes, strict=True)]
    print(f'  overhead        {statistics.median(overheads):6.2f} s per job  (goal < 3 s)')
    print(f'  ratio           {statistics.median(walls) / statistics.median(computes):6.2f}x wall / compute')
    print('  timeline of the median run (s from the work chain creation):')
    median_run = sorted(rows, key=lambda row: row[0])[len(rows) // 2]
    for event, seconds in median_run[2].items():
        print(f'    {event:16s} {seconds:6.2f}')

    if not args.skip_subset:
        wall, compute, per_chain, per_compute = table1_subset(code, potential)
        print('\nTable-1 subset (paper protocols: EOS, then elastic, vacancy 4x4x4, (100)/(110)/(111) surfaces):')
        for label, seconds in per_chain.items():
            print(f'  {label:28s} {seconds:6.1f} s wall, {per_compute[label]:6.1f} s runner')
        print(f'  {"all":28s} {wall:6.1f} s wall, {compute:6.1f} s runner: {wall / compute:.2f}x  (goal < 1.5x)')


if __name__ == '__main__':
    main()
