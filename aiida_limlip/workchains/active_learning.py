"""``ActiveLearningWorkChain`` (``limlip.active_learning``): the paper's data generation, in the style of DP-GEN.

seeds -> pw.x labels -> loop { train an ensemble -> explore by MD with the ensemble's model deviation -> select
-> label the candidates with pw.x -> merge } until every class is explored accurately, no candidates remain, or
``max_iterations`` is reached. Every step is a child work chain a user can also run alone: ``LabellingWorkChain``,
``TrainingWorkChain`` and ``EvaluationWorkChain`` (the ``md`` task on LAMMPS for DeePMD ensembles, on the runner
otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.engine import WorkChain, if_, while_

from ..analysis.active_learning import (
    SLAB_CLASSES,
    ExplorationSettings,
    SelectionSettings,
    condition_key,
    md_parameters,
)
from ..calcfunctions.active_learning import exploration_cells, select_candidates, summarize_iteration, summarize_loop
from ..calcfunctions.frame_set import merge_frame_sets, split_frame_set_by_class
from ..calcfunctions.seeds import generate_seed_structures
from ..calculations.common import structure_error
from ..data.frame_set import FrameSetData
from ..protocols import ProtocolMixin
from ..runner.base import is_orthorhombic
from ..structures.seeds import SeedSettings, generate_seeds
from .common import FreshCodeMixin, check_builder, copy_builder_inputs, describe_failure, load_code
from .dft import load_pseudo_family
from .evaluation import EvaluationWorkChain, build_evaluation_inputs
from .labelling import LabellingWorkChain
from .training import TrainingWorkChain


def config_class_of(structure: orm.StructureData, classes: Mapping[str, str], label: str) -> str:
    """Return a seed's configuration class: ``config_classes[label]``, else its attribute, else ``unknown``."""
    return classes.get(label) or structure.base.attributes.get('config_class', 'unknown')


def validate_inputs(inputs: dict, _) -> str | None:
    """Check seeds, settings and the ensemble before anything is submitted."""
    try:
        ExplorationSettings.from_dict(inputs['exploration'].get_dict())
        SelectionSettings.from_dict(inputs['selection'].get_dict())
    except (TypeError, ValueError) as exception:
        return str(exception)
    seeds = inputs.get('seeds') or {}
    if not seeds:
        return 'no seed structures: the `seeds` namespace is empty'
    for label, structure in seeds.items():
        message = structure_error(structure, f'seed `{label}`')
        if message:
            return message
    species = {symbol for structure in seeds.values() for symbol in structure.get_symbols_set()}
    if 'initial_data' in inputs:
        data_species = set(inputs['initial_data'].base.attributes.get('species'))
        if data_species != species:
            return f'the seeds hold {sorted(species)} but initial_data holds {sorted(data_species)}'
        if 'test_set' not in inputs:
            return 'a restart from initial_data needs its test_set too (the previous run’s `test_set` output)'
    else:
        try:
            family = load_pseudo_family(inputs['labelling']['pseudo_family'].value)
        except ValueError as exception:
            return str(exception)
        missing = species - set(family.elements)
        if missing:
            return (
                f'the seeds need pw.x labels, but pseudopotential family `{family.label}` has no pseudopotential '
                f'for {sorted(missing)}'
            )
    training = inputs['training']
    if training['num_models'].value < 2:
        return (
            f'exploration needs an ensemble of at least 2 models to measure a model deviation; training.num_models '
            f'is {training["num_models"].value}'
        )
    if inputs['max_iterations'].value < 1:
        return 'max_iterations must be at least 1'
    if not 0.0 < inputs['test_fraction'].value < 1.0:
        return f'test_fraction must lie strictly between 0 and 1, got {inputs["test_fraction"].value}'
    return None


class ActiveLearningWorkChain(FreshCodeMixin, ProtocolMixin, WorkChain):
    """Grow a DFT data set where an ensemble of models disagrees, iteration by iteration (DP-GEN's loop).

    The seeds' labels are split once, class by class, into a pool for training and a fixed test set (classes of one
    seed stay in training), so the ensemble's test errors
    compare across iterations; every later label joins the training pool. Each finished iteration attaches its record
    (``iterations.iter_NN``) and data set (``datasets.iter_NN``) at once, so a run that stops half-way can be
    continued by a new work chain given ``initial_data`` (the last data set), ``test_set`` and ``first_iteration``:
    see :meth:`get_builder_restart`.
    """

    _protocol_file = 'active_learning.yaml'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input_namespace(
            'seeds',
            valid_type=orm.StructureData,
            dynamic=True,
            help='Seed structures (Å) by label; the attribute `config_class` (or `config_classes`) names the class.',
        )
        spec.input('config_classes', valid_type=orm.Dict, required=False, help='Seed label to configuration class.')
        spec.input(
            'initial_data',
            valid_type=FrameSetData,
            required=False,
            help='Labelled frames to start from (a restart): the seeds are then explored but not labelled again.',
        )
        spec.input('test_set', valid_type=FrameSetData, required=False, help='Fixed test frames (with initial_data).')
        spec.input(
            'test_fraction',
            valid_type=orm.Float,
            default=lambda: orm.Float(0.2),
            help='Fraction of each class of the seeds’ labels held out as the fixed test set (classes of one seed '
            'stay in training).',
        )
        spec.input('first_iteration', valid_type=orm.Int, default=lambda: orm.Int(0), help='Index of the first one.')
        spec.input(
            'max_iterations', valid_type=orm.Int, default=lambda: orm.Int(3), help='Iterations at most (this run).'
        )
        spec.input(
            'exploration',
            valid_type=orm.Dict,
            help='temperatures (K), pressures (GPa), conditions_per_iteration, steps, timestep (fs), frame_interval '
            'and thermo_interval (steps), structures_per_class.',
        )
        spec.input(
            'selection',
            valid_type=orm.Dict,
            help='trust_lo and trust_hi (eV/Å on the max force deviation), max_candidates per iteration, seed of the '
            'draw, accurate_threshold (fraction per class for convergence).',
        )
        spec.input(
            'lammps_code',
            valid_type=orm.AbstractCode,
            required=False,
            help='LAMMPS (`lmp`): explores with DeePMD ensembles (pair_style deepmd); without it the runner does.',
        )
        spec.expose_inputs(
            LabellingWorkChain,
            namespace='labelling',
            exclude=('structures', 'config_classes'),
            namespace_options={'help': 'pw.x: code, pseudopotential family, namelists (Ry), k-spacing (1/Å).'},
        )
        spec.expose_inputs(
            TrainingWorkChain,
            namespace='training',
            exclude=('training_set', 'test_set'),
            namespace_options={'help': 'The ensemble: architecture, settings, num_models (>= 2), codes.'},
        )
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.setup,
            if_(cls.should_label_seeds)(cls.label_seeds, cls.inspect_seeds),
            while_(cls.should_iterate)(
                cls.train,
                cls.inspect_training,
                cls.explore,
                cls.select,
                if_(cls.has_candidates)(cls.label_candidates, cls.inspect_labels),
                cls.record_iteration,
            ),
            cls.finalize,
        )
        spec.output('dataset', valid_type=FrameSetData, help='Every DFT frame learnt (eV, eV/Å, eV/Å^3).')
        spec.output('test_set', valid_type=FrameSetData, help='The fixed test frames.')
        spec.output_namespace(
            'potentials', valid_type=orm.Data, dynamic=True, help='The last trained ensemble, model_00, ...'
        )
        spec.output_namespace(
            'iterations',
            valid_type=orm.Dict,
            dynamic=True,
            help='Per iteration (iter_NN): accurate/candidate/failed counts per class and per condition, test RMSEs '
            '(meV/atom, meV/Å, GPa), labels added.',
        )
        spec.output_namespace(
            'datasets', valid_type=FrameSetData, dynamic=True, help='Training data after each iteration (iter_NN).'
        )
        spec.output('summary', valid_type=orm.Dict, help='Iterations run, why the loop stopped, and their records.')
        spec.default_output_node = 'summary'
        spec.exit_code(401, 'ERROR_SEED_LABELLING_FAILED', message='No seed structure could be labelled: {message}')
        spec.exit_code(402, 'ERROR_TRAINING_FAILED', message='Training the ensemble failed: {message}')
        spec.exit_code(403, 'ERROR_EXPLORATION_FAILED', message='Exploration MD failed: {message}')

    @classmethod
    def get_builder_from_protocol(
        cls,
        codes: Mapping[str, orm.AbstractCode | str],
        seeds: Mapping[str, orm.StructureData] | None = None,
        protocol: str | None = None,
        overrides: dict | None = None,
        architecture: str | None = None,
    ):
        """Return a builder filled in from a protocol (``paper``, ``demo``, ``fast``).

        Parameters
        ----------
        codes
            ``pw`` (pw.x), ``train`` (``dp`` or ``nequip-train``, as the architecture needs), ``runner``
            (limlip-runner) and optionally ``lammps`` (lmp, for DeePMD exploration).
        seeds
            Label to seed structure (with a ``config_class`` attribute); default: the protocol's ``seeds`` settings
            of :func:`aiida_limlip.structures.seeds.generate_seeds` (bulk phases, strained, rattled, vacancy,
            interstitial, surfaces, adatoms).
        protocol
            Protocol name; see :meth:`get_available_protocols`.
        overrides
            Merged into the protocol: ``seeds``, ``exploration``, ``selection``, ``max_iterations``,
            ``labelling_protocol``, ``training_protocol``, ``num_models``, ``architecture``, ...
        architecture
            ``deepmd`` (default of the protocols), ``nequip32`` or ``nequip64``.

        Raises
        ------
        ValueError
            For an unknown protocol or override, a missing code, bad settings or an ensemble of one model.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        architecture = architecture or inputs['architecture']
        missing = {'pw', 'train', 'runner'} - set(codes)
        if missing:
            raise ValueError(f'missing code(s) {sorted(missing)}: give pw, train, runner (and lammps for DeePMD)')
        ExplorationSettings.from_dict(inputs['exploration'])
        SelectionSettings.from_dict(inputs['selection'])
        if inputs['num_models'] < 2:
            raise ValueError(
                f'exploration needs an ensemble of at least 2 models, got num_models={inputs["num_models"]}'
            )
        generated = seeds is None
        if generated:
            # Every check below runs on unstored copies; the calcfunction (with provenance) runs only once they pass.
            settings = SeedSettings.from_dict(inputs['seeds'])
            seeds = {
                label: orm.StructureData(ase=atoms)
                for label, _, atoms in generate_seeds(settings, inputs.get('seed', 0))
            }
        builder = cls.get_builder()
        labelling = LabellingWorkChain.get_builder_from_protocol(
            codes['pw'], dict(seeds), inputs['labelling_protocol'], inputs.get('labelling_overrides')
        )
        copy_builder_inputs(labelling, builder.labelling, exclude=('structures', 'config_classes'))
        placeholder = FrameSetData([_placeholder_frame(next(iter(seeds.values())))] * 3)
        training = TrainingWorkChain.get_builder_from_protocol(
            codes['train'],
            codes['runner'],
            placeholder,
            architecture,
            inputs['training_protocol'],
            inputs.get('training_overrides'),
            num_models=inputs['num_models'],
            compile_code=codes.get('compile'),
        )
        copy_builder_inputs(training, builder.training, exclude=('training_set', 'test_set'))
        if codes.get('lammps') is not None:
            builder.lammps_code = load_code(codes['lammps'], 'limlip.lammps')
        builder.exploration = orm.Dict(inputs['exploration'])
        builder.selection = orm.Dict(inputs['selection'])
        builder.max_iterations = orm.Int(inputs['max_iterations'])
        builder.test_fraction = orm.Float(inputs['test_fraction'])
        if generated:
            seeds = generate_seed_structures(orm.Dict(inputs['seeds']), orm.Int(inputs.get('seed', 0)))
        builder.seeds = dict(seeds)
        check_builder(builder)
        return builder

    @classmethod
    def get_builder_restart(cls, node: orm.WorkflowNode, max_iterations: int | None = None):
        """Return a builder that continues ``node`` from its last finished iteration (same settings and seeds).

        Raises
        ------
        ValueError
            If ``node`` finished no iteration (then simply submit it again).
        """
        datasets = node.outputs.datasets if 'datasets' in node.outputs else {}
        if not datasets:
            raise ValueError(f'{node.process_label}<{node.pk}> finished no iteration: nothing to continue from')
        last = max(datasets)
        builder = node.get_builder_restart()
        builder.initial_data = datasets[last]
        builder.test_set = _test_set_of(node)
        builder.first_iteration = orm.Int(int(last.split('_')[-1]) + 1)
        if max_iterations is not None:
            builder.max_iterations = orm.Int(max_iterations)
        return builder

    # -- the outline --------------------------------------------------------------------------------------------

    def setup(self):
        """Read the settings; start from the given data or from the seeds."""
        self.ctx.exploration = ExplorationSettings.from_dict(self.inputs.exploration.get_dict())
        self.ctx.selection = SelectionSettings.from_dict(self.inputs.selection.get_dict())
        self.ctx.iteration = self.inputs.first_iteration.value
        self.ctx.last = self.ctx.iteration + self.inputs.max_iterations.value
        self.ctx.stop_reason = None
        self.ctx.records = {}
        self.ctx.labelled = None
        self.ctx.label_failures = {}
        classes = self.inputs.config_classes.get_dict() if 'config_classes' in self.inputs else {}
        self.ctx.classes = {
            label: config_class_of(structure, classes, label) for label, structure in self.inputs.seeds.items()
        }
        self.ctx.starts = self._exploration_starts()
        if 'initial_data' in self.inputs:
            self.ctx.dataset = self.inputs.initial_data
            self.ctx.test_set = self.inputs.test_set
        self.report(
            f'{len(self.inputs.seeds)} seeds in classes {sorted(set(self.ctx.classes.values()))}; iterations '
            f'{self.ctx.iteration} to {self.ctx.last - 1} at most; T x P grid visited in '
            f'{self.ctx.exploration.num_blocks} block(s) of {self.ctx.exploration.conditions_per_iteration}'
        )

    def should_label_seeds(self) -> bool:
        """Label the seeds unless a data set was given."""
        return 'initial_data' not in self.inputs

    def label_seeds(self):
        """Label every seed with pw.x."""
        return self._submit_labelling(dict(self.inputs.seeds), 'label_seeds')

    def inspect_seeds(self):
        """Split the seeds' labels into the training pool and the fixed test set."""
        node = self.ctx.labelling
        if 'frames' not in node.outputs:
            return self.exit_codes.ERROR_SEED_LABELLING_FAILED.format(message=describe_failure(node))
        if not node.is_finished_ok:
            self.report(f'some seeds were left out: {describe_failure(node)}')
        frames = node.outputs.frames
        if frames.num_frames < 3:
            return self.exit_codes.ERROR_SEED_LABELLING_FAILED.format(
                message=f'only {frames.num_frames} seed(s) labelled; at least 3 are needed (training, test)'
            )
        parts = split_frame_set_by_class(frames, self.inputs.test_fraction, orm.Int(self.ctx.selection.seed))
        self.ctx.dataset, self.ctx.test_set = parts['train'], parts['test']
        self.report(f'seeds labelled: {self.ctx.dataset.num_frames} for training, {self.ctx.test_set.num_frames} test')
        return None

    def should_iterate(self) -> bool:
        """Go on until the loop stops or the iterations are used up."""
        if self.ctx.stop_reason is not None:
            return False
        if self.ctx.iteration >= self.ctx.last:
            self.ctx.stop_reason = 'max_iterations'
            return False
        return True

    def train(self):
        """Train the ensemble on the data so far, scored on the fixed test set."""
        inputs = self.exposed_inputs(TrainingWorkChain, 'training')
        inputs.update(
            training_set=self.ctx.dataset,
            test_set=self.ctx.test_set,
            metadata={'call_link_label': f'train_iter_{self.ctx.iteration:02d}'},
        )
        node = self.submit(TrainingWorkChain, **inputs)
        self.report(
            f'iteration {self.ctx.iteration}: training {inputs["num_models"].value} {inputs["architecture"].value} '
            f'models on {self.ctx.dataset.num_frames} frames in {node.process_label}<{node.pk}>'
        )
        self.to_context(training=node)

    def inspect_training(self):
        """Keep the ensemble; a model that failed leaves the others (two at least)."""
        node = self.ctx.training
        potentials = dict(node.outputs.potentials) if 'potentials' in node.outputs else {}
        if len(potentials) < 2:
            return self.exit_codes.ERROR_TRAINING_FAILED.format(message=describe_failure(node))
        self.ctx.potentials = potentials
        return None

    def explore(self):
        """Run the MD of this iteration's conditions from the seeds of every class, with the ensemble's deviation."""
        settings = self.ctx.exploration
        conditions = settings.conditions(self.ctx.iteration)
        labels = sorted(self.ctx.potentials)
        first, ensemble = self.ctx.potentials[labels[0]], {k: self.ctx.potentials[k] for k in labels[1:]}
        codes = {'ase': self.inputs.training.runner_code}
        if 'lammps_code' in self.inputs:
            codes['lammps'] = self.inputs.lammps_code
        starts = self.ctx.starts
        chosen = sorted(starts)
        self.ctx.runs = {}
        groups: dict[tuple, dict] = {}
        for index, (temperature, pressure) in enumerate(conditions):
            for label in chosen:
                seed = starts[label]
                constant_volume = self.ctx.classes[label] in SLAB_CLASSES or not is_orthorhombic(seed.get_ase())
                key = f'c{index}_{label}'
                self.ctx.runs[key] = {
                    'config_class': self.ctx.classes[label],
                    'temperature': temperature,
                    'pressure': None if constant_volume else pressure,
                    'seed_label': label,
                }
                group = groups.setdefault((index, constant_volume), {})
                group[key] = seed
        for (index, constant_volume), structures in groups.items():
            temperature, pressure = conditions[index]
            parameters = md_parameters(settings, temperature, pressure, constant_volume, self.ctx.iteration + 1)
            inputs = build_evaluation_inputs(codes, 'md', first, parameters, ensemble=ensemble)
            inputs.update(
                task=orm.Str('md'),
                structures=structures,
                # A model far from its data blows up whatever the time step: its frames are the failed candidates.
                retry_md=orm.Bool(False),
                metadata={'call_link_label': f'explore_c{index}_{"nvt" if constant_volume else "npt"}'},
            )
            node = self.submit(EvaluationWorkChain, **inputs)
            self.to_context(**{f'explore.c{index}_{"nvt" if constant_volume else "npt"}': node})
        self.report(
            f'iteration {self.ctx.iteration}: exploring {len(chosen)} seeds x {len(conditions)} conditions '
            f'({", ".join(condition_key(t, p) for t, p in conditions)}) in {len(groups)} MD batch(es)'
        )

    def select(self):
        """Classify every sampled frame and choose the candidates; decide whether the loop stops."""
        arrays = {}
        for node in self.ctx.explore.values():
            # A run that blew up (poor models far from their data: what exploration is for) still returns the frames
            # it sampled; they count, most as failed. Only a run without any frame is left out.
            jobs = [node] if node.is_finished_ok else [job for job in node.called if 'model_deviation' in job.outputs]
            for job in jobs:
                for key in job.outputs.model_deviation:
                    if key in job.outputs.trajectory:
                        arrays[f'trajectory_{key}'] = job.outputs.trajectory[key]
                        arrays[f'deviation_{key}'] = job.outputs.model_deviation[key]
            if not node.is_finished_ok:
                self.report(
                    f'iteration {self.ctx.iteration}: some exploration MD stopped early: {describe_failure(node)}'
                )
        runs = {key: run for key, run in self.ctx.runs.items() if f'deviation_{key}' in arrays}
        lost = sorted(set(self.ctx.runs) - set(runs))
        if not runs:
            failed = [describe_failure(node) for node in self.ctx.explore.values() if not node.is_finished_ok]
            return self.exit_codes.ERROR_EXPLORATION_FAILED.format(message='; '.join(failed) or 'no frame sampled')
        if lost:
            self.report(f'iteration {self.ctx.iteration}: runs without any sampled frame: {", ".join(lost)}')
        selection = dict(self.ctx.selection.as_dict(), seed=self.ctx.selection.seed + self.ctx.iteration)
        outputs = select_candidates(
            orm.Dict(selection),
            orm.Dict(runs),
            **arrays,
            metadata={'call_link_label': f'select_iter_{self.ctx.iteration:02d}'},
        )
        self.ctx.statistics = outputs['statistics']
        self.ctx.candidates = {
            f'i{self.ctx.iteration:02d}_{key[len("candidate_") :]}': node
            for key, node in outputs.items()
            if key.startswith('candidate_')
        }
        stats = self.ctx.statistics.get_dict()
        overall = stats['overall']
        self.report(
            f'iteration {self.ctx.iteration}: {overall["total"]} frames: {overall["accurate"]} accurate, '
            f'{overall["candidate"]} candidates, {overall["failed"]} failed; labelling {len(self.ctx.candidates)}'
            + (f'; stop: {stats["stop_reason"]}' if stats['stop_reason'] else '')
        )
        self.ctx.stop_reason = stats['stop_reason']
        return None

    def has_candidates(self) -> bool:
        """Label only if the loop goes on and there is something to label."""
        return self.ctx.stop_reason is None and bool(self.ctx.candidates)

    def label_candidates(self):
        """Label the chosen frames with pw.x."""
        return self._submit_labelling(self.ctx.candidates, f'label_iter_{self.ctx.iteration:02d}')

    def inspect_labels(self):
        """Merge the new labels into the training pool; frames whose SCF failed are left out (see the report)."""
        node = self.ctx.labelling
        self.ctx.label_failures = {
            link.link_label[len('scf_') :]: describe_failure(link.node)
            for link in node.base.links.get_outgoing(link_label_filter='scf_%').all()
            if not link.node.is_finished_ok
        }
        if 'frames' not in node.outputs:
            self.report(f'iteration {self.ctx.iteration}: no candidate could be labelled: {describe_failure(node)}')
            return
        if not node.is_finished_ok:
            self.report(f'iteration {self.ctx.iteration}: some candidates were left out: {describe_failure(node)}')
        self.ctx.labelled = node.outputs.frames
        self.ctx.dataset = merge_frame_sets(
            a_pool=self.ctx.dataset, b_new=node.outputs.frames, metadata={'call_link_label': 'merge'}
        )

    def record_iteration(self):
        """Attach this iteration's record and data set, then move on."""
        labelled = {'labelled': self.ctx.labelled} if self.ctx.labelled is not None else {}
        record = summarize_iteration(
            orm.Int(self.ctx.iteration),
            self.ctx.statistics,
            self.ctx.training.outputs.summary,
            self.ctx.training.inputs.training_set,
            orm.Dict(self.ctx.label_failures),
            **labelled,
            metadata={'call_link_label': f'summarize_iter_{self.ctx.iteration:02d}'},
        )
        key = f'iter_{self.ctx.iteration:02d}'
        self.out(f'iterations.{key}', record)
        self.out(f'datasets.{key}', self.ctx.dataset)
        self.ctx.records[key] = record
        errors = record['test_errors']
        self.report(
            f'iteration {self.ctx.iteration} done: accurate fraction '
            f'{record["exploration"]["overall"]["accurate_fraction"]:.2f}, '
            f'{record["labels_added"]} labels added, test force RMSE {errors["forces"]} meV/Å'
        )
        self.ctx.labelled = None
        self.ctx.label_failures = {}
        self.ctx.iteration += 1

    def finalize(self):
        """Attach the data, the last ensemble and the summary."""
        self.out('dataset', self.ctx.dataset)
        self.out('test_set', self.ctx.test_set)
        for label, potential in self.ctx.potentials.items():
            self.out(f'potentials.{label}', potential)
        summary = summarize_loop(
            orm.Str(self.ctx.stop_reason), **self.ctx.records, metadata={'call_link_label': 'summarize'}
        )
        self.out('summary', summary)
        self.report(f'stopped after {len(self.ctx.records)} iteration(s): {self.ctx.stop_reason}')

    # -- helpers --------------------------------------------------------------------------------------------------

    def _exploration_starts(self) -> dict:
        """Return the MD start of every explored seed: ``structures_per_class`` per class, repeated to min_atoms."""
        settings = self.ctx.exploration
        per_class: dict[str, list[str]] = {}
        for label in sorted(self.inputs.seeds):
            per_class.setdefault(self.ctx.classes[label], []).append(label)
        chosen = [label for labels in per_class.values() for label in labels[: settings.structures_per_class]]
        starts = {label: self.inputs.seeds[label] for label in chosen}
        if settings.min_atoms and any(len(seed.sites) < settings.min_atoms for seed in starts.values()):
            starts = exploration_cells(
                orm.Int(settings.min_atoms),
                orm.Dict({label: self.ctx.classes[label] for label in starts}),
                **starts,
                metadata={'call_link_label': 'exploration_cells'},
            )
        return dict(starts)

    def _submit_labelling(self, structures: dict, link: str):
        inputs = self.exposed_inputs(LabellingWorkChain, 'labelling')
        inputs.update(structures=structures, metadata={'call_link_label': link})
        node = self.submit(LabellingWorkChain, **inputs)
        self.report(f'labelling {len(structures)} structures with pw.x in {node.process_label}<{node.pk}>')
        self.to_context(labelling=node)


def _placeholder_frame(structure: orm.StructureData):
    """Return a frame that lets the training builder be made before any data exists (it is replaced)."""
    return FrameSetData.make_frame(structure.get_ase(), 0.0)


def _test_set_of(node: orm.WorkflowNode) -> FrameSetData:
    if 'test_set' in node.outputs:
        return node.outputs.test_set
    if 'test_set' in node.inputs:
        return node.inputs.test_set
    query = orm.QueryBuilder().append(orm.WorkflowNode, filters={'id': node.pk}, tag='al')
    query.append(TrainingWorkChain, with_incoming='al', tag='train')
    query.append(FrameSetData, with_outgoing='train', edge_filters={'label': 'test_set'}, project='*')
    results = query.all(flat=True)
    if not results:
        raise ValueError(f'{node.process_label}<{node.pk}> has no test set to continue with')
    return results[0]
