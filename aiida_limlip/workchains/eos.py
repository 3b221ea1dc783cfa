"""``EquationOfStateWorkChain``: lattice constant and bulk modulus of a crystal for any potential."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain, if_

from ..calcfunctions.eos import fit_equation_of_state
from ..calculations.runner import RunnerCalculation, validate_species
from ..data.potential import PotentialData
from ..protocols import ProtocolMixin
from .common import DEFAULT_OPTIONS, check_species, load_code


def validate_inputs(inputs: dict, _) -> str | None:
    """Check that the potential covers the structure's species and that the E-V grid can be fitted."""
    message = validate_species({'structure': inputs['structure']}, inputs['potential'])
    if message:
        return message
    parameters = inputs['eos'].get('parameters')
    if parameters is not None and len(parameters.get('volume_strains', [None] * 5)) < 5:
        return 'eos.parameters.volume_strains needs at least 5 values for a Birch-Murnaghan fit'
    return None


class EquationOfStateWorkChain(ProtocolMixin, WorkChain):
    """Relax a crystal, evaluate an E-V grid in one runner job, and fit the Birch-Murnaghan equation of state."""

    _protocol_file = 'eos.yaml'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The crystal (Å).')
        spec.input('potential', valid_type=PotentialData, help='The interatomic potential.')
        spec.expose_inputs(
            RunnerCalculation,
            namespace='relax',
            exclude=('structures', 'potential', 'task'),
            namespace_options={
                'required': False,
                'populate_defaults': False,
                'help': 'Inputs of the cell and position relaxation (runner task `relax`); omit to skip it.',
            },
        )
        spec.expose_inputs(
            RunnerCalculation,
            namespace='eos',
            exclude=('structures', 'potential', 'task'),
            namespace_options={'help': 'Inputs of the E-V grid evaluation (runner task `eos`).'},
        )
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.setup,
            if_(cls.should_relax)(cls.run_relax, cls.inspect_relax),
            cls.run_eos,
            cls.inspect_eos,
            cls.fit,
        )
        spec.output('relaxed_structure', valid_type=orm.StructureData, required=False, help='Relaxed crystal (Å).')
        spec.output(
            'eos_data',
            valid_type=orm.ArrayData,
            help='The E-V grid: `volumes` (Å^3), `energies` (eV), `pressures` (eV/Å^3) of the cell.',
        )
        spec.output('lattice_constant', valid_type=orm.Float, help='Equilibrium conventional lattice constant (Å).')
        spec.output('bulk_modulus', valid_type=orm.Float, help='Bulk modulus B0 (GPa).')
        spec.output('bulk_modulus_derivative', valid_type=orm.Float, help="Pressure derivative B0' (dimensionless).")
        spec.output('energy_per_atom', valid_type=orm.Float, help='Equilibrium energy E0 per atom (eV/atom).')
        spec.output('results', valid_type=orm.Dict, help='All fitted quantities with their units.')
        spec.default_output_node = 'results'
        spec.exit_code(401, 'ERROR_RELAX_FAILED', message='The relaxation failed: {message}')
        spec.exit_code(402, 'ERROR_EOS_FAILED', message='The E-V grid evaluation failed: {message}')
        spec.exit_code(403, 'ERROR_FIT_FAILED', message='The equation-of-state fit failed: {message}')

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode | str,
        structure: orm.StructureData,
        potential: PotentialData,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
    ):
        """Return a builder filled in from a protocol.

        Parameters
        ----------
        code
            The ``limlip-runner`` code (node or label, e.g. ``'limlip-runner@localhost'``).
        structure
            The crystal.
        potential
            The potential; must cover every element of ``structure``.
        protocol
            ``paper``, ``fast`` (default) or ``demo``; see :meth:`get_available_protocols`.
        overrides
            Nested dictionary merged into the protocol inputs (e.g. ``{'eos': {'parameters': {...}}}``); a
            ``relax: null`` entry skips the relaxation.
        options
            Scheduler options (``metadata.options``) applied to every runner job.

        Raises
        ------
        ValueError
            For an unknown protocol, a missing or wrong code, or a structure the potential does not cover.
        """
        code = load_code(code, 'limlip.run')
        check_species(structure, potential)
        inputs = cls.get_protocol_inputs(protocol, overrides)

        builder = cls.get_builder()
        builder.structure = structure
        builder.potential = potential
        for namespace in ('relax', 'eos'):
            if inputs.get(namespace) is None:
                continue
            sub = builder[namespace]
            sub.code = code
            sub.parameters = orm.Dict(inputs[namespace].get('parameters', {}))
            sub.metadata.options = {
                **DEFAULT_OPTIONS,
                **inputs[namespace].get('metadata', {}).get('options', {}),
                **(options or {}),
            }
        return builder

    def setup(self):
        """Start from the input structure."""
        self.ctx.structure = self.inputs.structure

    def should_relax(self) -> bool:
        """Relax only if relaxation inputs were given."""
        return 'relax' in self.inputs and 'code' in self.inputs.relax

    def run_relax(self):
        """Relax positions and cell of the structure."""
        inputs = self.exposed_inputs(RunnerCalculation, 'relax')
        inputs.update(
            potential=self.inputs.potential, structures={'crystal': self.ctx.structure}, task=orm.Str('relax')
        )
        inputs.setdefault('metadata', {})['call_link_label'] = 'relax'
        node = self.submit(RunnerCalculation, **inputs)
        self.report(f'relaxing the cell and positions in {node.process_label}<{node.pk}>')
        return ToContext(relax=node)

    def inspect_relax(self):
        """Take the relaxed structure."""
        node = self.ctx.relax
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_RELAX_FAILED.format(
                message=f'{node.process_label}<{node.pk}> {node.exit_message}'
            )
        self.ctx.structure = node.outputs.structures.crystal
        frame = node.outputs.results['frames']['crystal']
        self.report(
            f'relaxed in {frame["steps"]} steps to V = {frame["volume"]:.4f} Å^3 '
            f'({frame["natoms"]} atoms), E = {frame["energy"]:.6f} eV'
        )
        return None

    def run_eos(self):
        """Evaluate the whole E-V grid in one runner job."""
        inputs = self.exposed_inputs(RunnerCalculation, 'eos')
        inputs.update(potential=self.inputs.potential, structures={'crystal': self.ctx.structure}, task=orm.Str('eos'))
        inputs.setdefault('metadata', {})['call_link_label'] = 'eos'
        node = self.submit(RunnerCalculation, **inputs)
        self.report(f'evaluating the E-V grid in {node.process_label}<{node.pk}>')
        return ToContext(eos=node)

    def inspect_eos(self):
        """Check the E-V job."""
        node = self.ctx.eos
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_EOS_FAILED.format(
                message=f'{node.process_label}<{node.pk}> {node.exit_message}'
            )
        volumes = node.outputs.arrays.get_array('volumes')[0]
        self.report(f'E-V grid: {len(volumes)} volumes from {volumes.min():.3f} to {volumes.max():.3f} Å^3')
        return None

    def fit(self):
        """Fit Birch-Murnaghan and attach the results."""
        outputs, node = fit_equation_of_state.run_get_node(
            self.ctx.eos.outputs.arrays, self.ctx.structure, metadata={'call_link_label': 'fit'}
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_FIT_FAILED.format(message=node.exit_message)
        # Every output is attached here, after the last step that can fail: a failed run has no partial results.
        if self.should_relax():
            self.out('relaxed_structure', self.ctx.structure)
        self.out('eos_data', self.ctx.eos.outputs.arrays)
        for key, value in outputs.items():
            self.out(key, value)
        results = outputs['results']
        self.report(
            f'Birch-Murnaghan: a0 = {results["lattice_constant"]:.4f} Å, B0 = {results["bulk_modulus"]:.2f} GPa, '
            f"B0' = {results['bulk_modulus_derivative']:.2f}, E0 = {results['energy_per_atom']:.5f} eV/atom"
        )
        return None
