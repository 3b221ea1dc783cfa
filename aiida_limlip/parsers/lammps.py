"""Parser of ``LammpsCalculation``: LAMMPS's records into the same nodes as the runner's ``md`` task."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser
from ase.calculators.singlepoint import SinglePointCalculator

from ..calculations.common import velocities_node
from ..engines import lammps
from ..runner.md import max_temperature, thermo_averages
from ..runner.tasks import UNITS, get_task
from ..utils import finite_or_none
from .common import deviation_node, frame_set, md_status_exit_code, thermo_node, trajectory_node


def lammps_errors(stdout: str) -> list[str]:
    """Return the ``ERROR`` lines LAMMPS printed."""
    return [line.strip() for line in stdout.splitlines() if line.lstrip().startswith('ERROR')]


class LammpsParser(Parser):
    """Parse an MD run of LAMMPS; every output is made from complete files before any is attached."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse the retrieved files."""
        repository = self.retrieved.base.repository
        names = repository.list_object_names()
        if lammps.STDOUT_FILE not in names:
            return self.exit_codes.ERROR_OUTPUT_MISSING
        stdout = repository.get_object_content(lammps.STDOUT_FILE)
        errors = lammps_errors(stdout)
        halted = any('Fix halt' in line for line in errors)
        if any('Lost atoms' in line for line in errors):
            return self.exit_codes.ERROR_LOST_ATOMS.format(message=next(e for e in errors if 'Lost atoms' in e))
        if errors and not halted:
            return self.exit_codes.ERROR_TASK_FAILED.format(message=errors[0])
        if lammps.THERMO_FILE not in names:
            return self.exit_codes.ERROR_OUTPUT_MISSING

        (label,) = self.node.inputs.structures
        structure = self.node.inputs.structures[label].get_ase()
        parameters = get_task('md').validate(
            self.node.inputs.parameters.get_dict() if 'parameters' in self.node.inputs else {}
        )
        species = list(self.node.inputs.potential.species)
        _, rotation = lammps.lammps_frame(structure.cell)
        try:
            thermo = lammps.read_thermo(
                repository.get_object_content(lammps.THERMO_FILE), rotation, parameters['timestep']
            )
            samples = self._frames(lammps.DUMP_FILE, lammps.SAMPLES_FILE, names, species, rotation, thermo)
            finals = self._frames(lammps.FINAL_DUMP_FILE, lammps.FINAL_FILE, names, species, rotation, thermo)
        except (ValueError, KeyError, IndexError) as exception:
            return self.exit_codes.ERROR_OUTPUT_CORRUPT.format(message=f'{type(exception).__name__}: {exception}')
        if not len(thermo['step']):
            return self.exit_codes.ERROR_OUTPUT_CORRUPT.format(message='the thermo file holds no record')
        values = np.concatenate([thermo['potential_energy'], thermo['temperature']])
        if not np.all(np.isfinite(values)):
            return self.exit_codes.ERROR_NON_FINITE.format(
                message='NaN or infinite energy or temperature in the thermo record'
            )

        ramp, total = parameters['ramp_steps'], parameters['ramp_steps'] + parameters['steps']
        done = int(thermo['step'][-1])
        status = 'temperature' if halted else ('completed' if done >= total else 'walltime')
        final = finals[-1] if finals else (samples[-1] if samples else None)
        summary = {
            'natoms': len(structure),
            'status': status,
            'steps_completed': done,
            'production_steps': max(0, done - ramp),
            'max_temperature': max_temperature(parameters),
            'averages': thermo_averages(thermo, ramp + parameters['equilibration_steps']),
        }
        if final is not None:
            summary.update(
                energy=float(final.get_potential_energy()),
                volume=float(final.get_volume()),
                stress=final.get_stress(voigt=True).tolist(),
            )
        results = {
            'task': 'md',
            'output': 'trajectory',
            'units': UNITS,
            'labels': [label],
            'items': {label: summary},
            'engine': 'lammps',
        }
        outputs = {'results': orm.Dict(finite_or_none(results)), f'thermo.{label}': thermo_node(thermo)}
        if final is not None:
            outputs['frames'] = frame_set([final], [label], self.node.uuid)
            outputs[f'structures.{label}'] = orm.StructureData(ase=final)
        if lammps.FINAL_VELOCITIES_FILE in names:
            try:
                velocities = lammps.read_velocities(
                    repository.get_object_content(lammps.FINAL_VELOCITIES_FILE), rotation
                )
            except (ValueError, IndexError, StopIteration) as exception:
                return self.exit_codes.ERROR_OUTPUT_CORRUPT.format(message=f'{type(exception).__name__}: {exception}')
            outputs[f'velocities.{label}'] = velocities_node(velocities)
        if samples:
            outputs[f'trajectory.{label}'] = trajectory_node(samples, parameters['timestep'])
        if 'ensemble' in self.node.inputs and lammps.DEVIATION_FILE in names:
            deviation = lammps.read_deviation(repository.get_object_content(lammps.DEVIATION_FILE))
            outputs[f'model_deviation.{label}'] = deviation_node(deviation)
        for key, node in outputs.items():
            self.out(key, node)
        return md_status_exit_code(self, summary, total)

    def _frames(self, dump: str, energies: str, names, species, rotation, thermo) -> list:
        """Return the frames of a dump with their energy, forces and static stress; info: step, time, temperature."""
        if dump not in names or energies not in names:
            return []
        repository = self.retrieved.base.repository
        snapshots = lammps.read_dump(repository.get_object_content(dump), species, rotation)
        scalars = lammps.read_energies_and_virials(repository.get_object_content(energies), rotation)
        temperatures = dict(zip(thermo['step'].tolist(), thermo['temperature'].tolist(), strict=True))
        frames = []
        for step, atoms in snapshots:
            if step not in scalars:
                continue
            energy, stress = scalars[step]
            forces = atoms.arrays.pop('forces')
            atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=stress)
            atoms.info = {'step': step, 'temperature': temperatures.get(step, float('nan'))}
            frames.append(atoms)
        return frames
