"""The cost of an MD step against one evaluation of the same cell, per potential and engine, and LAMMPS against ASE.

For each potential (SNAP; DeePMD and NequIP from the profile, or tiny ones trained here on SNAP-labelled frames),
on a 6x6x6 conventional bcc cell (432 atoms), in one run:

* the ASE engine (the runner's ``md`` task, NVE, thermo every 10 steps): seconds per MD step against seconds per
  energy + forces + stress evaluation of displaced copies of the cell in the same process;
* the LAMMPS engine (``lmp`` with the script of ``aiida_limlip.engines.lammps``, NVE): seconds per MD step against a
  run of the same length without an integrator (forces, energy and virial every step), from LAMMPS's loop times.

Prints every figure, the MD/evaluation ratios (goal: at most 1.15) and the LAMMPS/ASE speed ratio of each
potential that both engines run (issue 11 expects about 2x for DeePMD). Threads: OMP_NUM_THREADS (default 1).

    python benchmarks/md_engines.py --steps 100 [--deepmd PK] [--nequip PK]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.build import bulk


def ase_costs(potential, atoms, steps: int) -> tuple[float, float]:
    """Return (s per MD step, s per evaluation) with the runner's ASE engine."""
    from aiida_limlip.runner.base import TaskContext
    from aiida_limlip.runner.calculators import make_calculator_factory
    from aiida_limlip.runner.tasks import get_task

    directory = Path(tempfile.mkdtemp())
    potential.write_files(directory)
    factory = make_calculator_factory(potential.to_runner_spec(), directory)
    task = get_task('md')
    parameters = task.validate({'ensemble': 'nve', 'temperature': 300.0, 'steps': steps, 'thermo_interval': 10})
    context = TaskContext(factory)
    task.function([atoms], context, task.validate({**parameters, 'steps': 10}))  # load the model, warm up
    start = time.perf_counter()
    task.function([atoms], context, parameters)
    md = (time.perf_counter() - start) / steps
    calculator = factory()
    rng = np.random.default_rng(0)
    probe = atoms.copy()
    probe.calc = calculator
    probe.get_potential_energy()
    start = time.perf_counter()
    for _ in range(steps):
        probe.positions = atoms.positions + rng.normal(0, 0.01, atoms.positions.shape)
        probe.get_potential_energy(), probe.get_forces(), probe.get_stress()
    evaluation = (time.perf_counter() - start) / steps
    shutil.rmtree(directory, ignore_errors=True)
    return md, evaluation


def loop_time(stdout: str, steps: int) -> float:
    """Return the loop time (s) of the LAMMPS `run` of ``steps`` steps (the script's `run 0` calls are set-up)."""
    times = re.findall(r'Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps', stdout)
    return float(next(time for time, n in times if int(n) == steps))


def lammps_costs(potential, atoms, steps: int) -> tuple[float, float]:
    """Return (s per MD step, s per static step) with the LAMMPS engine."""
    from aiida_limlip.engines import lammps
    from aiida_limlip.runner.tasks import get_task

    directory = Path(tempfile.mkdtemp())
    potential.write_files(directory / 'potential')
    parameters = get_task('md').validate(
        {'ensemble': 'nve', 'temperature': 300.0, 'steps': steps, 'thermo_interval': 10}
    )
    job = lammps.write_input(atoms, potential.to_runner_spec(), parameters)
    (directory / lammps.DATA_FILE).write_text(job.data)
    # Static: the same set-up, then a run without an integrator (LAMMPS still computes forces, energy and virial).
    static = job.script.split('fix limlip_integrate')[0] + f'run {steps}\n'
    results = []
    for name, script in (('md.in', job.script), ('static.in', static)):
        (directory / name).write_text(script)
        executable = str(Path(sys.executable).parent / 'lmp')
        process = subprocess.run([executable, '-in', name], cwd=directory, capture_output=True, text=True, check=True)
        results.append(loop_time(process.stdout, steps) / steps)
    shutil.rmtree(directory, ignore_errors=True)
    return results[0], results[1]


def tiny_models():
    """Train a tiny NequIP (float64) and DeePMD on 24 SNAP-labelled frames through the profile's codes."""
    from aiida import engine, orm

    from aiida_limlip.calculations.deepmd import DeepmdTrainingCalculation
    from aiida_limlip.calculations.nequip import NequipTrainingCalculation
    from aiida_limlip.data.frame_set import FrameSetData
    from aiida_limlip.data.potential import PotentialData

    snap = PotentialData.from_snap_zuo2020().get_ase_calculator()
    rng = np.random.default_rng(1)
    frames = []
    for a in np.linspace(3.40, 3.60, 24):
        atoms = bulk('Li', 'bcc', a=a, cubic=True).repeat(2)
        atoms.rattle(0.05, seed=int(rng.integers(1000)))
        atoms.calc = snap
        frames.append(
            FrameSetData.make_frame(atoms, atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress())
        )
    data = FrameSetData(frames).store()
    nequip = {
        'num_layers': 2,
        'l_max': 1,
        'num_features': 16,
        'radial_mlp_width': 16,
        'max_epochs': 2,
        'model_dtype': 'float64',
    }
    outputs = engine.run(
        NequipTrainingCalculation,
        code=orm.load_code('nequip-train@localhost'),
        training_set=data,
        parameters=orm.Dict(nequip),
    )
    deepmd = {
        'model': {
            'type_map': ['Li'],
            'descriptor': {'type': 'se_e3', 'sel': [90], 'rcut_smth': 0.5, 'rcut': 6.0, 'neuron': [4, 8, 16]},
            'fitting_net': {'neuron': [32, 32], 'resnet_dt': True},
        },
        'learning_rate': {'type': 'exp', 'decay_steps': 20, 'start_lr': 1e-3, 'stop_lr': 1e-4},
        'loss': {'type': 'ener', 'start_pref_e': 0.02, 'limit_pref_e': 1, 'start_pref_f': 1000, 'limit_pref_f': 1},
        'training': {'numb_steps': 40, 'disp_freq': 10, 'save_freq': 40},
    }
    dp = engine.run(
        DeepmdTrainingCalculation, code=orm.load_code('dp@localhost'), training_set=data, parameters=orm.Dict(deepmd)
    )
    return outputs['potential'], dp['potential']


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=100)
    parser.add_argument('--repeat', type=int, default=6, help='conventional cells per side (6: 432 atoms)')
    parser.add_argument('--deepmd', type=int, help='pk of a DeePMD PotentialData (default: train a tiny one)')
    parser.add_argument('--nequip', type=int, help='pk of a NequIP PotentialData (default: train a tiny one)')
    args = parser.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    from aiida import load_profile, orm

    load_profile()
    from aiida_limlip.data.potential import PotentialData

    snap = PotentialData.from_snap_zuo2020().get_or_store()
    if args.deepmd is None or args.nequip is None:
        nequip, deepmd = tiny_models()
    nequip = orm.load_node(args.nequip) if args.nequip else nequip
    deepmd = orm.load_node(args.deepmd) if args.deepmd else deepmd
    atoms = bulk('Li', 'bcc', a=3.45, cubic=True).repeat(args.repeat)
    print(f'{len(atoms)} atoms, {args.steps} steps, OMP_NUM_THREADS={os.environ["OMP_NUM_THREADS"]}\n')
    print('| potential | engine | s per MD step | s per evaluation | MD / evaluation |')
    print('|---|---|---|---|---|')
    speeds = {}
    for name, potential, engines in (
        ('SNAP', snap, ('lammps', 'ase')),
        ('DeePMD', deepmd, ('lammps', 'ase')),
        ('NequIP', nequip, ('ase',)),
    ):
        for engine_name in engines:
            costs = lammps_costs if engine_name == 'lammps' else ase_costs
            md, evaluation = costs(potential, atoms, args.steps)
            speeds[(name, engine_name)] = md
            print(f'| {name} | {engine_name} | {md:.4f} | {evaluation:.4f} | {md / evaluation:.3f} |')
    print()
    for name in ('SNAP', 'DeePMD'):
        ratio = speeds[(name, 'ase')] / speeds[(name, 'lammps')]
        print(f'{name}: LAMMPS is {ratio:.2f}x as fast as ASE per MD step')


if __name__ == '__main__':
    main()
