"""Fig. 3 for a potential: SPES, diffusion barriers, BEP and step barriers of six facets, and slab convergence.

Two parts, each optional:

* ``--run``: ``EquationOfStateWorkChain``, then ``AdsorptionEnergySurfaceWorkChain``, ``SurfaceDiffusionWorkChain``
  and ``EhrlichSchwoebelWorkChain`` at ``--protocol`` (default ``demo``: the paper's six facets on 14 Å slabs, 4x4
  surface cells) for ``--potential`` (default SNAP), through the profile; prints E_ads, the barriers, the BEP fits
  with and without (111), the step barriers and the wall time of each work chain, and writes Fig. 3 to ``--out``.
* ``--convergence``: E_ads of the minimum of (100), (110) and (111) (found on a 4x4 grid, adatom along z, then
  relaxed fully to 1e-3 eV/Å) at the paper protocol's slab and at one 4 Å thicker, with ASE directly; prints the
  change (the tests hold (100) to 5 meV).

    python benchmarks/surface_kinetics.py --run --convergence [--protocol demo] [--out fig3]
"""

import argparse
import pathlib
import time

import numpy as np


def convergence() -> None:
    import yaml
    from ase.build import bulk
    from ase.constraints import FixAtoms, FixCartesian
    from ase.optimize import BFGS

    from aiida_limlip.analysis.surface_kinetics import surface_grid
    from aiida_limlip.data.potential import PotentialData
    from aiida_limlip.protocols import PROTOCOLS_DIR
    from aiida_limlip.structures import surface_sites

    protocol = yaml.safe_load((PROTOCOLS_DIR / 'spes.yaml').read_text())
    paper = {**protocol['default_inputs'], **protocol['protocols']['paper']}
    calculator = PotentialData.from_snap_zuo2020().get_ase_calculator()
    cell = bulk('Li', 'bcc', a=3.5062, cubic=True)  # SNAP's own lattice constant
    cell.calc = calculator
    e_bulk = cell.get_potential_energy() / len(cell)
    distance = surface_sites.nearest_neighbour_distance(cell)
    fixed = paper['fixed_thickness']

    def relaxed(atoms, along_z, fmax):
        atoms = atoms.copy()
        atoms.calc = calculator
        heights = atoms.positions[:, 2]
        constraints = [FixAtoms(indices=np.flatnonzero(heights - heights.min() < fixed))]
        if along_z:
            constraints.append(FixCartesian(len(atoms) - 1, mask=[True, True, False]))
        atoms.set_constraint(constraints)
        BFGS(atoms, logfile=None).run(fmax=fmax, steps=3000)
        atoms.set_constraint()
        return atoms.get_potential_energy(), atoms

    print(f'SNAP, paper protocol slab {paper["min_slab_size"]} Å (bottom {fixed} Å fixed) against 4 Å thicker')
    for miller in ((1, 0, 0), (1, 1, 0), (1, 1, 1)):
        values = []
        for thickness in (paper['min_slab_size'], paper['min_slab_size'] + 4.0):
            start = time.perf_counter()
            slab = surface_sites.adsorption_slab(cell, miller, thickness, paper['min_vacuum_size'], (4, 4))
            # The grid (adatom along z, 5e-3 eV/Å) finds the minimum; it and the clean slab then relax to 1e-3 eV/Å:
            # at 5e-3 the slab's residual relaxation scatters E_ads by several meV (7 meV measured for (100)).
            grid = [
                relaxed(surface_sites.add_adatom(slab, site, distance), True, 5e-3) for site in surface_grid([4, 4])
            ]
            lowest = min(grid, key=lambda item: item[0])[1]
            values.append(relaxed(lowest, False, 1e-3)[0] - relaxed(slab, False, 1e-3)[0] - e_bulk)
            print(
                f'  {miller}: {thickness:.0f} Å, {len(slab)} atoms, E_ads {values[-1]:.4f} eV '
                f'({time.perf_counter() - start:.0f} s)'
            )
        print(f'  {miller}: change {1000 * (values[1] - values[0]):+.2f} meV')


def run(args) -> None:
    from aiida import engine, orm
    from ase.build import bulk

    from aiida_limlip.analysis.figure3 import plot_figure3
    from aiida_limlip.data.potential import PotentialData
    from aiida_limlip.query import surface_kinetics_data
    from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain
    from aiida_limlip.workchains.properties.surface_kinetics import (
        AdsorptionEnergySurfaceWorkChain,
        EhrlichSchwoebelWorkChain,
        SurfaceDiffusionWorkChain,
    )

    code = 'limlip-runner@localhost'
    if args.potential == 'SNAP':
        potential = PotentialData.from_snap_zuo2020().get_or_store()
    else:
        potential = orm.load_node(int(args.potential))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.45, cubic=True))
    eos = engine.run(EquationOfStateWorkChain.get_builder_from_protocol(code, structure, potential))
    structure = eos['equilibrium_structure']
    print(f'{potential.label}: a0 (EOS) = {eos["lattice_constant"].value:.4f} Å')
    times, nodes = {}, []

    start = time.perf_counter()
    builder = AdsorptionEnergySurfaceWorkChain.get_builder_from_protocol(code, structure, potential, args.protocol)
    spes, spes_node = engine.run_get_node(builder)
    times['AdsorptionEnergySurfaceWorkChain'] = time.perf_counter() - start
    nodes.append(spes_node)

    start = time.perf_counter()
    builder = SurfaceDiffusionWorkChain.get_builder_from_protocol(
        code, structure, potential, args.protocol, adsorption=spes['results'], minima=spes['minima']
    )
    diffusion, diffusion_node = engine.run_get_node(builder)
    times['SurfaceDiffusionWorkChain'] = time.perf_counter() - start
    nodes.append(diffusion_node)

    start = time.perf_counter()
    builder = EhrlichSchwoebelWorkChain.get_builder_from_protocol(code, structure, potential, args.protocol)
    schwoebel, schwoebel_node = engine.run_get_node(builder)
    times['EhrlichSchwoebelWorkChain'] = time.perf_counter() - start
    nodes.append(schwoebel_node)

    for node in nodes:
        print(f'{node.process_label}<{node.pk}>: [{node.exit_status}] {times[node.process_label]:.0f} s')
    print('\n| facet | atoms | E_ads (eV) | minima (u, v) | minimum barrier (eV) | paths (shift: barrier eV) |')
    print('|---|---|---|---|---|---|')
    for tag, facet in spes['results']['facets'].items():
        barrier = diffusion['results']['facets'][tag]
        sites = '; '.join(f'({m["site"][0]:.2f}, {m["site"][1]:.2f}) +{m["relative"]:.3f}' for m in facet['minima'])
        paths = '; '.join(f'{p["shift"]}: {p["barrier"]:.4f}' for p in barrier['paths'])
        print(
            f'| ({facet["facet"]}) | {facet["natoms"]} | {facet["minimum_adsorption_energy"]:.4f} | {sites} | '
            f'{barrier["minimum_barrier"]:.4f} | {paths} |'
        )
    if 'bep' in diffusion:
        bep = diffusion['bep'].get_dict()
        for key in ('fit', 'fit_all'):
            fit = bep[key]
            print(f'BEP {key}: slope {fit["slope"]:.3f}, intercept {fit["intercept"]:.4f} eV, r^2 {fit["r2"]:.3f}')
        print('rates relative to (100) at 300 K: ' + ', '.join(f'{k}: {v:.3g}' for k, v in bep['rate_ratios'].items()))
    results = schwoebel['results'].get_dict()
    print(f'(100) step: E_T {results["terrace_barrier"]:.4f} eV')
    for mechanism in ('direct', 'exchange'):
        band = results[mechanism]
        print(f'  {mechanism}: E_ESB {band["barrier"]:.4f} eV, E_S {band["schwoebel_barrier"]:.4f} eV')
    plot_figure3(surface_kinetics_data(nodes), out / 'fig3.png')
    print(f'\nFig. 3: {out / "fig3.png"}; nodes: {" ".join(str(n.pk) for n in nodes)}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--run', action='store_true', help='run the three work chains and write Fig. 3')
    parser.add_argument('--convergence', action='store_true', help='E_ads of (100), (110), (111) against thickness')
    parser.add_argument('--protocol', default='demo')
    parser.add_argument('--potential', default='SNAP', help='SNAP or the pk of a PotentialData')
    parser.add_argument('--out', default='fig3', help='folder for fig3.png')
    args = parser.parse_args()
    from aiida import load_profile

    load_profile()
    if args.run:
        run(args)
    if args.convergence:
        convergence()


if __name__ == '__main__':
    main()
