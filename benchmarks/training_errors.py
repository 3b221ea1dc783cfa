"""From seeds to scored potentials: label with pw.x (fast protocol), train each architecture, compare test errors.

Runs through the daemon of the current profile: seed structures (calcfunction), the LabellingWorkChain at the
``fast`` protocol, one shared split, then a TrainingWorkChain per architecture on the same training and test
frames, and SNAP scored on the same test frames. Prints the test RMSE of each (meV/atom, meV/Å, GPa) and the wall
time of each stage. The numbers show that the pipeline learns, not production accuracy: ``fast`` labels are
under-converged DFT and the training protocols are tiny.

    python benchmarks/training_errors.py --protocol demo
"""

import argparse
import time

from aiida import load_profile, orm
from aiida.engine import submit


def wait(node, timeout=7200):
    start = time.monotonic()
    while not node.is_terminated:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f'{node.pk} did not finish')
        time.sleep(2)
    return time.monotonic() - start


#: Small cells so the fast labelling takes minutes on 2 cores: 2-atom bcc cells, strained and rattled, the fcc cell.
SEEDS = {
    'bulk_phases': ['bcc', 'fcc'],
    'bulk_repeat': 1,
    'strained_count': 20,
    'rattled_count': 24,
    'rattle_stdev': 0.08,
    'defect_repeat': 1,
    'surfaces': [],
    'adatom_coverages': [],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--protocol', default='demo', help='training protocol')
    parser.add_argument('--training-set', type=int, help='pk of a labelled set to reuse instead of labelling')
    parser.add_argument('--architectures', nargs='+', default=['nequip32', 'nequip64', 'deepmd'])
    args = parser.parse_args()
    load_profile()
    from aiida.engine.daemon.client import get_daemon_client

    from aiida_limlip.calcfunctions.frame_set import split_frame_set
    from aiida_limlip.calcfunctions.seeds import generate_seed_structures
    from aiida_limlip.data.potential import PotentialData
    from aiida_limlip.workchains.labelling import LabellingWorkChain
    from aiida_limlip.workchains.prediction_errors import PredictionErrorsWorkChain
    from aiida_limlip.workchains.training import TrainingWorkChain

    if not get_daemon_client().is_daemon_running:
        get_daemon_client().start_daemon()

    if args.training_set:
        labelled = orm.load_node(args.training_set)
    else:
        seeds = generate_seed_structures(orm.Dict(SEEDS), orm.Int(1))
        classes = {label: s.base.attributes.get('config_class') for label, s in seeds.items()}
        builder = LabellingWorkChain.get_builder_from_protocol(
            'pw@localhost', dict(seeds), 'fast', config_classes=classes, overrides={'max_concurrent': 4}
        )
        node = submit(builder)
        elapsed = wait(node)
        labelled = node.outputs.frames
        status = f'{node.process_label}<{node.pk}> [{node.exit_status}]'
        print(f'labelling: {len(seeds)} structures, {elapsed:.0f} s, {status}')
    print(f'training set pk {labelled.pk}: {labelled.num_frames} frames, classes {labelled.config_classes}')
    parts = split_frame_set(labelled, orm.Float(0.15), orm.Int(1))
    train, test = parts['train'], parts['test']

    rows = []
    for architecture in args.architectures:
        code = 'dp@localhost' if architecture == 'deepmd' else 'nequip-train@localhost'
        builder = TrainingWorkChain.get_builder_from_protocol(
            code, 'limlip-runner@localhost', train, architecture, args.protocol, test_set=test
        )
        node = submit(builder)
        elapsed = wait(node)
        if not node.is_finished_ok:
            print(f'{architecture}: TrainingWorkChain<{node.pk}> failed [{node.exit_status}] {node.exit_message}')
            continue
        summary = node.outputs.summary.get_dict()
        rows.append((architecture, summary['energy_rmse_mean'], summary['forces_rmse_mean'],
                     summary['stress_rmse_mean'], elapsed, node.pk))  # fmt: skip

    snap = PotentialData.from_snap_zuo2020().get_or_store()
    node = submit(PredictionErrorsWorkChain.get_builder_from_protocol('limlip-runner@localhost', snap, test))
    elapsed = wait(node)
    overall = node.outputs.errors['overall']
    rows.append(('SNAP', overall['energy']['rmse'], overall['forces']['rmse'], overall['stress']['rmse'], elapsed,
                 node.pk))  # fmt: skip

    print(f'\ntest set: {test.num_frames} frames (pk {test.pk}); training protocol {args.protocol}')
    print('| potential | energy RMSE (meV/atom) | force RMSE (meV/Å) | stress RMSE (GPa) | wall time (s) | pk |')
    print('|---|---|---|---|---|---|')
    for name, energy, forces, stress, elapsed, pk in rows:
        print(f'| {name} | {energy:.2f} | {forces:.1f} | {stress:.3f} | {elapsed:.0f} | {pk} |')


if __name__ == '__main__':
    main()
