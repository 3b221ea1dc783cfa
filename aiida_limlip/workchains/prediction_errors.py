"""``PredictionErrorsWorkChain``: score any potential on a labelled test set with one runner job."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calcfunctions.errors import compute_test_errors
from ..calculations.runner import RunnerCalculation
from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData
from .common import DEFAULT_OPTIONS, load_code


def validate_inputs(inputs: dict, _) -> str | None:
    """Check that the potential covers the test set's species."""
    missing = set(inputs['test_set'].base.attributes.get('species')) - set(inputs['potential'].species)
    if missing:
        return f'the test set contains {sorted(missing)}, which the potential does not cover'
    return None


class PredictionErrorsWorkChain(WorkChain):
    """Predict energy, forces and stress of every test frame in one runner job, then compute the errors.

    The same code scores trained models and fixed potentials (SNAP, MEAM), so their errors are comparable.
    """

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('potential', valid_type=PotentialData, help='The potential to score.')
        spec.input('test_set', valid_type=FrameSetData, help='Labelled frames (eV, eV/Å, eV/Å^3).')
        spec.expose_inputs(
            RunnerCalculation,
            namespace='runner',
            exclude=('structures', 'frames', 'potential', 'task'),
            namespace_options={'help': 'Inputs of the single-point runner job (code, parameters, metadata).'},
        )
        spec.inputs.validator = validate_inputs
        spec.outline(cls.run_predictions, cls.compute_errors)
        spec.output(
            'errors',
            valid_type=orm.Dict,
            help='RMSE and MAE overall and per configuration class: energy (meV/atom), forces (meV/Å), stress (GPa).',
        )
        spec.output(
            'predictions',
            valid_type=orm.ArrayData,
            help='Predicted energies (eV), stresses (eV/Å^3) and forces_frame_NNNNNN (eV/Å) of the test frames.',
        )
        spec.default_output_node = 'errors'
        spec.exit_code(401, 'ERROR_PREDICTION_FAILED', message='The runner job failed: {message}')

    @classmethod
    def get_builder_for(
        cls,
        code: orm.AbstractCode | str,
        potential: PotentialData,
        test_set: FrameSetData,
        options: dict | None = None,
    ):
        """Return a builder that scores ``potential`` on ``test_set`` with the runner ``code``.

        Raises
        ------
        ValueError
            For a missing or wrong code.
        """
        builder = cls.get_builder()
        builder.potential = potential
        builder.test_set = test_set
        builder.runner.code = load_code(code, 'limlip.run')
        builder.runner.metadata.options = {**DEFAULT_OPTIONS, 'max_wallclock_seconds': 3600, **(options or {})}
        return builder

    def run_predictions(self):
        """Evaluate every frame of the test set in one job."""
        inputs = self.exposed_inputs(RunnerCalculation, 'runner')
        inputs.update(potential=self.inputs.potential, frames=self.inputs.test_set, task=orm.Str('singlepoint'))
        inputs.setdefault('metadata', {})['call_link_label'] = 'predict'
        node = self.submit(RunnerCalculation, **inputs)
        self.report(
            f'predicting {self.inputs.test_set.num_frames} test frames with {self.inputs.potential.kind} '
            f'in {node.process_label}<{node.pk}>'
        )
        return ToContext(predict=node)

    def compute_errors(self):
        """Compare the predictions with the labels."""
        node = self.ctx.predict
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_PREDICTION_FAILED.format(message=node.exit_message or node.process_state.value)
        errors = compute_test_errors(self.inputs.test_set, node.outputs.arrays)
        overall = errors['overall']
        stress = overall['stress']['rmse'] if overall['stress'] else float('nan')
        self.report(
            f'test RMSE: energy {overall["energy"]["rmse"]:.2f} meV/atom, forces {overall["forces"]["rmse"]:.1f} '
            f'meV/Å, stress {stress:.3f} GPa over {overall["num_frames"]} frames'
        )
        self.out('errors', errors)
        self.out('predictions', node.outputs.arrays)
        return None
