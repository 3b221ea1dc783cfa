"""What the training CalcJobs share: data and restart ports, checks of the data, and exit codes."""

from __future__ import annotations

from aiida import orm
from aiida.engine import CalcJob

from ..data.frame_set import FrameSetData


def data_species(inputs) -> list[str]:
    """Return the sorted species of the training (and validation) data: the model's type order."""
    species = set(inputs['training_set'].base.attributes.get('species'))
    if 'validation_set' in inputs:
        species |= set(inputs['validation_set'].base.attributes.get('species'))
    return sorted(species)


def validate_training_data(inputs: dict) -> str | None:
    """Return a message if the training set lacks energy or force labels, or the restart folder is elsewhere."""
    missing = {'energy', 'forces'} - set(inputs['training_set'].labels)
    if missing:
        return f'the training set lacks the labels {sorted(missing)}'
    parent, code = inputs.get('parent_folder'), inputs.get('code')
    if parent is not None and code is not None and parent.computer.pk != code.computer.pk:
        return f'parent_folder is on `{parent.computer.label}` but the code runs on `{code.computer.label}`'
    return None


class TrainingCalculation(CalcJob):
    """Base of the training jobs: training and validation data, restart folder, and the failure modes of training."""

    @classmethod
    def define(cls, spec):
        """Define the ports and exit codes every training job has."""
        super().define(spec)
        spec.input('training_set', valid_type=FrameSetData, help='Frames to train on (eV, eV/Å, eV/Å^3).')
        spec.input(
            'validation_set',
            valid_type=FrameSetData,
            required=False,
            help='Frames for validation (learning curve, checkpoint choice); default: the training set.',
        )
        spec.input(
            'parent_folder',
            valid_type=orm.RemoteData,
            required=False,
            help='Remote folder of a previous training job of the same kind: continue from its last checkpoint, '
            'up to this job max_epochs (NequIP) or numb_steps (DeePMD, counted from step 0).',
        )
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['withmpi'].default = False
        spec.exit_code(
            301, 'ERROR_LEARNING_CURVE_MISSING', message='The training wrote no learning curve; see train.log.'
        )
        spec.exit_code(302, 'ERROR_MODEL_MISSING', message='No model file was written; see the logs.')
        spec.exit_code(
            310,
            'ERROR_DIVERGED',
            message='The training diverged ({reason}); lower the learning rate. No potential is returned.',
        )
        spec.exit_code(
            320,
            'ERROR_OUT_OF_WALLTIME',
            message='Training stopped after {done} of {total} {unit} (time limit, or killed: see train.log); restart '
            'it with parent_folder set to this job remote folder. No potential is returned.',
        )
