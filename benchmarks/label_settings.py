"""What a labelling protocol's settings say about bcc Li: E(a) of the 16-atom cubic cell the seeds are made of.

The demo campaign labels 16-atom cells at 30 Ry and k-spacing 0.25 1/Å, which is the Gamma point alone. Its
trained models can only be as right as those labels; this prints the labels' own energy per atom against the
lattice constant, through the same ``LabellingWorkChain`` (one batch, in this process), so a reader can tell a model
error from a label error. A converged E(a) has its minimum near 3.43 Å and rises by at most ~15 meV/atom
(B = 13.7 GPa) within ±0.15 Å of it; at 30 Ry and the Gamma point it has none in that range (measured: the energy
falls by 13 to 66 meV/atom per 0.06 Å step from 3.18 to 3.48 Å, once rising by 2 meV/atom).

    python benchmarks/label_settings.py                               # the demo's labels
    python benchmarks/label_settings.py --kpoints-spacing 0.1         # 2x2x2 k-points in the same cells
"""

from __future__ import annotations

import argparse

import numpy as np
from aiida import load_profile, orm
from ase.build import bulk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--code', default='pw@localhost')
    parser.add_argument('--protocol', default='fast', help='LabellingWorkChain protocol (the demo: fast)')
    parser.add_argument('--kpoints-spacing', type=float, default=0.25, help='1/Å, without 2 pi (the demo: 0.25)')
    parser.add_argument('--ecutwfc', type=float, help="Ry, the density cutoff 4x (default: the protocol's)")
    parser.add_argument('--lattice', type=float, nargs='+', default=[3.18, 3.24, 3.30, 3.36, 3.42, 3.48])
    args = parser.parse_args()
    load_profile()
    from aiida.engine import run_get_node

    from aiida_limlip.workchains.labelling import LabellingWorkChain

    structures = {
        f'a_{index}': orm.StructureData(ase=bulk('Li', 'bcc', a=a, cubic=True).repeat(2))
        for index, a in enumerate(args.lattice)
    }
    overrides = {'kpoints_spacing': args.kpoints_spacing, 'max_concurrent': 2}
    if args.ecutwfc:
        overrides['parameters'] = {'SYSTEM': {'ecutwfc': args.ecutwfc, 'ecutrho': 4 * args.ecutwfc}}
    builder = LabellingWorkChain.get_builder_from_protocol(
        args.code, structures, protocol=args.protocol, overrides=overrides
    )
    _, node = run_get_node(builder)
    ecut = args.ecutwfc or "the protocol's"
    print(f'LabellingWorkChain<{node.pk}> [{node.exit_status}], {args.protocol}, k-spacing {args.kpoints_spacing} 1/Å,')
    print(f'  ecutwfc {ecut} Ry, wall time {node.mtime - node.ctime}')
    energies = {
        atoms.info['label']: atoms.get_potential_energy() / len(atoms) for atoms in node.outputs.frames.get_frames()
    }
    per_atom = np.array([energies[f'a_{index}'] for index in range(len(args.lattice))])
    print('  a (Å)    E - E_min (meV/atom)')
    for a, energy in zip(args.lattice, per_atom, strict=True):
        print(f'  {a:.3f}   {1000 * (energy - per_atom.min()):8.1f}')
    lowest = int(np.argmin(per_atom))
    inside = 0 < lowest < len(per_atom) - 1
    print(f'lowest energy at {args.lattice[lowest]:.3f} Å' + ('' if inside else ' (at the edge: no minimum in range)'))


if __name__ == '__main__':
    main()
