"""``RunnerCalculation``: one task of ``limlip-runner`` (ASE) with one potential over a batch of structures."""

from __future__ import annotations

import io
import json

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData
from ..runner import files
from ..runner.tasks import TASKS
from .common import (
    define_evaluation_exit_codes,
    define_evaluation_outputs,
    define_velocities_input,
    ensemble_error,
    frame_labels,
    species_error,
    structure_error,
    validate_task_inputs,
    velocities_error,
)


def validate_inputs(inputs: dict, ctx) -> str | None:
    """Check the code, the task and its parameters, the structures against them, and the species."""
    # Exposed in a work chain without these ports, the work chain checks them itself.
    if any(key not in ctx for key in ('task', 'structures', 'frames', 'potential')):
        return None
    code = inputs.get('code')
    if code is not None and code.default_calc_job_plugin not in (None, 'limlip.run'):
        return f'code `{code.full_label}` is set up for `{code.default_calc_job_plugin}`, not for `limlip.run`'
    structures = inputs.get('structures') or {}
    if 'frames' in inputs:
        if structures:
            return 'give either `structures` or `frames`, not both'
        message = species_error(inputs['frames'].base.attributes.get('species'), inputs['potential'], 'the frames')
        return message or validate_task_inputs(inputs, None)
    if not structures:
        return 'at least one structure is required in the `structures` namespace'
    for label, structure in structures.items():
        message = species_error(structure.get_symbols_set(), inputs['potential'], f'structure `{label}`')
        message = message or structure_error(structure, f'structure `{label}`')
        if message:
            return message
    return (
        ensemble_error(inputs['potential'], inputs.get('ensemble') or {})
        or velocities_error(structures, inputs.get('velocities') or {})
        or validate_task_inputs(inputs, structures)
    )


def input_labels(inputs) -> list[str]:
    """Return the labels of the input structures (or frames) of a job, in the order the runner evaluates them."""
    if 'frames' in inputs:
        return frame_labels(inputs['frames'].num_frames)
    return sorted(inputs['structures'])


class RunnerCalculation(CalcJob):
    """Run a task of ``aiida_limlip.runner`` (single point, relaxation, MD, NEB) with one potential.

    One job evaluates every structure of ``structures`` (or every frame of ``frames``), so that starting Python and
    loading the model is paid once per batch. MD runs the structures one after the other; a band (``neb``) runs
    through them in the order of their labels.
    """

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('potential', valid_type=PotentialData, help='The interatomic potential.')
        spec.input_namespace(
            'ensemble',
            valid_type=PotentialData,
            dynamic=True,
            required=False,
            help='Further models (same species) for the model deviation of MD frames: the spread of the forces of '
            '`potential` and these.',
        )
        spec.input_namespace(
            'structures',
            valid_type=orm.StructureData,
            dynamic=True,
            help='The batch of structures (Å); evaluated in the alphabetical order of their labels.',
        )
        spec.input(
            'frames',
            valid_type=FrameSetData,
            required=False,
            help='Instead of `structures`: every frame of this set (its labels are ignored); output labels '
            'frame_000000, frame_000001, ... in frame order.',
        )
        spec.input('task', valid_type=orm.Str, help=f'The runner task: {", ".join(sorted(TASKS))}.')
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            required=False,
            help='Parameters of the task, in its units (forces eV/Å, pressures GPa, temperatures K, times fs); see '
            '`aiida_limlip.runner.tasks.TASKS[task].parameters`. Defaults of the task otherwise.',
        )
        define_velocities_input(spec)
        spec.inputs.validator = validate_inputs
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['parser_name'].default = 'limlip.run'
        spec.inputs['metadata']['options']['input_filename'].default = files.INPUT_FILE
        spec.inputs['metadata']['options']['output_filename'].default = files.STDOUT_FILE
        spec.inputs['metadata']['options']['withmpi'].default = False
        define_evaluation_outputs(spec)
        define_evaluation_exit_codes(spec)

    def prepare_for_submission(self, folder):
        """Write the request, the structures and the files of the potential and the ensemble."""
        import ase.io
        from ase import units

        labels = input_labels(self.inputs)
        if 'frames' in self.inputs:
            atoms = self.inputs.frames.get_frames()
            for item in atoms:
                item.calc = None
        else:
            atoms = [self.inputs.structures[label].get_ase() for label in labels]
        velocities = self.inputs.get('velocities', {})
        for item, label in zip(atoms, labels, strict=True):
            item.info = {'label': label}
            if label in velocities:
                # Å/fs to ASE's velocity unit; the flag tells the runner's MD to keep them (a continued run).
                item.set_velocities(velocities[label].get_array('velocities') / units.fs)
                item.info['given_velocities'] = True
        buffer = io.StringIO()
        ase.io.write(buffer, atoms, format='extxyz')
        with folder.open(files.STRUCTURES_FILE, 'w') as handle:
            handle.write(buffer.getvalue())

        ensemble = [self.inputs.ensemble[key] for key in sorted(self.inputs.get('ensemble', {}))]
        request = {
            'task': self.inputs.task.value,
            'parameters': self.inputs.parameters.get_dict() if 'parameters' in self.inputs else {},
            'labels': labels,
            'potential': self.inputs.potential.to_runner_spec(),
            'ensemble': [model.to_runner_spec() for model in ensemble],
            'max_seconds': self.inputs.metadata.options.get('max_wallclock_seconds'),
        }
        with folder.open(files.INPUT_FILE, 'w') as handle:
            json.dump(request, handle, indent=1)

        local_copy_list = self.inputs.potential.local_copy_list(files.POTENTIAL_DIR)
        folder.get_subfolder(files.POTENTIAL_DIR, create=True)
        for index, model in enumerate(ensemble):
            local_copy_list += model.local_copy_list(files.ensemble_dir(index))
            folder.get_subfolder(files.ensemble_dir(index), create=True)

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['.']
        codeinfo.stdout_name = files.STDOUT_FILE

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = local_copy_list
        calcinfo.retrieve_list = [
            files.RESULTS_FILE,
            files.FRAMES_FILE,
            files.ERROR_FILE,
            files.STDOUT_FILE,
            'thermo.*.npz',
            'samples.*.extxyz',
            'deviation.*.npz',
        ]
        return calcinfo
