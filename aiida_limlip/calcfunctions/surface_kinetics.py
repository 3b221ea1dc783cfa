"""Adsorption grids, their minima, diffusion paths and barriers, the BEP relation and step barriers, with provenance.

Structure labels: a facet's tag is ``f`` and its Miller label (``f100``, ``f2m10``); ``clean_<tag>`` is its clean slab,
``<tag>_<i>_<j>`` the adatom over grid point (i, j), ``<tag>_m<k>`` its k-th minimum.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..analysis import surface_kinetics as kinetics
from ..analysis.structures import conventional_cell
from ..analysis.surfaces import check_miller_index, distinct_miller_indices, miller_label
from ..data.frame_set import FrameSetData
from ..structures import surface_sites
from .frames import frames_by_label

#: Units of the numbers in the results of this module.
UNITS = {
    'adsorption_energy': 'eV (E(adsorbed slab) - E(clean slab) - E(bulk atom))',
    'relative': 'eV (minus the facet minimum)',
    'height': 'Å (above the unrelaxed topmost atom)',
    'site': 'fractional (u, v) of the surface unit cell, (0, 0) above the topmost atom',
    'unit_cell': 'Å',
    'barrier': 'eV',
    'reaction_coordinate': 'Å',
}


def facet_tag(miller) -> str:
    """Return the label of a facet in node labels: ``f`` and its Miller label, ``-`` as ``m`` (``f2m10``)."""
    return 'f' + miller_label(miller).replace('-', 'm')


def facets_of(structure_atoms, settings: dict) -> list[tuple[int, int, int]]:
    """Return the facets of ``settings``: its ``miller_indices``, or every distinct one up to ``max_index``."""
    if settings.get('miller_indices'):
        return [check_miller_index(miller) for miller in settings['miller_indices']]
    return distinct_miller_indices(structure_atoms, int(settings['max_index']))


@calcfunction
def adsorption_structures(structure: orm.StructureData, settings: orm.Dict) -> dict:
    """Return the bulk cell, the clean slab of every facet and the adatom over every grid point, and ``sites``.

    ``settings``: the facets (``miller_indices`` or ``max_index``), ``min_slab_size``, ``min_vacuum_size``,
    ``fixed_thickness`` (Å, recorded for the diffusion bands), ``surface_supercell`` ([n_a, n_b]) and ``grid``
    ([points along a, along b]). ``sites`` holds, per facet tag, the surface unit cell, the origin, the grid's sites
    by label and the slab's sizes.
    """
    atoms = structure.get_ase()
    settings = settings.get_dict()
    distance = surface_sites.nearest_neighbour_distance(atoms)
    outputs = {'bulk': orm.StructureData(ase=conventional_cell(atoms))}
    sites: dict = {
        'nearest_neighbour_distance': distance,
        'structure_uuid': structure.uuid,
        'fixed_thickness': settings['fixed_thickness'],
        'facets': {},
    }
    grid = kinetics.surface_grid(settings['grid'])
    for miller in facets_of(atoms, settings):
        tag = facet_tag(miller)
        slab = surface_sites.adsorption_slab(
            atoms, miller, settings['min_slab_size'], settings['min_vacuum_size'], settings['surface_supercell']
        )
        info = dict(slab.info)
        slab.info = {}
        outputs[f'clean_{tag}'] = orm.StructureData(ase=slab)
        slab.info = info
        points = {}
        for index, site in enumerate(grid):
            i, j = divmod(index, settings['grid'][1])
            label = f'{tag}_{i}_{j}'
            adsorbed = surface_sites.add_adatom(slab, site, distance)
            adsorbed.info = {}
            outputs[label] = orm.StructureData(ase=adsorbed)
            points[label] = site.tolist()
        sites['facets'][tag] = {
            **info,
            'facet': miller_label(miller),
            'natoms': len(slab),
            'grid': list(settings['grid']),
            'points': points,
        }
    outputs['sites'] = orm.Dict(sites)
    return outputs


@calcfunction
def adsorption_grids(references: FrameSetData, sites: orm.Dict, **grids: FrameSetData) -> dict:
    """Return E_ads over every facet's grid and its minima, and each grid minimum's structure to relax fully.

    ``references`` holds the relaxed ``bulk`` and ``clean_<tag>`` slabs; ``grids`` the z-relaxed adatoms by tag.
    """
    reference = frames_by_label(references)
    bulk = reference['bulk']
    bulk_per_atom = bulk.get_potential_energy() / len(bulk)
    facets = sites['facets']
    results: dict = {'bulk_energy_per_atom': bulk_per_atom, 'facets': {}, 'units': UNITS}
    outputs = {}
    for tag, frames in grids.items():
        info = facets[tag]
        by_label = frames_by_label(frames)
        labels = list(info['points'])
        energies = [by_label[label].get_potential_energy() for label in labels]
        clean = reference[f'clean_{tag}'].get_potential_energy()
        grid, minima = kinetics.facet_grid(energies, info['grid'], clean, bulk_per_atom)
        heights = [by_label[label].positions[-1, 2] - info['top'] for label in labels]
        starts = []
        for k, (i, j) in enumerate(minima):
            label = f'{tag}_{i}_{j}'
            start = by_label[label].copy()
            start.calc, start.info = None, {}
            outputs[f'{tag}_m{k}'] = orm.StructureData(ase=start)
            starts.append({'point': [i, j], 'site': info['points'][label], 'adsorption_energy': float(grid[i, j])})
        results['facets'][tag] = {
            'facet': info['facet'],
            'clean_energy': clean,
            'adsorption_energy': grid.tolist(),
            'height': [float(h) for h in heights],
            'grid_minima': starts,
        }
    outputs['grid'] = orm.Dict(results)
    return outputs


@calcfunction
def adsorption_minima(grid: orm.Dict, sites: orm.Dict, refined: FrameSetData) -> dict:
    """Return the SPES ``results``: grids, relative grids and the distinct fully relaxed minima of every facet.

    Also returns each distinct minimum as a structure (``<tag>_m<k>``, lowest first), the end points of diffusion.
    """
    by_label = frames_by_label(refined)
    facets = sites['facets']
    results = {key: value for key, value in grid.get_dict().items() if key != 'facets'}
    results.update(
        facets={},
        nearest_neighbour_distance=sites['nearest_neighbour_distance'],
        structure_uuid=sites['structure_uuid'],
        fixed_thickness=sites['fixed_thickness'],
    )
    outputs = {}
    for tag, data in grid['facets'].items():
        info = facets[tag]
        relaxed = [by_label[f'{tag}_m{k}'] for k in range(len(data['grid_minima']))]
        energies = [
            atoms.get_potential_energy() - data['clean_energy'] - grid['bulk_energy_per_atom'] for atoms in relaxed
        ]
        found = [surface_sites.fractional_site(info, atoms.positions[-1]) for atoms in relaxed]
        kept = kinetics.distinct_minima(found, energies, info['unit_cell'], tolerance=0.1)
        minimum = min(min(energies), min(min(row) for row in data['adsorption_energy']))
        minima = []
        for k, index in enumerate(kept):
            atoms = relaxed[index].copy()
            atoms.calc, atoms.info = None, {}
            outputs[f'{tag}_m{k}'] = orm.StructureData(ase=atoms)
            minima.append(
                {
                    'label': f'{tag}_m{k}',
                    'site': found[index],
                    'position': atoms.positions[-1].tolist(),
                    'height': float(atoms.positions[-1, 2] - info['top']),
                    'adsorption_energy': energies[index],
                    'relative': energies[index] - minimum,
                    'energy': relaxed[index].get_potential_energy(),
                    'from_grid_point': data['grid_minima'][index]['point'],
                }
            )
        results['facets'][tag] = {
            **data,
            'relative': [[value - minimum for value in row] for row in data['adsorption_energy']],
            'minimum_adsorption_energy': minimum,
            'minima': minima,
            'sites': [info['points'][label] for label in info['points']],
            **{key: info[key] for key in ('miller', 'unit_cell', 'origin', 'top', 'repeat', 'area', 'slab_thickness')},
            'natoms': info['natoms'] + 1,
        }
    outputs['results'] = orm.Dict(results)
    return outputs


@calcfunction
def diffusion_paths(adsorption: orm.Dict, settings: orm.Dict, **minima: orm.StructureData) -> dict:
    """Return the end points of every leg of every hop from each facet's lowest minimum, and ``paths``.

    A hop goes from the lowest minimum to its copy one surface unit cell away (the shortest translations, see
    :func:`~aiida_limlip.structures.surface_sites.hop_shifts`); where the straight line passes within
    ``settings['waypoint_distance']`` (Å) of another minimum, the path goes through it, one band per leg.
    ``settings['facets']``: the facet tags to use (default all).
    """
    settings = settings.get_dict()
    facets = adsorption['facets']
    chosen = settings.get('facets') or list(facets)
    outputs, paths = {}, {}
    for tag in chosen:
        data = facets[tag]
        unit = data['unit_cell']
        lowest, others = data['minima'][0], data['minima'][1:]
        start = minima[lowest['label']].get_ase()
        start.info = {'unit_cell': unit}
        paths[tag] = []
        for number, shift in enumerate(surface_sites.hop_shifts(unit)):
            waypoints = surface_sites.path_waypoints(
                unit, lowest['site'], shift, [m['site'] for m in others], settings['waypoint_distance']
            )
            stops = [(start, lowest['label'])]
            for index, offset in waypoints:
                other = minima[others[index]['label']].get_ase()
                other.info = {'unit_cell': unit}
                # Whole unit cells that bring the waypoint's adatom to where the hop passes it.
                here = surface_sites.fractional_site(data, other.positions[-1], wrap=False)
                origin = surface_sites.fractional_site(data, start.positions[-1], wrap=False)
                move = [
                    round(origin[k] - lowest['site'][k] + others[index]['site'][k] + offset[k] - here[k])
                    for k in range(2)
                ]
                stops.append((surface_sites.translate_adsorbate(other, move), others[index]['label']))
            stops.append((surface_sites.translate_adsorbate(start, shift), lowest['label']))
            legs = []
            for leg, ((first, first_label), (last, last_label)) in enumerate(zip(stops[:-1], stops[1:], strict=True)):
                name = f'{tag}_p{number}_l{leg}'
                for end, atoms in (('start', first), ('end', last)):
                    atoms = atoms.copy()
                    atoms.info = {}
                    outputs[f'{name}_{end}'] = orm.StructureData(ase=atoms)
                legs.append({'name': name, 'from': first_label, 'to': last_label})
            paths[tag].append({'shift': list(shift), 'legs': legs})
    outputs['paths'] = orm.Dict(paths)
    return outputs


@calcfunction
def diffusion_barriers(adsorption: orm.Dict, paths: orm.Dict, **bands: orm.Dict) -> dict:
    """Return every path's energy profile and barrier, and each facet's minimum barrier and its path.

    ``bands`` are the ``results`` of the legs' nudged elastic bands, by leg name. A path's barrier is its highest
    energy minus its lowest (a periodic path: the rate-limiting barrier of long-range diffusion along it). The
    minimum barrier is taken over the paths whose bands converged; a facet with none is marked ``converged: false``.
    """
    results: dict = {'facets': {}, 'units': UNITS}
    for tag, facet_paths in paths.get_dict().items():
        data = adsorption['facets'][tag]
        reference = data['minima'][0]['energy']
        described = []
        for path in facet_paths:
            energies, coordinate, offset = [], [], 0.0
            for leg in path['legs']:
                band = bands[leg['name']]['items']['path']
                skip = 1 if energies else 0  # a waypoint ends one leg and starts the next
                energies += [e - reference for e in band['energies'][skip:]]
                coordinate += [offset + x for x in band['reaction_coordinate'][skip:]]
                offset = coordinate[-1]
            described.append(
                {
                    **path,
                    'energies': energies,
                    'reaction_coordinate': coordinate,
                    'barrier': kinetics.path_barrier(energies),
                    'converged': all(bands[leg['name']]['items']['path']['converged'] for leg in path['legs']),
                    'residual_force': max(bands[leg['name']]['items']['path']['fmax'] for leg in path['legs']),
                }
            )
        # A band that missed its force threshold has no saddle point to trust; the others decide.
        converged = [k for k, path in enumerate(described) if path['converged']]
        best = min(converged or range(len(described)), key=lambda k: described[k]['barrier'])
        results['facets'][tag] = {
            'facet': data['facet'],
            'paths': described,
            'minimum_barrier': described[best]['barrier'],
            'minimum_path': best,
            'converged': bool(converged),
            'adsorption_energy': data['minimum_adsorption_energy'],
        }
    return {'results': orm.Dict(results)}


def _facet_values(results: dict) -> tuple[dict, dict, list[str]]:
    facets = [data for data in results['facets'].values() if data.get('converged', True)]
    barriers = {data['facet']: data['minimum_barrier'] for data in facets}
    adsorption = {data['facet']: data['adsorption_energy'] for data in facets}
    unconverged = [data['facet'] for data in results['facets'].values() if not data.get('converged', True)]
    return adsorption, barriers, unconverged


def bep_summary(results: dict, exclude: list[str], reference: str, temperature: float) -> dict:
    """Return the BEP fits (with and without the excluded facets) and the rate ratios of diffusion ``results``.

    Facets without a converged band are left out of both fits and listed in ``unconverged``.
    """
    adsorption, barriers, unconverged = _facet_values(results)
    summary = {
        'unconverged': unconverged,
        'adsorption_energy': adsorption,
        'minimum_barrier': barriers,
        'fit': kinetics.bep_fit(adsorption, barriers, exclude),
        'fit_all': kinetics.bep_fit(adsorption, barriers),
        'temperature': temperature,
        'reference': reference,
        'units': {'adsorption_energy': 'eV', 'minimum_barrier': 'eV', 'intercept': 'eV', 'temperature': 'K'},
    }
    if reference in barriers:
        summary['rate_ratios'] = kinetics.rate_ratios(barriers, reference, temperature)
    return summary


@calcfunction
def bep_relation(settings: orm.Dict, **diffusion: orm.Dict) -> orm.Dict | ExitCode:
    """Fit the Bell-Evans-Polanyi relation over the facets of one or more ``SurfaceDiffusionWorkChain`` results.

    ``settings``: ``exclude`` (facet labels left out of ``fit``; ``fit_all`` keeps them), ``reference`` (the facet of
    the rate ratios, ``100``) and ``temperature`` (K). A facet in two results is refused.
    """
    settings = settings.get_dict()
    merged: dict = {'facets': {}}
    for results in diffusion.values():
        for tag, data in results['facets'].items():
            if tag in merged['facets']:
                return ExitCode(410, f'facet {data["facet"]} is in more than one diffusion result')
            merged['facets'][tag] = data
    try:
        summary = bep_summary(
            merged, list(settings.get('exclude', [])), settings.get('reference', '100'), settings['temperature']
        )
    except ValueError as exception:
        return ExitCode(410, str(exception))
    return orm.Dict(summary)


@calcfunction
def step_structures(structure: orm.StructureData, settings: orm.Dict) -> dict:
    """Return the unrelaxed end points of the terrace hop and of both step-down processes on a stepped (100) slab.

    Outputs ``<process>_start`` and ``<process>_end`` and ``step`` (the sites, Å). ``settings``: ``min_slab_size``,
    ``min_vacuum_size`` (Å) and ``step_supercell`` ([across, along the step]).
    """
    settings = settings.get_dict()
    processes = surface_sites.step_processes(
        structure.get_ase(), settings['min_slab_size'], settings['min_vacuum_size'], settings['step_supercell']
    )
    outputs = {}
    for process in ('terrace', 'direct', 'exchange'):
        for end, atoms in zip(('start', 'end'), processes[process], strict=True):
            atoms = atoms.copy()
            atoms.info = {}
            outputs[f'{process}_{end}'] = orm.StructureData(ase=atoms)
    outputs['step'] = orm.Dict({**processes['sites'], 'stripe_atoms': processes['info']['stripe_atoms']})
    return outputs


@calcfunction
def schwoebel_barriers(terrace: orm.Dict, direct: orm.Dict, exchange: orm.Dict) -> dict:
    """Return E_T and, per step-down mechanism, E_ESB (from its start) and E_S = E_ESB - E_T (eV), with profiles."""
    bands = {
        name: node['items']['path'] for name, node in (('terrace', terrace), ('direct', direct), ('exchange', exchange))
    }
    terrace_barrier = bands['terrace']['barrier_forward']
    results: dict = {'terrace_barrier': terrace_barrier, 'units': UNITS}
    for name, band in bands.items():
        energies = [e - band['energies'][0] for e in band['energies']]
        entry = {
            'barrier': band['barrier_forward'],
            'reaction_energy': band['reaction_energy'],
            'energies': energies,
            'reaction_coordinate': band['reaction_coordinate'],
            'converged': band['converged'],
        }
        if name != 'terrace':
            entry['schwoebel_barrier'] = band['barrier_forward'] - terrace_barrier
        results[name] = entry
    return {'results': orm.Dict(results)}
