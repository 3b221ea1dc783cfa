"""Slab-thickness and vacuum convergence of the surface energies, the basis of the surfaces protocols.

Runs ``SurfaceEnergyWorkChain`` for (100), (110), (111) with the given potential (default: SNAP) at growing slab
and vacuum sizes, and prints each gamma and its change relative to the largest size (the baseline, measured in
the same run). The ``paper`` protocol's 20 Å / 15 Å is chosen where the change is below 1e-4 eV/Å^2.

    python benchmarks/surface_convergence.py
"""

import argparse
import time

from aiida import load_profile, orm
from aiida.engine import run_get_node

SIZES = [(10.0, 10.0), (15.0, 12.0), (20.0, 15.0), (30.0, 20.0)]


def main():
    """Run the convergence series."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--code', default='limlip-runner@localhost')
    parser.add_argument('--a', type=float, default=3.5061, help='lattice constant (Å): SNAP minimum by default')
    args = parser.parse_args()
    load_profile()
    from ase.build import bulk

    from aiida_limlip.data.potential import PotentialData
    from aiida_limlip.workchains.properties.surfaces import SurfaceEnergyWorkChain

    potential = PotentialData.from_snap_zuo2020().get_or_store()
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=args.a, cubic=True))
    rows = []
    for slab, vacuum in SIZES:
        overrides = {
            'min_slab_size': slab,
            'min_vacuum_size': vacuum,
            'evaluation': {'parameters': {'fmax': 1e-3}},
        }
        builder = SurfaceEnergyWorkChain.get_builder_from_protocol(args.code, structure, potential, overrides=overrides)
        start = time.monotonic()
        outputs, node = run_get_node(builder)
        if not node.is_finished_ok:
            raise RuntimeError(f'{node.pk}: [{node.exit_status}] {node.exit_message}')
        rows.append((slab, vacuum, outputs['results']['surface_energies'], time.monotonic() - start))
    baseline = rows[-1][2]
    print(f'{"slab (Å)":>9}{"vacuum (Å)":>11}' + ''.join(f'{f"g{f} (eV/Å^2)":>16}{"change":>10}' for f in baseline))
    for slab, vacuum, energies, seconds in rows:
        cells = ''.join(f'{energies[f]:>16.5f}{energies[f] - baseline[f]:>+10.1e}' for f in baseline)
        print(f'{slab:>9.0f}{vacuum:>11.0f}{cells}   {seconds:.0f} s')


if __name__ == '__main__':
    main()
