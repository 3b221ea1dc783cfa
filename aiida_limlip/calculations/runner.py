"""``RunnerCalculation``: evaluate one potential over a batch of structures with ``limlip-runner``."""

from __future__ import annotations

import io
import json

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData
from ..runner import files
from ..runner.tasks import TASKS, TaskInputError, validate_task_parameters


def validate_inputs(inputs: dict, ctx) -> str | None:
    """Check the task, its parameters, and that every structure's species is covered by the potential."""
    # When exposed in a work chain without these ports, the work chain checks them itself.
    if any(key not in ctx for key in ('task', 'structures', 'frames', 'potential')):
        return None
    code = inputs.get('code')
    if code is not None and code.default_calc_job_plugin not in (None, 'limlip.run'):
        return f'code `{code.full_label}` is set up for `{code.default_calc_job_plugin}`, not for `limlip.run`'
    task = inputs['task'].value
    try:
        validate_task_parameters(task, inputs['parameters'].get_dict() if 'parameters' in inputs else None)
    except TaskInputError as exception:
        return str(exception)
    if 'frames' in inputs:
        if inputs.get('structures'):
            return 'give either `structures` or `frames`, not both'
        missing = set(inputs['frames'].base.attributes.get('species')) - set(inputs['potential'].species)
        if missing:
            return f'the frames contain {sorted(missing)}, which the potential does not cover'
        return None
    return validate_species(inputs.get('structures', {}), inputs['potential'])


def frame_labels(count: int) -> list[str]:
    """Return the labels of ``count`` frames of a ``FrameSetData``, sorting in frame order."""
    return [f'frame_{index:06d}' for index in range(count)]


def validate_species(structures: dict, potential: PotentialData) -> str | None:
    """Return an error message if a structure contains an element the potential does not cover."""
    if not structures:
        return 'at least one structure is required in the `structures` namespace'
    covered = set(potential.species)
    for label, structure in structures.items():
        missing = set(structure.get_symbols_set()) - covered
        if missing:
            return (
                f'structure `{label}` contains {sorted(missing)}, which the potential '
                f'(kind {potential.kind}, species {potential.species}) does not cover'
            )
    return None


class RunnerCalculation(CalcJob):
    """Run a task of ``aiida_limlip.runner`` (single point, relaxation, E-V grid, ...) on a batch of structures.

    One job evaluates every structure of the ``structures`` namespace with the same potential, so that the cost of
    starting Python and loading the model is paid once per batch.
    """

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('potential', valid_type=PotentialData, help='The interatomic potential to evaluate.')
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
            help='Alternative to `structures`: evaluate every frame of this data set (its labels are ignored); '
            'results are labelled frame_000000, frame_000001, ... in frame order.',
        )
        spec.input(
            'task',
            valid_type=orm.Str,
            help=f'The runner task: one of {", ".join(sorted(TASKS))}.',
        )
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            required=False,
            help='Parameters of the task (forces in eV/Å, pressures in eV/Å^3); defaults of the task otherwise.',
        )
        spec.inputs.validator = validate_inputs
        spec.inputs['metadata']['options']['resources'].default = {
            'num_machines': 1,
            'num_mpiprocs_per_machine': 1,
        }
        spec.inputs['metadata']['options']['parser_name'].default = 'limlip.run'
        spec.inputs['metadata']['options']['input_filename'].default = files.INPUT_FILE
        spec.inputs['metadata']['options']['output_filename'].default = files.STDOUT_FILE
        spec.inputs['metadata']['options']['withmpi'].default = False

        spec.output(
            'results',
            valid_type=orm.Dict,
            help='Per-structure results: energy (eV), volume (Å^3), stress (eV/Å^3), convergence; units listed.',
        )
        spec.output(
            'arrays',
            valid_type=orm.ArrayData,
            required=False,
            help='Arrays: `energies` (eV), `stresses` (eV/Å^3, Voigt), `forces_<label>` (eV/Å) per structure; '
            'for the eos task `volumes` (Å^3), `energies` (eV) and `pressures` (eV/Å^3), one row per structure.',
        )
        spec.output_namespace(
            'structures',
            valid_type=orm.StructureData,
            dynamic=True,
            required=False,
            help='Output structures (Å), e.g. relaxed ones, under the labels of the inputs.',
        )
        spec.default_output_node = 'results'

        spec.exit_code(
            300,
            'ERROR_NO_RETRIEVED_FOLDER',
            invalidates_cache=True,
            message='The retrieved folder is missing.',
        )
        spec.exit_code(
            301,
            'ERROR_OUTPUT_MISSING',
            invalidates_cache=True,
            message='The runner wrote neither results nor an error report; see `aiida.out` and the scheduler output.',
        )
        spec.exit_code(302, 'ERROR_OUTPUT_CORRUPT', message='The runner results could not be read: {message}')
        spec.exit_code(
            303, 'ERROR_OUTPUT_INCOMPLETE', message='The runner results cover {got} of {expected} structures.'
        )
        spec.exit_code(310, 'ERROR_INVALID_INPUT', message='The runner rejected its input: {message}')
        spec.exit_code(
            311,
            'ERROR_POTENTIAL_NOT_LOADED',
            message='The potential could not be loaded on the computer: {message}',
        )
        spec.exit_code(312, 'ERROR_TASK_FAILED', message='The runner task failed: {message}')
        spec.exit_code(
            313,
            'ERROR_WRITING_OUTPUT',
            message='The runner finished its task but could not write its results: {message}',
        )
        spec.exit_code(320, 'ERROR_RELAXATION_NOT_CONVERGED', message='A relaxation did not converge: {message}')

    def prepare_for_submission(self, folder):
        """Write the task description, the structures and the potential's files."""
        import ase.io

        if 'frames' in self.inputs:
            atoms = self.inputs.frames.get_frames()
            labels = frame_labels(len(atoms))
            for item, label in zip(atoms, labels, strict=True):
                item.calc = None
                item.info = {'label': label}
        else:
            labels = sorted(self.inputs.structures)
            atoms = []
            for label in labels:
                item = self.inputs.structures[label].get_ase()
                item.info['label'] = label
                atoms.append(item)
        buffer = io.StringIO()
        ase.io.write(buffer, atoms, format='extxyz')
        with folder.open(files.STRUCTURES_FILE, 'w') as handle:
            handle.write(buffer.getvalue())

        request = {
            'task': self.inputs.task.value,
            'parameters': self.inputs.parameters.get_dict() if 'parameters' in self.inputs else {},
            'labels': labels,
            'potential': self.inputs.potential.to_runner_spec(),
        }
        with folder.open(files.INPUT_FILE, 'w') as handle:
            json.dump(request, handle, indent=1)

        potential = self.inputs.potential
        local_copy_list = [(potential.uuid, name, f'{files.POTENTIAL_DIR}/{name}') for name in potential.filenames]
        folder.get_subfolder(files.POTENTIAL_DIR, create=True)

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['.']
        codeinfo.stdout_name = files.STDOUT_FILE

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = local_copy_list
        calcinfo.retrieve_list = [files.RESULTS_FILE, files.RELAXED_FILE, files.ERROR_FILE, files.STDOUT_FILE]
        return calcinfo
