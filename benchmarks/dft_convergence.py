"""Convergence of the DFT column's bulk rows with pw.x: C' = (C11 - C12)/2 and the bulk modulus.

Two studies of bcc Li at the paper's cutoffs (100/400 Ry, PBE, psl 1.0.0 PAW), each point an AiiDA work chain of the
current profile, run in this process and kept in the group ``limlip/benchmarks/dft-convergence`` (a point already
there is not run again, so the script can be stopped and started):

``shear``
    ``ElasticConstantsWorkChain`` with xx strains only (``dft_strain_components: [0]``: C11, C12 and C'), for every
    Monkhorst-Pack mesh n x n x n of the primitive cell and every Methfessel-Paxton width; ``--strains`` sets the
    strain magnitudes (each with both signs); ``--c44`` adds the yz strains (C44 and the anisotropy) at the given
    meshes. Every strained cell of a point shares one mesh.
``bulk-modulus``
    ``EquationOfStateWorkChain`` on a wide grid of volumes (default 21 within ±10 %) at each mesh; B is then refitted
    on sub-ranges and sub-grids with pymatgen's fit forms (Birch-Murnaghan, Vinet, Murnaghan), and from the
    pressures (B = -V dP/dV), to show what the value depends on.
``report``
    Tables of both studies from the group, and plots in ``--output``.

    python benchmarks/dft_convergence.py shear --meshes 21 30 40 --smearings 0.0198 0.01
    python benchmarks/dft_convergence.py bulk-modulus --meshes 21 30
    python benchmarks/dft_convergence.py report --output docs/figures

Not a test: a point at the 40^3 mesh takes about ten minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np
from aiida import load_profile, orm

GROUP = 'limlip/benchmarks/dft-convergence'
#: Paper Table 1, "DFT (paper)" column.
PAPER = {'bulk_modulus': 13.7, 'C11': 14.8, 'C12': 13.1, 'C44': 10.4, 'anisotropy': 12.6, 'C_prime': 0.85}
#: Our pw.x lattice constant at the paper's settings (benchmarks/dft_table1.py): the cell of both studies.
A0 = 3.4350


def primitive_cell(a: float = A0) -> orm.StructureData:
    """Return primitive bcc Li (one atom) with lattice constant ``a`` (Å)."""
    from ase.build import bulk

    return orm.StructureData(ase=bulk('Li', 'bcc', a=a))


def conventional_cell(a: float = A0) -> orm.StructureData:
    """Return the conventional bcc Li cube (two atoms) with lattice constant ``a`` (Å)."""
    from ase.build import bulk

    return orm.StructureData(ase=bulk('Li', 'bcc', a=a, cubic=True))


def find_point(group: orm.Group, **key) -> orm.WorkflowNode | None:
    """Return the finished work chain of the group whose extras match ``key``, or None."""
    for node in group.nodes:
        extras = node.base.extras.all
        if all(extras.get(name) == value for name, value in key.items()) and node.is_finished_ok:
            return node
    return None


def run_point(group: orm.Group, builder, **key) -> orm.WorkflowNode:
    """Run ``builder`` unless the group has the point ``key`` already; return the work chain node."""
    from aiida.engine import run_get_node

    node = find_point(group, **key)
    if node is not None:
        print(f'  {key}: {node.process_label}<{node.pk}> done before', flush=True)
        return node
    start = time.monotonic()
    _, node = run_get_node(builder)
    node.base.extras.set_many(key)
    group.add_nodes(node)
    state = 'ok' if node.is_finished_ok else f'failed [{node.exit_status}] {node.exit_message}'
    print(f'  {key}: {node.process_label}<{node.pk}> {state} in {time.monotonic() - start:.0f} s', flush=True)
    return node


def shear(args, group: orm.Group) -> None:
    """Run the C' grid: meshes x smearings x strain sets, then C44 where asked."""
    from aiida_limlip.workchains.properties.elastic import ElasticConstantsWorkChain

    structure = conventional_cell(args.a) if args.cubic else primitive_cell(args.a)
    points = [(mesh, smearing, [0]) for mesh in args.meshes for smearing in args.smearings]
    points += [(mesh, args.smearings[0], [0, 3]) for mesh in args.c44]
    for mesh, smearing, components in sorted(points, key=lambda point: point[0] ** 3 * len(point[2])):
        overrides = {
            'strain_magnitudes': args.strains,
            'dft_strain_components': components,
            'evaluation': {
                'dft_overrides': {
                    'kpoints_mesh': [mesh] * 3,
                    'max_concurrent': 2,
                    'parameters': {'SYSTEM': {'degauss': smearing}},
                }
            },
        }
        builder = ElasticConstantsWorkChain.get_builder_from_protocol(
            args.code, structure, protocol='paper', overrides=overrides
        )
        key = {'study': 'shear', 'mesh': mesh, 'degauss': smearing, 'strains': args.strains, 'components': components}
        if args.cubic:
            key['cell'] = 'conventional'
        run_point(group, builder, **key)


def bulk_modulus(args, group: orm.Group) -> None:
    """Run the wide E-V grid at every mesh."""
    from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain

    strains = [round(float(x), 4) for x in np.linspace(-args.range, args.range, args.points)]
    for mesh, smearing in ((mesh, smearing) for smearing in args.smearings for mesh in args.meshes):
        dft = {'kpoints_mesh': [mesh] * 3, 'max_concurrent': 2, 'parameters': {'SYSTEM': {'degauss': smearing}}}
        overrides = {'volume_strains': strains, 'evaluation': {'dft_overrides': dft}}
        builder = EquationOfStateWorkChain.get_builder_from_protocol(
            args.code, primitive_cell(args.a), protocol='paper', overrides=overrides
        )
        run_point(group, builder, study='bulk-modulus', mesh=mesh, degauss=smearing, strains=strains)


def refit_bulk_modulus(volumes, energies, pressures) -> dict:
    """Return B0 (GPa) refitted on sub-ranges and sub-grids of one E-V grid, by fit form, and from P(V).

    Volume range r: the points within ±r of the middle volume; sub-grids: every k-th point within ±5 %.
    """
    from pymatgen.analysis.eos import EOS

    volumes, energies, pressures = (np.ravel(values) for values in (volumes, energies, pressures))
    middle = np.median(volumes)
    forms = {'BM3': 'birch_murnaghan', 'Vinet': 'vinet', 'Murnaghan': 'murnaghan'}
    by_range = {}
    for half_width in (0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10):
        mask = np.abs(volumes / middle - 1) <= half_width + 1e-6
        if mask.sum() < 5:
            continue
        row = {name: EOS(form).fit(volumes[mask], energies[mask]).b0_GPa for name, form in forms.items()}
        # B = -V dP/dV at V0 from a quadratic P(V) through the same points (stresses, not energies).
        fit_p = np.polyfit(volumes[mask], pressures[mask], 2)
        v0 = EOS('birch_murnaghan').fit(volumes[mask], energies[mask]).v0
        row['-V dP/dV'] = float(-v0 * np.polyval(np.polyder(fit_p), v0))
        row['points'] = int(mask.sum())
        by_range[half_width] = row
    within = np.where(np.abs(volumes / middle - 1) <= 0.05 + 1e-6)[0]
    by_points = {}
    for step in (5, 2, 1):
        chosen = within[::step]
        if len(chosen) >= 5:
            by_points[len(chosen)] = EOS('birch_murnaghan').fit(volumes[chosen], energies[chosen]).b0_GPa
    return {'by_range': by_range, 'by_points': by_points}


def report(args, group: orm.Group) -> None:
    """Print both studies' tables and draw their plots."""
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    shear_rows, eos_rows = [], []
    for node in group.nodes:
        extras = node.base.extras.all
        if not node.is_finished_ok:
            continue
        if extras.get('study') == 'shear':
            results = node.outputs.results.get_dict()
            wall = sum(
                d.outputs.output_parameters['wall_time_seconds']
                for d in node.called_descendants
                if d.process_label == 'PwCalculation' and 'output_parameters' in d.outputs
            )
            shear_rows.append({**extras, **results, 'node': node.pk, 'wall': wall})
        elif extras.get('study') == 'bulk-modulus':
            eos_rows.append(((extras['mesh'], extras['degauss']), node))

    print("\nC' = (C11 - C12)/2 of bcc Li, pw.x 100/400 Ry (paper: C11 14.8, C12 13.1, C' 0.85 GPa)")
    print(
        f'{"cell":>6}{"mesh":>6}{"degauss (Ry)":>14}{"strains":>14}{"C11":>8}{"C12":>8}{"Cprime":>8}{"C44":>8}{"A":>7}'
        f'{"pw.x (s)":>10}{"pk":>8}'
    )
    for row in sorted(shear_rows, key=lambda r: (r.get('cell', ''), -r['degauss'], r['mesh'], len(r['components']))):
        c_prime = row.get('C_prime', (row['C11'] - row['C12']) / 2)
        c44 = f'{row["C44"]:8.3f}' if 'C44' in row else f'{"":>8}'
        anisotropy = f'{row["zener_anisotropy"]:7.2f}' if 'zener_anisotropy' in row else f'{"":>7}'
        strains = ','.join(f'{s:g}' for s in row['strains'])
        cell = 'cube' if row.get('cell') else 'prim'
        print(
            f'{cell:>6}{row["mesh"]:>6}{row["degauss"]:>14.4f}{strains:>14}{row["C11"]:8.3f}{row["C12"]:8.3f}'
            f'{c_prime:8.3f}{c44}{anisotropy}{row["wall"]:10.0f}{row["node"]:>8}'
        )

    for (mesh, smearing), node in sorted(eos_rows, key=lambda item: item[0]):
        data = node.outputs.eos_data
        refit = refit_bulk_modulus(
            data.get_array('volumes'), data.get_array('energies'), data.get_array('pressures') * 160.21766
        )
        print(f'\nB0 (GPa) of bcc Li, {mesh}^3 mesh, MP {smearing:g} Ry, {node.process_label}<{node.pk}> (paper: 13.7)')
        print(f'{"±range":>8}{"points":>8}{"BM3":>8}{"Vinet":>8}{"Murnaghan":>11}{"-V dP/dV":>10}')
        for half_width, row in refit['by_range'].items():
            print(
                f'{100 * half_width:>7.0f}%{row["points"]:>8}{row["BM3"]:8.2f}{row["Vinet"]:8.2f}'
                f'{row["Murnaghan"]:11.2f}{row["-V dP/dV"]:10.2f}'
            )
        print(
            'BM3 within ±5 % by number of points: '
            + ', '.join(f'{n}: {b:.2f}' for n, b in sorted(refit['by_points'].items()))
        )
    plot(shear_rows, eos_rows, output)


def plot(shear_rows, eos_rows, output: pathlib.Path) -> None:
    """Draw C' against the mesh (one line per smearing) and B0 against the volume range (one line per form)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    for smearing in sorted({r['degauss'] for r in shear_rows}, reverse=True):
        rows = sorted(
            (
                r
                for r in shear_rows
                if r['degauss'] == smearing and r['components'] == [0] and len(r['strains']) == 1 and not r.get('cell')
            ),
            key=lambda r: r['mesh'],
        )
        if rows:
            ax.plot(
                [r['mesh'] for r in rows],
                [r['C_prime'] for r in rows],
                'o-',
                label=f'MP {smearing:g} Ry ({13.6057 * smearing:.2f} eV)',
            )
    for row in (r for r in shear_rows if r.get('cell')):
        ax.plot([row['mesh']], [row['C_prime']], 'kx', ms=8, label=f'2-atom cube, {row["mesh"]}^3 of its cell')
    ax.axhline(PAPER['C_prime'], color='k', ls='--', lw=1, label='paper DFT (14.8 - 13.1)/2')
    ax.set_xlabel('k-mesh n (n x n x n, primitive cell)')
    ax.set_ylabel("C' = (C11 - C12)/2 (GPa)")
    ax.legend(fontsize=8)
    ax = axes[1]
    for (mesh, smearing), node in sorted(eos_rows, key=lambda item: item[0]):
        data = node.outputs.eos_data
        refit = refit_bulk_modulus(
            data.get_array('volumes'), data.get_array('energies'), data.get_array('pressures') * 160.21766
        )
        ranges = sorted(refit['by_range'])
        for form, style in (('BM3', 'o-'), ('Vinet', 's--'), ('-V dP/dV', '^:')):
            ax.plot(
                [100 * r for r in ranges],
                [refit['by_range'][r][form] for r in ranges],
                style,
                label=f'{form}, {mesh}^3, MP {smearing:g} Ry',
            )
    ax.axhline(PAPER['bulk_modulus'], color='k', ls='--', lw=1, label='paper DFT')
    ax.set_xlabel('volume range ± (%)')
    ax.set_ylabel('B0 (GPa)')
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = output / 'dft_convergence.png'
    fig.savefig(path, dpi=120)
    print(f'\nplot: {path}')


def main() -> None:
    """Parse the command line and run a study or the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('study', choices=['shear', 'bulk-modulus', 'report'])
    parser.add_argument('--code', default='pw@localhost')
    parser.add_argument('--a', type=float, default=A0, help='lattice constant of the cell (Å)')
    parser.add_argument('--meshes', type=int, nargs='+', default=[21, 30, 40])
    parser.add_argument('--smearings', type=float, nargs='+', default=[0.0198, 0.01], help='MP widths (Ry)')
    parser.add_argument('--strains', type=float, nargs='+', default=[0.01], help='strain magnitudes (both signs)')
    parser.add_argument('--c44', type=int, nargs='*', default=[], help='meshes at which to add the yz strains')
    parser.add_argument('--cubic', action='store_true', help='strain the 2-atom cube, meshes n x n x n of its cell')
    parser.add_argument('--range', type=float, default=0.10, help='E-V grid: half width of the volume range')
    parser.add_argument('--points', type=int, default=21, help='E-V grid: number of volumes')
    parser.add_argument('--output', default='docs/figures', help='folder of the report plots')
    parser.add_argument('--group', default=GROUP, help='group that keeps the points')
    args = parser.parse_args()
    load_profile()
    group, _ = orm.Group.collection.get_or_create(args.group)
    {'shear': shear, 'bulk-modulus': bulk_modulus, 'report': report}[args.study](args, group)


if __name__ == '__main__':
    main()
