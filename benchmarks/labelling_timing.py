"""Wall time of DFT labelling per structure, and AiiDA's overhead as a ratio to pw.x's own wall time.

Runs LabellingWorkChain through the daemon of the current profile on a 2-atom bcc cell and on a 54-atom
(3x3x3 conventional, one vacancy: 53 atoms) cell, and prints, per case: pw.x's wall time (from its output), the
work chain's wall time, and their ratio (the per-structure cost of going through AiiDA, measured in the same run).

    python benchmarks/labelling_timing.py --protocol fast
    python benchmarks/labelling_timing.py --protocol paper --cases 2   # the paper settings take minutes to hours
"""

import argparse
import time

from aiida import load_profile, orm
from aiida.engine import submit
from ase.build import bulk


def cases():
    vacancy = bulk('Li', 'bcc', a=3.434, cubic=True).repeat(3)
    del vacancy[0]
    return {'2': bulk('Li', 'bcc', a=3.434, cubic=True), '53': vacancy}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--protocol', default='fast')
    parser.add_argument('--cases', default='2,53', help='comma-separated atom counts: 2, 53')
    parser.add_argument('--code', default='pw@localhost')
    parser.add_argument('--timeout', type=float, default=7200)
    args = parser.parse_args()
    load_profile()
    from aiida.engine.daemon.client import get_daemon_client

    if not get_daemon_client().is_daemon_running:
        get_daemon_client().start_daemon()
    from aiida_limlip.workchains.dft import kpoint_mesh
    from aiida_limlip.workchains.labelling import LabellingWorkChain

    print(f'protocol {args.protocol}: {LabellingWorkChain.get_available_protocols()[args.protocol]}')
    print(f'{"atoms":>6} {"k-mesh":>10} {"pw.x wall (s)":>14} {"work chain (s)":>15} {"ratio":>7}  pk')
    for key in args.cases.split(','):
        atoms = cases()[key]
        builder = LabellingWorkChain.get_builder_from_protocol(
            args.code, {f'cell_{key}': orm.StructureData(ase=atoms)}, protocol=args.protocol
        )
        start = time.monotonic()
        node = submit(builder)
        while not node.is_terminated and time.monotonic() - start < args.timeout:
            time.sleep(2)
        elapsed = time.monotonic() - start
        if not node.is_finished_ok:
            print(f'{len(atoms):>6} failed or timed out after {elapsed:.0f} s: pk {node.pk} [{node.exit_status}]')
            continue
        scf = node.called[0]
        pw_wall = scf.outputs.output_parameters['wall_time_seconds']
        mesh = 'x'.join(map(str, kpoint_mesh(atoms, builder.kpoints_spacing.value)))
        print(f'{len(atoms):>6} {mesh:>10} {pw_wall:>14.1f} {elapsed:>15.1f} {elapsed / pw_wall:>7.2f}  {node.pk}')


if __name__ == '__main__':
    main()
