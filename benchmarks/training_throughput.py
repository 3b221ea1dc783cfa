"""Training throughput (frames/s) of each architecture through AiiDA versus running the same tool directly.

For each architecture, the same data set and the same training settings (the ``fast`` protocol, with more epochs or
steps so the run is not all start-up) are trained twice: once as the CalcJob submitted to the daemon of the
current profile (wall time from submission to the parsed potential), once by calling ``nequip-train`` or
``dp --pt train && dp --pt freeze`` in a temporary folder with the files the CalcJob writes. Throughput is the
number of frames seen (frames x epochs, or batch size x steps) over the wall time; the ratio AiiDA / direct is
measured in the same run, so the machine's speed cancels out.

    python benchmarks/training_throughput.py --frames 40 --epochs 6 --steps 300
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np
from aiida import load_profile, orm
from aiida.engine import submit
from ase.build import bulk


def labelled_frames(count: int):
    """Rattled 16-atom bcc Li cells labelled by SNAP."""
    from aiida_limlip.data.frame_set import FrameSetData
    from aiida_limlip.data.potential import PotentialData

    calculator = PotentialData.from_snap_zuo2020().get_ase_calculator()
    rng = np.random.default_rng(0)
    frames = []
    for index in range(count):
        atoms = bulk('Li', 'bcc', a=3.45 + rng.uniform(-0.05, 0.05), cubic=True).repeat(2)
        atoms.rattle(0.05, seed=index)
        atoms.calc = calculator
        energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        frames.append(FrameSetData.make_frame(atoms, energy, forces, stress, config_class='rattled'))
    return FrameSetData(frames).store()


def wait(node, timeout=3600):
    start = time.monotonic()
    while not node.is_terminated:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f'{node.pk} did not finish')
        time.sleep(0.2)
    assert node.is_finished_ok, (node.exit_status, node.exit_message)


def run_direct(process, inputs, commands) -> float:
    """Write the CalcJob's input files with its own prepare_for_submission, then run ``commands`` there."""
    from aiida.common.folders import Folder
    from aiida.engine.utils import instantiate_process
    from aiida.manage import get_manager

    runner = get_manager().get_runner()
    calc = instantiate_process(runner, process, **inputs)
    with tempfile.TemporaryDirectory() as directory:
        calc.prepare_for_submission(Folder(directory))
        env = {**os.environ, 'OMP_NUM_THREADS': '2'}
        start = time.monotonic()
        for command in commands:
            subprocess.run(command, cwd=directory, env=env, check=True, capture_output=True)
        return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=40)
    parser.add_argument('--epochs', type=int, default=6, help='NequIP epochs')
    parser.add_argument('--steps', type=int, default=300, help='DeePMD steps (batch size 1)')
    parser.add_argument('--architectures', nargs='+', default=['nequip32', 'nequip64', 'deepmd'])
    args = parser.parse_args()
    load_profile()
    from aiida.engine.daemon.client import get_daemon_client

    from aiida_limlip.calculations.deepmd import DeepmdTrainingCalculation
    from aiida_limlip.calculations.nequip import NequipTrainingCalculation
    from aiida_limlip.workchains.training import TrainingWorkChain

    if not get_daemon_client().is_daemon_running:
        get_daemon_client().start_daemon()
    data = labelled_frames(args.frames)
    protocol = TrainingWorkChain.get_protocol_inputs('fast')
    options = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}, 'max_wallclock_seconds': 3600}
    print(f'{args.frames} frames of 16 atoms; OMP_NUM_THREADS=2 in both variants')
    for architecture in args.architectures:
        if architecture.startswith('nequip'):
            code = orm.load_code('nequip-train@localhost')
            dtype = 'float64' if architecture == 'nequip64' else 'float32'
            settings = {**protocol['nequip'], 'model_dtype': dtype, 'max_epochs': args.epochs}
            process, inputs = NequipTrainingCalculation, {'parameters': orm.Dict(settings)}
            seen = args.frames * args.epochs
            executable = shutil.which('nequip-train')
            commands = [[executable, '--config-dir', '.', '--config-name', 'config.yaml']]
        else:
            code = orm.load_code('dp@localhost')
            deepmd = protocol['deepmd']['parameters']
            deepmd['model']['type_map'] = ['Li']
            deepmd['training'].update(numb_steps=args.steps, disp_freq=50, save_freq=args.steps)
            process, inputs = DeepmdTrainingCalculation, {'parameters': orm.Dict(deepmd), 'batch_size': orm.Int(1)}
            seen = args.steps
            executable = shutil.which('dp')
            commands = [[executable, '--pt', 'train', 'input.json'], [executable, '--pt', 'freeze', '-o', 'graph.pth']]
        inputs.update(code=code, training_set=data, metadata={'options': options})

        start = time.monotonic()
        wait(submit(process, **inputs))
        through_aiida = time.monotonic() - start
        direct = run_direct(process, inputs, commands)
        print(
            f'{architecture:9s}: AiiDA {through_aiida:6.1f} s ({seen / through_aiida:6.1f} frames/s), '
            f'direct {direct:6.1f} s ({seen / direct:6.1f} frames/s), ratio AiiDA/direct throughput '
            f'{direct / through_aiida:.2f}'
        )


if __name__ == '__main__':
    main()
