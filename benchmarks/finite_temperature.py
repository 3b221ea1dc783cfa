"""Fig. 2 at the demo protocol for SNAP and MEAM, and the cost of the paper's finite-temperature protocol.

Two parts, each optional:

* ``--timing``: seconds per NPT step of the paper's 432-atom cell for SNAP, MEAM, DeePMD (LAMMPS) and NequIP (the
  runner's ASE MD), with OMP_NUM_THREADS threads (default 2: the machine's two cores), and the cost the paper
  protocol would have on such a core pair (heating at 0.01 K/step + 100,000 NPT steps per temperature; 5 strained
  cells x 1,000,000 NVT steps per temperature; 100-450 K every 50 K). DeePMD and NequIP are the tiny models of
  ``md_engines.py`` unless ``--deepmd``/``--nequip`` name trained ones: their cost per step grows with model size.
* ``--run``: ``ThermalExpansionWorkChain`` then ``FiniteTemperatureElasticWorkChain`` at ``--protocol`` (default
  ``demo``) for each of ``--potentials`` (default SNAP and MEAM), through the profile, one thread per job (they run
  side by side); prints a(T) and C_ij(T), and writes Fig. 2 and its CSV to ``--out``.

    python benchmarks/finite_temperature.py --timing --run [--protocol demo] [--out fig2]
"""

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))

#: The paper's protocol: temperatures (K), heating rate (K/step), NPT steps, strained cells and NVT steps per cell.
PAPER = {'temperatures': range(100, 451, 50), 'rate': 0.01, 'npt': 100_000, 'cells': 5, 'nvt': 1_000_000}


def npt_step_time(potential, engine_name: str, steps: int) -> float:
    """Return seconds per NPT step of 432 atoms at 300 K on one engine."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    from ase.build import bulk
    from md_engines import loop_time

    from aiida_limlip.engines import lammps
    from aiida_limlip.runner.tasks import get_task

    atoms = bulk('Li', 'bcc', a=3.49, cubic=True).repeat(6)
    parameters = get_task('md').validate(
        {'ensemble': 'npt', 'temperature': 300.0, 'steps': steps, 'thermo_interval': 10}
    )
    if engine_name == 'ase':
        from aiida_limlip.runner.base import TaskContext
        from aiida_limlip.runner.calculators import make_calculator_factory

        directory = Path(tempfile.mkdtemp())
        potential.write_files(directory)
        context = TaskContext(make_calculator_factory(potential.to_runner_spec(), directory))
        task = get_task('md')
        task.function([atoms], context, task.validate({**parameters, 'steps': 10}))  # load the model
        start = time.perf_counter()
        task.function([atoms], context, parameters)
        shutil.rmtree(directory, ignore_errors=True)
        return (time.perf_counter() - start) / steps
    directory = Path(tempfile.mkdtemp())
    potential.write_files(directory / 'potential')
    job = lammps.write_input(atoms, potential.to_runner_spec(), parameters)
    (directory / lammps.DATA_FILE).write_text(job.data)
    (directory / 'md.in').write_text(job.script)
    executable = str(Path(sys.executable).parent / 'lmp')
    process = subprocess.run([executable, '-in', 'md.in'], cwd=directory, capture_output=True, text=True, check=True)
    shutil.rmtree(directory, ignore_errors=True)
    return loop_time(process.stdout, steps) / steps


def paper_steps() -> tuple[int, int]:
    """Return the MD steps of the paper's protocol: (thermal expansion, elastic constants), all temperatures."""
    heating = sum(round((t - 1) / PAPER['rate']) for t in PAPER['temperatures'])
    count = len(PAPER['temperatures'])
    return heating + count * PAPER['npt'], count * PAPER['cells'] * PAPER['nvt']


def timing(args) -> None:
    from aiida import orm

    from aiida_limlip.data.potential import PotentialData, find_lammps_potentials_dir

    potentials = {
        'SNAP': (PotentialData.from_snap_zuo2020().get_or_store(), 'lammps'),
        'MEAM': (
            PotentialData.from_meam(find_lammps_potentials_dir() / 'library.meam', None, ['Li']).get_or_store(),
            'lammps',
        ),
    }
    if args.deepmd is None or args.nequip is None:
        from md_engines import tiny_models

        nequip, deepmd = tiny_models()
    potentials['DeePMD'] = (orm.load_node(args.deepmd) if args.deepmd else deepmd, 'lammps')
    potentials['NequIP'] = (orm.load_node(args.nequip) if args.nequip else nequip, 'ase')
    thermal_steps, elastic_steps = paper_steps()
    print(f'432 atoms, NPT at 300 K, {args.steps} steps, OMP_NUM_THREADS={os.environ["OMP_NUM_THREADS"]}')
    print(f'paper protocol: {thermal_steps:,} steps for a(T), {elastic_steps:,} for C_ij(T)\n')
    print('| potential | engine | s per step | ratio to SNAP | a(T), paper (h) | C_ij(T), paper (h) |')
    print('|---|---|---|---|---|---|')
    baseline = None
    for name, (potential, engine_name) in potentials.items():
        seconds = npt_step_time(potential, engine_name, args.steps)
        baseline = baseline or seconds
        print(
            f'| {name} | {engine_name} | {seconds:.4f} | {seconds / baseline:.2f} | '
            f'{seconds * thermal_steps / 3600:.0f} | {seconds * elastic_steps / 3600:.0f} |'
        )
    print()


def run(args) -> None:
    from aiida import engine, orm
    from ase.build import bulk

    from aiida_limlip.analysis.figure2 import plot_figure2, to_csv
    from aiida_limlip.data.potential import PotentialData, find_lammps_potentials_dir
    from aiida_limlip.query import finite_temperature_series
    from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain
    from aiida_limlip.workchains.properties.finite_temperature import (
        FiniteTemperatureElasticWorkChain,
        ThermalExpansionWorkChain,
    )

    codes = {'ase': 'limlip-runner@localhost', 'lammps': 'lmp@localhost'}
    makers = {
        'SNAP': lambda: PotentialData.from_snap_zuo2020(),
        'MEAM': lambda: PotentialData.from_meam(find_lammps_potentials_dir() / 'library.meam', None, ['Li']),
    }
    nodes = []
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.potentials.split(','):
        potential = makers[name]().get_or_store() if name in makers else orm.load_node(int(name))
        start = time.perf_counter()
        structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.45, cubic=True))
        eos = engine.run(EquationOfStateWorkChain.get_builder_from_protocol(codes['ase'], structure, potential))
        structure = eos['equilibrium_structure']
        builder = ThermalExpansionWorkChain.get_builder_from_protocol(codes, structure, potential, args.protocol)
        thermal, thermal_node = engine.run_get_node(builder)
        middle = time.perf_counter()
        lattice = thermal['lattice_constants']
        cubic = lattice.get_array('temperatures')[lattice.get_array('cubic')].tolist()
        elastic, elastic_node = None, None
        if cubic:
            builder = FiniteTemperatureElasticWorkChain.get_builder_from_protocol(
                codes, structure, potential, args.protocol, lattice_constants=lattice, temperatures=orm.List(cubic)
            )
            elastic, elastic_node = engine.run_get_node(builder)
        end = time.perf_counter()
        nodes += [node for node in (thermal_node, elastic_node) if node is not None]
        print(
            f'{name}: a0 (EOS) = {eos["lattice_constant"].value:.4f} Å; ThermalExpansionWorkChain<{thermal_node.pk}> '
            f'{middle - start:.0f} s, FiniteTemperatureElasticWorkChain<{getattr(elastic_node, "pk", None)}> '
            f'{end - middle:.0f} s'
        )
        results = thermal['results'].get_dict()
        for label in results['labels']:
            entry = results['by_temperature'][label]
            a = entry['lattice_constant']
            sides = ', '.join(f'{side["mean"]:.2f}' for side in entry['box'])
            print(
                f'  {label}: a = {a["mean"]:.4f} ± {a["std"]:.4f} Å (s.e. {a["sem"]:.1e}), box {sides} Å, cubic '
                f'{entry["cubic"]}, P = {entry["pressure"]["mean"]:+.3f} ± {entry["pressure"]["sem"]:.3f} GPa'
            )
        if results['fit']:
            fit = results['fit']
            print(
                f'  alpha = {fit["thermal_expansion_coefficient"] * 1e6:.1f} ± '
                f'{fit["thermal_expansion_coefficient_error"] * 1e6:.1f} 1e-6/K, a(0 K) extrapolated '
                f'{fit["extrapolated_lattice_constant"]:.4f} Å'
            )
        if elastic is None:
            print('  the box transformed at every temperature: no elastic constants')
            continue
        by_temperature = elastic['results']['by_temperature']
        for label in elastic['results']['labels']:
            entry = by_temperature[label]
            values = ', '.join(
                f'{key} = {entry[key]["value"]:.2f} ± {entry[key]["error"]:.2f}'
                for key in ('C11', 'C12', 'C44', 'shear_modulus_vrh', 'zener_anisotropy')
                if entry[key]['value'] is not None
            )
            print(f'  {label}: {values}')
    series = finite_temperature_series(nodes)
    (out / 'fig2.csv').write_text(to_csv(series))
    plot_figure2(series, out / 'fig2.png')
    print(f'\nFig. 2: {out / "fig2.png"}, data: {out / "fig2.csv"}; nodes: {" ".join(str(n.pk) for n in nodes)}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--timing', action='store_true', help='time an NPT step of 432 atoms per potential')
    parser.add_argument('--run', action='store_true', help='run both work chains and write Fig. 2')
    parser.add_argument('--steps', type=int, default=50, help='steps per timing')
    parser.add_argument('--deepmd', type=int, help='pk of a DeePMD PotentialData (default: train a tiny one)')
    parser.add_argument('--nequip', type=int, help='pk of a NequIP PotentialData (default: train a tiny one)')
    parser.add_argument('--protocol', default='demo')
    parser.add_argument('--potentials', default='SNAP,MEAM', help='SNAP, MEAM or PotentialData pks, comma-separated')
    parser.add_argument('--out', default='fig2', help='folder for fig2.png and fig2.csv')
    args = parser.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', '2')
    from aiida import load_profile

    load_profile()
    if args.timing:
        timing(args)
    if args.run:
        # The runs are concurrent local jobs: one thread each, or threads spin against each other on 2 cores.
        os.environ['OMP_NUM_THREADS'] = '1'
        run(args)
    if not (args.timing or args.run):
        parser.error('give --timing, --run or both')


if __name__ == '__main__':
    main()
