"""``PropertyWorkChain``: the shared shell of the property work chains (inputs, evaluation, protocols, exit codes).

Exit codes of every property work chain (and of the analysis calcfunctions they call):

* 402 ``ERROR_EVALUATION_FAILED``: an evaluation (a job of the runner, LAMMPS or pw.x) failed;
* 403 ``ERROR_ANALYSIS_FAILED``: the analysis calcfunction refused the data (its own 410) or its fit failed (411).

Outputs are attached after the last step that can fail, so a failed run returns no results.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ...calculations.common import species_error, structure_error
from ...data.potential import PotentialData
from ...protocols import ProtocolMixin
from ...runner.tasks import get_task
from ..common import FreshCodeMixin, check_builder, describe_failure
from ..dft import kpoint_mesh
from ..evaluation import EvaluationWorkChain, build_evaluation_inputs


def stress_error(potential: PotentialData | None, why: str) -> str | None:
    """Return an error message if ``potential`` predicts no stress, which the property needs (``why`` says for what)."""
    if potential is not None and not potential.supports_stress:
        return f'the potential (kind {potential.kind}) does not predict stress ({potential.properties}); {why}'
    return None


class PropertyWorkChain(FreshCodeMixin, ProtocolMixin, WorkChain):
    """Base class: a ``structure``, an ``evaluation`` namespace (engine, potential, codes) and a protocol.

    A subclass names the runner task its batch needs (``_evaluation_task``), generates ``ctx.structures``, calls
    :meth:`run_evaluation`, and analyses with :meth:`run_analysis`; the base class chooses the engine, submits and
    checks. Property checks go in :meth:`validate_property`, protocol inputs in :meth:`fill_builder`.
    """

    #: The runner task of the property's batch (``singlepoint``, ``relax``, ``md`` or ``neb``).
    _evaluation_task = 'relax'
    #: Whether pw.x evaluates every cell on the input structure's k-mesh (deformations of one crystal).
    _dft_shared_mesh = False
    #: Name of the structures being evaluated, for messages (e.g. ``strained cells``).
    _batch_name = 'structures'

    @classmethod
    def define(cls, spec):
        """Define the ports every property work chain shares."""
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The bulk crystal (Å).')
        spec.expose_inputs(
            EvaluationWorkChain,
            namespace='evaluation',
            exclude=('structures', 'frames', 'task'),
            namespace_options={
                'help': f'Who evaluates the structures and with which settings: `engine` (ase, lammps or pw), '
                f'`potential`, the engine code and options, and the parameters of the task `{cls._evaluation_task}`.'
            },
        )
        spec.inputs.validator = cls.validate_inputs
        spec.exit_code(402, 'ERROR_EVALUATION_FAILED', message='The evaluation of the {batch} failed: {message}')
        spec.exit_code(403, 'ERROR_ANALYSIS_FAILED', message='The analysis failed: {message}')

    @classmethod
    def validate_inputs(cls, inputs: dict, ctx=None) -> str | None:
        """Check the species of the structure and the task parameters, then the property's own conditions."""
        evaluation = inputs.get('evaluation', {})
        potential = evaluation.get('potential')
        if 'structure' in inputs:
            message = potential is not None and species_error(inputs['structure'].get_symbols_set(), potential)
            message = message or structure_error(inputs['structure'], 'structure')
            if message:
                return message
        try:
            get_task(cls._evaluation_task).validate(
                evaluation['parameters'].get_dict() if 'parameters' in evaluation else None
            )
        except ValueError as exception:
            return f'evaluation.parameters: {exception}'
        return cls.validate_property(inputs, potential)

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Return an error message if the inputs do not suit this property (subclasses override)."""
        return None

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode | str | Mapping,
        structure: orm.StructureData,
        potential: PotentialData | None = None,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
        engine: str | None = None,
        **property_inputs,
    ):
        """Return a builder filled in from a protocol; every input is checked here, before anything is submitted.

        Parameters
        ----------
        code
            The code (node or label) of the engine: ``limlip-runner`` with a ``potential``, ``pw.x`` for DFT; or a
            mapping ``{engine: code}`` with several, e.g.
            ``{'ase': 'limlip-runner@localhost', 'lammps': 'lmp@localhost'}``.
        structure
            The bulk crystal (for a potential, at its equilibrium: e.g. the ``equilibrium_structure`` of
            ``EquationOfStateWorkChain``).
        potential
            The potential; None for DFT.
        protocol
            ``paper``, ``fast`` (default) or ``demo``; DFT settings come from ``LabellingWorkChain``'s protocol
            ``evaluation.dft_protocol`` updated by ``evaluation.dft_overrides``.
        overrides
            Merged recursively into the protocol inputs; unknown keys are refused.
        options
            Scheduler options of every job.
        engine
            Force an engine (``ase``, ``lammps``, ``pw``) instead of the preferred one for the task.
        property_inputs
            Further inputs of the property set as they are (e.g. ``lattice_constants`` of
            ``FiniteTemperatureElasticWorkChain``).

        Raises
        ------
        ValueError
            For an unknown protocol or override, a missing or wrong code, a structure the potential does not cover,
            or inputs the property cannot use (see the subclass).
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        evaluation = inputs.pop('evaluation', {}) or {}
        if potential is not None:
            message = species_error(structure.get_symbols_set(), potential)
            if message:
                raise ValueError(message)
        builder = cls.get_builder()
        builder.structure = structure
        builder.evaluation = build_evaluation_inputs(
            code,
            cls._evaluation_task,
            potential,
            parameters=evaluation.get('parameters'),
            dft_protocol=evaluation.get('dft_protocol', protocol),
            dft_overrides=evaluation.get('dft_overrides'),
            options={**evaluation.get('options', {}), **(options or {})},
            engine=engine,
        )
        pw = builder.evaluation.pw if builder.evaluation.engine.value == 'pw' else None
        if cls._dft_shared_mesh and pw is not None and 'kpoints_mesh' not in pw:
            # One mesh for every deformed cell: a mesh that jumps between them (n = ceil(|b|/spacing) changes with
            # the cell) adds k-sampling noise to the energy and stress differences the fit is made of.
            pw.kpoints_mesh = orm.List(kpoint_mesh(structure.get_ase(), pw.kpoints_spacing.value))
        cls.fill_builder(builder, inputs)
        for key, value in property_inputs.items():
            builder[key] = value
        check_builder(builder)
        return builder

    @classmethod
    def _load_protocol_file(cls) -> dict:
        """Return the protocol file's data, where ``evaluation.dft_overrides`` is always a known override key."""
        data = super()._load_protocol_file()
        data['default_inputs'].setdefault('evaluation', {}).setdefault('dft_overrides', {})
        return data

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the property's own inputs from the protocol ``inputs`` (subclasses override)."""

    @property
    def engine(self) -> str:
        """Return the engine of the evaluations."""
        return self.inputs.evaluation.engine.value

    def evaluate(
        self,
        structures: dict[str, orm.StructureData],
        task: str | None = None,
        parameters: dict | None = None,
        key: str = 'evaluation',
        batch: str | None = None,
    ):
        """Submit one ``EvaluationWorkChain`` of ``structures``; its node goes to ``ctx[key]``.

        ``task`` and ``parameters`` replace the property's task and the ``evaluation.parameters`` (e.g. a cell
        relaxation before the property's own batch).
        """
        inputs = self.exposed_inputs(EvaluationWorkChain, 'evaluation')
        inputs['structures'] = structures
        inputs['task'] = orm.Str(task or self._evaluation_task)
        if parameters is not None:
            inputs['parameters'] = orm.Dict(parameters)
        inputs['metadata'] = {'call_link_label': key.replace('.', '_')}  # a nested context key: runs.T_300
        node = self.submit(EvaluationWorkChain, **inputs)
        who = 'pw.x' if self.engine == 'pw' else self.potential_name()
        self.report(
            f'{inputs["task"].value} of {len(structures)} {batch or self._batch_name} with {who} on the {self.engine} '
            f'engine in {node.process_label}<{node.pk}>'
        )
        return ToContext(**{key: node})

    def run_evaluation(self):
        """Evaluate ``ctx.structures`` (set by the subclass's generation step) in one batch."""
        return self.evaluate(dict(self.ctx.structures))

    def evaluation_failed(self, key: str = 'evaluation', batch: str | None = None):
        """Return the exit code if the evaluation ``ctx[key]`` failed, else None."""
        node = self.ctx[key]
        if node.is_finished_ok:
            return None
        return self.exit_codes.ERROR_EVALUATION_FAILED.format(
            batch=batch or self._batch_name, message=describe_failure(node)
        )

    def run_analysis(self, function, *args, link_label: str = 'analysis'):
        """Run the calcfunction ``function(frames, *args)`` on the evaluated frames and attach all its outputs.

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
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=describe_failure(node)), None
        for key, value in outputs.items():
            self.out(key, value)
        return None, outputs

    def potential_name(self) -> str:
        """Return a short name of the potential for reports."""
        potential = self.inputs.evaluation.potential
        return f'{potential.label or potential.kind} (PotentialData<{potential.pk}>)'
