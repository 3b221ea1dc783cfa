"""pw.x's Gamma tricks against the plain Gamma point, on the demo's labelling cells, in one run.

The demo campaign labels 16-atom cells and 12-13-atom slabs at the Gamma point alone (fast labelling protocol,
k-spacing 0.25 1/Å). ``LabellingWorkChain`` runs them with ``K_POINTS gamma`` (real wavefunctions) unless
``gamma_tricks`` is off. This labels the same cells both ways, one SCF at a time, and prints each SCF's pw.x wall
time and iterations and the ratio plain / tricks; the energies are printed too (they agree to the SCF threshold).

    python benchmarks/gamma_tricks.py [--repeat 2]
"""

from __future__ import annotations

import argparse

from aiida import load_profile, orm
from ase.build import bcc100, bulk


def cells() -> dict[str, orm.StructureData]:
    """Return a rattled 16-atom bcc cell and a 3-layer 2x2 (100) slab with 5 Å of vacuum on each side."""
    rattled = bulk('Li', 'bcc', a=3.44, cubic=True).repeat(2)
    rattled.rattle(0.08, seed=1)
    slab = bcc100('Li', size=(2, 2, 3), a=3.44, vacuum=5.0)
    slab.rattle(0.05, seed=2)
    slab.pbc = True  # as the seeds: the vacuum separates the periodic images
    return {'bulk16': orm.StructureData(ase=rattled), 'slab12': orm.StructureData(ase=slab)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--code', default='pw@localhost')
    parser.add_argument('--repeat', type=int, default=1, help='runs of each variant, alternating')
    args = parser.parse_args()
    load_profile()
    from aiida.engine import run_get_node

    from aiida_limlip.workchains.labelling import LabellingWorkChain

    results: dict[tuple[str, bool], list] = {}
    for _ in range(args.repeat):
        for tricks in (True, False):
            overrides = {'kpoints_spacing': 0.25, 'max_concurrent': 1, 'gamma_tricks': tricks}
            # The demo's SCF settings (active_learning.yaml, demo): 5e-7 Ry/atom, at most 60 steps.
            overrides['parameters'] = {'ELECTRONS': {'conv_thr_per_atom': 5.0e-7, 'electron_maxstep': 60}}
            builder = LabellingWorkChain.get_builder_from_protocol(args.code, cells(), 'fast', overrides=overrides)
            _, node = run_get_node(builder)
            for calculation in node.called_descendants:
                if calculation.process_label != 'PwCalculation' or 'output_parameters' not in calculation.outputs:
                    continue
                parameters = calculation.outputs.output_parameters.get_dict()
                steps = parameters.get('convergence_info', {}).get('scf_conv', {}).get('n_scf_steps')
                results.setdefault((calculation.caller.label, tricks), []).append(
                    (parameters['wall_time_seconds'], steps, parameters['energy'])
                )
    print(f'{"cell":8s}{"variant":>10s}{"pw.x (s)":>10s}{"SCF steps":>11s}{"E (eV)":>16s}')
    for (label, tricks), runs in sorted(results.items()):
        for seconds, steps, energy in runs:
            print(f'{label:8s}{"gamma" if tricks else "automatic":>10s}{seconds:10.1f}{steps!s:>11s}{energy:16.5f}')
    for label in sorted({label for label, _ in results}):
        plain = sum(run[0] for run in results[(label, False)])
        tricks = sum(run[0] for run in results[(label, True)])
        print(f'{label}: plain / tricks = {plain / tricks:.2f} (pw.x wall time, {len(results[(label, True)])} run(s))')


if __name__ == '__main__':
    main()
