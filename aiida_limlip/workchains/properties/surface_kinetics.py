"""Surface kinetics (the paper's Fig. 3): adsorption-energy surfaces, diffusion barriers and step barriers.

* ``AdsorptionEnergySurfaceWorkChain`` (``limlip.spes``): E_ads of one adatom over a grid of sites of each facet,
  and the facet's distinct minima;
* ``SurfaceDiffusionWorkChain`` (``limlip.surface_diffusion``): nudged elastic bands from each facet's lowest
  minimum to its copy in the next surface unit cell, the minimum barrier per facet and the BEP relation;
* ``EhrlichSchwoebelWorkChain`` (``limlip.ehrlich_schwoebel``): the terrace hop and the two ways down a (100) step.
"""

from __future__ import annotations

from aiida import orm

from ...calcfunctions.surface_kinetics import (
    adsorption_grids,
    adsorption_minima,
    adsorption_structures,
    bep_relation,
    diffusion_barriers,
    diffusion_paths,
    facet_tag,
    facets_of,
    schwoebel_barriers,
    step_structures,
)
from ...data.potential import PotentialData
from ...structures import surface_sites
from ..common import describe_failure
from .base import PropertyWorkChain
from .surfaces import facet_settings, facets_error, set_facets

#: An adatom relaxed only along z (the last atom; ASE FixCartesian), for the grid of the SPES.
ADATOM_ALONG_Z = {'-1': [True, True, False]}


def _task_parameters(inputs: dict) -> dict:
    evaluation = inputs.get('evaluation', {})
    return evaluation['parameters'].get_dict() if 'parameters' in evaluation else {}


def _constraints_error(inputs: dict) -> str | None:
    if 'constraints' in _task_parameters(inputs):
        return 'evaluation.parameters: the constraints are set by the work chain (fixed_thickness, the adatom)'
    return None


def _slab_error(inputs: dict) -> str | None:
    if all(key in inputs for key in ('min_slab_size', 'fixed_thickness', 'min_vacuum_size')):
        return surface_sites.check_slab_sizes(
            inputs['min_slab_size'].value, inputs['fixed_thickness'].value, inputs['min_vacuum_size'].value
        )
    return None


def _pair_error(inputs: dict, key: str, minimum: int, what: str) -> str | None:
    if key in inputs:
        values = inputs[key].get_list()
        if len(values) != 2 or any(not isinstance(n, int) or isinstance(n, bool) or n < minimum for n in values):
            return f'{key} must be two integers of at least {minimum} ({what}), got {values}'
    return None


def _define_slab_inputs(spec) -> None:
    spec.input('min_slab_size', valid_type=orm.Float, help='Minimum slab thickness (Å, bulk-equivalent).')
    spec.input('min_vacuum_size', valid_type=orm.Float, help='Minimum vacuum between the slab and its image (Å).')
    spec.input(
        'fixed_thickness',
        valid_type=orm.Float,
        help='Atoms closer than this to the bottom of the slab stay at their bulk positions (Å; the paper: 6).',
    )


class AdsorptionEnergySurfaceWorkChain(PropertyWorkChain):
    """The surface potential energy surface (SPES): E_ads of one adatom over a grid of sites, for each facet.

    For each facet a symmetric pymatgen slab is repeated ``surface_supercell`` times and an adatom is placed above
    each point of a ``grid`` over the surface unit cell, at the bulk nearest-neighbour distance from the surface. The
    adatom relaxes along z only, the slab's free atoms fully, its bottom ``fixed_thickness`` not at all:
    E_ads = E(adsorbed slab) - E(clean slab) - E(bulk atom), with the clean slab and the bulk cell (the input, at the
    potential's equilibrium) relaxed the same way. The grid's distinct minima are then relaxed with the adatom free;
    those that end in the same well count once.

    One batch holds the clean slabs and the bulk, one each facet's grid, one the minima.
    """

    _protocol_file = 'spes.yaml'
    _batch_name = 'adsorbed slabs'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'max_index', valid_type=orm.Int, required=False, help='Every distinct facet with indices up to this.'
        )
        spec.input(
            'miller_indices',
            valid_type=orm.List,
            required=False,
            help='Instead of max_index: the facets, as [h, k, l] of the conventional cell.',
        )
        _define_slab_inputs(spec)
        spec.input(
            'surface_supercell',
            valid_type=orm.List,
            help='Repeats [n_a, n_b] of the surface unit cell in the slab (the paper: 4 x 4).',
        )
        spec.input(
            'grid', valid_type=orm.List, help='Adatom sites along a and b of the surface unit cell (at least 2 x 2).'
        )
        spec.outline(cls.generate, cls.run_grids, cls.analyse_grids, cls.refine, cls.analyse)
        spec.output(
            'results',
            valid_type=orm.Dict,
            help='Per facet tag: E_ads over the grid and relative to the facet minimum (eV), the adatom heights (Å), '
            'the distinct minima (site, height, E_ads), the surface unit cell (Å). Units in `units`.',
        )
        spec.output_namespace(
            'minima',
            valid_type=orm.StructureData,
            dynamic=True,
            help='The relaxed adsorbed slab at every distinct minimum, `<tag>_m<k>` lowest first (Å).',
        )
        spec.default_output_node = 'results'

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Check the facets, sizes, supercell, grid, and that every facet can be cut."""
        for message in (
            facets_error(inputs),
            _slab_error(inputs),
            _pair_error(inputs, 'surface_supercell', 1, 'repeats of the surface unit cell'),
            _pair_error(inputs, 'grid', 2, 'points over the surface unit cell: a line samples no surface'),
            _constraints_error(inputs),
        ):
            if message:
                return message
        return _facets_cut_error(inputs)

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the facets, sizes, supercell and grid."""
        set_facets(builder, inputs)
        for key in ('min_slab_size', 'min_vacuum_size', 'fixed_thickness'):
            builder[key] = orm.Float(inputs[key])
        builder.surface_supercell = orm.List(inputs['surface_supercell'])
        builder.grid = orm.List(inputs['grid'])

    def relax_parameters(self, along_z: bool) -> dict:
        """Return the relax parameters with the fixed bottom (and the adatom held in x and y if ``along_z``)."""
        constraints = {'fixed_below': self.inputs.fixed_thickness.value}
        if along_z:
            constraints['fixed_directions'] = ADATOM_ALONG_Z
        return {**_task_parameters(self.inputs), 'constraints': constraints}

    def generate(self):
        """Cut the slabs and place the adatom over every grid point."""
        settings = {
            **facet_settings(self.inputs),
            'min_slab_size': self.inputs.min_slab_size.value,
            'min_vacuum_size': self.inputs.min_vacuum_size.value,
            'fixed_thickness': self.inputs.fixed_thickness.value,
            'surface_supercell': self.inputs.surface_supercell.get_list(),
            'grid': self.inputs.grid.get_list(),
        }
        outputs = adsorption_structures(
            self.inputs.structure, orm.Dict(settings), metadata={'call_link_label': 'sites'}
        )
        self.ctx.sites = outputs.pop('sites')
        self.ctx.outputs = outputs
        facets = self.ctx.sites['facets']
        sizes = ', '.join(f'({info["facet"]}) {info["natoms"]} atoms' for info in facets.values())
        self.report(
            f'{len(facets)} facets, a grid of {self.inputs.grid.get_list()} sites per surface unit cell: {sizes}'
        )

    def run_grids(self):
        """Relax the references and, per facet, every grid point (adatom along z), all side by side."""
        references = {key: node for key, node in self.ctx.outputs.items() if key == 'bulk' or key.startswith('clean_')}
        to_run = [
            self.evaluate(references, parameters=self.relax_parameters(False), key='references', batch='references')
        ]
        for tag, info in self.ctx.sites['facets'].items():
            points = {label: self.ctx.outputs[label] for label in info['points']}
            to_run.append(
                self.evaluate(
                    points,
                    parameters=self.relax_parameters(True),
                    key=f'grids.{tag}',
                    batch=f'grid points of ({info["facet"]})',
                )
            )
        return {key: value for item in to_run for key, value in item.items()}

    def _failed(self, keys):
        for key, batch in keys:
            node = self.ctx
            for part in key.split('.'):
                node = node[part]
            if not node.is_finished_ok:
                return self.exit_codes.ERROR_EVALUATION_FAILED.format(batch=batch, message=describe_failure(node))
        return None

    def analyse_grids(self):
        """E_ads over every grid and its minima."""
        keys = [('references', 'references')] + [(f'grids.{tag}', f'grid of {tag}') for tag in self.ctx.sites['facets']]
        failed = self._failed(keys)
        if failed:
            return failed
        grids = {tag: node.outputs.frames for tag, node in self.ctx.grids.items()}
        outputs, node = adsorption_grids.run_get_node(
            self.ctx.references.outputs.frames, self.ctx.sites, **grids, metadata={'call_link_label': 'grids'}
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=describe_failure(node))
        self.ctx.grid = outputs.pop('grid')
        self.ctx.starts = outputs
        for data in self.ctx.grid['facets'].values():
            values = [v for row in data['adsorption_energy'] for v in row]
            self.report(
                f'({data["facet"]}): E_ads from {min(values):.4f} to {max(values):.4f} eV over the grid, '
                f'{len(data["grid_minima"])} grid minima'
            )
        return None

    def refine(self):
        """Relax every grid minimum with the adatom free."""
        return self.evaluate(
            dict(self.ctx.starts), parameters=self.relax_parameters(False), key='refined', batch='minima'
        )

    def analyse(self):
        """Keep the distinct minima and attach the results."""
        failed = self._failed([('refined', 'minima')])
        if failed:
            return failed
        outputs, node = adsorption_minima.run_get_node(
            self.ctx.grid, self.ctx.sites, self.ctx.refined.outputs.frames, metadata={'call_link_label': 'minima'}
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=describe_failure(node))
        results = outputs.pop('results')
        for data in results['facets'].values():
            minima = '; '.join(
                f'site ({m["site"][0]:.2f}, {m["site"][1]:.2f}) E_ads {m["adsorption_energy"]:.4f} eV '
                f'(+{m["relative"]:.4f})'
                for m in data['minima']
            )
            self.report(f'({data["facet"]}) minima: {minima}')
        self.out('results', results)
        self.out('minima', outputs)
        return None


def _facets_cut_error(inputs: dict) -> str | None:
    """Return an error message if a facet has no slab with two equivalent surfaces (tried with the inputs' sizes)."""
    if 'structure' not in inputs or facets_error(inputs) or _slab_error(inputs):
        return None
    atoms = inputs['structure'].get_ase()
    settings = facet_settings(inputs)
    try:
        for miller in facets_of(atoms, settings):
            surface_sites.adsorption_slab(
                atoms, miller, inputs['min_slab_size'].value, inputs['min_vacuum_size'].value, (1, 1)
            )
    except ValueError as exception:
        return f'cannot cut the facet: {exception}'
    return None


class SurfaceDiffusionWorkChain(PropertyWorkChain):
    """Adatom diffusion barriers on each facet, from an ``AdsorptionEnergySurfaceWorkChain``'s minima.

    From each facet's lowest minimum a nudged elastic band (climbing image) goes to the same minimum one surface unit
    cell away, along the shortest translations; where the straight hop passes another minimum, the path goes through
    it in two bands. A path's barrier is its highest energy minus its lowest. With three facets or more (after
    ``bep_exclude``), ``bep`` holds the Bell-Evans-Polanyi fit of the minimum barrier against the adsorption energy.
    """

    _protocol_file = 'surface_diffusion.yaml'
    _evaluation_task = 'neb'
    _batch_name = 'bands'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'adsorption',
            valid_type=orm.Dict,
            help='The `results` of an AdsorptionEnergySurfaceWorkChain of the same structure and potential.',
        )
        spec.input_namespace(
            'minima',
            valid_type=orm.StructureData,
            dynamic=True,
            help='Its `minima` (relaxed adsorbed slabs, Å): the end points of the bands.',
        )
        spec.input(
            'facets',
            valid_type=orm.List,
            required=False,
            help='Facet labels to use, e.g. ["100", "110"] (default: every facet of `adsorption`).',
        )
        spec.input(
            'waypoint_distance',
            valid_type=orm.Float,
            default=lambda: orm.Float(0.5),
            help='A hop goes through another minimum that lies within this of its straight line (Å, in plane).',
        )
        spec.input(
            'bep_exclude',
            valid_type=orm.List,
            default=lambda: orm.List(['111']),
            help='Facet labels left out of the BEP fit (the paper: (111)); `bep.fit_all` keeps them.',
        )
        spec.input(
            'temperature',
            valid_type=orm.Float,
            default=lambda: orm.Float(300.0),
            help='Temperature of the hopping-rate ratios exp(-dE/kT) relative to (100) (K).',
        )
        spec.outline(cls.generate, cls.run_bands, cls.analyse)
        spec.output(
            'results',
            valid_type=orm.Dict,
            help='Per facet tag: every path (shift, legs, energy profile in eV relative to the lowest minimum, '
            'reaction coordinate in Å, barrier in eV, whether its bands converged and their residual force in eV/Å), '
            'the minimum barrier over converged paths (eV) and its path, E_ads (eV).',
        )
        spec.output(
            'bep',
            valid_type=orm.Dict,
            required=False,
            help='BEP fit (slope, intercept in eV, r^2) with and without `bep_exclude`, and rate ratios at '
            '`temperature` relative to (100).',
        )
        spec.default_output_node = 'results'

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Check the band (at least 3 images), the facets and that `minima` belong to `adsorption`."""
        images = _task_parameters(inputs).get('images', 5)
        if images < 3:
            return f'a diffusion band needs at least 3 intermediate images, got {images}'
        if _task_parameters(inputs).get('relax_endpoints'):
            return 'the end points are relaxed minima already: relax_endpoints must be false'
        if _constraints_error(inputs):
            return _constraints_error(inputs)
        if 'adsorption' not in inputs:
            return None
        adsorption = inputs['adsorption'].get_dict()
        facets = adsorption.get('facets', {})
        if not facets or 'structure_uuid' not in adsorption or 'fixed_thickness' not in adsorption:
            return '`adsorption` is not the results of an AdsorptionEnergySurfaceWorkChain'
        if 'structure' in inputs and adsorption['structure_uuid'] != inputs['structure'].uuid:
            return '`adsorption` was computed for another structure'
        known = {data['facet']: tag for tag, data in facets.items()}
        for facet in inputs['facets'].get_list() if 'facets' in inputs else []:
            if facet not in known:
                return f'facet {facet} is not in `adsorption` (it has {", ".join(known)})'
        labels = {m['label'] for data in facets.values() for m in data['minima']}
        missing = sorted(labels - set(inputs.get('minima', {})))
        if missing:
            return f'`minima` lacks the structures {missing} of `adsorption`'
        return None

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the waypoint distance, the BEP exclusions and the temperature."""
        builder.waypoint_distance = orm.Float(inputs['waypoint_distance'])
        builder.bep_exclude = orm.List(inputs['bep_exclude'])
        builder.temperature = orm.Float(inputs['temperature'])

    def generate(self):
        """Build both end points of every band."""
        facets = self.inputs.adsorption['facets']
        chosen = self.inputs.facets.get_list() if 'facets' in self.inputs else None
        tags = [tag for tag, data in facets.items() if chosen is None or data['facet'] in chosen]
        settings = {'facets': tags, 'waypoint_distance': self.inputs.waypoint_distance.value}
        outputs = diffusion_paths(
            self.inputs.adsorption, orm.Dict(settings), **self.inputs.minima, metadata={'call_link_label': 'paths'}
        )
        self.ctx.paths = outputs.pop('paths')
        self.ctx.ends = outputs
        for tag, paths in self.ctx.paths.get_dict().items():
            hops = ', '.join(f'{p["shift"]} in {len(p["legs"])} band(s)' for p in paths)
            self.report(f'({facets[tag]["facet"]}): hops {hops}')

    def run_bands(self):
        """Run every band side by side."""
        # The bottom stays fixed as in the SPES that relaxed the end points.
        constraints = {'fixed_below': self.inputs.adsorption['fixed_thickness']}
        # A band that misses fmax is kept and flagged rather than failing every facet (seen: one hop on (111)).
        parameters = {'require_convergence': False, **_task_parameters(self.inputs), 'constraints': constraints}
        to_run = {}
        for paths in self.ctx.paths.get_dict().values():
            for path in paths:
                for leg in path['legs']:
                    name = leg['name']
                    ends = {'image_0': self.ctx.ends[f'{name}_start'], 'image_1': self.ctx.ends[f'{name}_end']}
                    to_run.update(self.evaluate(ends, parameters=parameters, key=f'bands.{name}', batch=f'band {name}'))
        return to_run

    def analyse(self):
        """Barriers per path and facet, and the BEP relation."""
        for name, node in self.ctx.bands.items():
            if not node.is_finished_ok:
                return self.exit_codes.ERROR_EVALUATION_FAILED.format(
                    batch=f'band {name}', message=describe_failure(node)
                )
        bands = {name: node.outputs.results for name, node in self.ctx.bands.items()}
        outputs, node = diffusion_barriers.run_get_node(
            self.inputs.adsorption, self.ctx.paths, **bands, metadata={'call_link_label': 'barriers'}
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=describe_failure(node))
        results = outputs['results']
        for data in results['facets'].values():
            barriers = ', '.join(
                f'{p["shift"]}: {p["barrier"]:.4f}'
                + ('' if p['converged'] else f' (not converged, residual {p["residual_force"]:.2f} eV/Å)')
                for p in data['paths']
            )
            self.report(
                f'({data["facet"]}) E_ads {data["adsorption_energy"]:.4f} eV; barriers (eV) {barriers}; minimum '
                f'{data["minimum_barrier"]:.4f}'
            )
        bep = self.bep(results)
        self.out('results', results)
        if bep is not None:
            self.out('bep', bep)
        return None

    def bep(self, results: orm.Dict) -> orm.Dict | None:
        """Return the BEP fit over the facets of ``results``; report why there is none if there are too few."""
        settings = {
            'exclude': self.inputs.bep_exclude.get_list(),
            'reference': '100',
            'temperature': self.inputs.temperature.value,
        }
        bep, node = bep_relation.run_get_node(
            orm.Dict(settings), diffusion=results, metadata={'call_link_label': 'bep'}
        )
        if not node.is_finished_ok:
            self.report(f'no BEP relation: {node.exit_message}')
            return None
        fit, fit_all = bep['fit'], bep['fit_all']
        self.report(
            f'BEP: slope {fit["slope"]:.3f}, r^2 {fit["r2"]:.3f} without {fit["excluded"]}; '
            f'slope {fit_all["slope"]:.3f}, r^2 {fit_all["r2"]:.3f} with every facet'
        )
        return bep


class EhrlichSchwoebelWorkChain(PropertyWorkChain):
    """The Ehrlich-Schwoebel barrier of a (100) step, for the direct hop over the edge and for the exchange.

    The step is the edge of a one-layer stripe on a (100) slab (see
    :func:`~aiida_limlip.structures.surface_sites.stepped_slab` for why a stripe, not a vicinal slab). Three nudged
    elastic bands, end points relaxed first: the terrace hop between neighbouring hollows of the flat slab (E_T), the
    direct hop from the hollow next to the edge down to the foot of the step, and the exchange in which the adatom
    takes the edge atom's place and pushes it to that same hollow. E_ESB is each step-down barrier from its start,
    and E_S = E_ESB - E_T.
    """

    _protocol_file = 'ehrlich_schwoebel.yaml'
    _evaluation_task = 'neb'
    _batch_name = 'bands'
    PROCESSES = ('terrace', 'direct', 'exchange')

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        _define_slab_inputs(spec)
        spec.input(
            'step_supercell',
            valid_type=orm.List,
            help='Repeats [across the step, along it] of the (100) unit cell; the stripe covers half the first.',
        )
        spec.outline(cls.generate, cls.run_bands, cls.analyse)
        spec.output(
            'results',
            valid_type=orm.Dict,
            help="E_T, and per mechanism E_ESB and E_S = E_ESB - E_T (eV), with each band's energy profile (eV) and "
            'reaction coordinate (Å).',
        )
        spec.default_output_node = 'results'

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Check the band, the sizes and the step cell."""
        images = _task_parameters(inputs).get('images', 5)
        if images < 3:
            return f'a band needs at least 3 intermediate images, got {images}'
        for message in (
            _slab_error(inputs),
            _pair_error(inputs, 'step_supercell', 1, 'repeats across and along the step'),
            _constraints_error(inputs),
        ):
            if message:
                return message
        if 'step_supercell' in inputs and inputs['step_supercell'].get_list()[0] < 4:
            return 'step_supercell needs at least 4 cells across the step (2 on the stripe, 2 on the lower terrace)'
        return None

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the sizes and the step cell."""
        for key in ('min_slab_size', 'min_vacuum_size', 'fixed_thickness'):
            builder[key] = orm.Float(inputs[key])
        builder.step_supercell = orm.List(inputs['step_supercell'])

    def generate(self):
        """Build the end points of the three processes."""
        settings = {
            'min_slab_size': self.inputs.min_slab_size.value,
            'min_vacuum_size': self.inputs.min_vacuum_size.value,
            'step_supercell': self.inputs.step_supercell.get_list(),
        }
        outputs = step_structures(self.inputs.structure, orm.Dict(settings), metadata={'call_link_label': 'step'})
        self.ctx.ends = outputs
        self.report(
            f'stepped (100) slab of {len(outputs["direct_start"].sites)} atoms with the adatom, flat slab of '
            f'{len(outputs["terrace_start"].sites)}'
        )

    def run_bands(self):
        """Run the three bands side by side, their end points relaxed first with the fixed bottom."""
        parameters = {
            **_task_parameters(self.inputs),
            'relax_endpoints': True,
            'constraints': {'fixed_below': self.inputs.fixed_thickness.value},
        }
        to_run = {}
        for process in self.PROCESSES:
            ends = {'image_0': self.ctx.ends[f'{process}_start'], 'image_1': self.ctx.ends[f'{process}_end']}
            to_run.update(self.evaluate(ends, parameters=parameters, key=f'bands.{process}', batch=f'{process} band'))
        return to_run

    def analyse(self):
        """E_T, E_ESB and E_S of both mechanisms."""
        for name, node in self.ctx.bands.items():
            if not node.is_finished_ok:
                return self.exit_codes.ERROR_EVALUATION_FAILED.format(
                    batch=f'{name} band', message=describe_failure(node)
                )
        bands = {name: node.outputs.results for name, node in self.ctx.bands.items()}
        outputs, node = schwoebel_barriers.run_get_node(**bands, metadata={'call_link_label': 'barriers'})
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=describe_failure(node))
        results = outputs['results']
        self.report(
            f'E_T {results["terrace_barrier"]:.4f} eV; direct hop E_ESB {results["direct"]["barrier"]:.4f}, '
            f'E_S {results["direct"]["schwoebel_barrier"]:.4f}; exchange E_ESB {results["exchange"]["barrier"]:.4f}, '
            f'E_S {results["exchange"]["schwoebel_barrier"]:.4f} eV'
        )
        self.out('results', results)
        return None


__all__ = (
    'AdsorptionEnergySurfaceWorkChain',
    'EhrlichSchwoebelWorkChain',
    'SurfaceDiffusionWorkChain',
    'facet_tag',
)
