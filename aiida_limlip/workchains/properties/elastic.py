"""``ElasticConstantsWorkChain``: the elastic tensor from stress-strain fits, for any potential or DFT."""

from __future__ import annotations

from aiida import orm

from ...analysis.elastic import strain_magnitudes_error
from ...analysis.structures import is_cubic
from ...calcfunctions.elastic import fit_elastic_constants, strained_structures
from ...data.potential import PotentialData
from .base import PropertyWorkChain, stress_error


class ElasticConstantsWorkChain(PropertyWorkChain):
    """Strain the cell by each Voigt component at several magnitudes of both signs, relax the ions, fit the tensor.

    All strained cells go to one batch evaluation. Stresses are taken relative to the unstrained cell, so the input
    structure should be at (or near) zero pressure for the potential used, e.g. the ``equilibrium_structure`` of
    ``EquationOfStateWorkChain``. The tensor is in the Cartesian frame of the input cell: give cubic crystals with
    their cube axes along x, y, z (as ``ase.build.bulk`` does) for C11, C12 and C44 to mean what they say.
    """

    _protocol_file = 'elastic.yaml'
    _dft_shared_mesh = True
    _batch_name = 'strained cells'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'strain_magnitudes',
            valid_type=orm.List,
            help='Engineering strain magnitudes (dimensionless), each applied with both signs to every component.',
        )
        spec.input(
            'strain_components',
            valid_type=orm.List,
            default=lambda: orm.List(list(range(6))),
            help='Voigt components strained: all six (full tensor), [0, 3] (xx and yz; cubic symmetry fills the '
            "rest, for costly DFT), or [0] (xx only: C11, C12 and C' = (C11 - C12)/2, no C44 nor tensor).",
        )
        spec.outline(cls.generate, cls.run_evaluation, cls.fit)
        spec.output('results', valid_type=orm.Dict, help='C11, C12, C44 (GPa), Zener ratio, VRH moduli, fit quality.')
        spec.output(
            'elastic_tensor',
            valid_type=orm.ArrayData,
            required=False,
            help='`elastic_tensor` (6x6 Voigt, GPa, symmetrised), `raw_tensor`, `strains`, `stresses` (GPa).',
        )
        for key in ('C11', 'C12', 'C44'):
            spec.output(key, valid_type=orm.Float, required=False, help=f'Elastic constant {key} (GPa), cubic only.')
        spec.output('zener_anisotropy', valid_type=orm.Float, required=False, help='2 C44/(C11 - C12) (1), cubic only.')
        spec.output(
            'bulk_modulus',
            valid_type=orm.Float,
            required=False,
            help='Voigt-Reuss-Hill bulk modulus (GPa); not for [0].',
        )
        spec.default_output_node = 'results'

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Elastic constants need stresses; C11, C12, C44 need a cubic crystal; the fit needs non-zero strains."""
        message = stress_error(potential, 'elastic constants are fitted to stresses')
        if message:
            return message
        if not is_cubic(inputs['structure'].get_ase()):
            return 'the structure is not cubic: C11, C12, C44 and the Zener ratio use cubic formulas'
        components = inputs.get('strain_components')
        if components is not None and sorted(components.get_list()) not in ([0, 1, 2, 3, 4, 5], [0, 3], [0]):
            return (
                'strain_components must be all six [0..5], the cubic pair [0, 3] or xx alone [0], got '
                f'{components.get_list()}'
            )
        magnitudes = inputs.get('strain_magnitudes')
        return None if magnitudes is None else strain_magnitudes_error(magnitudes.get_list(), 0.05)

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the strain magnitudes and components (DFT strains fewer: ``dft_strain_components``)."""
        builder.strain_magnitudes = orm.List(inputs['strain_magnitudes'])
        key = 'dft_strain_components' if builder.evaluation.engine.value == 'pw' else 'strain_components'
        builder.strain_components = orm.List(inputs.get(key, list(range(6))))

    def generate(self):
        """Build the reference and the strained cells."""
        outputs = strained_structures(
            self.inputs.structure,
            self.inputs.strain_magnitudes,
            self.inputs.strain_components,
            metadata={'call_link_label': 'strain'},
        )
        self.ctx.strains = outputs.pop('strains')
        self.ctx.structures = outputs

    def fit(self):
        """Fit the tensor and attach the results."""
        failed, outputs = self.run_analysis(fit_elastic_constants, self.ctx.strains, link_label='fit')
        if failed:
            return failed
        results = outputs['results']
        if 'C44' in results:
            self.report(
                f'C11 = {results["C11"]:.2f}, C12 = {results["C12"]:.2f}, C44 = {results["C44"]:.2f} GPa, '
                f'A = {results["zener_anisotropy"]:.2f}; B_VRH = {results["bulk_modulus_hill"]:.2f} GPa; '
                f'fit R^2 >= {results["fit_r2_min"]:.5f}'
            )
        elif 'C_prime' in results:
            self.report(
                f"C11 = {results['C11']:.3f}, C12 = {results['C12']:.3f}, C' = {results['C_prime']:.3f} GPa "
                f'(xx strains only); fit R^2 >= {results["fit_r2_min"]:.5f}'
            )
        return None
