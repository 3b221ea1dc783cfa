"""``PhononWorkChain``: phonon band structure and DOS by finite displacements (phonopy), for any potential or DFT."""

from __future__ import annotations

from aiida import orm

from ...calcfunctions.phonons import phonon_analysis, phonon_displacements
from ...data.potential import PotentialData
from .base import PropertyWorkChain


class PhononWorkChain(PropertyWorkChain):
    """Phonons by finite displacements: phonopy's symmetry-reduced displacements, all forces in one batch.

    Gives the band structure along ASE's standard path and the total DOS.

    The input cell is phonopy's unit cell: give the primitive cell for the usual band structure (bcc: Γ-H-N-Γ-P-H|P-N),
    at the equilibrium lattice constant of the same potential or DFT settings.
    """

    _protocol_file = 'phonons.yaml'
    _evaluation_task = 'singlepoint'
    _batch_name = 'displaced supercells'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('supercell', valid_type=orm.List, help='Supercell repeats [n1, n2, n3] (or a 3x3 matrix).')
        spec.input('displacement', valid_type=orm.Float, help='Finite displacement (Å).')
        spec.input(
            'band_settings',
            valid_type=orm.Dict,
            help='`npoints` (q-points along the path), `mesh` (DOS q-mesh), optional `path` (ASE notation).',
        )
        spec.outline(cls.generate, cls.run_evaluation, cls.analyse)
        spec.output('results', valid_type=orm.Dict, help='Frequencies at the special points, min/max frequency (THz).')
        spec.output(
            'phonon_data',
            valid_type=orm.Dict,
            help='Band path distances (1/Å), frequencies (THz), labels, segments, and the DOS, as plotted.',
        )
        spec.output('band_structure', valid_type=orm.BandsData, help='Phonon bands (THz) along the path.')
        spec.output('dos', valid_type=orm.XyData, help='Total phonon DOS (states/THz per unit cell) vs THz.')
        spec.output('band_plot', valid_type=orm.SinglefileData, help='PNG of the band structure and DOS.')
        spec.output('phonopy', valid_type=orm.Dict, help='Unit cell, supercell matrix and displacement dataset.')
        spec.default_output_node = 'results'

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Check the supercell and the displacement."""
        supercell = inputs.get('supercell')
        if supercell is not None:
            values = supercell.get_list()
            flat = [v for row in values for v in row] if values and isinstance(values[0], list) else values
            if len(flat) not in (3, 9) or any(int(v) != v for v in flat):
                return f'supercell must be 3 integer repeats or an integer 3x3 matrix, got {values}'
            if len(flat) == 3 and min(flat) < 1:
                return f'supercell repeats must be positive, got {values}'
        displacement = inputs.get('displacement')
        if displacement is not None and not 0 < displacement.value <= 0.1:
            return f'displacement must be in (0, 0.1] Å, got {displacement.value}'
        return None

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the supercell, displacement and band settings."""
        builder.supercell = orm.List(inputs['supercell'])
        builder.displacement = orm.Float(inputs['displacement'])
        builder.band_settings = orm.Dict(inputs['band_settings'])

    def generate(self):
        """Build the displaced supercells."""
        settings = orm.Dict(
            {'supercell': self.inputs.supercell.get_list(), 'displacement': self.inputs.displacement.value}
        )
        outputs = phonon_displacements(self.inputs.structure, settings, metadata={'call_link_label': 'displacements'})
        self.ctx.phonopy = outputs.pop('phonopy')
        self.ctx.structures = outputs
        natoms = self.ctx.phonopy['natoms_supercell']
        self.report(f'{len(outputs)} displaced supercell(s) of {natoms} atoms, {self.inputs.displacement.value} Å')

    def analyse(self):
        """Compute bands and DOS."""
        failed, outputs = self.run_analysis(phonon_analysis, self.ctx.phonopy, self.inputs.band_settings)
        if failed:
            return failed
        self.out('phonopy', self.ctx.phonopy)
        results = outputs['results']
        points = '; '.join(
            f'{label}: {", ".join(f"{f:.2f}" for f in values)}' for label, values in results['special_points'].items()
        )
        self.report(f'phonon frequencies (THz) {points}; lowest {results["min_frequency"]:.3f} THz')
        return None
