"""``PropertyWorkChain``: the shared shell of the property work chains (inputs, evaluation, protocols)."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ...calculations.runner import validate_species
from ...data.potential import PotentialData
from ...protocols import ProtocolMixin
from ..batch import BatchEvaluationWorkChain, build_evaluation_inputs, evaluation_route, route_error
from ..common import load_code


class PropertyWorkChain(ProtocolMixin, WorkChain):
    """Base class: a ``structure``, an ``evaluation`` namespace (potential + runner, or pw.x) and a protocol.

    Subclasses define their own ports and outline, add property checks in :meth:`validate_property`, and call
    :meth:`evaluate` / :meth:`evaluation_failed` around their single batch of structures.
    """

    #: Name of the structures being evaluated, for messages (e.g. ``strained cells``).
    _batch_name = 'structures'

    @classmethod
    def define(cls, spec):
        """Define the ports every property work chain shares."""
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The bulk crystal (Å).')
        spec.expose_inputs(
            BatchEvaluationWorkChain,
            namespace='evaluation',
            exclude=('structures',),
            namespace_options={
                'help': 'How the structures are evaluated: `code` = limlip-runner with a `potential`, or pw.x with '
                'DFT settings. See BatchEvaluationWorkChain.'
            },
        )
        spec.inputs.validator = cls.validate_inputs
        spec.exit_code(402, 'ERROR_EVALUATION_FAILED', message='The evaluation of the {batch} failed: {message}')
        spec.exit_code(403, 'ERROR_ANALYSIS_FAILED', message='The analysis failed: {message}')

    @classmethod
    def validate_inputs(cls, inputs: dict, ctx=None) -> str | None:
        """Check the evaluation route and the species, then the property's own conditions."""
        evaluation = inputs.get('evaluation', {})
        code = evaluation.get('code')
        if code is None:
            return 'evaluation.code is required'
        potential = evaluation.get('potential')
        message = route_error(code, potential)
        if message is None and potential is not None:
            message = validate_species({'structure': inputs['structure']}, potential)
        return message or cls.validate_property(inputs, potential)

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Return an error message if the inputs do not suit this property (subclasses override)."""
        return None

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode | str,
        structure: orm.StructureData,
        potential: PotentialData | None = None,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
    ):
        """Return a builder filled in from a protocol; every input is checked here, before anything is submitted.

        Parameters
        ----------
        code
            ``limlip-runner`` with ``potential``, or ``pw.x`` (node or label): the code decides the route.
        structure
            The bulk crystal (for the potential route, at the potential's equilibrium; e.g. the
            ``equilibrium_structure`` of ``EquationOfStateWorkChain``).
        potential
            The potential (runner route only).
        protocol
            ``paper``, ``fast`` (default) or ``demo``; DFT settings come from ``LabellingWorkChain``'s protocol of the
            same name unless the protocol's ``evaluation.dft_protocol`` says otherwise.
        overrides
            Merged recursively into the protocol inputs.
        options
            Scheduler options of every job.

        Raises
        ------
        ValueError
            For an unknown protocol, a missing or wrong code, a structure the potential does not cover, or inputs
            the property cannot use (see the subclass).
        """
        code = load_code(code, None)
        inputs = cls.get_protocol_inputs(protocol, overrides)
        evaluation = inputs.pop('evaluation', {}) or {}
        builder = cls.get_builder()
        builder.structure = structure
        builder.evaluation = build_evaluation_inputs(
            code,
            potential,
            dft_protocol=evaluation.get('dft_protocol', protocol),
            relax_positions=evaluation.get('relax_positions', False),
            runner_parameters=evaluation.get('runner_parameters'),
            options={**evaluation.get('options', {}), **(options or {})},
            dft_overrides=evaluation.get('dft_overrides'),
        )
        cls.fill_builder(builder, inputs, options or {})
        message = cls.validate_inputs(builder._inputs(prune=True))
        if message:
            raise ValueError(message)
        return builder

    @classmethod
    def fill_builder(cls, builder, inputs: dict, options: dict) -> None:
        """Set the property's own inputs from the protocol ``inputs`` and the user's scheduler ``options``."""

    def evaluate(self, structures: dict[str, orm.StructureData]):
        """Submit one ``BatchEvaluationWorkChain`` for ``structures``."""
        inputs = self.exposed_inputs(BatchEvaluationWorkChain, 'evaluation')
        inputs['structures'] = structures
        inputs['metadata'] = {'call_link_label': 'evaluation'}
        node = self.submit(BatchEvaluationWorkChain, **inputs)
        route = 'pw.x' if evaluation_route(self.inputs.evaluation.code) == 'dft' else self.potential_name()
        self.report(f'evaluating {len(structures)} {self._batch_name} with {route} in {node.process_label}<{node.pk}>')
        return ToContext(evaluation=node)

    def run_evaluation(self):
        """Evaluate ``ctx.structures`` (set by the subclass's generation step) in one batch."""
        return self.evaluate(dict(self.ctx.structures))

    def run_analysis(self, function, *args, link_label: str = 'analysis'):
        """Run the calcfunction ``function(frames, *args)`` and attach all its outputs.

        Returns
        -------
        tuple
            ``(exit_code, None)`` if the evaluation or the analysis failed (nothing is attached), else
            ``(None, outputs)``.
        """
        failed = self.evaluation_failed()
        if failed:
            return failed, None
        outputs, node = function.run_get_node(
            self.ctx.evaluation.outputs.frames, *args, metadata={'call_link_label': link_label}
        )
        failed = self.analysis_failed(node)
        if failed:
            return failed, None
        for key, value in outputs.items():
            self.out(key, value)
        return None, outputs

    def potential_name(self) -> str:
        """Return a short name of the potential for reports."""
        potential = self.inputs.evaluation.potential
        return f'{potential.label or potential.kind} potential (PotentialData<{potential.pk}>)'

    def evaluation_failed(self):
        """Return the exit code if the evaluation failed, else ``None``."""
        node = self.ctx.evaluation
        if node.is_finished_ok:
            return None
        return self.exit_codes.ERROR_EVALUATION_FAILED.format(
            batch=self._batch_name, message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}'
        )

    def analysis_failed(self, node) -> object | None:
        """Return the exit code if the analysis calcfunction ``node`` failed, else ``None``."""
        if node.is_finished_ok:
            return None
        return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=node.exit_message)
