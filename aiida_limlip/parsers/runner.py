"""Parser of ``RunnerCalculation``: the runner's files into nodes, the same for every task of a kind."""

from __future__ import annotations

import io
import json

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser
from ase import units

from ..calculations.common import velocities_node
from ..calculations.runner import input_labels
from ..runner import files
from ..runner.tasks import get_task
from ..utils import finite_or_none
from .common import deviation_node, frame_set, md_status_exit_code, thermo_node, trajectory_node

#: Runner error reasons (``error.json``) to exit-code labels.
ERROR_EXIT_CODES = {
    'input': 'ERROR_INVALID_INPUT',
    'potential': 'ERROR_POTENTIAL_NOT_LOADED',
    'not_converged': 'ERROR_NOT_CONVERGED',
    'nan': 'ERROR_NON_FINITE',
    'task': 'ERROR_TASK_FAILED',
    'output': 'ERROR_WRITING_OUTPUT',
    'internal': 'ERROR_TASK_FAILED',
}


#: What the ``results`` output keeps of ``results.json`` (times in s; ``started``/``finished`` are Unix times).
RESULT_KEYS = ('task', 'output', 'units', 'labels', 'items', 'wall_time', 'started', 'finished')


class RunnerParser(Parser):
    """Parse the output of ``limlip-runner``; every output is made from complete files before any is attached."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse the retrieved files."""
        import ase.io

        retrieved = self.retrieved
        names = retrieved.base.repository.list_object_names()
        if files.ERROR_FILE in names:
            return self._runner_error(retrieved.base.repository.get_object_content(files.ERROR_FILE))
        if files.RESULTS_FILE not in names:
            return self.exit_codes.ERROR_OUTPUT_MISSING
        try:
            results = json.loads(retrieved.base.repository.get_object_content(files.RESULTS_FILE))
            items, frame_labels = results['items'], results['labels']
            task = get_task(results['task'])
            frames = ase.io.read(
                io.StringIO(retrieved.base.repository.get_object_content(files.FRAMES_FILE)), index=':', format='extxyz'
            )
        except (OSError, ValueError, KeyError) as exception:
            return self.exit_codes.ERROR_OUTPUT_CORRUPT.format(message=f'{type(exception).__name__}: {exception}')

        labels = input_labels(self.node.inputs)
        expected = 1 if task.output == 'path' else len(labels)
        if (
            len(items) != expected
            or len(frames) != len(frame_labels)
            or (task.output != 'path' and len(frames) != expected)
        ):
            return self.exit_codes.ERROR_OUTPUT_INCOMPLETE.format(got=len(frames), expected=expected)

        outputs = {
            'results': orm.Dict(finite_or_none({key: results.get(key) for key in RESULT_KEYS})),
            'frames': frame_set(frames, frame_labels, self.node.uuid),
        }
        if task.moves_atoms:
            for label, atoms in zip(frame_labels, frames, strict=True):
                outputs[f'structures.{label}'] = orm.StructureData(ase=atoms)
        if task.output == 'trajectory':
            for label, atoms in zip(frame_labels, frames, strict=True):
                outputs[f'velocities.{label}'] = velocities_node(atoms.get_velocities() * units.fs)  # Å/fs
            timestep = results['parameters']['timestep']
            try:
                for label in labels:
                    outputs.update(self._trajectory_outputs(label, names, timestep))
            except (OSError, ValueError, KeyError) as exception:
                return self.exit_codes.ERROR_OUTPUT_CORRUPT.format(message=f'{type(exception).__name__}: {exception}')

        # Outputs are attached only after every file was read: no half-written results.
        for key, node in outputs.items():
            self.out(key, node)
        if task.output == 'trajectory':
            total = results['parameters']['ramp_steps'] + results['parameters']['steps']
            for label in labels:
                exit_code = md_status_exit_code(self, items[label], total)
                if exit_code:
                    return exit_code
        unfinished = [label for label, item in items.items() if item.get('status') == 'walltime']
        if task.name == 'relax' and unfinished:
            done = len(items) - len(unfinished)
            return self.exit_codes.ERROR_OUT_OF_WALLTIME.format(step=f'{done} (structures relaxed)', total=len(items))
        return None

    def _runner_error(self, content: str) -> ExitCode:
        try:
            error = json.loads(content)
        except ValueError:
            error = {'reason': 'task', 'message': 'unreadable error report'}
        label = ERROR_EXIT_CODES.get(error.get('reason'), 'ERROR_TASK_FAILED')
        lines = error.get('message', '').strip().splitlines()
        self.logger.error(f'runner error ({error.get("reason")}): {error.get("message")}')
        return self.exit_codes[label].format(message=lines[0] if lines else 'no message')

    def _trajectory_outputs(self, label: str, names: list[str], timestep: float) -> dict:
        """Return the thermo record, sampled frames and model deviation of the MD run of ``label``."""
        import ase.io

        repository = self.retrieved.base.repository
        outputs = {}
        with repository.open(files.thermo_file(label), mode='rb') as handle:
            outputs[f'thermo.{label}'] = thermo_node(dict(np.load(io.BytesIO(handle.read()))))
        if files.samples_file(label) in names:
            samples = ase.io.read(
                io.StringIO(repository.get_object_content(files.samples_file(label))), index=':', format='extxyz'
            )
            outputs[f'trajectory.{label}'] = trajectory_node(samples, timestep)
        if files.deviation_file(label) in names:
            with repository.open(files.deviation_file(label), mode='rb') as handle:
                outputs[f'model_deviation.{label}'] = deviation_node(dict(np.load(io.BytesIO(handle.read()))))
        return outputs
