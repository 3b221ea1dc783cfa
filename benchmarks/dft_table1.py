"""The "DFT (paper)" bulk rows of Table 1 with pw.x: lattice constant, bulk modulus, C11, C12, C44, anisotropy.

Runs, through the daemon of the current profile, ``EquationOfStateWorkChain`` on primitive bcc Li and then
``ElasticConstantsWorkChain`` at its equilibrium lattice, both with pw.x at the given protocol (``paper``: PBE,
psl 1.0.0 PAW, 100/400 Ry, MP 0.0198 Ry, k-spacing 0.02 1/Å = 21x21x21 for one atom). Prints each value next to
the paper's DFT column, and the wall time of each step. Not a test: the paper protocol takes tens of minutes on 2
cores.

    python benchmarks/dft_table1.py --protocol paper
"""

import argparse
import time

from aiida import load_profile, orm
from aiida.engine import submit

#: The paper's "DFT (paper)" column of Table 1.
PAPER = {'lattice_constant': 3.434, 'bulk_modulus': 13.7, 'C11': 14.8, 'C12': 13.1, 'C44': 10.4, 'anisotropy': 12.6}


def wait(node, timeout=14400):
    """Wait for ``node`` to terminate; return the elapsed seconds."""
    start = time.monotonic()
    while not node.is_terminated:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f'{node.pk} did not finish')
        time.sleep(2)
    if not node.is_finished_ok:
        raise RuntimeError(f'{node.process_label}<{node.pk}> failed: [{node.exit_status}] {node.exit_message}')
    return time.monotonic() - start


def main():
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--protocol', default='paper', choices=['paper', 'demo', 'fast'])
    parser.add_argument('--code', default='pw@localhost')
    parser.add_argument('--a', type=float, default=3.434, help='starting lattice constant (Å)')
    args = parser.parse_args()
    load_profile()
    from ase.build import bulk

    from aiida_limlip.workchains.properties.elastic import ElasticConstantsWorkChain
    from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain

    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=args.a))
    eos = submit(EquationOfStateWorkChain.get_builder_from_protocol(args.code, structure, protocol=args.protocol))
    print(f'EquationOfStateWorkChain<{eos.pk}> submitted', flush=True)
    t_eos = wait(eos)
    elastic = submit(
        ElasticConstantsWorkChain.get_builder_from_protocol(
            args.code, eos.outputs.equilibrium_structure, protocol=args.protocol
        )
    )
    print(f'ElasticConstantsWorkChain<{elastic.pk}> submitted', flush=True)
    t_elastic = wait(elastic)

    results = elastic.outputs.results
    ours = {
        'lattice_constant': eos.outputs.lattice_constant.value,
        'bulk_modulus': eos.outputs.bulk_modulus.value,
        'C11': results['C11'],
        'C12': results['C12'],
        'C44': results['C44'],
        'anisotropy': results['zener_anisotropy'],
    }
    print(f'\nbcc Li, pw.x, protocol `{args.protocol}`')
    print(f'{"property":<18}{"this run":>12}{"DFT (paper)":>14}{"diff (%)":>10}')
    for key, value in ours.items():
        print(f'{key:<18}{value:>12.4f}{PAPER[key]:>14.3f}{100 * (value - PAPER[key]) / PAPER[key]:>+10.1f}')
    print(f'B from (C11 + 2 C12)/3: {results["bulk_modulus_hill"]:.2f} GPa (EOS: {ours["bulk_modulus"]:.2f} GPa)')
    scfs = sum(
        1 for node in eos.called_descendants + elastic.called_descendants if node.process_label == 'PwCalculation'
    )
    print(f'wall time: EOS {t_eos:.0f} s, elastic {t_elastic:.0f} s; {scfs} pw.x runs')


if __name__ == '__main__':
    main()
