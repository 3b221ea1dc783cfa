"""``BatchEvaluationWorkChain``: energies, forces and stresses of a batch of structures, by a potential or by DFT.

Every property work chain evaluates its structures through this one work chain, so a property computed with a
machine-learning potential and the DFT reference go through the same structure generation and analysis:

* with the ``limlip-runner`` code and a ``potential``: one ``RunnerCalculation`` for the whole batch (task
  ``singlepoint``, or ``relax`` of the positions at fixed cell);
* with a ``pw.x`` code: one ``PwBaseWorkChain`` per structure through ``LabellingWorkChain`` (``scf``, or ``relax``).

Either way the result is one ``FrameSetData`` (``frames``) whose frames carry their label in ``info['label']``.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain, if_

from ..calcfunctions.frames import collect_runner_frames
from ..calculations.runner import RunnerCalculation, validate_species
from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData
from .common import DEFAULT_OPTIONS, load_code
from .labelling import LabellingWorkChain

RUNNER_PLUGIN = 'limlip.run'
PW_PLUGIN = 'quantumespresso.pw'


def evaluation_route(code: orm.AbstractCode) -> str:
    """Return ``runner`` or ``dft`` from the CalcJob plugin the code is set up for.

    Raises
    ------
    ValueError
        For a code of any other plugin.
    """
    plugin = code.default_calc_job_plugin
    if plugin == RUNNER_PLUGIN:
        return 'runner'
    if plugin == PW_PLUGIN:
        return 'dft'
    raise ValueError(
        f'code `{code.full_label}` is set up for `{plugin}`; give a `{RUNNER_PLUGIN}` code with a potential, '
        f'or a `{PW_PLUGIN}` code for DFT'
    )


def route_error(code: orm.AbstractCode, potential: PotentialData | None) -> str | None:
    """Return why ``code`` and ``potential`` do not make a route (runner + potential, or pw.x alone), or ``None``."""
    try:
        route = evaluation_route(code)
    except ValueError as exception:
        return str(exception)
    if route == 'runner' and potential is None:
        return f'code `{code.full_label}` evaluates a potential: give `potential`'
    if route == 'dft' and potential is not None:
        return 'give either a potential (with the limlip-runner code) or a pw.x code, not both'
    return None


def validate_inputs(inputs: dict, ctx) -> str | None:
    """Check the route's inputs: a potential for the runner; pseudopotentials and k-points for pw.x."""
    if any(key not in ctx for key in ('code', 'potential', 'structures')):
        return None  # exposed without these ports: the outer work chain checks them
    message = route_error(inputs['code'], inputs.get('potential'))
    if message:
        return message
    structures = inputs.get('structures') or {}
    if 'potential' in inputs:
        return validate_species(structures, inputs['potential']) if structures else None
    missing = [key for key in ('pseudo_family', 'kpoints_spacing', 'parameters') if key not in inputs]
    if missing:
        return f'the pw.x route needs {", ".join(missing)}'
    return None


def build_evaluation_inputs(
    code: orm.AbstractCode | str,
    potential: PotentialData | None = None,
    dft_protocol: str | None = None,
    relax_positions: bool = False,
    runner_parameters: dict | None = None,
    options: dict | None = None,
    dft_overrides: dict | None = None,
) -> dict:
    """Return the inputs of :class:`BatchEvaluationWorkChain` (without ``structures``) for either route.

    Parameters
    ----------
    code
        ``limlip-runner`` (needs ``potential``) or ``pw.x`` (settings from ``LabellingWorkChain``'s protocol
        ``dft_protocol``).
    potential
        The potential, for the runner route.
    dft_protocol
        Protocol of ``LabellingWorkChain`` (``paper``, ``fast``, ``demo``) giving cutoffs, k-spacing and smearing.
    relax_positions
        Relax atomic positions at fixed cell before reporting energies and stresses.
    runner_parameters
        Parameters of the runner ``relax`` task (e.g. ``fmax`` in eV/Å, ``max_steps``).
    options
        Scheduler options of every job.
    dft_overrides
        Merged into the DFT protocol (e.g. a denser ``kpoints_spacing`` for small energy differences).

    Raises
    ------
    ValueError
        For a code of another plugin, a runner code without potential, a pw.x code with a potential, or an unknown
        DFT protocol.
    """
    code = load_code(code, None)  # any plugin: it decides the route
    message = route_error(code, potential)
    if message:
        raise ValueError(message)
    inputs: dict = {'code': code, 'relax_positions': orm.Bool(relax_positions)}
    if potential is not None:
        inputs['potential'] = potential
        if runner_parameters:
            inputs['parameters'] = orm.Dict(runner_parameters)
        inputs['options'] = orm.Dict({**DEFAULT_OPTIONS, **(options or {})})
        return inputs
    from .dft import load_pseudo_family

    dft = LabellingWorkChain.get_protocol_inputs(dft_protocol, dft_overrides)
    inputs['pseudo_family'] = orm.Str(load_pseudo_family(dft['pseudo_family']).label)
    inputs['kpoints_spacing'] = orm.Float(dft['kpoints_spacing'])
    inputs['parameters'] = orm.Dict(dft['parameters'])
    inputs['max_concurrent'] = orm.Int(dft['max_concurrent'])
    inputs['options'] = orm.Dict({**dft.get('options', {}), **(options or {})})
    return inputs


class BatchEvaluationWorkChain(WorkChain):
    """Evaluate a batch of structures with a potential (one runner job) or with pw.x (one SCF per structure)."""

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input_namespace(
            'structures', valid_type=orm.StructureData, dynamic=True, help='The structures (Å), by label.'
        )
        spec.input(
            'code',
            valid_type=orm.AbstractCode,
            help='`limlip-runner` (evaluates `potential`) or `pw.x` (DFT); the code decides the route.',
        )
        spec.input('potential', valid_type=PotentialData, required=False, help='The potential (runner route).')
        spec.input(
            'relax_positions',
            valid_type=orm.Bool,
            default=lambda: orm.Bool(False),
            help='Relax the atomic positions at fixed cell first (runner task `relax`; pw.x `relax`).',
        )
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            required=False,
            help='Runner route: parameters of the `relax` task (fmax in eV/Å, max_steps, optimizer). pw.x route: '
            'the namelists (cutoffs in Ry; `ELECTRONS.conv_thr_per_atom` in Ry/atom).',
        )
        spec.input('pseudo_family', valid_type=orm.Str, required=False, help='pw.x route: pseudopotential family.')
        spec.input(
            'kpoints_spacing', valid_type=orm.Float, required=False, help='pw.x route: k-spacing in 1/Å (no 2*pi).'
        )
        spec.input('max_concurrent', valid_type=orm.Int, required=False, help='pw.x route: SCFs running at once.')
        spec.input('options', valid_type=orm.Dict, required=False, help='Scheduler options of every job.')
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.setup,
            if_(cls.is_runner)(cls.run_runner, cls.inspect_runner).else_(cls.run_dft, cls.inspect_dft),
        )
        spec.output(
            'frames',
            valid_type=FrameSetData,
            help='One frame per structure (label in `info`), after relaxation if asked: energy (eV), forces (eV/Å), '
            'stress (eV/Å^3, ASE sign: positive = tensile).',
        )
        spec.exit_code(401, 'ERROR_RUNNER_FAILED', message='The runner job failed: {message}')
        spec.exit_code(402, 'ERROR_DFT_FAILED', message='The pw.x calculations failed: {message}')

    def setup(self):
        """Pick the route from the code."""
        self.ctx.route = evaluation_route(self.inputs.code)

    def is_runner(self) -> bool:
        """Return whether a potential evaluates the batch."""
        return self.ctx.route == 'runner'

    def run_runner(self):
        """Evaluate the whole batch in one runner job."""
        relax = self.inputs.relax_positions.value
        parameters = self.inputs.parameters.get_dict() if 'parameters' in self.inputs else {}
        inputs = {
            'code': self.inputs.code,
            'potential': self.inputs.potential,
            'structures': dict(self.inputs.structures),
            'task': orm.Str('relax' if relax else 'singlepoint'),
            'metadata': {
                'call_link_label': 'runner',
                'options': self.inputs.options.get_dict() if 'options' in self.inputs else DEFAULT_OPTIONS,
            },
        }
        if relax:
            inputs['parameters'] = orm.Dict({**parameters, 'relax_cell': False})
        node = self.submit(RunnerCalculation, **inputs)
        action = 'relaxing the positions of' if relax else 'evaluating'
        self.report(f'{action} {len(self.inputs.structures)} structures in {node.process_label}<{node.pk}>')
        return ToContext(runner=node)

    def inspect_runner(self):
        """Collect the runner's results as frames."""
        node = self.ctx.runner
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_RUNNER_FAILED.format(
                message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}'
            )
        structures = dict(self.inputs.structures)
        if 'structures' in node.outputs:
            structures.update(dict(node.outputs.structures))
        frames = collect_runner_frames(
            node.outputs.results, node.outputs.arrays, **structures, metadata={'call_link_label': 'collect'}
        )
        self.out('frames', frames)
        return None

    def run_dft(self):
        """Run one pw.x calculation per structure through ``LabellingWorkChain``."""
        parameters = self.inputs.parameters.get_dict()
        if self.inputs.relax_positions.value:
            parameters.setdefault('CONTROL', {})['calculation'] = 'relax'
        inputs = {
            'structures': dict(self.inputs.structures),
            'code': self.inputs.code,
            'pseudo_family': self.inputs.pseudo_family,
            'kpoints_spacing': self.inputs.kpoints_spacing,
            'parameters': orm.Dict(parameters),
            'metadata': {'call_link_label': 'dft'},
        }
        for key in ('max_concurrent', 'options'):
            if key in self.inputs:
                inputs[key] = self.inputs[key]
        node = self.submit(LabellingWorkChain, **inputs)
        self.report(f'{len(self.inputs.structures)} pw.x calculations in {node.process_label}<{node.pk}>')
        return ToContext(dft=node)

    def inspect_dft(self):
        """Pass the labelled frames on; every structure must have succeeded."""
        node = self.ctx.dft
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_DFT_FAILED.format(
                message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}'
            )
        self.out('frames', node.outputs.frames)
        return None
