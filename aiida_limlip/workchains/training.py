"""``TrainingWorkChain``: split a labelled data set, train one model or an ensemble, and score it on the test set."""

from __future__ import annotations

import copy

from aiida import orm
from aiida.engine import WorkChain, if_

from ..calcfunctions.errors import summarize_test_errors
from ..calcfunctions.frame_set import split_frame_set
from ..calculations.nequip import NequipCompileCalculation
from ..data.frame_set import FrameSetData
from ..protocols import ProtocolMixin
from ..training import nequip as nequip_setup
from .common import DEFAULT_OPTIONS, FreshCodeMixin, describe_failure, load_code
from .prediction_errors import PredictionErrorsWorkChain
from .training_base import DeepmdTrainingBaseWorkChain, NequipTrainingBaseWorkChain

#: Architecture name to (training CalcJob entry point, model precision).
ARCHITECTURES = {
    'nequip32': ('limlip.nequip.train', 'float32'),
    'nequip64': ('limlip.nequip.train', 'float64'),
    'deepmd': ('limlip.deepmd.train', 'float64'),
}


def validate_inputs(inputs: dict, _) -> str | None:
    """Check the architecture, its settings and the split before anything runs.

    Exposed in a work chain that makes the training set itself (active learning), only what is there is checked.
    """
    if 'architecture' not in inputs:
        return None  # an optional exposed namespace that was not given
    architecture = inputs['architecture'].value
    if architecture not in ARCHITECTURES:
        return f'unknown architecture {architecture!r}; choose from {", ".join(ARCHITECTURES)}'
    parameters = inputs['parameters'].get_dict()
    if architecture.startswith('nequip'):
        message = nequip_setup.validate_settings(parameters)
        if message:
            return message
    elif 'parameters' not in parameters:
        return 'deepmd parameters need a `parameters` entry (deepmd-kit input.json without data) and a batch_size'
    code = inputs.get('code')
    plugin = ARCHITECTURES[architecture][0]
    if code is not None and code.default_calc_job_plugin not in (None, plugin):
        return f'code `{code.full_label}` is for `{code.default_calc_job_plugin}`; {architecture} needs `{plugin}`'
    split = inputs['split'].get_dict()
    fractions = [split.get('validation_fraction', 0.1)] + ([] if 'test_set' in inputs else [split.get('test_fraction')])
    if any(f is None or not 0.0 < f < 1.0 for f in fractions):
        return f'split fractions must lie strictly between 0 and 1, got {split}'
    frames = inputs['training_set'].num_frames if 'training_set' in inputs else None
    if frames is not None and frames < (2 if 'test_set' in inputs else 3):
        return f'the training set has {frames} frame(s): too few to split into training, validation and test sets'
    if inputs['num_models'].value < 1:
        return 'num_models must be at least 1'
    if inputs['compile'].value and not architecture.startswith('nequip'):
        return 'compile applies to NequIP models only (DeePMD models are frozen by the training job)'
    if inputs['compile'].value and 'compile_code' not in inputs:
        return 'compile is on but no compile_code (nequip-compile) was given'
    return None


class TrainingWorkChain(FreshCodeMixin, ProtocolMixin, WorkChain):
    """Train NequIP (float32 or float64) or DeePMD models on a labelled set and report their test-set errors.

    With ``num_models`` > 1, an ensemble of models that differ only in their random seed is trained in parallel
    (for model deviations in active learning and for uncertainties of properties).
    """

    _protocol_file = 'training.yaml'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('training_set', valid_type=FrameSetData, help='Labelled frames (eV, eV/Å, eV/Å^3) to learn.')
        spec.input(
            'test_set',
            valid_type=FrameSetData,
            required=False,
            help='Held-out frames for the errors; if omitted, split.test_fraction of training_set is held out.',
        )
        spec.input('architecture', valid_type=orm.Str, help=f'One of {", ".join(ARCHITECTURES)}.')
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            help='NequIP: the settings of NequipTrainingCalculation (model_dtype is set by the architecture). '
            'DeePMD: {parameters: input.json without data, batch_size: frames per batch}.',
        )
        spec.input(
            'split',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({'test_fraction': 0.1, 'validation_fraction': 0.1, 'seed': 1}),
            help='test_fraction and validation_fraction (of the frames left after the test split) and the seed.',
        )
        spec.input('num_models', valid_type=orm.Int, default=lambda: orm.Int(1), help='Ensemble size (seeds differ).')
        spec.input('compile', valid_type=orm.Bool, default=lambda: orm.Bool(False), help='Compile NequIP models.')
        spec.input('code', valid_type=orm.AbstractCode, help='nequip-train or dp code.')
        spec.input('compile_code', valid_type=orm.AbstractCode, required=False, help='nequip-compile code.')
        spec.input('runner_code', valid_type=orm.AbstractCode, help='limlip-runner code for the test-set predictions.')
        spec.input(
            'options',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            help='Scheduler options of the training jobs (max_wallclock_seconds in s, resources, ...).',
        )
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.split,
            cls.run_training,
            cls.inspect_training,
            if_(cls.should_compile)(cls.run_compile, cls.inspect_compile),
            cls.run_evaluation,
            cls.finalize,
        )
        spec.output('train_set', valid_type=FrameSetData, help='Frames the models were fitted to.')
        spec.output('validation_set', valid_type=FrameSetData, help='Frames used for checkpoint selection.')
        spec.output('test_set', valid_type=FrameSetData, help='Held-out frames the errors refer to.')
        spec.output_namespace(
            'potentials', valid_type=orm.Data, dynamic=True, help='Trained models, model_00, model_01, ...'
        )
        spec.output_namespace(
            'compiled_potentials', valid_type=orm.Data, dynamic=True, required=False, help='AOTInductor models.'
        )
        spec.output_namespace(
            'learning_curves',
            valid_type=orm.ArrayData,
            dynamic=True,
            help='Learning curve of each model (per epoch or step; RMSEs in eV/atom, eV/Å, eV/Å^3).',
        )
        spec.output_namespace(
            'test_errors',
            valid_type=orm.Dict,
            dynamic=True,
            help='Per model: RMSE/MAE of energy (meV/atom), forces (meV/Å), stress (GPa), overall and per class.',
        )
        spec.output(
            'summary',
            valid_type=orm.Dict,
            help='Architecture, test RMSE of each model and their mean and spread (meV/atom, meV/Å, GPa).',
        )
        spec.default_output_node = 'summary'
        spec.exit_code(401, 'ERROR_TRAINING_FAILED', message='Every training job failed; the first said: {message}')
        spec.exit_code(402, 'ERROR_SOME_MODELS_FAILED', message='{failed} of {total} models failed; see the report.')
        spec.exit_code(403, 'ERROR_COMPILE_FAILED', message='Compiling a NequIP model failed: {message}')
        spec.exit_code(404, 'ERROR_EVALUATION_FAILED', message='The test-set evaluation failed: {message}')

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode | str,
        runner_code: orm.AbstractCode | str,
        training_set: FrameSetData,
        architecture: str,
        protocol: str | None = None,
        overrides: dict | None = None,
        num_models: int = 1,
        test_set: FrameSetData | None = None,
        compile_code: orm.AbstractCode | str | None = None,
        options: dict | None = None,
    ):
        """Return a builder filled in from a protocol.

        Parameters
        ----------
        code
            The training code: ``nequip-train`` for ``nequip32``/``nequip64``, ``dp`` for ``deepmd``.
        runner_code
            The ``limlip-runner`` code that predicts the test set.
        training_set
            Labelled frames; split into training, validation and (unless ``test_set`` is given) test frames.
        architecture
            ``nequip32``, ``nequip64`` or ``deepmd``.
        protocol
            ``paper``, ``fast`` (default) or ``demo``.
        overrides
            Merged into the protocol: e.g. ``{'nequip': {'max_epochs': 50}, 'split': {'seed': 2}}``.
        num_models
            Ensemble size.
        test_set
            A fixed test set (e.g. to compare architectures on the same frames).
        compile_code
            ``nequip-compile``; needed if the protocol compiles (``paper``).
        options
            Scheduler options of the training jobs.

        Raises
        ------
        ValueError
            For an unknown protocol or architecture, a missing or wrong code, or an empty data set.
        """
        if architecture not in ARCHITECTURES:
            raise ValueError(f'unknown architecture {architecture!r}; choose from {", ".join(ARCHITECTURES)}')
        if training_set.num_frames < 3:
            raise ValueError(f'the training set has {training_set.num_frames} frame(s); at least 3 are needed')
        plugin, precision = ARCHITECTURES[architecture]
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.code = load_code(code, plugin)
        builder.runner_code = load_code(runner_code, 'limlip.run')
        builder.training_set = training_set
        if test_set is not None:
            builder.test_set = test_set
        builder.architecture = orm.Str(architecture)
        if architecture == 'deepmd':
            parameters = copy.deepcopy(inputs['deepmd'])
        else:
            parameters = {**inputs['nequip'], 'model_dtype': precision}
        builder.parameters = orm.Dict(parameters)
        builder.split = orm.Dict(inputs['split'])
        builder.num_models = orm.Int(num_models)
        compile_models = bool(inputs.get('compile')) and architecture != 'deepmd'
        builder.compile = orm.Bool(compile_models)
        if compile_models:
            builder.compile_code = load_code(compile_code, 'limlip.nequip.compile')
        builder.options = orm.Dict({**inputs.get('metadata', {}).get('options', {}), **(options or {})})
        return builder

    @property
    def is_nequip(self) -> bool:
        """Whether the architecture is NequIP."""
        return self.inputs.architecture.value.startswith('nequip')

    def split(self):
        """Hold out the test frames (unless given) and the validation frames; all three sets become nodes."""
        split = self.inputs.split.get_dict()
        seed = orm.Int(split.get('seed', 1))
        data = self.inputs.training_set
        if 'test_set' in self.inputs:
            self.ctx.test_set = self.inputs.test_set
        else:
            parts = split_frame_set(data, orm.Float(split['test_fraction']), seed)
            data, self.ctx.test_set = parts['train'], parts['test']
        parts = split_frame_set(data, orm.Float(split.get('validation_fraction', 0.1)), seed)
        self.ctx.train_set, self.ctx.validation_set = parts['train'], parts['test']
        self.report(
            f'{self.ctx.train_set.num_frames} training, {self.ctx.validation_set.num_frames} validation and '
            f'{self.ctx.test_set.num_frames} test frames'
        )

    def _training_inputs(self, index: int) -> tuple[type, dict]:
        """Return the restarting work chain and the job inputs of ensemble member ``index`` (seeds shifted by it)."""
        parameters = self.inputs.parameters.get_dict()
        options = {**DEFAULT_OPTIONS, **self.inputs.options.get_dict()}
        inputs = {
            'code': self.inputs.code,
            'training_set': self.ctx.train_set,
            'validation_set': self.ctx.validation_set,
            'metadata': {'options': options},
        }
        if self.is_nequip:
            seed = parameters.get('seed', nequip_setup.DEFAULT_SETTINGS['seed']) + index
            parameters['model_dtype'] = ARCHITECTURES[self.inputs.architecture.value][1]
            inputs['parameters'] = orm.Dict({**parameters, 'seed': seed})
            return NequipTrainingBaseWorkChain, inputs
        deepmd = copy.deepcopy(parameters['parameters'])
        species = sorted(set(self.ctx.train_set.base.attributes.get('species')))
        deepmd.setdefault('model', {}).setdefault('type_map', species)
        for section in (deepmd['model'].setdefault('descriptor', {}), deepmd['model'].setdefault('fitting_net', {})):
            section['seed'] = section.get('seed', 1) + index
        deepmd.setdefault('training', {})['seed'] = deepmd['training'].get('seed', 1) + index
        inputs['parameters'] = orm.Dict(deepmd)
        inputs['batch_size'] = orm.Int(parameters.get('batch_size', 1))
        return DeepmdTrainingBaseWorkChain, inputs

    def run_training(self):
        """Submit one training per ensemble member (a job that restarts from its checkpoint if killed); in parallel."""
        for index in range(self.inputs.num_models.value):
            process, inputs = self._training_inputs(index)
            node = self.submit(process, training=inputs, metadata={'call_link_label': f'train_{index:02d}'})
            self.report(f'training model {index} ({self.inputs.architecture.value}) in {node.process_label}<{node.pk}>')
            self.to_context(**{f'train.model_{index:02d}': node})

    def inspect_training(self):
        """Keep the models that trained; stop if none did."""
        self.ctx.models, failed = {}, []
        for label, node in sorted(self.ctx.train.items()):
            if node.is_finished_ok:
                self.ctx.models[label] = node
            else:
                failed.append(node)
                self.report(f'{label} failed: {describe_failure(node)}')
        self.ctx.failed = len(failed)
        if not self.ctx.models:
            return self.exit_codes.ERROR_TRAINING_FAILED.format(message=describe_failure(failed[0]))
        return None

    def should_compile(self) -> bool:
        """Compile only NequIP models, and only if asked."""
        return self.inputs.compile.value

    def run_compile(self):
        """Compile every trained NequIP model for the CPU."""
        for label, node in self.ctx.models.items():
            job = self.submit(
                NequipCompileCalculation,
                code=self.inputs.compile_code,
                potential=node.outputs.potential,
                training_set=self.ctx.train_set,
                metadata={
                    'options': {**DEFAULT_OPTIONS, **self.inputs.options.get_dict()},
                    'call_link_label': f'compile_{label}',
                },
            )
            self.report(f'compiling {label} in {job.process_label}<{job.pk}>')
            self.to_context(**{f'compile.{label}': job})

    def inspect_compile(self):
        """Fail if a compilation failed: the compiled models are what production MD uses."""
        for node in self.ctx.compile.values():
            if not node.is_finished_ok:
                return self.exit_codes.ERROR_COMPILE_FAILED.format(message=describe_failure(node))
        return None

    def run_evaluation(self):
        """Score every trained model on the test set with the runner."""
        for label, node in self.ctx.models.items():
            builder = PredictionErrorsWorkChain.get_builder_from_protocol(
                self.inputs.runner_code, node.outputs.potential, self.ctx.test_set
            )
            builder.metadata.call_link_label = f'evaluate_{label}'
            self.to_context(**{f'evaluate.{label}': self.submit(builder)})

    def finalize(self):
        """Attach every output at once, with a summary of the ensemble's errors."""
        for node in self.ctx.evaluate.values():
            if not node.is_finished_ok:
                return self.exit_codes.ERROR_EVALUATION_FAILED.format(message=describe_failure(node))
        errors = {label: self.ctx.evaluate[label].outputs.errors for label in self.ctx.models}
        summary = summarize_test_errors(self.inputs.architecture, **errors)

        self.out('train_set', self.ctx.train_set)
        self.out('validation_set', self.ctx.validation_set)
        self.out('test_set', self.ctx.test_set)
        for label, node in self.ctx.models.items():
            self.out(f'potentials.{label}', node.outputs.potential)
            self.out(f'learning_curves.{label}', node.outputs.learning_curve)
            self.out(f'test_errors.{label}', errors[label])
            if self.should_compile():
                self.out(f'compiled_potentials.{label}', self.ctx.compile[label].outputs.potential)
        self.out('summary', summary)
        self.report(
            'test RMSE (mean over {} model(s)): energy {} meV/atom, forces {} meV/Å, stress {} GPa'.format(
                len(errors), *(_format(summary[f'{key}_rmse_mean']) for key in ('energy', 'forces', 'stress'))
            )
        )
        if self.ctx.failed:
            return self.exit_codes.ERROR_SOME_MODELS_FAILED.format(
                failed=self.ctx.failed, total=self.inputs.num_models.value
            )
        return None


def _format(value: float | None) -> str:
    """Format an error for the report."""
    return 'n/a' if value is None else f'{value:.3g}'
