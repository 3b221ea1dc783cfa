"""Why the runner batches: one RunnerCalculation over N structures versus N single-structure jobs.

Both variants evaluate the same N rattled bcc Li cells with the SNAP potential through the daemon of the current
profile, submitted at the same time. Prints the wall time of each variant and their ratio (fan-out / batch),
measured in the same run, so the machine's speed cancels out.

    python benchmarks/runner_batching.py --count 20
"""

import argparse
import time

from aiida import load_profile, orm
from aiida.engine import submit
from ase.build import bulk


def wait(nodes, timeout=1800):
    start = time.monotonic()
    while not all(node.is_terminated for node in nodes):
        if time.monotonic() - start > timeout:
            raise TimeoutError('jobs did not finish')
        time.sleep(0.5)
    assert all(node.is_finished_ok for node in nodes), [node.exit_status for node in nodes]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=20)
    parser.add_argument('--code', default='limlip-runner@localhost')
    args = parser.parse_args()
    load_profile()
    from aiida.engine.daemon.client import get_daemon_client

    from aiida_limlip.calculations.runner import RunnerCalculation
    from aiida_limlip.data.potential import PotentialData

    if not get_daemon_client().is_daemon_running:
        get_daemon_client().start_daemon()
    code = orm.load_code(args.code)
    potential = PotentialData.from_snap_zuo2020().get_or_store()
    structures = {}
    for index in range(args.count):
        atoms = bulk('Li', 'bcc', a=3.45, cubic=True).repeat(2)
        atoms.rattle(0.05, seed=index)
        structures[f's{index:03d}'] = orm.StructureData(ase=atoms)
    common = {'code': code, 'potential': potential, 'task': orm.Str('singlepoint')}

    start = time.monotonic()
    wait([submit(RunnerCalculation, structures=structures, **common)])
    batch = time.monotonic() - start

    start = time.monotonic()
    wait([submit(RunnerCalculation, structures={label: s}, **common) for label, s in structures.items()])
    fan_out = time.monotonic() - start

    print(
        f'{args.count} structures: one batched job {batch:.1f} s, {args.count} jobs {fan_out:.1f} s, '
        f'ratio {fan_out / batch:.1f}'
    )


if __name__ == '__main__':
    main()
