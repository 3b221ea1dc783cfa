"""``VacancyFormationWorkChain``: the relaxed mono-vacancy formation energy, converged over supercell sizes."""

from __future__ import annotations

from aiida import orm

from ...calcfunctions.vacancy import vacancy_energies, vacancy_structures
from ...data.potential import PotentialData
from .base import PropertyWorkChain


class VacancyFormationWorkChain(PropertyWorkChain):
    """E_v = E(N-1) - (N-1)/N E(N) of N x N x N conventional supercells, positions relaxed at fixed cell.

    All sizes, perfect and with one atom removed, go to one batch.

    The cell is that of the input crystal (constant-volume formation energy): give the equilibrium structure of the
    same potential or DFT settings. ``results.size_convergence`` is the change between the two largest sizes.
    """

    _protocol_file = 'vacancy.yaml'
    _batch_name = 'supercells'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'supercell_sizes',
            valid_type=orm.List,
            help='Repeats N of the conventional cell (N x N x N; 2 N^3 sites for bcc); the largest gives the value.',
        )
        spec.outline(cls.generate, cls.run_evaluation, cls.analyse)
        spec.output(
            'results', valid_type=orm.Dict, help='E_v (eV) per size, the largest-size value and its convergence.'
        )
        spec.output('vacancy_formation_energy', valid_type=orm.Float, help='E_v of the largest supercell (eV).')
        spec.default_output_node = 'results'

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Check for an elemental crystal and positive supercell sizes."""
        if len(inputs['structure'].get_symbols_set()) != 1:
            return 'the vacancy formation energy is implemented for elemental crystals (every site equivalent)'
        sizes = inputs.get('supercell_sizes')
        if sizes is not None:
            values = sizes.get_list()
            if not values or any(int(size) != size or size < 1 for size in values):
                return f'supercell_sizes must be positive integers, got {values}'
        return None

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the supercell sizes."""
        builder.supercell_sizes = orm.List(inputs['supercell_sizes'])

    def generate(self):
        """Build the perfect and defective supercells."""
        self.ctx.structures = vacancy_structures(
            self.inputs.structure, self.inputs.supercell_sizes, metadata={'call_link_label': 'supercells'}
        )

    def analyse(self):
        """Compute E_v per size and attach the results."""
        failed, outputs = self.run_analysis(vacancy_energies, self.inputs.supercell_sizes, link_label='energies')
        if failed:
            return failed
        results = outputs['results']
        sizes = ', '.join(f'{size}: {item["formation_energy"]:.4f}' for size, item in results['per_size'].items())
        self.report(
            f'E_v per supercell size (eV) {sizes}; change between the two largest: {results["size_convergence"]}'
        )
        return None
