"""Parser of ``RunnerCalculation``: turn ``results.json`` (and ``relaxed.extxyz``) into nodes."""

from __future__ import annotations

import io
import json

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from ..calculations.runner import frame_labels
from ..runner import files

#: Runner error reasons (``error.json``) to exit-code labels.
ERROR_EXIT_CODES = {
    'input': 'ERROR_INVALID_INPUT',
    'potential': 'ERROR_POTENTIAL_NOT_LOADED',
    'not_converged': 'ERROR_RELAXATION_NOT_CONVERGED',
    'task': 'ERROR_TASK_FAILED',
    'output': 'ERROR_WRITING_OUTPUT',
    'internal': 'ERROR_TASK_FAILED',
}


class RunnerParser(Parser):
    """Parse the output of ``limlip-runner``; all outputs are created only from a complete results file."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse the retrieved files."""
        retrieved = self.retrieved
        names = retrieved.base.repository.list_object_names()

        if files.ERROR_FILE in names:
            try:
                error = json.loads(retrieved.base.repository.get_object_content(files.ERROR_FILE))
            except ValueError:
                error = {'reason': 'task', 'message': 'unreadable error report'}
            label = ERROR_EXIT_CODES.get(error.get('reason'), 'ERROR_TASK_FAILED')
            message = error.get('message', '').strip().splitlines()
            self.logger.error(f'runner error ({error.get("reason")}): {error.get("message")}')
            return self.exit_codes[label].format(message=message[0] if message else 'no message')

        if files.RESULTS_FILE not in names:
            return self.exit_codes.ERROR_OUTPUT_MISSING

        try:
            results = json.loads(retrieved.base.repository.get_object_content(files.RESULTS_FILE))
            frames = results['frames']
        except (ValueError, KeyError) as exception:
            return self.exit_codes.ERROR_OUTPUT_CORRUPT.format(message=str(exception))

        if 'frames' in self.node.inputs:
            labels = frame_labels(self.node.inputs.frames.num_frames)
        else:
            labels = sorted(self.node.inputs.structures) if 'structures' in self.node.inputs else []
        if len(frames) != len(labels):
            return self.exit_codes.ERROR_OUTPUT_INCOMPLETE.format(got=len(frames), expected=len(labels))

        output_structures = {}
        if files.RELAXED_FILE in names:
            import ase.io

            content = retrieved.base.repository.get_object_content(files.RELAXED_FILE)
            relaxed = ase.io.read(io.StringIO(content), index=':', format='extxyz')
            if len(relaxed) != len(labels):
                return self.exit_codes.ERROR_OUTPUT_INCOMPLETE.format(got=len(relaxed), expected=len(labels))
            output_structures = {
                label: orm.StructureData(ase=atoms) for label, atoms in zip(labels, relaxed, strict=True)
            }

        arrays = self._build_arrays(results['task'], labels, frames)
        summary = {
            'task': results['task'],
            'units': results.get('units', {}),
            'wall_time': results.get('wall_time'),
            'frames': {
                label: {k: v for k, v in frame.items() if k != 'forces'}
                for label, frame in zip(labels, frames, strict=True)
            },
        }
        # Outputs are attached only after everything above succeeded: no half-written results.
        self.out('results', orm.Dict(summary))
        if arrays is not None:
            self.out('arrays', arrays)
        for label, structure in output_structures.items():
            self.out(f'structures.{label}', structure)
        return None

    @staticmethod
    def _build_arrays(task: str, labels: list[str], frames: list[dict]) -> orm.ArrayData | None:
        """Collect the numeric results into one ``ArrayData`` (units in its ``units`` attribute)."""
        arrays = orm.ArrayData()
        if task == 'eos':
            for key in ('volumes', 'energies', 'pressures'):
                values = [[np.nan if v is None else v for v in frame[key]] for frame in frames]
                arrays.set_array(key, np.array(values, dtype=float))
            arrays.base.attributes.set('units', {'volumes': 'Å^3', 'energies': 'eV', 'pressures': 'eV/Å^3'})
        else:
            arrays.set_array('energies', np.array([frame['energy'] for frame in frames], dtype=float))
            stresses = [frame.get('stress') or [np.nan] * 6 for frame in frames]
            arrays.set_array('stresses', np.array(stresses, dtype=float))
            for label, frame in zip(labels, frames, strict=True):
                arrays.set_array(f'forces_{label}', np.array(frame['forces'], dtype=float))
            arrays.base.attributes.set(
                'units',
                {'energies': 'eV', 'stresses': 'eV/Å^3 (Voigt, positive = tensile)', 'forces': 'eV/Å'},
            )
        arrays.base.attributes.set('labels', labels)
        return arrays
