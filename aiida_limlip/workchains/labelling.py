"""``LabellingWorkChain``: DFT labels (energy, forces, stress) for a set of structures, as one frame set."""

from __future__ import annotations

import functools

import numpy as np
from aiida import orm
from aiida.common import timezone
from aiida.engine import ToContext, WorkChain, while_
from aiida.plugins import WorkflowFactory

from ..calcfunctions.labels import collect_pw_labels
from ..calculations.common import structure_error
from ..data.frame_set import FrameSetData
from ..protocols import ProtocolMixin
from ..utils import recursive_merge
from .common import FreshCodeMixin, check_builder, describe_failure, load_code, pop_terminated
from .dft import build_pw_base_inputs, load_pseudo_family

PwBaseWorkChain = WorkflowFactory('quantumespresso.pw.base')


def validate_inputs(inputs: dict, ctx) -> str | None:
    """Check structures, their labels, the pseudopotential family and the k-spacing before anything runs.

    Exposed without ``structures`` (the ``pw`` namespace of the evaluation), the rest is checked here and the
    structures by the work chain that has them.
    """
    if 'pseudo_family' not in inputs:
        return None  # an optional exposed namespace that was not given
    structures = inputs.get('structures', {})
    if not structures and 'structures' in ctx:
        return 'no structures to label: the `structures` namespace is empty'
    for label, structure in structures.items():
        if not label.isidentifier():
            return f'structure label `{label}` must be a valid Python identifier (letters, digits, underscores)'
        message = structure_error(structure, f'structure `{label}`')
        if message:
            return message
    if inputs['kpoints_spacing'].value <= 0:
        return f'kpoints_spacing must be positive, got {inputs["kpoints_spacing"].value}'
    if 'kpoints_mesh' in inputs:
        mesh = inputs['kpoints_mesh'].get_list()
        if len(mesh) != 3 or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in mesh):
            return f'kpoints_mesh must be three positive integers, got {mesh}'
    try:
        family = load_pseudo_family(inputs['pseudo_family'].value)
    except ValueError as exception:
        return str(exception)
    elements = {symbol for structure in structures.values() for symbol in structure.get_symbols_set()}
    missing = elements - set(family.elements)
    if missing:
        return f'pseudopotential family `{family.label}` has no pseudopotential for {sorted(missing)}'
    extra = set(inputs['structure_parameters'].keys()) - set(structures) if 'structure_parameters' in inputs else set()
    if extra:
        return f'structure_parameters names unknown structure(s) {sorted(extra)}'
    if inputs['max_concurrent'].value < 1:
        return 'max_concurrent must be at least 1'
    return None


class LabellingWorkChain(FreshCodeMixin, ProtocolMixin, WorkChain):
    """Run one pw.x SCF (``PwBaseWorkChain``) per structure and gather the complete labels into one frame set.

    A structure whose SCF still fails after the base work chain's restarts is reported and left out; the work chain
    then returns the frames of the others with exit code 401, whose message lists what failed (the reasons
    are in the report, and the failed ``PwBaseWorkChain`` nodes stay in the graph under ``scf_<label>``).
    """

    _protocol_file = 'labelling.yaml'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input_namespace(
            'structures', valid_type=orm.StructureData, dynamic=True, help='The structures to label (Å).'
        )
        spec.input(
            'config_classes',
            valid_type=orm.Dict,
            required=False,
            help='Structure label to configuration class (bulk, vacancy, surface, ...); default: the structure '
            'attribute `config_class`, else `unknown`.',
        )
        spec.input('code', valid_type=orm.AbstractCode, help='The pw.x code.')
        spec.input('pseudo_family', valid_type=orm.Str, help='Label of the pseudopotential family.')
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            help='pw.x namelists; cutoffs in Ry, degauss in Ry; `ELECTRONS.conv_thr_per_atom` in Ry/atom.',
        )
        spec.input('kpoints_spacing', valid_type=orm.Float, help='Maximum k-point spacing in 1/Å (2*pi not included).')
        spec.input(
            'kpoints_mesh',
            valid_type=orm.List,
            required=False,
            help='One Monkhorst-Pack mesh (3 integers) for every structure instead of one from kpoints_spacing per '
            'structure: the strained cells of an equation of state or an elastic fit then share the reference mesh.',
        )
        spec.input(
            'gamma_tricks',
            valid_type=orm.Bool,
            default=lambda: orm.Bool(True),
            help="Run a structure whose mesh is the Gamma point alone with pw.x's Gamma tricks (K_POINTS gamma): "
            'the same labels, to the SCF threshold, in about half the time.',
        )
        spec.input(
            'structure_parameters',
            valid_type=orm.Dict,
            required=False,
            help='Structure label to pw.x namelist overrides for that structure only.',
        )
        spec.input(
            'max_concurrent',
            valid_type=orm.Int,
            default=lambda: orm.Int(4),
            help='SCFs running at once: a new one starts as soon as one ends.',
        )
        spec.input(
            'max_iterations',
            valid_type=orm.Int,
            default=lambda: orm.Int(5),
            help="pw.x runs per structure, PwBaseWorkChain's restarts (less mixing, ...) included; 1: a structure "
            'whose SCF fails once is left out with its reason.',
        )
        spec.input('options', valid_type=orm.Dict, required=False, help='Scheduler options of every pw.x job.')
        spec.inputs.validator = validate_inputs
        spec.outline(cls.setup, while_(cls.has_work)(cls.submit_and_wait, cls.inspect_finished), cls.collect)
        spec.output(
            'frames',
            valid_type=FrameSetData,
            required=False,
            help='The labelled frames: energy (eV), forces (eV/Å), stress (eV/Å^3, ASE sign).',
        )
        spec.exit_code(401, 'ERROR_SOME_STRUCTURES_FAILED', message='{count} of {total} SCFs failed: {labels}')
        spec.exit_code(402, 'ERROR_ALL_STRUCTURES_FAILED', message='every SCF failed; nothing was labelled')

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode | str,
        structures: dict[str, orm.StructureData],
        protocol: str | None = None,
        overrides: dict | None = None,
        config_classes: dict[str, str] | None = None,
    ):
        """Return a builder filled in from a protocol (``paper``, ``fast``, ``demo``).

        Parameters
        ----------
        code
            The pw.x code (node or label).
        structures
            Label to structure; labels must be Python identifiers.
        protocol
            Protocol name; see :meth:`get_available_protocols`.
        overrides
            Merged recursively into the protocol: ``parameters``, ``kpoints_spacing``, ``kpoints_mesh``,
            ``gamma_tricks``, ``pseudo_family``, ``max_concurrent``, ``max_iterations``, ``options``,
            ``structure_parameters`` (e.g. the
            output of ``ConvergenceWorkChain``).
        config_classes
            Structure label to configuration class.

        Raises
        ------
        ValueError
            For an unknown protocol, a missing code, no structures, or a pseudopotential family that is missing.
        """
        code = load_code(code, 'quantumespresso.pw')
        if not structures:
            raise ValueError('no structures to label')
        inputs = cls.get_protocol_inputs(protocol, overrides)
        family = load_pseudo_family(inputs['pseudo_family'])
        builder = cls.get_builder()
        builder.code = code
        builder.structures = dict(structures)
        builder.pseudo_family = orm.Str(family.label)
        builder.parameters = orm.Dict(inputs['parameters'])
        builder.kpoints_spacing = orm.Float(inputs['kpoints_spacing'])
        if inputs.get('kpoints_mesh'):
            builder.kpoints_mesh = orm.List(list(inputs['kpoints_mesh']))
        builder.max_concurrent = orm.Int(inputs['max_concurrent'])
        builder.gamma_tricks = orm.Bool(inputs['gamma_tricks'])
        builder.max_iterations = orm.Int(inputs['max_iterations'])
        builder.options = orm.Dict(inputs.get('options', {}))
        if inputs.get('structure_parameters'):
            builder.structure_parameters = orm.Dict(inputs['structure_parameters'])
        if config_classes:
            builder.config_classes = orm.Dict(config_classes)
        check_builder(builder)
        return builder

    def setup(self):
        """Queue every structure, the costliest first (cell volume times atoms: plane waves times bands).

        The costliest first so that the last SCFs to start are short and both ends of the pool finish together.
        """
        structures = self.inputs.structures
        self.ctx.pending = sorted(structures, key=lambda label: (-_scf_cost(structures[label]), label))
        self.ctx.running = {}
        self.ctx.finished = {}
        self.ctx.failed = {}
        self.ctx.family = load_pseudo_family(self.inputs.pseudo_family.value)
        self.report(f'labelling {len(self.ctx.pending)} structures, {self.inputs.max_concurrent.value} at a time')

    def has_work(self) -> bool:
        """Return whether structures remain to be submitted or are still running."""
        return bool(self.ctx.pending or self.ctx.running)

    def submit_and_wait(self):
        """Fill the free slots of the pool, then wait for the SCF expected to end first.

        aiida-core's work chains wait for every awaited process, so a batch would wait for its slowest SCF while the
        other cores idle (seen: a 17-atom slab held a core for 80 s after the bulk cell beside it had ended). Only the
        SCF predicted to end first is awaited; ``inspect_finished`` then collects every SCF that has ended.
        """
        overrides = self.inputs.structure_parameters.get_dict() if 'structure_parameters' in self.inputs else {}
        options = self.inputs.options.get_dict() if 'options' in self.inputs else {}
        submitted = []
        while self.ctx.pending and len(self.ctx.running) < self.inputs.max_concurrent.value:
            label = self.ctx.pending.pop(0)
            structure = self.inputs.structures[label]
            parameters = recursive_merge(self.inputs.parameters.get_dict(), overrides.get(label, {}))
            inputs = build_pw_base_inputs(
                self.inputs.code,
                structure,
                self.ctx.family,
                parameters,
                self.inputs.kpoints_spacing.value,
                options,
                mesh=self.inputs.kpoints_mesh.get_list() if 'kpoints_mesh' in self.inputs else None,
                gamma_tricks=self.inputs.gamma_tricks.value,
            )
            inputs['max_iterations'] = self.inputs.max_iterations
            inputs['metadata'] = {'call_link_label': f'scf_{label}', 'label': label}
            self.ctx.running[label] = self.submit(PwBaseWorkChain, **inputs).pk
            submitted.append(label)
        if submitted:
            self.report(
                f'submitted {", ".join(submitted)}; {len(self.ctx.running)} running, {len(self.ctx.pending)} waiting'
            )
        rate = self._seconds_per_cost()
        now = timezone.now()
        running = {
            label: ((now - orm.load_node(pk).ctime).total_seconds(), rate * _scf_cost(self.inputs.structures[label]))
            for label, pk in self.ctx.running.items()
        }
        first = expected_to_end_first(running)
        # The prediction can be wrong (an SCF that restarts, a slab that converges slowly): whichever SCF ends first
        # also wakes the work chain, so a free slot never waits for the awaited one (seen: a core idle for 90 s).
        for label, pk in self.ctx.running.items():
            if label != first:
                self.runner.call_on_process_finish(pk, functools.partial(self.call_soon, self._wake_on_any_end))
        return ToContext(awaited=orm.load_node(self.ctx.running[first]))

    def _wake_on_any_end(self) -> None:
        """Resolve the awaited SCF early because another one ended: the pool's next step refills the free slot.

        ``inspect_finished`` takes only the SCFs that have terminated, so an awaited one still running stays in the
        pool. After a restart of the daemon only the awaited SCF is watched again, as before this shortcut.
        """
        for awaitable in list(self._awaitables):
            self._on_awaitable_finished(awaitable)

    def _on_awaitable_finished(self, awaitable) -> None:
        """Ignore the end of an awaited SCF whose awaitable ``_wake_on_any_end`` has resolved already."""
        if awaitable.get('resolved', False) or awaitable not in self._awaitables:
            return
        super()._on_awaitable_finished(awaitable)

    def _seconds_per_cost(self) -> float:
        """Return the median wall time per unit of :func:`_scf_cost` of the SCFs that ended well (1 before any)."""
        rates = [
            (node.mtime - node.ctime).total_seconds() / _scf_cost(self.inputs.structures[label])
            for label, node in self.ctx.finished.items()
        ]
        return float(np.median(rates)) if rates else 1.0

    def inspect_finished(self):
        """Sort every SCF that has ended into complete and failed."""
        for label, node in pop_terminated(self.ctx.running).items():
            outputs = node.outputs if node.is_finished_ok else None
            if (
                outputs is None
                or 'output_trajectory' not in outputs
                or 'stress' not in outputs.output_trajectory.get_arraynames()
            ):
                reason = describe_failure(node) if outputs is None else f'{describe_failure(node)} no stress/forces'
                self.ctx.failed[label] = reason
                self.report(f'structure `{label}` left out: {reason}')
            else:
                self.ctx.finished[label] = node

    def collect(self):
        """Gather the complete labels into one frame set."""
        total = len(self.inputs.structures)
        if not self.ctx.finished:
            return self.exit_codes.ERROR_ALL_STRUCTURES_FAILED
        classes = self.inputs.config_classes.get_dict() if 'config_classes' in self.inputs else {}
        for label in self.ctx.finished:
            structure = self.inputs.structures[label]
            classes.setdefault(label, structure.base.attributes.get('config_class', 'unknown'))
        outputs = {}
        for label, node in sorted(self.ctx.finished.items()):
            # After a pw.x `relax` the labels belong to the relaxed structure.
            relaxed = 'output_structure' in node.outputs
            outputs[f'structure_{label}'] = node.outputs.output_structure if relaxed else self.inputs.structures[label]
            outputs[f'parameters_{label}'] = node.outputs.output_parameters
            outputs[f'trajectory_{label}'] = node.outputs.output_trajectory
        frames = collect_pw_labels(
            config_classes=orm.Dict({k: v for k, v in classes.items() if k in self.ctx.finished}),
            **outputs,
            metadata={'call_link_label': 'collect'},
        )
        self.out('frames', frames)
        self.report(f'FrameSetData<{frames.pk}>: {frames.num_frames} frames, classes {frames.config_classes}')
        if self.ctx.failed:
            labels = ', '.join(sorted(self.ctx.failed))
            return self.exit_codes.ERROR_SOME_STRUCTURES_FAILED.format(
                count=len(self.ctx.failed), total=total, labels=labels
            )
        return None


def _scf_cost(structure: orm.StructureData) -> float:
    """Return a proxy of the SCF cost of ``structure``: cell volume (Å^3, plane waves) times atoms (bands)."""
    return structure.get_cell_volume() * len(structure.sites)


def expected_to_end_first(running: dict[str, tuple[float, float]]) -> str:
    """Return the label of the running job expected to end first.

    Parameters
    ----------
    running
        Label -> (seconds since it started, seconds it is expected to take).

    A job past its expected time is in trouble (slow convergence, a restart): it is expected to run as long again
    rather than to end any moment, or the pool would wait on it while the other slots idle (seen: a slab frame's
    SCF that failed to converge after 360 s held the pool while the cell beside it had ended long before).
    """

    def remaining(label: str) -> float:
        elapsed, duration = running[label]
        return duration - elapsed if duration > elapsed else elapsed

    return min(running, key=lambda label: (remaining(label), label))
