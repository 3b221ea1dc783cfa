"""Surface kinetics with SNAP Li and the real runner, small slabs: SPES, diffusion bands, BEP, step barriers.

Each number is checked against a calculation written here with ASE directly on the same slab (an adsorption energy,
a nudged elastic band), against the symmetry of bcc(100), or against hand arithmetic. The six-facet figures are in
``benchmarks/surface_kinetics.py``.
"""

import numpy as np
import pytest
import yaml
from aiida import engine, orm
from ase.build import bulk
from ase.constraints import FixAtoms
from ase.mep import NEB
from ase.optimize import BFGS, FIRE
from click.testing import CliRunner

from aiida_limlip.calcfunctions.surface_kinetics import bep_relation, diffusion_barriers
from aiida_limlip.cli.figure3 import cmd_fig3
from aiida_limlip.protocols import PROTOCOLS_DIR
from aiida_limlip.structures import surface_sites
from aiida_limlip.workchains.properties.surface_kinetics import (
    AdsorptionEnergySurfaceWorkChain,
    EhrlichSchwoebelWorkChain,
    SurfaceDiffusionWorkChain,
)

pytestmark = pytest.mark.slow

#: SNAP's own lattice constant is 3.5062 Å; the checks compare with direct calculations on the same cells.
A = 3.4325
#: The slab of these tests: (100), 3x3 surface cells, 8 Å thick with the bottom 3 Å fixed (the `fast` protocol).
SPES_OVERRIDES = {'miller_indices': [[1, 0, 0]]}


def run_ok(builder):
    outputs, node = engine.run_get_node(builder)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    return outputs, node


@pytest.fixture(scope='module')
def snap_calculator(snap_spec):
    from aiida_limlip.runner.calculators import make_calculator_factory

    return make_calculator_factory(*snap_spec)


@pytest.fixture(scope='module')
def bcc():
    return orm.StructureData(ase=bulk('Li', 'bcc', a=A, cubic=True)).store()


@pytest.fixture(scope='module')
def snap(snap_spec):
    from aiida_limlip.data.potential import PotentialData

    return PotentialData.from_snap_zuo2020(snap_spec[1]).get_or_store()


@pytest.fixture(scope='module')
def spes(session_runner_code, snap, bcc):
    builder = AdsorptionEnergySurfaceWorkChain.get_builder_from_protocol(
        session_runner_code, bcc, snap, overrides=SPES_OVERRIDES
    )
    return run_ok(builder)


@pytest.fixture(scope='module')
def diffusion(session_runner_code, snap, bcc, spes):
    outputs, _ = spes
    builder = SurfaceDiffusionWorkChain.get_builder_from_protocol(
        session_runner_code, bcc, snap, adsorption=outputs['results'], minima=outputs['minima']
    )
    return run_ok(builder)


def relaxed_energy(atoms, calculator, fixed_thickness, adatom_along_z=False):
    from ase.constraints import FixCartesian

    atoms = atoms.copy()
    atoms.calc = calculator()
    heights = atoms.positions[:, 2]
    constraints = [FixAtoms(indices=np.flatnonzero(heights - heights.min() < fixed_thickness))]
    if adatom_along_z:
        constraints.append(FixCartesian(len(atoms) - 1, mask=[True, True, False]))
    atoms.set_constraint(constraints)
    BFGS(atoms, logfile=None).run(fmax=1e-3, steps=1000)
    return atoms.get_potential_energy()


def test_spes_of_bcc_100(spes, snap_calculator):
    """The minimum is the four-fold hollow; symmetry-equivalent grid points agree to 1 meV; E_ads of the hollow
    equals a direct ASE relaxation of the same slab with and without the adatom."""
    outputs, node = spes
    facet = outputs['results']['facets']['f100']
    grid = np.array(facet['adsorption_energy'])
    assert grid.shape == (4, 4)
    # (i, j) = (4u, 4v): on top (0, 0), bridges (0.5, 0) and (0, 0.5), the hollow (0.5, 0.5).
    assert np.unravel_index(np.argmin(grid), grid.shape) == (2, 2)
    for group in (
        [(0, 2), (2, 0)],
        [(0, 1), (1, 0), (0, 3), (3, 0)],
        [(1, 1), (1, 3), (3, 1), (3, 3)],
        [(1, 2), (2, 1), (3, 2), (2, 3)],
    ):
        values = [grid[p] for p in group]
        assert max(values) - min(values) < 1e-3, group
    [minimum] = facet['minima']
    assert minimum['site'] == pytest.approx([0.5, 0.5], abs=0.01)
    # The grid's lowest point is the hollow, which the free relaxation lowers at most by numerical noise.
    assert np.min(facet['relative']) == pytest.approx(0.0, abs=1e-6)

    # Directly: the clean slab and the bulk cell, relaxed as the work chain does, and the hollow with the adatom free.
    sites = node.base.links.get_outgoing(link_label_filter='sites').one().node
    clean = sites.outputs.clean_f100.get_ase()
    bulk_cell = bulk('Li', 'bcc', a=A, cubic=True)
    bulk_cell.calc = snap_calculator()
    e_bulk = bulk_cell.get_potential_energy() / 2
    fixed = outputs['results']['fixed_thickness']
    hollow = surface_sites.add_adatom(
        surface_sites.adsorption_slab(bulk_cell, (1, 0, 0), 8.0, 10.0, (3, 3)),
        (0.5, 0.5),
        surface_sites.nearest_neighbour_distance(bulk_cell),
    )
    direct = relaxed_energy(hollow, snap_calculator, fixed) - relaxed_energy(clean, snap_calculator, fixed) - e_bulk
    # fmax 1e-2 eV/Å in the work chain against 1e-3 here.
    assert minimum['adsorption_energy'] == pytest.approx(direct, abs=1e-3)


def test_diffusion_barrier_of_bcc_100_against_ase_neb(diffusion, spes, snap_calculator):
    """The (100) hop: the band's barrier equals a direct ASE NEB between the same end points to 1 meV; forward and
    backward barriers agree (equivalent minima), and so do the hops along a and b (four-fold symmetry)."""
    outputs, node = diffusion
    facet = outputs['results']['facets']['f100']
    assert [p['shift'] for p in facet['paths']] == [[0, 1], [1, 0]]
    barriers = [p['barrier'] for p in facet['paths']]
    assert barriers[0] == pytest.approx(barriers[1], abs=1e-3)
    assert facet['minimum_barrier'] == pytest.approx(min(barriers), abs=1e-12)

    band = node.base.links.get_outgoing(link_label_filter='bands_f100_p0_l0').one().node
    path = band.outputs.results['items']['path']
    assert path['barrier_forward'] == pytest.approx(path['barrier_backward'], abs=1e-3)

    parameters = band.inputs.parameters.get_dict()
    ends = [band.inputs.structures[f'image_{k}'].get_ase() for k in (0, 1)]
    images = [ends[0].copy() for _ in range(parameters['images'] + 1)] + [ends[1].copy()]
    fixed = spes[0]['results']['fixed_thickness']
    heights = ends[0].positions[:, 2]
    for image in images:
        image.calc = snap_calculator()
        image.set_constraint(FixAtoms(indices=np.flatnonzero(heights - heights.min() < fixed)))
    neb = NEB(images, k=parameters['spring'], climb=True, method=parameters.get('method', 'aseneb'))
    neb.interpolate(method='idpp', mic=True, apply_constraint=True)
    FIRE(neb, logfile=None).run(fmax=parameters['fmax'], steps=1000)
    energies = [image.get_potential_energy() for image in images]
    assert path['barrier_forward'] == pytest.approx(max(energies) - energies[0], abs=1e-3)
    assert path['converged']


def test_bep_relation_against_hand_least_squares():
    """The calcfunction over two diffusion results: the fit of fixed numbers, with and without (111), and the
    rate ratios exp(-dE/kT) at 300 K."""
    first = {'facets': {'f100': {'facet': '100', 'minimum_barrier': 0.06, 'adsorption_energy': 0.18}}}
    second = {
        'facets': {
            tag: {'facet': tag[1:], 'minimum_barrier': barrier, 'adsorption_energy': energy}
            for tag, barrier, energy in (('f110', 0.03, 0.10), ('f211', 0.05, 0.15), ('f111', 0.20, 0.05))
        }
    }
    settings = orm.Dict({'exclude': ['111'], 'reference': '100', 'temperature': 300.0})
    bep = bep_relation(settings, a=orm.Dict(first), b=orm.Dict(second)).get_dict()
    x, y = np.array([0.18, 0.10, 0.15]), np.array([0.06, 0.03, 0.05])
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    assert bep['fit']['slope'] == pytest.approx(slope, rel=1e-9)
    assert bep['fit']['intercept'] == pytest.approx(y.mean() - slope * x.mean(), rel=1e-9)
    assert sorted(bep['fit_all']['facets']) == ['100', '110', '111', '211']
    assert bep['rate_ratios']['110'] == pytest.approx(np.exp(0.03 / (8.617333262e-5 * 300.0)), rel=1e-6)
    _, node = bep_relation.run_get_node(settings, a=orm.Dict(first), b=orm.Dict(first))
    assert node.exit_status == 410 and 'more than one' in node.exit_message


def test_an_unconverged_band_does_not_set_the_minimum_barrier():
    """Two hops of one facet: the lower barrier's band missed fmax, so the minimum is the other; a facet with no
    converged band is flagged and left out of the BEP fit."""

    def band(energies, converged):
        path = {'energies': energies, 'reaction_coordinate': list(range(len(energies))), 'converged': converged}
        return orm.Dict({'items': {'path': {**path, 'fmax': 0.01 if converged else 1.2}}})

    minimum = {'label': 'f100_m0', 'energy': -10.0}
    adsorption = orm.Dict(
        {
            'facets': {
                'f100': {'facet': '100', 'minima': [minimum], 'minimum_adsorption_energy': 0.2},
                'f111': {'facet': '111', 'minima': [minimum], 'minimum_adsorption_energy': -0.1},
            }
        }
    )
    paths = orm.Dict(
        {
            'f100': [{'shift': [1, 0], 'legs': [{'name': 'a'}]}, {'shift': [0, 1], 'legs': [{'name': 'b'}]}],
            'f111': [{'shift': [1, 0], 'legs': [{'name': 'c'}]}],
        }
    )
    results = diffusion_barriers(
        adsorption,
        paths,
        a=band([-10.0, -9.95, -10.0], True),
        b=band([-10.0, -9.99, -10.0], False),
        c=band([-10.0, -9.9, -10.0], False),
    )['results'].get_dict()
    f100, f111 = results['facets']['f100'], results['facets']['f111']
    assert f100['minimum_barrier'] == pytest.approx(0.05) and f100['minimum_path'] == 0 and f100['converged']
    assert f100['paths'][1]['residual_force'] == pytest.approx(1.2)
    assert not f111['converged'] and f111['minimum_barrier'] == pytest.approx(0.1)
    from aiida_limlip.calcfunctions.surface_kinetics import _facet_values

    adsorption_energies, barriers, unconverged = _facet_values(results)
    assert barriers == {'100': pytest.approx(0.05)} and unconverged == ['111'] and list(adsorption_energies) == ['100']


def test_ehrlich_schwoebel_barriers(runner_code, snap_potential, bcc):
    """Both step-down mechanisms end in the same configuration (one atom at the foot of the step), so their
    reaction energies agree; E_S = E_ESB - E_T; the terrace hop is symmetric."""
    outputs, node = run_ok(EhrlichSchwoebelWorkChain.get_builder_from_protocol(runner_code, bcc, snap_potential))
    results = outputs['results'].get_dict()
    assert results['direct']['reaction_energy'] == pytest.approx(results['exchange']['reaction_energy'], abs=1e-3)
    assert results['terrace']['reaction_energy'] == pytest.approx(0.0, abs=1e-3)
    for mechanism in ('direct', 'exchange'):
        entry = results[mechanism]
        assert entry['schwoebel_barrier'] == pytest.approx(entry['barrier'] - results['terrace_barrier'], abs=1e-12)
        assert entry['barrier'] == pytest.approx(max(entry['energies']), abs=1e-12)
        # Going down a step is downhill: the foot of the step binds the atom more than the stripe's edge.
        assert entry['reaction_energy'] < 0
    assert results['terrace_barrier'] > 0


def test_figure3(spes, diffusion, tmp_path):
    """fig3 from the graph: the SPES map with the path, and the table of barriers."""
    result = CliRunner().invoke(
        cmd_fig3, [str(spes[1].pk), str(diffusion[1].pk), '--png', str(tmp_path / 'fig3.png')], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / 'fig3.png').stat().st_size > 10_000
    barrier = diffusion[0]['results']['facets']['f100']['minimum_barrier']
    assert f'{barrier:.4f}' in result.output


def test_slab_convergence_of_the_paper_protocol(snap_calculator):
    """E_ads of the (100) hollow at the paper protocol's slab and at a 4 Å thicker one differ by less than 5 meV."""
    protocol = yaml.safe_load((PROTOCOLS_DIR / 'spes.yaml').read_text())
    paper = {**protocol['default_inputs'], **protocol['protocols']['paper']}
    cell = bulk('Li', 'bcc', a=A, cubic=True)
    cell.calc = snap_calculator()
    e_bulk = cell.get_potential_energy() / 2
    d = surface_sites.nearest_neighbour_distance(cell)
    values = []
    for thickness in (paper['min_slab_size'], paper['min_slab_size'] + 4.0):
        slab = surface_sites.adsorption_slab(cell, (1, 0, 0), thickness, paper['min_vacuum_size'], (3, 3))
        hollow = surface_sites.add_adatom(slab, (0.5, 0.5), d)
        fixed = paper['fixed_thickness']
        values.append(
            relaxed_energy(hollow, snap_calculator, fixed) - relaxed_energy(slab, snap_calculator, fixed) - e_bulk
        )
    assert abs(values[1] - values[0]) < 5e-3, values


@pytest.mark.parametrize(
    ('cls', 'overrides', 'message'),
    [
        (AdsorptionEnergySurfaceWorkChain, {'grid': [1, 4]}, 'at least 2'),
        (AdsorptionEnergySurfaceWorkChain, {'miller_indices': [[0, 0, 0]]}, 'impossible Miller index'),
        (AdsorptionEnergySurfaceWorkChain, {'miller_indices': [[1, 0]]}, 'impossible Miller index'),
        (AdsorptionEnergySurfaceWorkChain, {'min_slab_size': 3.0}, 'thicker than its fixed bottom'),
        (
            AdsorptionEnergySurfaceWorkChain,
            {'evaluation': {'parameters': {'constraints': {'fixed_below': 2.0}}}},
            'set by the work chain',
        ),
        (EhrlichSchwoebelWorkChain, {'evaluation': {'parameters': {'images': 2}}}, 'at least 3'),
        (EhrlichSchwoebelWorkChain, {'step_supercell': [2, 2]}, 'at least 4 cells'),
    ],
)
def test_bad_inputs_are_refused_before_submission(runner_code, snap_potential, bcc, cls, overrides, message):
    with pytest.raises(ValueError, match=message):
        cls.get_builder_from_protocol(runner_code, bcc, snap_potential, overrides=overrides)


def test_diffusion_refuses_bands_of_too_few_images_and_another_structure(runner_code, snap_potential, bcc, spes):
    outputs, _ = spes
    inputs = {'adsorption': outputs['results'], 'minima': outputs['minima']}
    with pytest.raises(ValueError, match='at least 3 intermediate images'):
        SurfaceDiffusionWorkChain.get_builder_from_protocol(
            runner_code, bcc, snap_potential, overrides={'evaluation': {'parameters': {'images': 2}}}, **inputs
        )
    other = orm.StructureData(ase=bulk('Li', 'bcc', a=A, cubic=True)).store()
    with pytest.raises(ValueError, match='another structure'):
        SurfaceDiffusionWorkChain.get_builder_from_protocol(runner_code, other, snap_potential, **inputs)
    with pytest.raises(ValueError, match='not in `adsorption`'):
        SurfaceDiffusionWorkChain.get_builder_from_protocol(
            runner_code, bcc, snap_potential, facets=orm.List(['111']), **inputs
        )
