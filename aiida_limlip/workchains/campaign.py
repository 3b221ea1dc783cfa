"""``CampaignWorkChain`` (``limlip.campaign``): the whole study as one work chain for the daemon.

Stages, each a work chain a user can also run alone, each switchable off with ``stages``:

1. ``active_learning``: ``ActiveLearningWorkChain`` grows the DFT data set (pw.x labels, ensembles, MD exploration).
2. ``training``: production ``TrainingWorkChain`` of every architecture given (NequIP32, NequIP64, DeePMD), each an
   ensemble of ``num_models`` on the final data, all scored on the same fixed test set.
3. ``benchmark``: ``BenchmarkWorkChain``: Table 1 and Fig. 1 for every trained model and the baselines (SNAP, MEAM)
   against the DFT column; then each ensemble's mean and spread (``table_ensemble``), the uncertainty a user needs to
   see which predictions the data do not pin down. The DFT column and the baselines need no trained model: they
   start with the campaign (``early_columns``, a ``BenchmarkWorkChain`` of their own) and run in the cores the first
   stages leave idle. Table 1 takes their results as ``computed`` (links to the pw.x runs and the baselines' jobs
   kept); only the baselines' test-set errors, which need the final test set, run with the models.

4. ``finite_temperature``: Fig. 2, per column ``ThermalExpansionWorkChain``, then ``FiniteTemperatureElasticWorkChain``
   at the temperatures where the box stayed cubic.
5. ``surface_kinetics``: Fig. 3, per column ``AdsorptionEnergySurfaceWorkChain`` and ``EhrlichSchwoebelWorkChain``,
   then ``SurfaceDiffusionWorkChain`` from the adsorption minima.

The last two run for the ``columns`` their settings name (trained models ``<Architecture>_mNN`` or baselines; by
default every trained model and baseline), each at its own equilibrium lattice from the benchmark when that ran.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiida import orm
from aiida.engine import ToContext, WorkChain, calcfunction, if_
from ase.build import bulk

from ..analysis import ensembles, tables
from ..analysis.structures import conventional_cell
from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData, find_lammps_potentials_dir
from ..protocols import ProtocolMixin
from .active_learning import ActiveLearningWorkChain
from .benchmark import DFT_COLUMN, BenchmarkWorkChain
from .common import FreshCodeMixin, check_builder, copy_builder_inputs, describe_failure, load_code
from .properties import PROPERTIES as REGISTRY
from .training import ARCHITECTURES, TrainingWorkChain

STAGES = ('active_learning', 'training', 'benchmark', 'finite_temperature', 'surface_kinetics')
#: The property work chains of the figure stages, in the order they run (registry names).
FIGURE_STAGES = {
    'finite_temperature': ('thermal_expansion', 'elastic_t'),
    'surface_kinetics': ('spes', 'ehrlich_schwoebel', 'surface_diffusion'),
}
#: Table 1 column name of each architecture.
COLUMN_NAMES = {'nequip32': 'NequIP32', 'nequip64': 'NequIP64', 'deepmd': 'DeePMD'}
#: The element the seed generators and pseudopotentials cover.
ELEMENTS = ('Li',)


def validate_inputs(inputs: dict, _) -> str | None:
    """Check the stages and that each has what it needs before anything is submitted."""
    stages = inputs['stages'].get_list()
    unknown = set(stages) - set(STAGES)
    if unknown:
        return f'unknown stage(s) {sorted(unknown)}; choose from {", ".join(STAGES)}'
    if not stages:
        return 'no stage to run: `stages` is empty'
    if 'active_learning' in stages and not inputs.get('active_learning'):
        return 'the active_learning stage needs the `active_learning` inputs'
    if 'active_learning' not in stages and 'training' in stages and 'dataset' not in inputs:
        return 'without active learning, training needs a `dataset` (and a `test_set`)'
    trained = [arch for arch in ARCHITECTURES if inputs.get(arch)]
    if 'training' in stages and not trained:
        return f'the training stage needs at least one of the namespaces {", ".join(ARCHITECTURES)}'
    if 'benchmark' in stages and not inputs.get('benchmark'):
        return 'the benchmark stage needs the `benchmark` inputs'
    for name in inputs.get('baselines') or {}:
        if name in COLUMN_NAMES.values():
            return f'baseline `{name}` has the name of a trained column; name it otherwise'
    for stage in FIGURE_STAGES:
        if stage not in stages:
            continue
        if stage not in inputs:
            return f'the {stage} stage needs its `{stage}` settings (protocol, columns, overrides)'
        message = figure_stage_error(stage, inputs[stage].get_dict(), inputs, 'training' in stages)
        if message:
            return message
    return None


def figure_stage_error(stage: str, settings: dict, inputs: dict, trains: bool) -> str | None:
    """Return why the settings of a figure stage cannot run, or None: keys, protocol, overrides and columns."""
    unknown = set(settings) - {'protocol', 'columns', 'overrides'}
    if unknown:
        return f'{stage}: unknown setting(s) {sorted(unknown)}; give protocol, columns and overrides'
    overrides = settings.get('overrides') or {}
    extra = set(overrides) - set(FIGURE_STAGES[stage])
    if extra:
        return f'{stage}: overrides for {sorted(extra)}; the stage runs {", ".join(FIGURE_STAGES[stage])}'
    for prop in FIGURE_STAGES[stage]:
        try:
            REGISTRY[prop].process_class.get_protocol_inputs(settings.get('protocol'), overrides.get(prop))
        except ValueError as exception:
            return f'{stage}, {prop}: {exception}'
    columns = settings.get('columns')
    baselines = set(inputs.get('baselines') or {})
    if columns is not None:
        if not columns:
            return f'{stage}: `columns` is empty; leave it out for every trained model'
        named = {column for column in columns if column not in baselines}
        if named and not trains:
            return f'{stage}: columns {sorted(named)} are neither baselines nor trained here (no training stage)'
        bad = [column for column in named if column.rsplit('_m', 1)[0] not in COLUMN_NAMES.values()]
        if bad:
            return f'{stage}: unknown column(s) {sorted(bad)}; trained columns are <Architecture>_mNN, or a baseline'
    elif not trains and not baselines:
        return f'{stage}: no column to run: neither a training stage nor baselines'
    if 'runner_code' not in inputs:
        return f'{stage} needs the `runner_code`'
    return None


class CampaignWorkChain(FreshCodeMixin, ProtocolMixin, WorkChain):
    """Active learning -> production training -> Table 1 and Fig. 1 with ensemble uncertainties, in one process."""

    _protocol_file = 'campaign.yaml'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'stages',
            valid_type=orm.List,
            default=lambda: orm.List(list(STAGES)),
            help=f'The stages to run, in their fixed order: {", ".join(STAGES)}.',
        )
        spec.input(
            'structure', valid_type=orm.StructureData, help='One-atom primitive cell of the crystal (Å), a guess.'
        )
        spec.expose_inputs(
            ActiveLearningWorkChain,
            namespace='active_learning',
            namespace_options={'required': False, 'populate_defaults': False, 'help': 'The data-generation loop.'},
        )
        spec.input(
            'dataset', valid_type=FrameSetData, required=False, help='Without active learning: the training data.'
        )
        spec.input('test_set', valid_type=FrameSetData, required=False, help='Without active learning: test frames.')
        for architecture in ARCHITECTURES:
            spec.expose_inputs(
                TrainingWorkChain,
                namespace=architecture,
                exclude=('training_set', 'test_set'),
                namespace_options={
                    'required': False,
                    'populate_defaults': False,
                    'help': f'Production training of the {COLUMN_NAMES[architecture]} ensemble (num_models models).',
                },
            )
        spec.input_namespace(
            'baselines',
            valid_type=PotentialData,
            dynamic=True,
            required=False,
            help='Potentials benchmarked beside the trained ones, by column name (SNAP, MEAM).',
        )
        spec.expose_inputs(
            BenchmarkWorkChain,
            namespace='benchmark',
            exclude=('potentials', 'test_set', 'structure'),
            namespace_options={
                'required': False,
                'populate_defaults': False,
                'help': 'Table 1: protocol, properties, DFT column (dft_code or dft_reference), runner code.',
            },
        )
        spec.input(
            'runner_code',
            valid_type=orm.AbstractCode,
            required=False,
            help='limlip-runner: the ASE engine of the figure stages (and of every potential LAMMPS cannot run).',
        )
        spec.input(
            'lammps_code',
            valid_type=orm.AbstractCode,
            required=False,
            help='LAMMPS: the MD engine of the figure stages for SNAP, MEAM and DeePMD.',
        )
        for stage, props in FIGURE_STAGES.items():
            spec.input(
                stage,
                valid_type=orm.Dict,
                required=False,
                help=f'Settings of the {stage} stage: `protocol` (paper, fast, demo), `columns` (default: every '
                f'trained model and baseline) and `overrides` per work chain ({", ".join(props)}).',
            )
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.setup,
            if_(cls.run_columns_early)(cls.run_early_columns),
            if_(cls.run_stage_active_learning)(cls.run_active_learning, cls.inspect_active_learning),
            if_(cls.run_stage_training)(cls.run_training, cls.inspect_training),
            if_(cls.run_stage_benchmark)(cls.await_early_columns, cls.run_benchmark, cls.inspect_benchmark),
            if_(cls.run_stage_finite_temperature)(
                cls.run_thermal_expansion, cls.run_elastic_t, cls.inspect_finite_temperature
            ),
            if_(cls.run_stage_surface_kinetics)(
                cls.run_adsorption_and_steps, cls.run_surface_diffusion, cls.inspect_surface_kinetics
            ),
            cls.finalize,
        )
        spec.expose_outputs(ActiveLearningWorkChain, namespace='active_learning', namespace_options={'required': False})
        spec.output_namespace(
            'potentials', valid_type=orm.Data, dynamic=True, required=False, help='Trained models, e.g. DeePMD_m00.'
        )
        spec.output_namespace(
            'training',
            valid_type=orm.Dict,
            dynamic=True,
            required=False,
            help='Per architecture: test RMSE of each model and their mean and spread (meV/atom, meV/Å, GPa).',
        )
        spec.output('table', valid_type=orm.Dict, required=False, help='Table 1 with one column per model.')
        spec.output(
            'table_ensemble',
            valid_type=orm.Dict,
            required=False,
            help='Table 1 with each ensemble as mean ± sample standard deviation over its models (`spread`).',
        )
        spec.output('figure', valid_type=orm.SinglefileData, required=False, help='Fig. 1 as PNG.')
        spec.output_namespace(
            'finite_temperature',
            valid_type=orm.Dict,
            dynamic=True,
            required=False,
            help='Fig. 2 per column: `<column>.thermal_expansion` (a(T), Å) and `<column>.elastic_t` (C_ij(T), GPa).',
        )
        spec.output_namespace(
            'surface_kinetics',
            valid_type=orm.Dict,
            dynamic=True,
            required=False,
            help='Fig. 3 per column: `<column>.spes` (adsorption energies, eV), `<column>.surface_diffusion` (NEB '
            'barriers, eV) and `<column>.ehrlich_schwoebel` (step barriers, eV).',
        )
        for stage, figure in (('finite_temperature', 'Fig. 2'), ('surface_kinetics', 'Fig. 3')):
            spec.output(
                f'{stage}_ensemble',
                valid_type=orm.Dict,
                required=False,
                help=f'{figure} per ensemble: mean, sample std and number of models of every headline number '
                '(a in Å, C_ij in GPa, energies and barriers in eV), and `markdown`.',
            )
        spec.output('summary', valid_type=orm.Dict, help='Stages run, their processes and wall times (s).')
        spec.default_output_node = 'summary'
        spec.exit_code(401, 'ERROR_ACTIVE_LEARNING_FAILED', message='Active learning failed: {message}')
        spec.exit_code(402, 'ERROR_TRAINING_FAILED', message='Production training failed: {message}')
        spec.exit_code(403, 'ERROR_BENCHMARK_FAILED', message='The benchmark failed: {message}')
        spec.exit_code(404, 'ERROR_FIGURE_STAGE_FAILED', message='The {stage} stage failed for every column: {message}')
        spec.exit_code(
            405,
            'ERROR_STAGES_INCOMPLETE',
            message='Every stage ran, but some results are missing (see the report): {failed}.',
        )

    @classmethod
    def get_builder_from_protocol(
        cls,
        codes: Mapping[str, orm.AbstractCode | str],
        protocol: str | None = None,
        overrides: dict | None = None,
        element: str = 'Li',
        baselines: Mapping[str, PotentialData] | None = None,
    ):
        """Return a builder of the whole study from a protocol (``paper``, ``demo``, ``fast``).

        Parameters
        ----------
        codes
            ``pw``, ``runner``, ``lammps``, ``dp`` and ``nequip`` (nequip-train), optionally ``nequip_compile``.
        protocol
            Protocol name; see :meth:`get_available_protocols`.
        overrides
            Merged into the protocol: ``stages``, ``active_learning`` (protocol and overrides), ``architectures``
            (architecture -> {protocol, num_models, overrides}), ``benchmark`` (protocol, properties, ...).
        element
            The element; only Li has seed generators and a pseudopotential family.
        baselines
            Column name -> potential; default SNAP (Zuo 2020) and the MEAM shipped with LAMMPS.

        Raises
        ------
        ValueError
            For another element, an unknown protocol, stage or override key, or a missing code.
        """
        if element not in ELEMENTS:
            raise ValueError(f'element {element!r} is not supported: the seeds and pseudopotentials cover {ELEMENTS}')
        inputs = cls.get_protocol_inputs(protocol, overrides)
        stages = list(inputs['stages'])
        unknown = set(stages) - set(STAGES)
        if unknown:
            raise ValueError(f'unknown stage(s) {sorted(unknown)}; choose from {", ".join(STAGES)}')
        builder = cls.get_builder()
        builder.stages = orm.List(stages)
        builder.structure = orm.StructureData(ase=bulk(element, 'bcc', a=inputs['lattice_constant']))
        train_codes = {'deepmd': codes.get('dp'), 'nequip32': codes.get('nequip'), 'nequip64': codes.get('nequip')}
        if 'active_learning' in stages:
            settings = inputs['active_learning']
            architecture = settings.get('overrides', {}).get('architecture', 'deepmd')
            al = ActiveLearningWorkChain.get_builder_from_protocol(
                {
                    'pw': codes.get('pw'),
                    'train': train_codes[architecture],
                    'runner': codes.get('runner'),
                    'lammps': codes.get('lammps'),
                },
                protocol=settings['protocol'],
                overrides=settings.get('overrides'),
            )
            copy_builder_inputs(al, builder.active_learning)
        if 'training' in stages:
            placeholder = FrameSetData([FrameSetData.make_frame(bulk(element, 'bcc', a=3.4), 0.0)] * 3)
            for architecture, settings in inputs['architectures'].items():
                if architecture not in ARCHITECTURES:
                    raise ValueError(f'unknown architecture {architecture!r}; choose from {", ".join(ARCHITECTURES)}')
                training = TrainingWorkChain.get_builder_from_protocol(
                    train_codes[architecture],
                    codes.get('runner'),
                    placeholder,
                    architecture,
                    settings['protocol'],
                    settings.get('overrides'),
                    num_models=settings['num_models'],
                    compile_code=codes.get('nequip_compile'),
                )
                copy_builder_inputs(training, builder[architecture], exclude=('training_set', 'test_set'))
        figures = [stage for stage in FIGURE_STAGES if stage in stages]
        if 'benchmark' in stages or figures:
            if baselines is None:
                directory = find_lammps_potentials_dir()
                baselines = {
                    'SNAP': PotentialData.from_snap_zuo2020(directory),
                    'MEAM': PotentialData.from_meam(directory / 'library.meam', None, [element]),
                }
            builder.baselines = {name: potential.get_or_store() for name, potential in baselines.items()}
        if 'benchmark' in stages:
            settings = inputs['benchmark']
            builder.benchmark.runner_code = load_code(codes.get('runner'), 'limlip.run')
            builder.benchmark.protocol = orm.Str(settings['protocol'])
            builder.benchmark.properties = orm.List(settings['properties'])
            if settings.get('dft_reference'):
                builder.benchmark.dft_reference = orm.Dict(settings['dft_reference'])
            elif codes.get('pw') is not None:
                builder.benchmark.dft_code = load_code(codes['pw'], 'quantumespresso.pw')
                builder.benchmark.dft_properties = orm.List(settings.get('dft_properties', []))
            if settings.get('overrides'):
                builder.benchmark.overrides = orm.Dict(settings['overrides'])
        if figures:
            builder.runner_code = load_code(codes.get('runner'), 'limlip.run')
            if codes.get('lammps') is not None:
                builder.lammps_code = load_code(codes['lammps'], 'limlip.lammps')
            for stage in figures:
                builder[stage] = orm.Dict(inputs[stage])
        check_builder(builder)
        return builder

    def setup(self):
        """Note the stages and when each starts."""
        self.ctx.stages = self.inputs.stages.get_list()
        self.ctx.timeline = {}
        if 'dataset' in self.inputs:
            self.ctx.dataset = self.inputs.dataset
            self.ctx.test_set = self.inputs.test_set if 'test_set' in self.inputs else None
        self.ctx.potentials = {}
        self.ctx.cubic_cells, self.ctx.figure_failures, self.ctx.incomplete = {}, [], []
        self.report(f'campaign stages: {", ".join(s for s in STAGES if s in self.ctx.stages)}')

    def run_stage_active_learning(self) -> bool:
        """Whether the stage runs."""
        return 'active_learning' in self.ctx.stages

    def run_stage_training(self) -> bool:
        """Whether the stage runs."""
        return 'training' in self.ctx.stages

    def run_stage_benchmark(self) -> bool:
        """Whether the stage runs."""
        return 'benchmark' in self.ctx.stages

    def run_stage_finite_temperature(self) -> bool:
        """Whether the stage runs."""
        return 'finite_temperature' in self.ctx.stages

    def run_stage_surface_kinetics(self) -> bool:
        """Whether the stage runs."""
        return 'surface_kinetics' in self.ctx.stages

    def run_columns_early(self) -> bool:
        """Whether Table 1 has columns that need no trained model (pw.x's, the baselines): they start now."""
        benchmark = self.inputs.get('benchmark', {})
        return 'benchmark' in self.ctx.stages and ('dft_code' in benchmark or bool(self.inputs.get('baselines')))

    def run_early_columns(self):
        """Start Table 1's DFT column and baselines without awaiting them: they need no trained model.

        Their jobs fill the cores the labelling and training leave idle, instead of lengthening Table 1's critical
        path after the production training (the demo's pw.x equation of state alone took 5 of the campaign's 19 min;
        SNAP's and MEAM's 14 small jobs and 60 processes another minute of the daemon's time).
        """
        inputs = self.exposed_inputs(BenchmarkWorkChain, 'benchmark')
        baselines = dict(self.inputs.get('baselines', {}))
        if not baselines:
            inputs.pop('runner_code', None)
        inputs.update(
            structure=self.inputs.structure, potentials=baselines, metadata={'call_link_label': 'early_columns'}
        )
        node = self.submit(BenchmarkWorkChain, **inputs)
        self.ctx.early_columns_pk = node.pk
        columns = [*baselines, *([DFT_COLUMN] if 'dft_code' in inputs else [])]
        self.report(
            f'Table 1 columns {", ".join(columns)} in {node.process_label}<{node.pk}>, alongside the stages before the '
            'benchmark'
        )

    def await_early_columns(self):
        """Await the early columns, if they were started."""
        if 'early_columns_pk' in self.ctx:
            return ToContext(early_columns=orm.load_node(self.ctx.early_columns_pk))
        return None

    def _early_results(self) -> dict[str, dict[str, orm.Dict]]:
        """Return the results of the early columns' finished property work chains, by column and property."""
        node = self.ctx.early_columns
        if not node.is_finished_ok:
            self.report(f'early Table 1 columns incomplete: {describe_failure(node)}')
            self.ctx.incomplete.append(f'early columns ({describe_failure(node)})')
        results: dict[str, dict[str, orm.Dict]] = {}
        for link in node.base.links.get_outgoing(node_class=orm.WorkflowNode).all():
            prop, _, column = link.link_label.partition('_')
            if prop not in REGISTRY or not link.node.is_finished_ok:
                continue
            entry = REGISTRY[prop]
            outputs = results.setdefault(column, {})
            for output, name in ((prop, entry.results), *((figure, figure) for figure in entry.figure)):
                if name in link.node.outputs:
                    outputs[output] = link.node.outputs[name]
        return {column: outputs for column, outputs in results.items() if 'eos' in outputs}

    def run_active_learning(self):
        """Grow the data set."""
        inputs = self.exposed_inputs(ActiveLearningWorkChain, 'active_learning')
        inputs['metadata'] = {'call_link_label': 'active_learning'}
        node = self.submit(ActiveLearningWorkChain, **inputs)
        self.report(f'stage active_learning: {node.process_label}<{node.pk}>')
        self.to_context(active_learning=node)

    def inspect_active_learning(self):
        """Expose the loop's outputs and take its data set."""
        node = self.ctx.active_learning
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ACTIVE_LEARNING_FAILED.format(message=describe_failure(node))
        self.out_many(self.exposed_outputs(node, ActiveLearningWorkChain, namespace='active_learning'))
        self.ctx.dataset, self.ctx.test_set = node.outputs.dataset, node.outputs.test_set
        summary = node.outputs.summary
        self.report(
            f'active learning: {summary["num_iterations"]} iteration(s), stopped by {summary["stop_reason"]}; '
            f'{self.ctx.dataset.num_frames} training and {self.ctx.test_set.num_frames} test frames'
        )
        return None

    def run_training(self):
        """Train every architecture's ensemble on the final data, side by side."""
        for architecture in ARCHITECTURES:
            if not self.inputs.get(architecture):
                continue
            inputs = self.exposed_inputs(TrainingWorkChain, architecture)
            inputs.update(training_set=self.ctx.dataset, metadata={'call_link_label': f'train_{architecture}'})
            if self.ctx.test_set is not None:
                inputs['test_set'] = self.ctx.test_set
            node = self.submit(TrainingWorkChain, **inputs)
            self.report(f'stage training: {COLUMN_NAMES[architecture]} in {node.process_label}<{node.pk}>')
            self.to_context(**{f'training.{architecture}': node})

    def inspect_training(self):
        """Collect every trained model as a Table 1 column ``<Architecture>_mNN``."""
        failed = [node for node in self.ctx.training.values() if 'potentials' not in node.outputs]
        if failed:
            return self.exit_codes.ERROR_TRAINING_FAILED.format(message=describe_failure(failed[0]))
        for architecture, node in self.ctx.training.items():
            self.out(f'training.{architecture}', node.outputs.summary)
            for label, potential in sorted(node.outputs.potentials.items()):
                column = f'{COLUMN_NAMES[architecture]}_m{label.split("_")[-1]}'
                self.ctx.potentials[column] = potential
                self.out(f'potentials.{column}', potential)
        return None

    def run_benchmark(self):
        """Table 1 and Fig. 1 for every model and baseline."""
        inputs = self.exposed_inputs(BenchmarkWorkChain, 'benchmark')
        baselines = dict(self.inputs.get('baselines', {}))
        if 'early_columns' in self.ctx:
            inputs.pop('dft_code', None)
            early = self._early_results()
            # A baseline whose equation of state failed early is left out (the early columns' failure says why).
            baselines = {name: potential for name, potential in baselines.items() if name in early}
            inputs['computed'] = early
        potentials = {**self.ctx.potentials, **baselines}
        inputs.update(structure=self.inputs.structure, potentials=potentials, metadata={'call_link_label': 'benchmark'})
        if self.ctx.get('test_set') is not None:
            inputs['test_set'] = self.ctx.test_set
        node = self.submit(BenchmarkWorkChain, **inputs)
        self.report(f'stage benchmark: {len(potentials)} columns in {node.process_label}<{node.pk}>')
        self.to_context(benchmark=node)

    def inspect_benchmark(self):
        """Expose Table 1 and add the ensemble table (mean ± spread per architecture)."""
        node = self.ctx.benchmark
        if 'table' not in node.outputs:
            return self.exit_codes.ERROR_BENCHMARK_FAILED.format(message=describe_failure(node))
        if not node.is_finished_ok:
            # The table has what finished; the campaign goes on to the figures and ends with 405, not 0.
            self.report(f'benchmark incomplete: {describe_failure(node)}')
            self.ctx.incomplete.append(f'benchmark ({describe_failure(node)})')
        self.out('table', node.outputs.table)
        if 'figure' in node.outputs:
            self.out('figure', node.outputs.figure)
        present = set(node.outputs.table['columns'])  # a model whose equation of state failed is not in the table
        groups = ensemble_groups(column for column in self.ctx.potentials if column in present)
        if groups:
            ensemble = ensemble_table(
                node.outputs.table, orm.Dict(groups), metadata={'call_link_label': 'table_ensemble'}
            )
            self.out('table_ensemble', ensemble)
            self.report('Table 1 (ensembles: mean ± std):\n' + ensemble['markdown'])
        return None

    # -- the figure stages -------------------------------------------------------------------------------------------

    def _figure_columns(self, stage: str) -> dict[str, PotentialData]:
        """Return the potentials of a figure stage by column: the settings' ``columns``, or every model and baseline."""
        available = {**self.ctx.potentials, **dict(self.inputs.get('baselines', {}))}
        columns = self.inputs[stage].get('columns')
        if columns is None:
            return available
        return {column: available[column] for column in columns if column in available}

    def _equilibrium(self, column: str) -> orm.StructureData:
        """Return the conventional cubic cell at the column's equilibrium (the benchmark's), or at the input guess."""
        eos = None
        for key in ('benchmark', 'early_columns'):  # the baselines' equations of state ran early
            benchmark = self.ctx.get(key)
            if benchmark is not None and eos is None:
                eos = next(
                    (link.node for link in benchmark.base.links.get_outgoing(link_label_filter=f'eos_{column}').all()),
                    None,
                )
        source = eos.outputs.equilibrium_structure if eos is not None and eos.is_finished_ok else self.inputs.structure
        key = f'cubic_{column}'
        if key not in self.ctx.cubic_cells:
            self.ctx.cubic_cells[key] = conventional_cubic_cell(source, metadata={'call_link_label': key})
        return self.ctx.cubic_cells[key]

    def _figure_builder(self, stage: str, prop: str, column: str, potential: PotentialData, **extra):
        settings = self.inputs[stage].get_dict()
        codes = {'ase': self.inputs.runner_code}
        if 'lammps_code' in self.inputs:
            codes['lammps'] = self.inputs.lammps_code
        builder = REGISTRY[prop].process_class.get_builder_from_protocol(
            codes,
            self._equilibrium(column),
            potential,
            protocol=settings.get('protocol'),
            overrides=(settings.get('overrides') or {}).get(prop),
            **extra,
        )
        builder.metadata.call_link_label = f'{prop}_{column}'
        return builder

    def _submit_figure(self, stage: str, prop: str, column: str, potential: PotentialData, **extra) -> None:
        try:
            builder = self._figure_builder(stage, prop, column, potential, **extra)
        except ValueError as exception:  # e.g. a model without stress for the elastic constants
            self.ctx.figure_failures.append(f'{prop} of {column}: {exception}')
            self.report(f'{prop} of {column} not run: {exception}')
            return
        node = self.submit(builder)
        self.to_context(**{f'{stage}.{prop}__{column}': node})

    def run_thermal_expansion(self):
        """Fig. 2, first half: NPT MD of every column at the protocol's temperatures."""
        self.ctx.figure_columns = self._figure_columns('finite_temperature')
        for column, potential in self.ctx.figure_columns.items():
            self._submit_figure('finite_temperature', 'thermal_expansion', column, potential)
        self.report(f'stage finite_temperature: thermal expansion of {", ".join(self.ctx.figure_columns)}')

    def run_elastic_t(self):
        """Fig. 2, second half: strained NVT MD at the temperatures where the box stayed cubic."""
        for column, potential in self.ctx.figure_columns.items():
            node = self.ctx.get('finite_temperature', {}).get(f'thermal_expansion__{column}')
            if node is None or not node.is_finished_ok:
                continue
            lattice = node.outputs.lattice_constants
            cubic = lattice.get_array('temperatures')[lattice.get_array('cubic')].tolist()
            if not cubic:
                self.report(f'{column}: the box is cubic at no temperature; no elastic constants against T')
                continue
            self._submit_figure(
                'finite_temperature',
                'elastic_t',
                column,
                potential,
                lattice_constants=lattice,
                temperatures=orm.List([float(t) for t in cubic]),
            )

    def inspect_finite_temperature(self):
        """Expose every column's results; the stage fails only if no column has any."""
        return self._expose_figure('finite_temperature')

    def run_adsorption_and_steps(self):
        """Fig. 3: the adsorption energy surfaces and the Ehrlich-Schwoebel barriers of every column."""
        self.ctx.figure_columns = self._figure_columns('surface_kinetics')
        for column, potential in self.ctx.figure_columns.items():
            for prop in ('spes', 'ehrlich_schwoebel'):
                self._submit_figure('surface_kinetics', prop, column, potential)
        self.report(f'stage surface_kinetics: adsorption and step barriers of {", ".join(self.ctx.figure_columns)}')

    def run_surface_diffusion(self):
        """Fig. 3: NEB between the adsorption minima of every column whose adsorption surface finished."""
        for column, potential in self.ctx.figure_columns.items():
            node = self.ctx.get('surface_kinetics', {}).get(f'spes__{column}')
            if node is None or not node.is_finished_ok:
                continue
            self._submit_figure(
                'surface_kinetics',
                'surface_diffusion',
                column,
                potential,
                adsorption=node.outputs.results,
                minima=node.outputs.minima,
            )

    def inspect_surface_kinetics(self):
        """Expose every column's results; the stage fails only if no column has any."""
        return self._expose_figure('surface_kinetics')

    def _expose_figure(self, stage: str):
        nodes = self.ctx.get(stage, {})
        failed = list(self.ctx.figure_failures)
        self.ctx.figure_failures = []
        exposed = 0
        for key, node in sorted(nodes.items()):
            prop, column = key.split('__', 1)
            if node.is_finished_ok:
                self.out(f'{stage}.{column}.{prop}', node.outputs[REGISTRY[prop].results])
                exposed += 1
            else:
                failed.append(f'{prop} of {column}')
                self.report(f'{prop} of {column} failed: {describe_failure(node)}')
        if not exposed:
            return self.exit_codes.ERROR_FIGURE_STAGE_FAILED.format(stage=stage, message='; '.join(failed) or '-')
        self.report(f'stage {stage}: {exposed} result(s)' + (f'; failed: {", ".join(failed)}' if failed else ''))
        self.ctx.incomplete += failed
        self._expose_figure_ensembles(stage, nodes)
        return None

    def _expose_figure_ensembles(self, stage: str, nodes: Mapping[str, orm.ProcessNode]) -> None:
        """Add the mean and spread of the headline numbers of each ensemble (columns ``<name>_m<NN>``)."""
        results, keys = {}, {}
        for key, node in sorted(nodes.items()):
            prop, column = key.split('__', 1)
            if node.is_finished_ok and re.fullmatch(ENSEMBLE_MEMBER, column):  # not the baselines
                results[f'{prop}_{column}'] = node.outputs[REGISTRY[prop].results]
                keys[f'{prop}_{column}'] = [prop, column]
        groups = ensemble_groups({column for _, column in keys.values()})
        if not groups:
            return
        spread = figure_ensemble(
            orm.Dict(groups), orm.Dict(keys), **results, metadata={'call_link_label': f'{stage}_ensemble'}
        )
        self.out(f'{stage}_ensemble', spread)
        self.report(f'{stage} (ensembles: mean ± std (n)):\n' + spread['markdown'])

    def finalize(self):
        """Summarize the stages: their processes and wall times."""
        stages = {}
        for stage in STAGES:
            nodes = self.ctx.get(stage)
            if nodes is None:
                continue
            nodes = dict(nodes) if isinstance(nodes, Mapping) else {stage: nodes}
            stages[stage] = {label: _process_record(node) for label, node in nodes.items()}
        if 'early_columns' in self.ctx and 'benchmark' in stages:
            stages['benchmark']['early_columns'] = _process_record(self.ctx.early_columns)
        self.out('summary', campaign_summary(orm.Dict({'stages': stages}), metadata={'call_link_label': 'summary'}))
        if self.ctx.incomplete:
            return self.exit_codes.ERROR_STAGES_INCOMPLETE.format(failed=', '.join(self.ctx.incomplete))
        return None


#: A model of an ensemble as a column: ``<Architecture>_m<NN>``.
ENSEMBLE_MEMBER = r'(.+)_m\d+'


def ensemble_groups(columns) -> dict[str, list[str]]:
    """Return each ensemble's member columns (``<name>_m<NN>`` -> ``<name>``), sorted; other columns are left out."""
    groups: dict[str, list[str]] = {}
    for column in sorted(columns):
        match = re.fullmatch(ENSEMBLE_MEMBER, column)
        if match:
            groups.setdefault(match.group(1), []).append(column)
    return groups


def _process_record(node: orm.ProcessNode) -> dict:
    """Return a stage's process for the summary: pk, uuid, wall time (s, creation to last change) and success."""
    return {
        'pk': node.pk,
        'uuid': node.uuid,
        'wall_time': (node.mtime - node.ctime).total_seconds(),
        'ok': node.is_finished_ok,
    }


@calcfunction
def ensemble_table(table: orm.Dict, groups: orm.Dict) -> orm.Dict:
    """Return Table 1 with each ensemble's columns replaced by their mean and sample standard deviation."""
    result = tables.ensemble_table(table.get_dict(), groups.get_dict())
    result['markdown'] = tables.to_markdown(result)
    result['csv'] = tables.to_csv(result)
    return orm.Dict(result)


@calcfunction
def figure_ensemble(groups: orm.Dict, keys: orm.Dict, **results: orm.Dict) -> orm.Dict:
    """Return each ensemble's mean and spread of the headline numbers of a figure stage.

    ``keys`` maps each input label to ``[property, column]``; ``groups`` maps an ensemble to its columns.
    """
    headlines: dict[str, dict[str, dict[str, float]]] = {}
    for label, (prop, column) in keys.get_dict().items():
        headlines.setdefault(column, {})[prop] = ensembles.figure_headlines(prop, results[label].get_dict())
    spread = ensembles.ensemble_spread(headlines, groups.get_dict())
    return orm.Dict({'ensembles': spread, 'markdown': ensembles.spread_markdown(spread)})


@calcfunction
def conventional_cubic_cell(structure: orm.StructureData) -> orm.StructureData:
    """Return the conventional standard cell of ``structure`` (for bcc the 2-atom cube the MD supercells repeat)."""
    return orm.StructureData(ase=conventional_cell(structure.get_ase()))


@calcfunction
def campaign_summary(stages: orm.Dict) -> orm.Dict:
    """Return the campaign's record: the process and wall time (s) of each stage."""
    return orm.Dict(stages.get_dict())
