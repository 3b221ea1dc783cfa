"""``PredictionErrorsWorkChain`` (``limlip.prediction_errors``): a potential's errors on labelled frames."""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calcfunctions.errors import compute_test_errors
from ..calculations.common import species_error
from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData
from ..protocols import ProtocolMixin
from .common import FreshCodeMixin, check_builder, describe_failure
from .evaluation import EvaluationWorkChain, build_evaluation_inputs


def validate_inputs(inputs: dict, _) -> str | None:
    """Check that the potential covers the test set's species."""
    potential = inputs.get('evaluation', {}).get('potential')
    if potential is None:
        return 'the errors are those of a potential: give evaluation.potential'
    return species_error(inputs['test_set'].base.attributes.get('species'), potential, 'the test set')


class PredictionErrorsWorkChain(FreshCodeMixin, ProtocolMixin, WorkChain):
    """Predict energy, forces and stress of every test frame in one job, then compute the errors.

    The same code scores trained models and fixed potentials (SNAP, MEAM), so their errors are comparable.
    """

    _protocol_file = 'prediction_errors.yaml'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('test_set', valid_type=FrameSetData, help='Labelled frames (eV, eV/Å, eV/Å^3).')
        spec.expose_inputs(
            EvaluationWorkChain,
            namespace='evaluation',
            exclude=('structures', 'frames', 'task', 'parameters', 'ensemble'),
            namespace_options={'help': 'The potential, the engine (`ase`), its code and scheduler options.'},
        )
        spec.inputs.validator = validate_inputs
        spec.outline(cls.predict, cls.compute_errors)
        spec.output(
            'errors',
            valid_type=orm.Dict,
            help='RMSE and MAE overall and per configuration class: energy (meV/atom), forces (meV/Å), stress (GPa).',
        )
        spec.output(
            'predictions',
            valid_type=FrameSetData,
            help='Predicted energy (eV), forces (eV/Å) and stress (eV/Å^3) of every test frame, in order.',
        )
        spec.default_output_node = 'errors'
        spec.exit_code(402, 'ERROR_EVALUATION_FAILED', message='The predictions failed: {message}')
        spec.exit_code(403, 'ERROR_ANALYSIS_FAILED', message='The errors could not be computed: {message}')

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode | str | Mapping,
        potential: PotentialData,
        test_set: FrameSetData,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
    ):
        """Return a builder that scores ``potential`` on ``test_set`` with the runner ``code``.

        Raises
        ------
        ValueError
            For a missing or wrong code, an unknown protocol, or a test set the potential does not cover.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        evaluation = inputs.get('evaluation', {})
        builder = cls.get_builder()
        builder.test_set = test_set
        builder.evaluation = build_evaluation_inputs(
            code,
            'singlepoint',
            potential,
            options={**evaluation.get('options', {}), **(options or {})},
        )
        check_builder(builder)
        return builder

    def predict(self):
        """Evaluate every frame of the test set in one job."""
        inputs = self.exposed_inputs(EvaluationWorkChain, 'evaluation')
        inputs.update(frames=self.inputs.test_set, task=orm.Str('singlepoint'), metadata={'call_link_label': 'predict'})
        node = self.submit(EvaluationWorkChain, **inputs)
        potential = self.inputs.evaluation.potential
        self.report(
            f'predicting {self.inputs.test_set.num_frames} test frames with {potential.label or potential.kind} in '
            f'{node.process_label}<{node.pk}>'
        )
        return ToContext(predict=node)

    def compute_errors(self):
        """Compare the predictions with the labels."""
        node = self.ctx.predict
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_EVALUATION_FAILED.format(message=describe_failure(node))
        predictions = node.outputs.frames
        errors, calculation = compute_test_errors.run_get_node(
            self.inputs.test_set, predictions, metadata={'call_link_label': 'errors'}
        )
        if not calculation.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=describe_failure(calculation))
        overall = errors['overall']
        stress = overall['stress']['rmse'] if overall['stress'] else float('nan')
        # Table 1 reports the centred energy RMSE; the raw one also holds a constant offset if the potential was
        # fitted to other reference energies (SNAP and MEAM against pw.x totals: ~200 eV/atom).
        self.report(
            f'test RMSE: energy {overall["energy_centered"]["rmse"]:.2f} meV/atom (centred; offset '
            f'{errors["energy_offset"]:.1f} meV/atom), forces {overall["forces"]["rmse"]:.1f} meV/Å, stress '
            f'{stress:.3f} GPa over {overall["num_frames"]} frames'
        )
        self.out('errors', errors)
        self.out('predictions', predictions)
        return None
