"""``EquationOfStateWorkChain``: lattice constant and bulk modulus of a crystal, for any potential or DFT."""

from __future__ import annotations

from aiida import orm
from aiida.engine import if_

from ...calcfunctions.eos import collect_eos_data, fit_equation_of_state, volume_scaled_structures
from ...data.potential import PotentialData
from ...runner.tasks import get_task
from ..common import describe_failure
from .base import PropertyWorkChain


class EquationOfStateWorkChain(PropertyWorkChain):
    """Optionally relax the crystal, evaluate an E-V grid in one batch, and fit the Birch-Murnaghan equation of state.

    The relaxation (cell and positions, runner task ``relax``) is for potentials; with pw.x, start from a structure
    near the DFT minimum and let the grid bracket it.
    """

    _protocol_file = 'eos.yaml'
    _evaluation_task = 'singlepoint'
    _dft_shared_mesh = True
    _batch_name = 'volumes'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'relax_parameters',
            valid_type=orm.Dict,
            required=False,
            help='Parameters of the runner task `relax` (relax_cell, fmax in eV/Å, ...) for a relaxation of the cell '
            'and positions before the grid; potentials only. Omit to evaluate the grid around the input structure.',
        )
        spec.input(
            'volume_strains',
            valid_type=orm.List,
            help='Fractional volume changes V/V_input - 1 of the E-V grid (at least 5, bracketing the minimum).',
        )
        spec.outline(
            if_(cls.should_relax)(cls.run_relax, cls.inspect_relax),
            cls.generate,
            cls.run_evaluation,
            cls.fit,
        )
        spec.output('relaxed_structure', valid_type=orm.StructureData, required=False, help='Relaxed crystal (Å).')
        spec.output(
            'equilibrium_structure',
            valid_type=orm.StructureData,
            help='The crystal scaled to the fitted equilibrium volume V0 (Å); the start for other properties.',
        )
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

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Check the grid has 5 volumes or more, and the relaxation's parameters (potentials only)."""
        strains = inputs.get('volume_strains')
        if strains is not None and len(strains.get_list()) < 5:
            return 'volume_strains needs at least 5 values for a Birch-Murnaghan fit'
        if strains is not None and min(strains.get_list()) <= -1:
            return 'volume_strains must be larger than -1 (a positive volume)'
        if 'relax_parameters' in inputs:
            if potential is None:
                return 'relax_parameters relax with a potential; omit them for pw.x'
            try:
                get_task('relax').validate(inputs['relax_parameters'].get_dict())
            except ValueError as exception:
                return f'relax_parameters: {exception}'
        return None

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the grid and, for potentials, the relaxation (a ``relax_parameters: null`` override skips it)."""
        builder.volume_strains = orm.List(inputs['volume_strains'])
        if inputs.get('relax_parameters') and builder.evaluation.engine.value != 'pw':
            builder.relax_parameters = orm.Dict(inputs['relax_parameters'])

    def should_relax(self) -> bool:
        """Relax only if relaxation parameters were given."""
        return 'relax_parameters' in self.inputs

    def run_relax(self):
        """Relax positions and cell of the structure."""
        return self.evaluate(
            {'crystal': self.inputs.structure},
            task='relax',
            parameters=self.inputs.relax_parameters.get_dict(),
            key='relax',
            batch='crystal (cell and positions)',
        )

    def inspect_relax(self):
        """Take the relaxed structure."""
        failed = self.evaluation_failed('relax', 'crystal')
        if failed:
            return failed
        frame = self.ctx.relax.outputs.results['items']['crystal']
        self.report(
            f'relaxed in {frame["steps"]} steps to V = {frame["volume"]:.4f} Å^3 '
            f'({frame["natoms"]} atoms), E = {frame["energy"]:.6f} eV'
        )
        return None

    def generate(self):
        """Scale the (relaxed) crystal over the volume grid."""
        self.ctx.reference = self.ctx.relax.outputs.structures.crystal if self.should_relax() else self.inputs.structure
        self.ctx.structures = volume_scaled_structures(
            self.ctx.reference, self.inputs.volume_strains, metadata={'call_link_label': 'volumes'}
        )

    def fit(self):
        """Fit Birch-Murnaghan and attach the results."""
        failed = self.evaluation_failed()
        if failed:
            return failed
        eos_data = collect_eos_data(self.ctx.evaluation.outputs.frames, metadata={'call_link_label': 'eos_data'})
        outputs, node = fit_equation_of_state.run_get_node(
            eos_data, self.ctx.reference, metadata={'call_link_label': 'fit'}
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=describe_failure(node))
        # Every output is attached here, after the last step that can fail: a failed run has no partial results.
        if self.should_relax():
            self.out('relaxed_structure', self.ctx.reference)
        self.out('eos_data', eos_data)
        for key, value in outputs.items():
            self.out(key, value)
        results = outputs['results']
        self.report(
            f'Birch-Murnaghan: a0 = {results["lattice_constant"]:.4f} Å, B0 = {results["bulk_modulus"]:.2f} GPa, '
            f"B0' = {results['bulk_modulus_derivative']:.2f}, E0 = {results['energy_per_atom']:.5f} eV/atom"
        )
        return None
