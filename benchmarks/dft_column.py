"""The DFT column of Table 1 beyond the bulk rows, with pw.x: vacancy, surface energies and phonons of bcc Li.

Each step runs the same property work chain as for the potentials, with pw.x, in this process; every finished
work chain is kept in the group ``limlip/benchmarks/dft-column`` (a step already there is not run again):

``vacancy``
    ``VacancyFormationWorkChain`` in N x N x N conventional supercells (``--sizes``, default 2: 16 sites), ions
    relaxed at fixed cell to ``--fmax``, at the ``--dft-protocol`` settings (default ``paper``).
``surfaces``
    ``SurfaceEnergyWorkChain`` for (100), (110) and (111), smallest in-plane cells, at each slab thickness of
    ``--slabs`` (Å) with ``--vacuum`` Å of vacuum: the layer convergence. The report also fits the slab energies
    of each facet linearly in the number of atoms (Fiorentini and Methfessel, J. Phys.: Condens. Matter 8, 6525
    (1996)), whose slope is the bulk energy the slabs see: it removes the drift that a bulk reference computed on
    another k-mesh gives the thicker slabs.
``phonons``
    ``PhononWorkChain`` in the 16-atom supercell of the conventional cube doubled (2x2x2 conventional, matrix
    [[0,2,2],[2,0,2],[2,2,0]] of the primitive cell): H, N and P are commensurate with it, so their frequencies are
    exact finite-displacement values, not interpolations. One displaced cell (bcc has one inequivalent atom).
``figure``
    The DFT phonons of the ``phonons`` step (``--dft-protocol``) against SNAP and MEAM in the same 16-atom cell, each
    potential at its own equilibrium (an ``EquationOfStateWorkChain`` first, as in Table 1): the frequencies at H, N
    and P with their deviation from DFT, and the three dispersions in ``--output`` (Fig. 1's panel (a)).
``report``
    Every finished step next to the paper's DFT values.

    python benchmarks/dft_column.py vacancy
    python benchmarks/dft_column.py surfaces --slabs 8 12 16 --dft-protocol demo
    python benchmarks/dft_column.py phonons
    python benchmarks/dft_column.py figure --output docs/figures/dft_phonons.png
    python benchmarks/dft_column.py report

Not a test, and not a laptop's job at the paper's settings: the perfect 16-atom cell alone has 35 k-points at
100/400 Ry, and its first two SCF iterations took ~1100 s of CPU each per process (2 MPI processes, beside other
work), so the 16-site vacancy (one SCF for the perfect cell, a relaxation for the vacancy) is many hours on 2 cores;
run it on a cluster (``--code pw@<cluster>``) or with ``--dft-protocol demo``.
"""

from __future__ import annotations

import argparse

import numpy as np
from aiida import load_profile, orm
from dft_convergence import A0, find_point, run_point

GROUP = 'limlip/benchmarks/dft-column'
#: Paper Table 1, "DFT (paper)" column.
PAPER = {'vacancy': 0.525, '100': 0.029, '110': 0.031, '111': 0.033}
FACETS = [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
#: The conventional cube doubled, in primitive bcc vectors (ASE's: a/2 (-1,1,1), a/2 (1,-1,1), a/2 (1,1,-1)).
CONVENTIONAL_2X2X2 = [[0, 2, 2], [2, 0, 2], [2, 2, 0]]


def li(a: float, cubic: bool = False) -> orm.StructureData:
    """Return bcc Li with lattice constant ``a`` (Å), primitive or conventional."""
    from ase.build import bulk

    return orm.StructureData(ase=bulk('Li', 'bcc', a=a, cubic=cubic))


def dft_evaluation(args) -> dict:
    """Return the evaluation overrides: DFT protocol, force threshold (eV/Å), and MPI processes per pw.x job.

    Two one-process SCFs at once by default; with ``--mpiprocs 2`` one SCF at a time on both cores, which ends a
    batch of one large and one small cell (the vacancy and its perfect crystal) sooner.
    """
    evaluation = {
        'dft_protocol': args.dft_protocol,
        'dft_overrides': {'max_concurrent': max(1, 2 // args.mpiprocs)},
        'parameters': {'fmax': args.fmax},
    }
    if args.mpiprocs > 1:
        evaluation['options'] = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': args.mpiprocs}}
    return evaluation


def vacancy(args, group: orm.Group) -> None:
    """Run the vacancy at each supercell size."""
    from aiida_limlip.workchains.properties.vacancy import VacancyFormationWorkChain

    overrides = {'supercell_sizes': args.sizes, 'evaluation': dft_evaluation(args)}
    builder = VacancyFormationWorkChain.get_builder_from_protocol(
        args.code, li(args.a), protocol=args.dft_protocol, overrides=overrides
    )
    key = {'step': 'vacancy', 'sizes': args.sizes, 'dft_protocol': args.dft_protocol, 'fmax': args.fmax}
    run_point(group, builder, **key)


def surfaces(args, group: orm.Group) -> None:
    """Run (100), (110), (111) at each slab thickness."""
    from aiida_limlip.workchains.properties.surfaces import SurfaceEnergyWorkChain

    for slab in args.slabs:
        overrides = {
            'miller_indices': FACETS,
            'min_slab_size': slab,
            'min_vacuum_size': args.vacuum,
            'evaluation': dft_evaluation(args),
        }
        builder = SurfaceEnergyWorkChain.get_builder_from_protocol(
            args.code, li(args.a, cubic=True), protocol=args.dft_protocol, overrides=overrides
        )
        key = {
            'step': 'surfaces',
            'slab': slab,
            'vacuum': args.vacuum,
            'dft_protocol': args.dft_protocol,
            'fmax': args.fmax,
        }
        run_point(group, builder, **key)


def phonons(args, group: orm.Group) -> None:
    """Run the phonons in the 16-atom doubled conventional cell."""
    from aiida_limlip.workchains.properties.phonons import PhononWorkChain

    evaluation = dft_evaluation(args)
    evaluation.pop('parameters')  # single points
    overrides = {'supercell': CONVENTIONAL_2X2X2, 'evaluation': evaluation}
    builder = PhononWorkChain.get_builder_from_protocol(
        args.code, li(args.a), protocol=args.dft_protocol, overrides=overrides
    )
    run_point(group, builder, step='phonons', supercell='2x2x2 conventional', dft_protocol=args.dft_protocol)


def figure(args, group: orm.Group) -> None:
    """Compare the DFT phonons with SNAP's and MEAM's in the same cell, each at its own equilibrium; draw them."""
    from aiida_limlip.analysis.tables import plot_figure1
    from aiida_limlip.data.potential import PotentialData, find_lammps_potentials_dir
    from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain
    from aiida_limlip.workchains.properties.phonons import PhononWorkChain

    dft = find_point(group, step='phonons', supercell='2x2x2 conventional', dft_protocol=args.dft_protocol)
    if dft is None or not dft.is_finished_ok:
        raise SystemExit(f'run `dft_column.py phonons --dft-protocol {args.dft_protocol}` first')
    directory = find_lammps_potentials_dir()
    potentials = {
        'SNAP': PotentialData.from_snap_zuo2020(directory),
        'MEAM': PotentialData.from_meam(directory / 'library.meam', None, ['Li']),
    }
    columns = {f'DFT ({args.dft_protocol})': dft}
    for name, potential in potentials.items():
        potential = potential.get_or_store()
        builder = EquationOfStateWorkChain.get_builder_from_protocol(args.runner, li(args.a), potential)
        eos = run_point(group, builder, step='eos', potential=name)
        builder = PhononWorkChain.get_builder_from_protocol(
            args.runner, eos.outputs.equilibrium_structure, potential, overrides={'supercell': CONVENTIONAL_2X2X2}
        )
        columns[name] = run_point(group, builder, step='phonons', supercell='2x2x2 conventional', potential=name)
    reference = next(iter(columns))
    points = {name: node.outputs.results['special_points'] for name, node in columns.items()}
    print(f'\nPhonons in the 2x2x2 conventional cell (16 atoms), THz; deviation from {reference}')
    for label in ('H', 'N', 'P'):
        for name, by_point in points.items():
            frequencies, exact = by_point[label], points[reference][label]
            row = f'  {label} {name:>12}: ' + ' '.join(f'{f:6.2f}' for f in frequencies)
            if name != reference:
                row += (
                    '  ('
                    + ', '.join(f'{100 * (f - r) / r:+.0f} %' for f, r in zip(frequencies, exact, strict=True))
                    + ')'
                )
            print(row)
    bands = {name: node.outputs.phonon_data.get_dict() for name, node in columns.items()}
    plot_figure1(args.output, bands=bands, reference=reference)
    print(f'\nwritten {args.output}')


def fiorentini_methfessel(rows: list[dict]) -> dict:
    """Return gamma (eV/Å^2) of one facet from slab energies linear in the atom count: E = N e_bulk + 2 A gamma.

    ``rows``: per slab, ``natoms``, ``area`` (Å^2) and ``slab_energy`` (eV); at least two slabs of one area.
    """
    natoms = np.array([row['natoms'] for row in rows], dtype=float)
    energies = np.array([row['slab_energy'] for row in rows])
    slope, intercept = np.polyfit(natoms, energies, 1)
    return {'surface_energy': intercept / (2 * rows[0]['area']), 'bulk_energy_per_atom': slope}


def pw_seconds(node: orm.WorkflowNode) -> float:
    """Return the summed pw.x wall time (s) of a work chain."""
    return sum(
        calc.outputs.output_parameters['wall_time_seconds']
        for calc in node.called_descendants
        if calc.process_label == 'PwCalculation' and 'output_parameters' in calc.outputs
    )


def report(args, group: orm.Group) -> None:
    """Print every finished step against the paper's DFT column."""
    nodes = [node for node in group.nodes if node.is_finished_ok]
    for node in nodes:
        extras = node.base.extras.all
        if extras.get('step') == 'vacancy':
            results = node.outputs.results.get_dict()
            print(
                f'\nVacancy, {extras["dft_protocol"]} DFT, fmax {extras["fmax"]} eV/Å, {node.process_label}<{node.pk}>'
                f' ({pw_seconds(node):.0f} s of pw.x)'
            )
            print(f'  E_v = {node.outputs.vacancy_formation_energy.value:.4f} eV (paper DFT {PAPER["vacancy"]})')
            print(f'  {results}')
    series: dict[tuple, list] = {}
    for node in nodes:
        extras = node.base.extras.all
        if extras.get('step') != 'surfaces':
            continue
        results = node.outputs.results.get_dict()
        for facet, info in results['facets'].items():
            slab_energy = 2 * info['area'] * info['surface_energy'] + info['natoms'] * results['bulk_energy_per_atom']
            series.setdefault((extras['dft_protocol'], extras['vacuum'], facet), []).append(
                {**info, 'slab_energy': slab_energy, 'node': node.pk, 'seconds': pw_seconds(node)}
            )
    for (protocol, vacuum, facet), rows in sorted(series.items()):
        rows.sort(key=lambda row: row['natoms'])
        print(f'\n({facet}) surface energy (eV/Å^2), {protocol} DFT, {vacuum:g} Å vacuum (paper DFT {PAPER[facet]})')
        print(f'{"atoms":>6}{"thickness (Å)":>15}{"gamma":>10}{"change":>10}{"gamma (FM fit)":>16}{"pk":>8}')
        for index, row in enumerate(rows):
            change = f'{row["surface_energy"] - rows[index - 1]["surface_energy"]:+10.5f}' if index else f'{"":>10}'
            fit = (
                f'{fiorentini_methfessel(rows[index - 1 : index + 1])["surface_energy"]:16.5f}'
                if index
                else f'{"":>16}'
            )
            print(
                f'{row["natoms"]:>6}{row["slab_thickness"]:>15.2f}{row["surface_energy"]:>10.5f}{change}{fit}'
                f'{row["node"]:>8}'
            )
    for node in nodes:
        extras = node.base.extras.all
        if extras.get('step') == 'phonons':
            points = node.outputs.results['special_points']
            print(
                f'\nPhonons, {extras["dft_protocol"]} DFT, 2x2x2 conventional (16 atoms), '
                f'{node.process_label}<{node.pk}> ({pw_seconds(node):.0f} s of pw.x)'
            )
            for label, frequencies in points.items():
                print(f'  {label}: ' + ' '.join(f'{f:.3f}' for f in frequencies) + ' THz')


def main() -> None:
    """Parse the command line and run a step or the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('step', choices=['vacancy', 'surfaces', 'phonons', 'figure', 'report'])
    parser.add_argument('--code', default='pw@localhost')
    parser.add_argument('--a', type=float, default=A0, help='lattice constant (Å): our pw.x value by default')
    parser.add_argument('--dft-protocol', default='paper', choices=['paper', 'demo', 'fast'])
    parser.add_argument('--fmax', type=float, default=5e-3, help='force threshold of the relaxations (eV/Å)')
    parser.add_argument('--sizes', type=int, nargs='+', default=[2], help='vacancy supercells N (2 N^3 sites)')
    parser.add_argument('--slabs', type=float, nargs='+', default=[8.0, 12.0, 16.0], help='slab thicknesses (Å)')
    parser.add_argument('--vacuum', type=float, default=15.0, help='vacuum (Å)')
    parser.add_argument('--mpiprocs', type=int, default=1, help='MPI processes of each pw.x job')
    parser.add_argument('--group', default=GROUP, help='group that keeps the steps')
    parser.add_argument('--runner', default='limlip-runner@localhost', help='runner code of the potentials (figure)')
    parser.add_argument('--output', default='dft_phonons.png', help='PNG of the dispersions (figure)')
    args = parser.parse_args()
    load_profile()
    group, _ = orm.Group.collection.get_or_create(args.group)
    steps = {'vacancy': vacancy, 'surfaces': surfaces, 'phonons': phonons, 'figure': figure, 'report': report}
    steps[args.step](args, group)


if __name__ == '__main__':
    main()
