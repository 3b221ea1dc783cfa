"""``SurfaceEnergyWorkChain``: surface energies of every facet up to a Miller index, and the Wulff shape."""

from __future__ import annotations

from aiida import orm

from ...analysis.surfaces import check_miller_index
from ...calcfunctions.surfaces import surface_energies, surface_slabs
from ...data.potential import PotentialData
from .base import PropertyWorkChain


def facets_error(inputs: dict) -> str | None:
    """Return an error message unless ``inputs`` name facets: one of ``max_index`` (>= 1) or ``miller_indices``."""
    has_max, has_list = 'max_index' in inputs, bool(inputs.get('miller_indices'))
    if has_max == has_list:
        return 'give exactly one of max_index and miller_indices'
    if has_max and inputs['max_index'].value < 1:
        return f'max_index must be at least 1, got {inputs["max_index"].value}'
    for miller in inputs['miller_indices'].get_list() if has_list else []:
        try:
            check_miller_index(miller)
        except (ValueError, TypeError) as exception:
            return f'impossible Miller index {miller}: {exception}'
    return None


def set_facets(builder, inputs: dict) -> None:
    """Set ``miller_indices`` or ``max_index`` of ``builder`` from protocol ``inputs``."""
    if inputs.get('miller_indices'):
        builder.miller_indices = orm.List(inputs['miller_indices'])
    else:
        builder.max_index = orm.Int(inputs['max_index'])


def facet_settings(inputs) -> dict:
    """Return the facets of a work chain's ``inputs`` as settings of the slab calcfunctions."""
    if 'miller_indices' in inputs:
        return {'miller_indices': inputs['miller_indices'].get_list()}
    return {'max_index': inputs['max_index'].value}


class SurfaceEnergyWorkChain(PropertyWorkChain):
    """Surface energies gamma = (E_slab - N e_bulk) / 2A of symmetric slabs, and the Wulff shape (pymatgen).

    Slabs come from pymatgen's ``SlabGenerator``; their atoms relax at fixed cell with the bulk reference, in one
    batch.

    The bulk cell is the input's conventional cell, so give the equilibrium structure of the same potential or DFT
    settings; slab and bulk are evaluated with the same settings, so their errors cancel.
    """

    _protocol_file = 'surfaces.yaml'
    _batch_name = 'slabs'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'max_index',
            valid_type=orm.Int,
            required=False,
            help='Every symmetrically distinct facet with Miller indices up to this (3 in the paper).',
        )
        spec.input(
            'miller_indices',
            valid_type=orm.List,
            required=False,
            help='Instead of max_index: the facets, as [h, k, l] of the conventional cell.',
        )
        spec.input('min_slab_size', valid_type=orm.Float, help='Minimum slab thickness (Å).')
        spec.input('min_vacuum_size', valid_type=orm.Float, help='Minimum vacuum thickness (Å).')
        spec.outline(cls.generate, cls.run_evaluation, cls.analyse)
        spec.output(
            'results',
            valid_type=orm.Dict,
            help='`surface_energies` (facet label to eV/Å^2) and per-facet area (Å^2), atoms, thickness (Å), J/m^2.',
        )
        spec.output(
            'wulff',
            valid_type=orm.Dict,
            help='Wulff shape: `area_fractions` per facet, `facets_on_shape`, `shape_factor`, weighted gamma (eV/Å^2).',
        )
        spec.output('wulff_image', valid_type=orm.SinglefileData, help='PNG image of the Wulff shape.')
        spec.default_output_node = 'results'

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Check the facets (one of max_index or miller_indices, no 0 0 0) and the sizes."""
        message = facets_error(inputs)
        if message:
            return message
        for key in ('min_slab_size', 'min_vacuum_size'):
            if key in inputs and inputs[key].value <= 0:
                return f'{key} must be positive (Å), got {inputs[key].value}'
        return None

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the facets and slab sizes."""
        set_facets(builder, inputs)
        builder.min_slab_size = orm.Float(inputs['min_slab_size'])
        builder.min_vacuum_size = orm.Float(inputs['min_vacuum_size'])

    def generate(self):
        """Cut the slabs and the bulk reference."""
        settings = {
            'min_slab_size': self.inputs.min_slab_size.value,
            'min_vacuum_size': self.inputs.min_vacuum_size.value,
            **facet_settings(self.inputs),
        }
        outputs = surface_slabs(self.inputs.structure, orm.Dict(settings), metadata={'call_link_label': 'slabs'})
        self.ctx.slabs = outputs.pop('slabs')
        self.ctx.structures = outputs
        sizes = ', '.join(f'{info["facet"]} ({info["natoms"]})' for info in self.ctx.slabs.get_dict().values())
        self.report(f'{len(outputs) - 1} facets (atoms per slab): {sizes}')

    def analyse(self):
        """Compute the surface energies and the Wulff shape."""
        failed, outputs = self.run_analysis(surface_energies, self.ctx.slabs, self.inputs.structure)
        if failed:
            return failed
        energies = ', '.join(f'{k}: {v:.4f}' for k, v in outputs['results']['surface_energies'].items())
        fractions = ', '.join(
            f'{k}: {outputs["wulff"]["area_fractions"][k]:.3f}' for k in outputs['wulff']['facets_on_shape']
        )
        self.report(f'surface energies (eV/Å^2) {energies}; Wulff area fractions {fractions}')
        return None
