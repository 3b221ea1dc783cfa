"""``DeepmdTrainingCalculation``: train and freeze a Deep Potential with deepmd-kit's PyTorch backend."""

from __future__ import annotations

import json
import tempfile

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..data.potential import PotentialData
from ..data.training_set import TrainingSetData

INPUT_FILE = 'input.json'
MODEL_FILE = 'graph.pth'
LCURVE_FILE = 'lcurve.out'
CHECKPOINT_FILE = 'model.ckpt.pt'
RESTART_FILE = 'restart.ckpt.pt'
TRAIN_LOG = 'train.log'
FREEZE_LOG = 'freeze.log'


def validate_inputs(inputs: dict, _) -> str | None:
    """Check that the model's ``type_map`` covers the data and that data settings are not given by hand."""
    parameters = inputs['parameters'].get_dict()
    type_map = parameters.get('model', {}).get('type_map')
    species = set(inputs['training_set'].base.attributes.get('species'))
    if 'validation_set' in inputs:
        species |= set(inputs['validation_set'].base.attributes.get('species'))
    if not type_map or species - set(type_map):
        return f'parameters.model.type_map {type_map} must list every species of the data, {sorted(species)}'
    training = parameters.get('training', {})
    if 'training_data' in training or 'validation_data' in training:
        return 'leave training.training_data/validation_data out: they are written from the input data sets'
    missing = {'energy', 'forces'} - set(inputs['training_set'].labels)
    if missing:
        return f'the training set lacks the labels {sorted(missing)}'
    parent, code = inputs.get('parent_folder'), inputs.get('code')
    if parent is not None and code is not None and parent.computer.pk != code.computer.pk:
        return f'parent_folder is on `{parent.computer.label}` but the code runs on `{code.computer.label}`'
    return None


class DeepmdTrainingCalculation(CalcJob):
    """Run ``dp --pt train`` then ``dp --pt freeze``; the parser returns the frozen model as a ``PotentialData``."""

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('training_set', valid_type=TrainingSetData, help='Frames to train on (eV, eV/Å, eV/Å^3).')
        spec.input(
            'validation_set',
            valid_type=TrainingSetData,
            required=False,
            help='Frames for the validation columns of the learning curve; default: the training set.',
        )
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            help='deepmd-kit input.json without training.training_data/validation_data (filled in here).',
        )
        spec.input('batch_size', valid_type=orm.Int, default=lambda: orm.Int(1), help='Frames per batch.')
        spec.input(
            'parent_folder',
            valid_type=orm.RemoteData,
            required=False,
            help='Remote folder of a previous DeePMD training job: continue from its last checkpoint '
            '(training.numb_steps counts from step 0, so raise it to train longer).',
        )
        spec.inputs.validator = validate_inputs
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['parser_name'].default = 'limlip.deepmd.train'
        spec.inputs['metadata']['options']['withmpi'].default = False

        spec.output('potential', valid_type=PotentialData, help='The frozen model (kind deepmd).')
        spec.output(
            'learning_curve',
            valid_type=orm.ArrayData,
            help='lcurve.out columns by name: step, rmse_* (energy eV/atom, force eV/Å, virial eV/atom), lr.',
        )
        spec.exit_code(300, 'ERROR_NO_RETRIEVED_FOLDER', message='The retrieved folder is missing.')
        spec.exit_code(301, 'ERROR_LCURVE_MISSING', message='deepmd-kit wrote no learning curve; see train.log.')
        spec.exit_code(302, 'ERROR_MODEL_MISSING', message='The frozen model graph.pth is missing; see freeze.log.')
        spec.exit_code(
            310,
            'ERROR_DIVERGED',
            message='The training diverged ({reason}); lower the learning rate. No potential is returned.',
        )
        spec.exit_code(
            320,
            'ERROR_OUT_OF_WALLTIME',
            message='Training stopped at step {done} of {total} (walltime or killed); restart it with parent_folder '
            'set to this job remote folder. No potential is returned.',
        )

    def prepare_for_submission(self, folder):
        """Write the data in deepmd-kit's npy format and the input file."""
        parameters = self.inputs.parameters.get_dict()
        type_map = parameters['model']['type_map']
        systems = {}
        for name, key in (('train', 'training_set'), ('valid', 'validation_set')):
            data = self.inputs[key] if key in self.inputs else self.inputs.training_set
            with tempfile.TemporaryDirectory() as directory:
                paths = data.write_deepmd(directory, type_map=type_map)
                systems[name] = [f'data/{name}/{path.name}' for path in paths]
                for path in paths:
                    folder.insert_path(str(path), f'data/{name}/{path.name}')
        training = parameters.setdefault('training', {})
        batch = self.inputs.batch_size.value
        training['training_data'] = {'systems': systems['train'], 'batch_size': batch}
        training['validation_data'] = {'systems': systems['valid'], 'batch_size': batch}
        training['disp_file'] = LCURVE_FILE
        with folder.open(INPUT_FILE, 'w') as handle:
            json.dump(parameters, handle, indent=1)

        train = datastructures.CodeInfo()
        train.code_uuid = self.inputs.code.uuid
        train.cmdline_params = ['--pt', 'train', INPUT_FILE]
        if 'parent_folder' in self.inputs:
            train.cmdline_params += ['--restart', RESTART_FILE]
        train.stdout_name = TRAIN_LOG
        train.join_files = True
        freeze = datastructures.CodeInfo()
        freeze.code_uuid = self.inputs.code.uuid
        freeze.cmdline_params = ['--pt', 'freeze', '-o', MODEL_FILE]
        freeze.stdout_name = FREEZE_LOG
        freeze.join_files = True

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [train, freeze]
        calcinfo.codes_run_mode = datastructures.CodeRunMode.SERIAL
        calcinfo.retrieve_list = [LCURVE_FILE, MODEL_FILE, TRAIN_LOG, FREEZE_LOG, INPUT_FILE]
        if 'parent_folder' in self.inputs:
            parent = self.inputs.parent_folder
            calcinfo.remote_copy_list = [
                (parent.computer.uuid, f'{parent.get_remote_path()}/{CHECKPOINT_FILE}', RESTART_FILE)
            ]
        return calcinfo
