"""``BenchmarkWorkChain``: the paper's Table 1 (and Fig. 1) for a set of potentials, against DFT, from the graph."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiida import orm
from aiida.engine import ToContext, WorkChain, while_

from ..calcfunctions.benchmark import assemble_benchmark
from ..calculations.common import species_error, structure_error
from ..data.frame_set import FrameSetData
from ..data.potential import PotentialData
from .common import FreshCodeMixin, check_builder, describe_failure, load_code, pop_terminated
from .prediction_errors import PredictionErrorsWorkChain
from .properties import PROPERTIES as REGISTRY
from .properties.eos import EquationOfStateWorkChain

#: Properties computed at each column's equilibrium lattice, after its equation of state.
PROPERTIES = ('elastic', 'vacancy', 'surfaces', 'phonons')
DFT_COLUMN = 'DFT'
#: The outputs ``computed`` may hold per column: the results of each property and the figure outputs (registry names).
COMPUTED_OUTPUTS = ('eos', *PROPERTIES, 'errors', *(name for p in PROPERTIES for name in REGISTRY[p].figure))


def computed_error(computed, dft: bool) -> str | None:
    """Return why the ``computed`` results (column -> output -> node) cannot stand for their columns, or None."""
    for column, outputs in (computed or {}).items():
        message = column_name_error(column)
        if message:
            return f'computed: {message}'
        if not isinstance(outputs, Mapping):
            return f'computed: give column `{column}` as {{output: results node}}, e.g. {{"eos": ...}}'
        unknown = sorted(set(outputs) - set(COMPUTED_OUTPUTS))
        if unknown:
            return f'computed: `{column}` has unknown outputs {unknown}; choose from {", ".join(COMPUTED_OUTPUTS)}'
        if 'eos' not in outputs:
            return f'computed: column `{column}` has no `eos`; every column of Table 1 has its lattice'
        if column == DFT_COLUMN and dft:
            return f'computed: the `{DFT_COLUMN}` column is both given and to be computed (dft_code or dft_reference)'
    return None


def column_name_error(name: str) -> str | None:
    """Return an error message if ``name`` cannot be a column (it names links in the graph), else None."""
    if name.isidentifier() and '__' not in name:
        return None
    fixed = re.sub(r'_+', '_', re.sub(r'\W', '_', name))
    fixed = fixed if fixed.isidentifier() else f'_{fixed}'
    return (
        f'column name `{name}` must be a valid Python identifier (letters, digits and single underscores, not '
        f'starting with a digit), as it labels links in the graph, where `__` separates namespaces: e.g. `{fixed}`'
    )


def validate_inputs(inputs: dict, ctx) -> str | None:
    """Check potentials, properties, the DFT source, the protocol and the structure before anything runs.

    Exposed without ``potentials`` and ``structure`` (the campaign adds its own), the rest is checked here.
    """
    if 'protocol' not in inputs:
        return None  # an optional exposed namespace that was not given
    potentials = inputs.get('potentials') or {}
    if not potentials and 'dft_code' not in inputs and not inputs.get('computed') and 'potentials' in ctx:
        return 'nothing to benchmark: give potentials and/or a dft_code'
    if DFT_COLUMN in potentials:
        return f'`{DFT_COLUMN}` is the name of the DFT column; label the potential otherwise'
    for name in potentials:
        message = column_name_error(name)
        if message:
            return message
    for name, properties in (('properties', inputs['properties']), ('dft_properties', inputs['dft_properties'])):
        unknown = set(properties.get_list()) - set(PROPERTIES)
        if unknown:
            return f'{name}: unknown {sorted(unknown)}; choose from {", ".join(PROPERTIES)} (eos always runs)'
    if 'dft_code' in inputs and 'dft_reference' in inputs:
        return 'give either dft_code (compute the DFT column) or dft_reference (take it from existing results)'
    message = computed_error(inputs.get('computed'), 'dft_code' in inputs or 'dft_reference' in inputs)
    if message:
        return message
    protocol = inputs['protocol'].value
    if protocol not in EquationOfStateWorkChain.get_available_protocols():
        return (
            f'unknown protocol {protocol!r}; available: {", ".join(EquationOfStateWorkChain.get_available_protocols())}'
        )
    structure = inputs.get('structure')
    if structure is None:
        return None
    if len(structure.sites) != 1:
        return 'give the one-atom primitive cell of the elemental crystal (phonons use it as the unit cell)'
    message = structure_error(structure, 'structure')
    if message:
        return message
    for name, potential in potentials.items():
        message = species_error(structure.get_symbols_set(), potential)
        if message:
            return f'potential `{name}`: {message}'
        if 'elastic' in inputs['properties'].get_list() and not potential.supports_stress:
            return f'potential `{name}` does not predict stress, which elastic constants need'
    return None


class BenchmarkWorkChain(FreshCodeMixin, WorkChain):
    """Table 1 and Fig. 1 for several potentials and DFT, each property at each column's own equilibrium lattice.

    The equation of state of every column (potentials, and DFT with pw.x) runs first; then elastic constants, vacancy,
    surfaces + Wulff and phonons at that column's equilibrium structure, and the test-set errors, all in parallel.
    Each column goes on as soon as its own equation of state ends: a potential's properties do not wait for the
    DFT column's SCFs, which left a core idle for a minute in the demo campaign.
    """

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'structure', valid_type=orm.StructureData, help='One-atom primitive cell of the crystal (Å), a guess.'
        )
        spec.input_namespace(
            'potentials',
            valid_type=PotentialData,
            dynamic=True,
            required=False,
            help='The potentials, by column name (e.g. NequIP64, DeePMD, SNAP, MEAM).',
        )
        spec.input('runner_code', valid_type=orm.AbstractCode, required=False, help='The limlip-runner code.')
        spec.input('test_set', valid_type=FrameSetData, required=False, help='Labelled frames for the RMSE rows.')
        spec.input('dft_code', valid_type=orm.AbstractCode, required=False, help='pw.x: compute the DFT column.')
        spec.input(
            'dft_reference',
            valid_type=orm.Dict,
            required=False,
            help='Instead of dft_code: DFT values by Table 1 row key (Å, eV, GPa, eV/Å^2), e.g. from an earlier run.',
        )
        spec.input_namespace(
            'computed',
            valid_type=orm.Dict,
            dynamic=True,
            required=False,
            help='Columns computed earlier (e.g. the baselines, beside active learning): per column, the results of '
            'its property work chains by output (`SNAP.eos`, `SNAP.phonon_data`, ...; units as in each results). '
            'They are not computed again; a potential of the same name only gets its test-set errors.',
        )
        spec.input('protocol', valid_type=orm.Str, default=lambda: orm.Str('fast'), help='paper, fast or demo.')
        spec.input(
            'properties',
            valid_type=orm.List,
            default=lambda: orm.List(list(PROPERTIES)),
            help='Properties for the potentials besides the equation of state: elastic, vacancy, surfaces, phonons.',
        )
        spec.input(
            'dft_properties',
            valid_type=orm.List,
            default=lambda: orm.List(['elastic']),
            help='Properties for the DFT column besides the equation of state (slabs and supercells are costly).',
        )
        spec.input(
            'overrides',
            valid_type=orm.Dict,
            required=False,
            help='Protocol overrides per property work chain: {"eos": {...}, "surfaces": {...}, ...}.',
        )
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.setup,
            cls.run_eos,
            while_(cls.eos_pending)(
                cls.await_eos,
                cls.run_properties,
            ),
            cls.inspect_eos,
            cls.await_properties,
            cls.inspect_properties,
            cls.assemble,
        )
        spec.output('table', valid_type=orm.Dict, help='Table 1: values, % errors vs DFT, notes, Markdown and CSV.')
        spec.output('figure', valid_type=orm.SinglefileData, required=False, help='Fig. 1 as PNG.')
        spec.exit_code(401, 'ERROR_EOS_FAILED', message='The equation of state failed for every column: {columns}.')
        spec.exit_code(402, 'ERROR_PROPERTIES_FAILED', message='Some properties failed: {failed}; table incomplete.')

    @classmethod
    def get_builder_from_protocol(
        cls,
        runner_code: orm.AbstractCode | str | None,
        structure: orm.StructureData,
        potentials: dict[str, PotentialData],
        protocol: str = 'fast',
        test_set: FrameSetData | None = None,
        dft_code: orm.AbstractCode | str | None = None,
        dft_reference: dict | orm.Dict | None = None,
        properties: list[str] | None = None,
        dft_properties: list[str] | None = None,
        overrides: dict | None = None,
        computed: dict[str, dict[str, orm.Dict]] | None = None,
    ):
        """Return a builder; every input is checked here, before anything is submitted.

        ``computed`` holds columns computed earlier: column -> output (``eos``, ``phonon_data``, ...) -> node.

        Raises
        ------
        ValueError
            For a missing or wrong code, an unknown protocol or property, a structure a potential does not cover, or
            a potential without stress when elastic constants are asked for.
        """
        for name in potentials:
            message = column_name_error(name)
            if message:
                raise ValueError(message)
        builder = cls.get_builder()
        builder.structure = structure
        builder.potentials = dict(potentials)
        if potentials:
            builder.runner_code = load_code(runner_code, 'limlip.run')
        if test_set is not None:
            builder.test_set = test_set
        if dft_code is not None:
            builder.dft_code = load_code(dft_code, 'quantumespresso.pw')
        if dft_reference is not None:
            # A stored Dict (e.g. from ``assemble_dft_column``) is used as it is, keeping its provenance.
            builder.dft_reference = dft_reference if isinstance(dft_reference, orm.Dict) else orm.Dict(dft_reference)
        builder.protocol = orm.Str(protocol)
        builder.properties = orm.List(list(PROPERTIES) if properties is None else properties)
        builder.dft_properties = orm.List(['elastic'] if dft_properties is None else dft_properties)
        if overrides:
            builder.overrides = orm.Dict(overrides)
        if computed:
            builder.computed = {column: dict(outputs) for column, outputs in computed.items()}
        check_builder(builder)
        return builder

    def setup(self):
        """List the columns to compute: each potential, and DFT if computed; those given as ``computed`` are not."""
        self.ctx.computed = sorted(self.inputs.get('computed', {}))
        potentials = dict(self.inputs.get('potentials', {}))
        self.ctx.columns = {name: p for name, p in potentials.items() if name not in self.ctx.computed}
        # A computed column still gets its test-set errors when its potential is given: the test set may be newer.
        self.ctx.errors_only = {name: p for name, p in potentials.items() if name in self.ctx.computed}
        if 'dft_code' in self.inputs:
            self.ctx.columns[DFT_COLUMN] = None
        self.ctx.overrides = self.inputs.overrides.get_dict() if 'overrides' in self.inputs else {}
        self.report(f'benchmarking {", ".join(self.ctx.columns)} with protocol `{self.inputs.protocol.value}`')
        if self.ctx.computed:
            self.report(f'taking {", ".join(self.ctx.computed)} as computed')

    def _builder(self, prop: str, column: str, structure: orm.StructureData):
        """Return the builder of property ``prop`` for ``column`` from the protocol and the overrides."""
        potential = self.ctx.columns[column]
        code = self.inputs.dft_code if potential is None else self.inputs.runner_code
        return REGISTRY[prop].process_class.get_builder_from_protocol(
            code, structure, potential, protocol=self.inputs.protocol.value, overrides=self.ctx.overrides.get(prop)
        )

    def run_eos(self):
        """Find each column's equilibrium lattice; the runner's columns are expected to end before pw.x's."""
        self.ctx.eos_pending = {}
        for column in self.ctx.columns:
            builder = self._builder('eos', column, self.inputs.structure)
            builder.metadata.call_link_label = f'eos_{column}'
            self.ctx.eos_pending[column] = self.submit(builder).pk
        # Await the cheap columns first: pw.x's is last in the order, so its SCFs never hold a potential's properties.
        self.ctx.eos_order = sorted(self.ctx.eos_pending, key=lambda column: self.ctx.columns[column] is None)
        self.ctx.eos = {}
        self.ctx.property_pks = {}
        self.ctx.not_run = []
        self.report(f'equation of state for {len(self.ctx.columns)} columns')
        for column, potential in self.ctx.errors_only.items():
            self._run_errors(column, potential)

    def eos_pending(self) -> bool:
        """Whether a column's equation of state has not been seen to end."""
        return bool(self.ctx.eos_pending)

    def await_eos(self):
        """Await the next column's equation of state in the expected order (others that end meanwhile are taken too)."""
        column = next(column for column in self.ctx.eos_order if column in self.ctx.eos_pending)
        return ToContext(awaited_eos=orm.load_node(self.ctx.eos_pending[column]))

    def run_properties(self):
        """For every column whose equation of state ended: its properties and test-set errors, without waiting."""
        for column, node in pop_terminated(self.ctx.eos_pending).items():
            self.ctx.eos[column] = node
            if not node.is_finished_ok:
                continue  # reported and left out by ``inspect_eos``
            self.report(f'{column}: a0 = {node.outputs.lattice_constant.value:.4f} Å; submitting its properties')
            potential = self.ctx.columns[column]
            structure = node.outputs.equilibrium_structure
            wanted = self.inputs.dft_properties if potential is None else self.inputs.properties
            for prop in wanted.get_list():
                try:
                    builder = self._builder(prop, column, structure)
                except ValueError as exception:
                    # The equilibrium a potential found may not suit a property (a model whose crystal is no longer
                    # cubic has no C11, C12, C44): that cell stays empty, the rest of the table goes on.
                    self.ctx.not_run.append(f'{prop} of {column}')
                    self.report(f'{prop} of {column} not run: {exception}')
                    continue
                builder.metadata.call_link_label = f'{prop}_{column}'
                self.ctx.property_pks.setdefault(prop, {})[column] = self.submit(builder).pk
            if potential is not None:
                self._run_errors(column, potential)

    def _run_errors(self, column: str, potential: PotentialData) -> None:
        """Submit the test-set errors of ``column``, if there is a test set."""
        if 'test_set' not in self.inputs:
            return
        builder = PredictionErrorsWorkChain.get_builder_from_protocol(
            self.inputs.runner_code, potential, self.inputs.test_set, protocol=self.inputs.protocol.value
        )
        builder.metadata.call_link_label = f'errors_{column}'
        self.ctx.property_pks.setdefault('errors', {})[column] = self.submit(builder).pk

    def inspect_eos(self):
        """Every column needs its equilibrium structure: a column whose EOS failed is left out of the table.

        A poor model (say, an early ensemble member) must not take the other columns down; the work chain then ends
        with 402 and names it. If every column failed there is no table (401).
        """
        failed = [column for column, node in self.ctx.eos.items() if not node.is_finished_ok]
        for column in failed:
            self.report(f'{column} left out: {describe_failure(self.ctx.eos[column])}')
            self.ctx.columns.pop(column)
        self.ctx.failed_eos = [f'eos of {column}' for column in failed]
        if not self.ctx.columns and not self.ctx.computed:
            return self.exit_codes.ERROR_EOS_FAILED.format(columns=', '.join(failed))
        return None

    def await_properties(self):
        """Await every property work chain that was submitted."""
        count = sum(len(columns) for columns in self.ctx.property_pks.values())
        self.report(f'awaiting {count} property work chains')
        return ToContext(
            **{
                f'properties.{prop}.{column}': orm.load_node(pk)
                for prop, columns in self.ctx.property_pks.items()
                for column, pk in columns.items()
            }
        )

    def inspect_properties(self):
        """Note the failures; the table is assembled from what succeeded."""
        self.ctx.failed = list(self.ctx.failed_eos) + list(self.ctx.not_run)
        for prop, columns in self.ctx.get('properties', {}).items():
            for column, node in columns.items():
                if not node.is_finished_ok:
                    self.ctx.failed.append(f'{prop} of {column}')
                    self.report(f'{prop} of {column} failed: {describe_failure(node)}')

    def assemble(self):
        """Build Table 1 and Fig. 1 from the results nodes."""
        rerun = self.ctx.get('properties', {}).get('errors', {})
        nodes = {
            f'{output}__{column}': node
            for column, outputs in self.inputs.get('computed', {}).items()
            for output, node in outputs.items()
            if not (output == 'errors' and column in rerun)  # the errors on this run's test set replace them
        }
        runs = {
            'eos': {column: node for column, node in self.ctx.eos.items() if column in self.ctx.columns},
            **{prop: dict(runs) for prop, runs in self.ctx.get('properties', {}).items()},
        }
        for prop, columns in runs.items():
            entry = REGISTRY[prop]
            for column, node in columns.items():
                if not node.is_finished_ok:
                    continue
                nodes[f'{prop}__{column}'] = node.outputs[entry.results]
                for output in entry.figure:
                    nodes[f'{output}__{column}'] = node.outputs[output]
        reference = ''
        if DFT_COLUMN in self.ctx.columns or DFT_COLUMN in self.ctx.computed:
            reference = DFT_COLUMN
        elif 'dft_reference' in self.inputs:
            nodes[f'reference__{DFT_COLUMN}'] = self.inputs.dft_reference
            reference = DFT_COLUMN
        outputs = assemble_benchmark(orm.Str(reference), **nodes, metadata={'call_link_label': 'table'})
        for key, value in outputs.items():
            self.out(key, value)
        self.report('Table 1:\n' + outputs['table']['markdown'])
        if self.ctx.failed:
            return self.exit_codes.ERROR_PROPERTIES_FAILED.format(failed=', '.join(self.ctx.failed))
        return None
