"""``EvaluationWorkChain`` (``limlip.evaluate``): one runner task over a batch, by the engine chosen for it.

The seam every property stands on. A work chain says *what* to evaluate (a task of ``aiida_limlip.runner.tasks`` and
its parameters, over structures or frames); the ``engine`` input, chosen once by :func:`build_evaluation_inputs`,
says *who* does it:

* ``ase`` (the ``limlip-runner`` code, any potential): one ``RunnerCalculation`` for a batch of frames or a band,
  one per structure for MD (MD runs are long: they run side by side);
* ``lammps``: one ``LammpsCalculation`` per structure, for MD with a LAMMPS pair style (SNAP, MEAM, DeePMD);
* ``pw``: ``LabellingWorkChain`` (one ``PwBaseWorkChain`` per structure): ``singlepoint`` is an SCF, ``relax`` a
  pw.x ``relax`` (``vc-relax`` with ``relax_cell``).

Whatever the engine, the outputs are the same nodes (see ``aiida_limlip.calculations.common``). An MD job that lost
atoms or blew up is run once more with half the time step (:func:`halved_timestep`).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.engine import ToContext, WorkChain, calcfunction, while_

from ..calcfunctions.frame_set import merge_frame_sets
from ..calcfunctions.md_runs import join_md_runs
from ..calculations.common import (
    checked_task,
    define_evaluation_outputs,
    ensemble_error,
    species_error,
    structure_error,
)
from ..calculations.lammps import LammpsCalculation
from ..calculations.runner import RunnerCalculation
from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData
from ..engines import engine_error, select_engine
from ..runner.base import TaskInputError
from ..runner.md import continuation_parameters
from ..runner.tasks import get_task
from .common import DEFAULT_OPTIONS, FreshCodeMixin, codes_by_engine, describe_failure
from .dft import load_pseudo_family
from .labelling import LabellingWorkChain

#: Exit statuses of an MD job (both engines) that a smaller time step can cure: lost atoms, a temperature blow-up.
MD_RETRY_STATUSES = tuple(
    LammpsCalculation.exit_codes[name].status for name in ('ERROR_LOST_ATOMS', 'ERROR_TEMPERATURE_BLOWUP')
)

#: Exit status of an MD job (both engines) that ran out of wall time: continued from its last frame.
WALLTIME_STATUS = LammpsCalculation.exit_codes.ERROR_OUT_OF_WALLTIME.status

#: MD parameters counted in steps: doubled with a halved time step, so that the run covers the same times.
STEP_COUNTS = ('steps', 'ramp_steps', 'equilibration_steps', 'thermo_interval', 'frame_interval')


def _md_parameters(node) -> dict:
    """Return the ``md`` parameters a job was given (its task's defaults fill the rest)."""
    return node.inputs.parameters.get_dict() if 'parameters' in node.inputs else {}


def halved_timestep(parameters: dict) -> dict | None:
    """Return the MD ``parameters`` with half the time step and twice the steps (the same simulated times).

    ``None`` if no time step can help: a ``max_temperature`` at or below the target (or initial) temperature stops
    any run.
    """
    full = get_task('md').validate(parameters)
    limit, start = full['max_temperature'], full['initial_temperature']
    if limit is not None and limit <= max(full['temperature'], start or 0.0):
        return None
    changed = {'timestep': full['timestep'] / 2}
    changed.update({key: 2 * full[key] for key in STEP_COUNTS if full.get(key)})
    return {**parameters, **changed}


#: 1 eV/Å in Ry/bohr, for pw.x's force threshold.
EV_PER_ANGSTROM_TO_RY_PER_BOHR = 1.0 / 25.71104309541616
#: Runner relax parameters that pw.x has no equivalent for (beyond the default).
PW_UNSUPPORTED = {'constraints': {}, 'hydrostatic_strain': False, 'constant_volume': False}


def validate_inputs(inputs: dict, ctx) -> str | None:
    """Check that the engine can run the task with this potential and got its code; check species and parameters.

    When exposed in a property work chain (without ``task`` or ``structures``), what is there is checked here and the
    rest by the property.
    """
    engine = inputs.get('engine')
    if engine is None:
        return None
    engine = engine.value
    potential, ensemble = inputs.get('potential'), inputs.get('ensemble') or {}
    task_name = inputs['task'].value if 'task' in inputs else None
    output = None
    if task_name is not None:
        try:
            task, parameters = checked_task(inputs, inputs.get('structures') or None)
        except TaskInputError as exception:
            return str(exception)
        output = task.output
        if engine == 'pw':
            message = _pw_unsupported(parameters)
            if message:
                return message
    message = engine_error(
        engine,
        task_name or ('md' if engine == 'lammps' else 'singlepoint'),
        output or ('trajectory' if engine == 'lammps' else 'frames'),
        None if potential is None else potential.kind,
        bool(potential is not None and potential.has_lammps_pair_style),
        [model.kind for model in ensemble.values()],
    )
    if message:
        return message
    if 'code' not in (inputs.get(engine) or {}):
        return f'the {engine} engine needs `{engine}.code`'
    if engine == 'pw' and 'frames' in inputs:
        return 'the pw engine labels structures: give `structures`, not `frames`'
    if potential is not None:
        message = ensemble_error(potential, ensemble)
        if message:
            return message
        if 'frames' in inputs:
            message = species_error(inputs['frames'].base.attributes.get('species'), potential, 'the frames')
            if message:
                return message
    for label, structure in (inputs.get('structures') or {}).items():
        what = f'structure `{label}`'
        message = potential is not None and species_error(structure.get_symbols_set(), potential, what)
        message = message or structure_error(structure, what)
        if message:
            return message
    if 'structures' in ctx and 'frames' in ctx and bool(inputs.get('structures')) == ('frames' in inputs):
        return 'give either `structures` or `frames`'
    return None


def _pw_unsupported(parameters: dict) -> str | None:
    for key, default in PW_UNSUPPORTED.items():
        if parameters.get(key, default) != default:
            return f'the pw engine does not support the task parameter {key!r}'
    return None


def build_evaluation_inputs(
    codes: orm.AbstractCode | str | Mapping,
    task: str,
    potential: PotentialData | None = None,
    parameters: dict | None = None,
    dft_protocol: str | None = None,
    dft_overrides: dict | None = None,
    options: dict | None = None,
    engine: str | None = None,
    ensemble: Mapping[str, PotentialData] | None = None,
) -> dict:
    """Return the inputs of :class:`EvaluationWorkChain` (without what to evaluate), choosing the engine once.

    Parameters
    ----------
    codes
        One code (node or label; its plugin names the engine) or codes by engine, ``{'ase': ..., 'lammps': ...,
        'pw': ...}``; see :func:`aiida_limlip.workchains.common.codes_by_engine`.
    task
        The runner task the evaluation will run (decides the output kind, hence the engine).
    potential
        The potential; None for DFT.
    parameters
        Task parameters (eV/Å, GPa, K, fs).
    dft_protocol, dft_overrides
        ``LabellingWorkChain`` protocol and overrides for pw.x (cutoffs in Ry, k-spacing in 1/Å, ...).
    options
        Scheduler options of every job.
    engine
        Force an engine instead of the preferred one (LAMMPS for MD where it can, else ASE; pw.x for DFT).
    ensemble
        Further models for the model deviation of MD frames.

    Raises
    ------
    ValueError
        If no given code's engine can run the task, or the DFT protocol is unknown.
    """
    codes = codes_by_engine(codes)
    ensemble = dict(ensemble or {})
    spec = get_task(task)
    engine = select_engine(
        task,
        spec.output,
        None if potential is None else potential.kind,
        bool(potential is not None and potential.has_lammps_pair_style),
        set(codes),
        [model.kind for model in ensemble.values()],
        engine,
    )
    inputs: dict = {'engine': orm.Str(engine)}
    if parameters:
        inputs['parameters'] = orm.Dict(parameters)
    if potential is not None:
        inputs['potential'] = potential
    if ensemble:
        inputs['ensemble'] = ensemble
    options = {**DEFAULT_OPTIONS, **(options or {})}
    if engine != 'pw':
        inputs[engine] = {'code': codes[engine], 'metadata': {'options': options}}
        return inputs
    dft = LabellingWorkChain.get_protocol_inputs(dft_protocol, dft_overrides)
    inputs['pw'] = {
        'code': codes['pw'],
        'pseudo_family': orm.Str(load_pseudo_family(dft['pseudo_family']).label),
        'kpoints_spacing': orm.Float(dft['kpoints_spacing']),
        'parameters': orm.Dict(dft['parameters']),
        'max_concurrent': orm.Int(dft['max_concurrent']),
        'gamma_tricks': orm.Bool(dft['gamma_tricks']),
        'max_iterations': orm.Int(dft['max_iterations']),
        'options': orm.Dict({**dft.get('options', {}), **(options or {})}),
    }
    if dft.get('kpoints_mesh'):
        inputs['pw']['kpoints_mesh'] = orm.List(list(dft['kpoints_mesh']))
    return inputs


@calcfunction
def merge_results(**results: orm.Dict) -> orm.Dict:
    """Return the summaries of several jobs of one evaluation as one ``results`` (items by label).

    ``wall_time`` is the sum of the jobs' (s), ``started`` and ``finished`` the first start and the last end.
    """
    merged: dict = {'items': {}, 'labels': [], 'wall_time': 0.0}
    contents = [results[key].get_dict() for key in sorted(results)]
    for content in contents:
        merged['items'].update(content['items'])
        merged['labels'] += content['labels']
        merged['wall_time'] += content.get('wall_time') or 0.0
        merged.update(
            {k: v for k, v in content.items() if k not in ('items', 'labels', 'wall_time', 'started', 'finished')}
        )
    times = [(c.get('started'), c.get('finished')) for c in contents if c.get('started') and c.get('finished')]
    if times:
        merged['started'] = min(start for start, _ in times)
        merged['finished'] = max(end for _, end in times)
    return orm.Dict(merged)


class EvaluationWorkChain(FreshCodeMixin, WorkChain):
    """Run one runner task over a batch of structures (or frames) with the engine given in ``engine``."""

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('engine', valid_type=orm.Str, help='Who evaluates: `ase` (limlip-runner), `lammps` or `pw` (DFT).')
        spec.input('task', valid_type=orm.Str, help='The runner task: singlepoint, relax, md or neb.')
        spec.input(
            'retry_md',
            valid_type=orm.Bool,
            default=lambda: orm.Bool(True),
            help='Run an MD job that lost atoms or blew up (exit 331, 340) once more with half the time step (fs) and '
            'twice the steps.',
        )
        spec.input(
            'walltime_continuations',
            valid_type=orm.Int,
            default=lambda: orm.Int(5),
            help='A job that ran out of wall time (exit 341) is continued in a new job, up to this many times: MD from '
            'its last frame and velocities (the parts joined into one run), relaxations from the positions reached. '
            '0: never.',
        )
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            required=False,
            help='Task parameters in the task units (eV/Å, GPa, K, fs), the same for every engine.',
        )
        spec.input_namespace(
            'structures', valid_type=orm.StructureData, dynamic=True, required=False, help='The batch (Å), by label.'
        )
        spec.input('frames', valid_type=FrameSetData, required=False, help='Instead of structures: these frames.')
        spec.input(
            'potential', valid_type=PotentialData, required=False, help='The potential (ase and lammps engines).'
        )
        spec.input_namespace(
            'ensemble',
            valid_type=PotentialData,
            dynamic=True,
            required=False,
            help='Further models for the model deviation of MD frames.',
        )
        for engine, process in (('ase', RunnerCalculation), ('lammps', LammpsCalculation)):
            spec.expose_inputs(
                process,
                namespace=engine,
                include=('code', 'metadata'),
                namespace_options={
                    'required': False,
                    'populate_defaults': False,
                    'help': f'The {engine} code and the scheduler options of its jobs.',
                },
            )
        spec.expose_inputs(
            LabellingWorkChain,
            namespace='pw',
            exclude=('structures', 'config_classes'),
            namespace_options={
                'required': False,
                'populate_defaults': False,
                'help': 'pw.x code, pseudopotential family, k-spacing (1/Å), namelists (Ry): see LabellingWorkChain.',
            },
        )
        spec.inputs.validator = validate_inputs
        spec.outline(cls.run_jobs, while_(cls.md_to_rerun)(cls.rerun_md), cls.collect)
        define_evaluation_outputs(spec)
        spec.exit_code(401, 'ERROR_JOB_FAILED', message='The evaluation failed: {message}')

    def run_jobs(self):
        """Submit the jobs: one for a batch, one per structure for MD."""
        engine = self.inputs.engine.value
        task = get_task(self.inputs.task.value)
        structures = dict(self.inputs.get('structures', {}))
        if engine == 'pw':
            return self._run_pw(task, structures)
        process = RunnerCalculation if engine == 'ase' else LammpsCalculation
        inputs = self.exposed_inputs(process, engine)
        inputs.update(potential=self.inputs.potential, task=self.inputs.task)
        for key in ('parameters', 'ensemble'):
            if key in self.inputs:
                inputs[key] = self.inputs[key]
        if 'frames' in self.inputs:
            batches = {'frames': {'frames': self.inputs.frames}}
        elif task.output == 'trajectory':
            batches = {label: {'structures': {label: structure}} for label, structure in structures.items()}
        else:
            batches = {'batch': {'structures': structures}}
        for key, batch in batches.items():
            metadata = dict(inputs.get('metadata', {}))
            metadata['call_link_label'] = f'{engine}_{key}'
            node = self.submit(process, **{**inputs, **batch, 'metadata': metadata})
            self.to_context(**{f'jobs.{key}': node})
        count = self.inputs.frames.num_frames if 'frames' in self.inputs else len(structures)
        potential = self.inputs.potential
        self.report(
            f'{task.name} of {count} {"frames" if "frames" in self.inputs else "structures"} with '
            f'{potential.label or potential.kind} (PotentialData<{potential.pk}>) on the {engine} engine in '
            f'{len(batches)} job(s)'
        )
        return None

    def _run_pw(self, task, structures):
        inputs = self.exposed_inputs(LabellingWorkChain, 'pw')
        namelists = inputs['parameters'].get_dict()
        control = namelists.setdefault('CONTROL', {})
        if task.name == 'relax':
            parameters = task.validate(self.inputs.parameters.get_dict() if 'parameters' in self.inputs else None)
            control['calculation'] = 'vc-relax' if parameters['relax_cell'] else 'relax'
            control['forc_conv_thr'] = parameters['fmax'] * EV_PER_ANGSTROM_TO_RY_PER_BOHR
            if parameters['relax_cell']:
                namelists.setdefault('CELL', {})['press'] = parameters['pressure'] * 10.0  # GPa -> kbar
        else:
            control['calculation'] = 'scf'
        inputs.update(structures=structures, parameters=orm.Dict(namelists), metadata={'call_link_label': 'pw'})
        node = self.submit(LabellingWorkChain, **inputs)
        self.report(
            f'{task.name} of {len(structures)} structures with pw.x ({control["calculation"]}) in '
            f'{node.process_label}<{node.pk}>'
        )
        return ToContext(**{'jobs.pw': node})

    def md_to_rerun(self) -> bool:
        """Find the jobs to run again: MD blown up (half the time step, once), MD or relaxations out of wall time."""
        self.ctx.setdefault('parts', {})
        self.ctx.setdefault('halved', [])
        self.ctx.rerun = {}
        task = self.inputs.task.value
        if task not in ('md', 'relax'):
            return False
        for key, node in sorted(dict(self.ctx.jobs).items()):
            parts = self.ctx.parts.get(key, [])
            if node.exit_status == WALLTIME_STATUS and len(parts) < self.inputs.walltime_continuations.value:
                if 'structures' in node.outputs and (
                    task == 'relax' or ('velocities' in node.outputs and self._md_continuation(key, node)[2])
                ):
                    self.ctx.rerun[key] = 'continue'
            elif node.exit_status in MD_RETRY_STATUSES and self.inputs.retry_md.value and not parts:
                if key not in self.ctx.halved:
                    self.ctx.rerun[key] = 'halve'
        return bool(self.ctx.rerun)

    def rerun_md(self):
        """Continue each MD job that ran out of time from its last frame; rerun each that blew up with half the step."""
        engine = self.inputs.engine.value
        for key, action in sorted(self.ctx.rerun.items()):
            node = self.ctx.jobs[key]
            builder = node.get_builder_restart()
            if action == 'halve':
                parameters = halved_timestep(_md_parameters(node))
                self.ctx.halved.append(key)
                if parameters is None:
                    continue
                builder.parameters = orm.Dict(parameters)
                builder.metadata.call_link_label = f'{engine}_{key}_half_timestep'
                retry = self.submit(builder)
                self.report(
                    f'{node.process_label}<{node.pk}> failed [{node.exit_status}] {node.exit_message}; running '
                    f'`{key}` again with a time step of {parameters["timestep"]:g} fs in {retry.process_label}'
                    f'<{retry.pk}>'
                )
            elif self.inputs.task.value == 'relax':
                parts = self.ctx.parts.setdefault(key, [])
                parts.append(node.pk)
                builder.structures = dict(node.outputs.structures)
                builder.metadata.call_link_label = f'{engine}_{key}_part_{len(parts):02d}'
                retry = self.submit(builder)
                self.report(
                    f'{node.process_label}<{node.pk}> ran out of wall time: {node.exit_message}; continuing the '
                    f'relaxations from the positions reached in {retry.process_label}<{retry.pk}>'
                )
            else:
                whole, done, parameters = self._md_continuation(key, node)
                parts = self.ctx.parts.setdefault(key, [])
                parts.append(node.pk)
                (label,) = node.outputs.structures.keys()
                builder.structures = {label: node.outputs.structures[label]}
                builder.velocities = {label: node.outputs.velocities[label]}
                builder.parameters = orm.Dict(parameters)
                builder.metadata.call_link_label = f'{engine}_{key}_part_{len(parts):02d}'
                retry = self.submit(builder)
                self.report(
                    f'{node.process_label}<{node.pk}> ran out of wall time after {done} of '
                    f'{whole["ramp_steps"] + whole["steps"]} steps; continuing `{key}` from its last frame and '
                    f'velocities in {retry.process_label}<{retry.pk}>'
                )
            self.to_context(**{f'jobs.{key}': retry})

    def _md_continuation(self, key: str, node) -> tuple[dict, int, dict | None]:
        """Return the whole run's parameters, the steps made and those that continue run ``key`` after job ``node``.

        The last is None if no step is left: a job that made every step is complete, not out of time (the engines say
        so), and a 341 without steps left stands rather than running a part of nothing.
        """
        parts = [*self.ctx.get('parts', {}).get(key, []), node.pk]
        whole = get_task('md').validate(_md_parameters(orm.load_node(parts[0])))
        done = sum(orm.load_node(pk).outputs.results['items'][key]['steps_completed'] for pk in parts)
        return whole, done, continuation_parameters(whole, done, len(parts))

    def collect(self):
        """Attach the outputs of every job, keyed by label; fail without outputs if any job failed.

        A run continued over several jobs is joined first (``join_md_runs``): one thermo record, one set of samples
        and one results item, as if one job had run it.
        """
        jobs = dict(self.ctx.jobs)
        failed = [node for node in jobs.values() if not node.is_finished_ok]
        if failed:
            return self.exit_codes.ERROR_JOB_FAILED.format(message='; '.join(describe_failure(n) for n in failed))
        parts = self.ctx.get('parts', {}) if self.inputs.task.value == 'md' else {}
        joined = {key: self._join_parts(key, node) for key, node in jobs.items() if parts.get(key)}
        # pw.x's labelling returns frames only, no results.
        results = {
            key: joined[key]['results'] if key in joined else node.outputs.results
            for key, node in jobs.items()
            if key in joined or 'results' in node.outputs
        }
        if len(jobs) == 1:
            (node,) = jobs.values()
            if results:
                self.out('results', next(iter(results.values())))
            if 'frames' in node.outputs:
                self.out('frames', node.outputs.frames)
        else:
            self.out('results', merge_results(**results))
            frames = {k: n.outputs.frames for k, n in jobs.items() if 'frames' in n.outputs}
            if frames:
                self.out('frames', merge_frame_sets(**frames))
        for key, node in jobs.items():
            for namespace in ('structures', 'velocities', 'thermo', 'trajectory', 'model_deviation'):
                if namespace in node.outputs:
                    for label, output in node.outputs[namespace].items():
                        self.out(f'{namespace}.{label}', joined.get(key, {}).get(namespace, output))
        return None

    def _join_parts(self, key: str, last) -> dict:
        """Join the jobs of the run ``key`` (the parts that ran out of time, then ``last``) into one record."""
        nodes = [orm.load_node(pk) for pk in self.ctx.parts[key]] + [last]
        (label,) = last.outputs.structures.keys()
        inputs = {}
        for index, node in enumerate(nodes):
            inputs[f'results_{index:02d}'] = node.outputs.results
            inputs[f'thermo_{index:02d}'] = node.outputs.thermo[label]
            if 'trajectory' in node.outputs and label in node.outputs.trajectory:
                inputs[f'trajectory_{index:02d}'] = node.outputs.trajectory[label]
            if 'model_deviation' in node.outputs and label in node.outputs.model_deviation:
                inputs[f'deviation_{index:02d}'] = node.outputs.model_deviation[label]
        whole = get_task('md').validate(_md_parameters(nodes[0]))
        return join_md_runs(
            label=orm.Str(label),
            parameters=orm.Dict(whole),
            **inputs,
            metadata={'call_link_label': f'join_{key}'},
        )
