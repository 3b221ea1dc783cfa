"""``NequipTrainingCalculation`` and ``NequipCompileCalculation``: train a NequIP model, then compile it for a device.

Training returns the best checkpoint as a ``PotentialData`` (kind ``nequip``, format ``checkpoint``) that the runner
evaluates in eager mode on any machine with nequip. AOTInductor compilation is device- and torch-version-specific,
so it is a separate job (``limlip.nequip.compile``) to run on the machine that will use the model.
"""

from __future__ import annotations

import tempfile

import yaml
from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData
from ..training import nequip as nequip_setup
from .training import TrainingCalculation, data_species, validate_training_data

TRAIN_LOG = 'train.log'
#: Exit status of nequip-train, written by the job script right after it: absent if the scheduler killed the job.
EXIT_STATUS_FILE = 'train.exit_status'
COMPILE_LOG = 'compile.log'
COMPILED_MODEL = 'model.nequip.pt2'
#: File name of the checkpoint inside a ``PotentialData`` of format ``checkpoint``.
CHECKPOINT_MODEL = 'model.ckpt'


def validate_training_inputs(inputs: dict, _) -> str | None:
    """Check the settings, the labels and that a restart folder sits on the code's computer."""
    message = nequip_setup.validate_settings(inputs['parameters'].get_dict())
    if message:
        return message
    coeffs = inputs['parameters'].get_dict().get('loss_coeffs', {})
    if coeffs.get('stress', 1.0) and 'stress' not in inputs['training_set'].labels:
        return 'the training set has no stress labels: set parameters.loss_coeffs.stress to 0 or label stresses'
    return validate_training_data(inputs)


class NequipTrainingCalculation(TrainingCalculation):
    """Run ``nequip-train`` on a training set; the parser returns the best checkpoint as a ``PotentialData``."""

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            help='Training settings: cutoff (Å), model_dtype (float32|float64), num_layers, l_max, num_features, '
            'radial_mlp_depth/width, max_epochs, learning_rate, batch_size (frames), loss_coeffs '
            '{energy, forces, stress}, seed, max_train_seconds (s), config_overrides (raw nequip config).',
        )
        spec.inputs.validator = validate_training_inputs
        spec.inputs['metadata']['options']['parser_name'].default = 'limlip.nequip.train'

        spec.output(
            'potential',
            valid_type=PotentialData,
            help='The model of the best validation epoch (kind nequip, format checkpoint; eager evaluation). A run '
            'stopped by its time budget (max_train_seconds) returns the best so far, with parameters.finished False.',
        )
        spec.output(
            'learning_curve',
            valid_type=orm.ArrayData,
            help='Per epoch: epoch, train_loss, val_per_atom_energy_rmse (eV/atom), val_forces_rmse (eV/Å), '
            'val_stress_rmse (eV/Å^3), and the other validation metrics of nequip.',
        )

    def prepare_for_submission(self, folder):
        """Write the data as extended XYZ and the Hydra config."""
        settings = self.inputs.parameters.get_dict()
        restart = 'parent_folder' in self.inputs
        config = nequip_setup.build_config(settings, data_species(self.inputs), restart=restart)
        for name, key in ((nequip_setup.TRAIN_FILE, 'training_set'), (nequip_setup.VALID_FILE, 'validation_set')):
            data = self.inputs[key] if key in self.inputs else self.inputs.training_set
            with tempfile.TemporaryDirectory() as directory:
                folder.insert_path(str(data.write_extxyz(f'{directory}/{name}')), name)
        with folder.open(nequip_setup.CONFIG_FILE, 'w') as handle:
            yaml.safe_dump(config, handle, sort_keys=False)

        train = datastructures.CodeInfo()
        train.code_uuid = self.inputs.code.uuid
        train.cmdline_params = ['--config-dir', '.', '--config-name', nequip_setup.CONFIG_FILE]
        train.stdout_name = TRAIN_LOG
        train.join_files = True

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [train]
        # Tells a run that stopped by itself (its time budget, max_train_seconds) from one that was killed.
        calcinfo.append_text = f'echo $? > {EXIT_STATUS_FILE}'
        if restart:
            parent = self.inputs.parent_folder
            calcinfo.remote_copy_list = [
                (
                    parent.computer.uuid,
                    f'{parent.get_remote_path()}/{nequip_setup.LAST_CHECKPOINT}',
                    nequip_setup.RESTART_CHECKPOINT,
                )
            ]
        calcinfo.retrieve_list = [
            (nequip_setup.METRICS_FILE, '.', 0),  # stored as metrics.csv
            nequip_setup.BEST_CHECKPOINT,
            nequip_setup.CONFIG_FILE,
            TRAIN_LOG,
            EXIT_STATUS_FILE,
        ]
        return calcinfo


class NequipCompileCalculation(CalcJob):
    """Compile a NequIP checkpoint with ``nequip-compile`` (AOTInductor) for fast inference through ASE."""

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'potential',
            valid_type=PotentialData,
            validator=lambda node, _: (
                None
                if node.kind == 'nequip' and node.base.attributes.get('parameters', {}).get('format') == 'checkpoint'
                else 'the potential must be a NequIP checkpoint (kind nequip, format checkpoint)'
            ),
            help='The NequIP model to compile (kind nequip, format checkpoint).',
        )
        spec.input(
            'device',
            valid_type=orm.Str,
            default=lambda: orm.Str('cpu'),
            help='Device the compiled model runs on (cpu or cuda).',
        )
        spec.input(
            'training_set',
            valid_type=FrameSetData,
            help='Frames of realistic size for tracing the model (the training data of the checkpoint).',
        )
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['parser_name'].default = 'limlip.nequip.compile'
        spec.inputs['metadata']['options']['withmpi'].default = False
        spec.output('potential', valid_type=PotentialData, help='The compiled model (kind nequip, format aotinductor).')
        spec.exit_code(302, 'ERROR_MODEL_MISSING', message='nequip-compile wrote no model; see compile.log.')

    def prepare_for_submission(self, folder):
        """Copy the checkpoint and the data it was trained on (nequip-compile traces the model on it)."""
        potential = self.inputs.potential
        with tempfile.TemporaryDirectory() as directory:
            path = self.inputs.training_set.write_extxyz(f'{directory}/{nequip_setup.TRAIN_FILE}')
            folder.insert_path(str(path), nequip_setup.TRAIN_FILE)
            folder.insert_path(str(path), nequip_setup.VALID_FILE)
        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = [
            CHECKPOINT_MODEL,
            COMPILED_MODEL,
            '--device',
            self.inputs.device.value,
            '--mode',
            'aotinductor',
            '--target',
            'ase',
        ]
        codeinfo.stdout_name = COMPILE_LOG
        codeinfo.join_files = True
        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = [(potential.uuid, potential.filenames[0], CHECKPOINT_MODEL)]
        calcinfo.retrieve_list = [COMPILED_MODEL, COMPILE_LOG]
        return calcinfo
