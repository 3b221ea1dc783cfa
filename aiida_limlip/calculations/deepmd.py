"""``DeepmdTrainingCalculation``: train and freeze a Deep Potential with deepmd-kit's PyTorch backend."""

from __future__ import annotations

import json
import tempfile

from aiida import orm
from aiida.common import datastructures

from ..data.potential import PotentialData
from .training import TrainingCalculation, data_species, validate_training_data

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
    species = data_species(inputs)
    if not type_map or set(species) - set(type_map):
        return f'parameters.model.type_map {type_map} must list every species of the data, {species}'
    training = parameters.get('training', {})
    if 'training_data' in training or 'validation_data' in training:
        return 'leave training.training_data/validation_data out: they are written from the input data sets'
    return validate_training_data(inputs)


#: deepmd-kit's data-loader worker processes per training job (its NUM_WORKERS), unless the job sets its own.
DATA_LOADER_WORKERS = 0


class DeepmdTrainingCalculation(TrainingCalculation):
    """Run ``dp --pt train`` then ``dp --pt freeze``; the parser returns the frozen model as a ``PotentialData``."""

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            help='deepmd-kit input.json without training.training_data/validation_data (filled in here).',
        )
        spec.input('batch_size', valid_type=orm.Int, default=lambda: orm.Int(1), help='Frames per batch.')
        spec.inputs.validator = validate_inputs
        spec.inputs['metadata']['options']['parser_name'].default = 'limlip.deepmd.train'

        spec.output('potential', valid_type=PotentialData, help='The frozen model (kind deepmd).')
        spec.output(
            'learning_curve',
            valid_type=orm.ArrayData,
            help='lcurve.out columns by name: step, rmse_* (energy eV/atom, force eV/Å, virial eV/atom), lr.',
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
        # deepmd-kit's data loader forks min(4, cores) worker processes by default; on small data sets they only add
        # inter-process traffic (measured, 1000 steps alone on this machine: 26.3 s wall and 31 s of CPU with 2
        # workers, 22.0 s and 21.7 s with none). A NUM_WORKERS set for the job (environment_variables) wins.
        calcinfo.prepend_text = f'export NUM_WORKERS=${{NUM_WORKERS:-{DATA_LOADER_WORKERS}}}'
        calcinfo.retrieve_list = [LCURVE_FILE, MODEL_FILE, TRAIN_LOG, FREEZE_LOG, INPUT_FILE]
        if 'parent_folder' in self.inputs:
            parent = self.inputs.parent_folder
            calcinfo.remote_copy_list = [
                (parent.computer.uuid, f'{parent.get_remote_path()}/{CHECKPOINT_FILE}', RESTART_FILE)
            ]
        return calcinfo
