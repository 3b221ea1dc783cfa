"""Every property work chain with every potential kind: SNAP, MEAM, DeePMD, NequIP32 and NequIP64.

The machine-learning models are tiny (``tests/models.py``), the cells small and the protocols ``fast``: these tests
are about code paths that only some kinds take (a model loaded once and shared by a batch, float32, structures of
different sizes in one batch), so each one checks its numbers against a direct ASE calculation with the same
potential on the same structures, not against physics the tiny models do not know.
"""

import numpy as np
import pytest
from aiida import engine, orm
from aiida.common.links import LinkType
from ase.build import bcc100, bulk
from ase.optimize import BFGS
from ase.phonons import Phonons
from ase.units import GPa

from aiida_limlip.workchains.prediction_errors import PredictionErrorsWorkChain
from aiida_limlip.workchains.properties.elastic import ElasticConstantsWorkChain
from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain
from aiida_limlip.workchains.properties.phonons import PhononWorkChain
from aiida_limlip.workchains.properties.surface_kinetics import (
    AdsorptionEnergySurfaceWorkChain,
    SurfaceDiffusionWorkChain,
)
from aiida_limlip.workchains.properties.surfaces import SurfaceEnergyWorkChain
from aiida_limlip.workchains.properties.vacancy import VacancyFormationWorkChain

from ..cells import vacancy_hop
from ..conftest import POTENTIAL_KINDS

#: Every test starts from this lattice; the checks compare with direct calculations on the same cells.
A = 3.45

pytestmark = pytest.mark.slow


@pytest.fixture(params=POTENTIAL_KINDS)
def potential(request, tiny_potentials):
    return tiny_potentials[request.param]


def with_one_nequip(precision: str):
    """Run a test with SNAP, MEAM, DeePMD and the NequIP model of one ``precision`` (``'32'`` or ``'64'``).

    Both precisions run where numbers hinge on precision (finite differences of the elastic constants and phonons,
    and MD, whose continued parts must join to 1e-5). The others share every code path between the two and take one
    each, alternating, so each precision still runs through most work chains' batches (the model-deviation test pairs
    the two anyway): two NequIP columns there cost 250 s of CI for no path that one does not take.
    """
    kinds = [kind for kind in POTENTIAL_KINDS if not kind.startswith('NequIP') or kind == f'NequIP{precision}']
    return pytest.mark.parametrize('potential', kinds, indirect=True)


#: One ASE calculator per potential for the direct checks of this module (loading a model takes seconds).
_CALCULATORS: dict = {}


def calculator_of(potential):
    """Return the (shared) ASE calculator of ``potential``; ASE recomputes whenever the atoms change."""
    if potential.uuid not in _CALCULATORS:
        _CALCULATORS[potential.uuid] = potential.get_ase_calculator()
    return _CALCULATORS[potential.uuid]


def run_ok(builder):
    outputs, node = engine.run_get_node(builder)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    return outputs, node


def runner_jobs(node):
    """Return every runner job called (directly or not) by the work chain ``node``."""
    return [n for n in node.called_descendants if n.process_type and n.process_type.endswith('limlip.run')]


def assert_frames_are_their_own(node, potential):
    """Every output frame of every runner job holds the energy of its own structure, evaluated directly.

    A calculator shared by a batch keeps the results of the structure it saw last; a frame that carried them would
    show here as another structure's energy (and, for other sizes, as a crash of the runner).
    """
    calculator = calculator_of(potential)
    checked = 0
    for job in runner_jobs(node):
        for atoms in job.outputs.frames.get_frames():
            stored = atoms.get_potential_energy()
            atoms.calc = calculator
            # Positions are stored to 1e-8 Å; the energy they give agrees to far better than 1e-6 eV.
            assert stored == pytest.approx(atoms.get_potential_energy(), abs=1e-6), atoms.info['label']
            checked += 1
    assert checked > 1


@with_one_nequip('64')
def test_equation_of_state(potential, runner_code):
    """The relaxed cell has no stress, and the fitted E0 is the directly computed energy at the fitted volume."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A, cubic=True))
    outputs, node = run_ok(EquationOfStateWorkChain.get_builder_from_protocol(runner_code, structure, potential))
    calculator = calculator_of(potential)

    relaxed = outputs['relaxed_structure'].get_ase()
    relaxed.calc = calculator
    # FrechetCellFilter stops when |stress| V / N < fmax (1e-3 eV in `fast`) on every cell component.
    limit = 1.0e-3 * len(relaxed) / relaxed.get_volume()
    assert np.abs(relaxed.get_stress()).max() < 1.01 * limit

    equilibrium = outputs['equilibrium_structure'].get_ase()
    equilibrium.calc = calculator
    results = outputs['results']
    assert equilibrium.get_volume() / 2 == pytest.approx(results['volume_per_atom'], rel=1e-9)
    # Two atoms per cube: a0 is the edge of the cube of the fitted volume.
    assert equilibrium.get_volume() ** (1 / 3) == pytest.approx(outputs['lattice_constant'].value, rel=1e-9)
    # The fit passes within its own residual of the points, so also of the energy at its minimum.
    tolerance = 3 * results['rms_residual_per_atom'] + 1e-6
    assert equilibrium.get_potential_energy() / 2 == pytest.approx(outputs['energy_per_atom'].value, abs=tolerance)
    assert outputs['bulk_modulus'].value > 0
    assert_frames_are_their_own(node, potential)


def test_elastic_constants(potential, runner_code):
    """Each fitted constant is the least-squares slope of stresses computed directly at the same strains."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A, cubic=True))
    outputs, node = run_ok(ElasticConstantsWorkChain.get_builder_from_protocol(runner_code, structure, potential))
    results = outputs['results']
    calculator = calculator_of(potential)
    atoms = bulk('Li', 'bcc', a=A, cubic=True)
    magnitudes = [-0.01, -0.005, 0.005, 0.01]

    def slope(component, pairs):
        # Both atoms of the cubic cell sit on inversion centres: no ionic relaxation under homogeneous strain.
        stresses = []
        for eps in magnitudes:
            strain = np.zeros((3, 3))
            for i, j in pairs:
                strain[i, j] = strain[j, i] = eps if i == j else eps / 2
            strained = atoms.copy()
            strained.set_cell(atoms.cell @ (np.eye(3) + strain), scale_atoms=True)
            strained.calc = calculator
            stresses.append(strained.get_stress(voigt=True)[component] / GPa)
        # Symmetric strains: the slope of a straight-line fit is sum(eps sigma) / sum(eps^2).
        return np.dot(magnitudes, stresses) / np.dot(magnitudes, magnitudes)

    # Stresses are stored to 1e-8 eV/Å^3 (2e-6 GPa) on strains of 0.5 %: 1e-3 of C is far above that rounding.
    assert results['C11'] == pytest.approx(slope(0, [(0, 0)]), rel=1e-3, abs=1e-3)
    assert results['C12'] == pytest.approx(slope(1, [(0, 0)]), rel=1e-3, abs=1e-3)
    assert results['C44'] == pytest.approx(slope(3, [(1, 2)]), rel=1e-3, abs=1e-3)
    assert np.isfinite(results['bulk_modulus_hill'])
    assert_frames_are_their_own(node, potential)


@with_one_nequip('64')
def test_vacancy_formation_energy(potential, runner_code):
    """The relaxed supercells are minima of the potential and E_v is their directly computed energy difference.

    (SNAP's E_v is checked against a supercell built and relaxed independently in ``test_properties.py``; here a
    different relaxation path could end in another minimum of a tiny model.)
    """
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A))
    builder = VacancyFormationWorkChain.get_builder_from_protocol(
        runner_code, structure, potential, overrides={'supercell_sizes': [2]}
    )
    outputs, node = run_ok(builder)
    (job,) = runner_jobs(node)
    calculator = calculator_of(potential)
    energies = {}
    for label in ('perfect_2', 'vacancy_2'):
        atoms = job.outputs.structures[label].get_ase()
        atoms.calc = calculator
        # `fast` relaxes to 5e-3 eV/Å; the stored positions (1e-8 Å) keep that.
        assert np.linalg.norm(atoms.get_forces(), axis=1).max() < 5e-3
        energies[label] = atoms.get_potential_energy()
    assert len(job.outputs.structures['vacancy_2'].sites) == 15
    expected = energies['vacancy_2'] - 15 / 16 * energies['perfect_2']
    assert outputs['vacancy_formation_energy'].value == pytest.approx(expected, abs=1e-6)
    # The batch held a 16-atom and a 15-atom cell: structures of different sizes in one job.
    assert_frames_are_their_own(node, potential)


@with_one_nequip('32')
def test_surface_energies(potential, runner_code):
    """gamma(100) equals a direct relaxation of ASE's bcc100 slab with as many layers; (110) is in the same batch."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A, cubic=True))
    builder = SurfaceEnergyWorkChain.get_builder_from_protocol(
        runner_code, structure, potential, overrides={'max_index': None, 'miller_indices': [[1, 0, 0], [1, 1, 0]]}
    )
    outputs, node = run_ok(builder)
    energies = outputs['results']['surface_energies']
    layers = outputs['results']['facets']['100']['natoms']  # one atom per (100) layer
    calculator = calculator_of(potential)
    slab = bcc100('Li', size=(1, 1, layers), a=A, vacuum=6.0, periodic=True)
    slab.calc = calculator
    BFGS(slab, logfile=None).run(fmax=1e-3)
    reference = bulk('Li', 'bcc', a=A, cubic=True)
    reference.calc = calculator
    area = np.linalg.norm(np.cross(slab.cell[0], slab.cell[1]))
    expected = (slab.get_potential_energy() - layers * reference.get_potential_energy() / 2) / (2 * area)
    # fmax 1e-2 eV/Å (`fast`) against 1e-3: the slab energies differ by < 1e-4 eV, i.e. < 1e-5 eV/Å^2 of gamma.
    assert energies['100'] == pytest.approx(expected, abs=1e-4)
    assert np.isfinite(energies['110'])
    assert_frames_are_their_own(node, potential)


def test_phonons(potential, runner_code, tmp_path):
    """Frequencies at H and N agree with ASE's Phonons module with the same potential and supercell."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A))
    builder = PhononWorkChain.get_builder_from_protocol(
        runner_code, structure, potential, overrides={'supercell': [2, 2, 2]}
    )
    outputs, _ = run_ok(builder)
    points = outputs['results']['special_points']
    atoms = bulk('Li', 'bcc', a=A)
    phonons = Phonons(atoms, calculator_of(potential), supercell=(2, 2, 2), delta=0.01, name=str(tmp_path / 'ph'))
    phonons.run()
    phonons.read(acoustic=True)
    special = atoms.cell.bandpath().special_points
    thz = 1e-12 / 4.135667696e-15  # eV to THz
    for label in ('H', 'N'):
        reference = np.sort(phonons.band_structure([special[label]])[0].real) * thz
        # H and N are commensurate with the 2x2x2 supercell; both codes difference the same forces over 0.01 Å.
        assert np.sort(points[label]) == pytest.approx(reference, abs=0.02)


@with_one_nequip('64')
def test_test_set_errors(potential, runner_code, snap_labelled_set):
    """The RMSEs equal those computed with NumPy from direct predictions on the same frames."""
    builder = PredictionErrorsWorkChain.get_builder_from_protocol(runner_code, potential, snap_labelled_set)
    outputs, _ = run_ok(builder)
    calculator = calculator_of(potential)
    de, df = [], []
    for frame in snap_labelled_set.get_frames():
        reference_energy, reference_forces = frame.get_potential_energy(), frame.get_forces()
        atoms = frame.copy()
        atoms.calc = calculator
        de.append((atoms.get_potential_energy() - reference_energy) / len(atoms))
        df.append((atoms.get_forces() - reference_forces).ravel())
    overall = outputs['errors']['overall']
    assert overall['energy']['rmse'] == pytest.approx(1e3 * np.sqrt(np.mean(np.square(de))), rel=1e-6, abs=1e-6)
    # Frames keep forces to 1e-8 eV/Å: 1e-4 meV/Å is above that rounding (SNAP on its own labels is at that level).
    expected = 1e3 * np.sqrt(np.mean(np.square(np.concatenate(df))))
    assert overall['forces']['rmse'] == pytest.approx(expected, rel=1e-6, abs=1e-4)


@pytest.mark.parametrize('name', ['SNAP', 'NequIP32'])
def test_failed_relaxation_leaves_no_outputs(tiny_potentials, runner_code, name):
    """A relaxation that cannot converge ends in exit 402 and the work chain returns no nodes, with a calculator per
    structure (SNAP) and with a shared ML calculator (NequIP)."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A))
    builder = VacancyFormationWorkChain.get_builder_from_protocol(
        runner_code,
        structure,
        tiny_potentials[name],
        overrides={
            'supercell_sizes': [2],
            'evaluation': {'parameters': {'fmax': 1e-9, 'max_steps': 1, 'fallback_steps': 1}},
        },
    )
    _, node = engine.run_get_node(builder)
    assert node.exit_status == VacancyFormationWorkChain.exit_codes.ERROR_EVALUATION_FAILED.status
    assert 'did not relax' in node.exit_message
    assert not node.base.links.get_outgoing(link_type=LinkType.RETURN).all()


@pytest.mark.parametrize('engine_name', ['ase', 'lammps'])
def test_md(potential, runner_code, lmp_code, engine_name):
    """A short NVT run on each engine that can run the potential: the sampled frames hold the potential's own energy
    and forces (checked directly), the record its energies, and the last frame is the last sample.

    The job has one second of wall time, so a run whose set-up and steps take longer (the models loaded by torch or
    TensorFlow) is continued from its last frame and velocities in further jobs: the joined record must then look
    exactly like one job's, and each part must start where the previous one stopped.
    """
    from aiida_limlip.workchains.evaluation import EvaluationWorkChain, build_evaluation_inputs

    if engine_name == 'lammps' and not potential.has_lammps_pair_style:
        with pytest.raises(ValueError, match='has no LAMMPS pair style'):
            build_evaluation_inputs({'ase': runner_code, 'lammps': lmp_code}, 'md', potential, engine=engine_name)
        return
    parameters = {'ensemble': 'nvt_langevin', 'temperature': 200.0, 'steps': 40, 'thermo_interval': 10}
    inputs = build_evaluation_inputs(
        {'ase': runner_code, 'lammps': lmp_code},
        'md',
        potential,
        {**parameters, 'frame_interval': 20},
        engine=engine_name,
        options={'max_wallclock_seconds': 1},
    )
    inputs.update(
        structures={'bcc': orm.StructureData(ase=bulk('Li', 'bcc', a=A, cubic=True).repeat(2))}, task=orm.Str('md')
    )
    outputs, node = engine.run_get_node(EvaluationWorkChain, inputs)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    jobs = sorted((job for job in node.called if isinstance(job, orm.CalcJobNode)), key=lambda job: job.ctime)
    assert 1 <= len(jobs) <= 2 and all(job.exit_status == 341 for job in jobs[:-1])  # parts end on sampled steps
    for previous, part in zip(jobs, jobs[1:], strict=False):
        assert part.inputs.velocities.bcc.pk == previous.outputs.velocities.bcc.pk
        before, after = previous.outputs.thermo.bcc, part.outputs.thermo.bcc
        for quantity in ('potential_energy', 'kinetic_energy'):
            assert after.get_array(quantity)[0] == pytest.approx(before.get_array(quantity)[-1], rel=1e-5, abs=1e-6)
    thermo, trajectory = outputs['thermo']['bcc'], outputs['trajectory']['bcc']
    assert list(thermo.get_array('step')) == [0, 10, 20, 30, 40] and list(trajectory.get_stepids()) == [0, 20, 40]
    calculator = calculator_of(potential)
    for index in range(trajectory.numsteps):
        atoms = trajectory.get_step_structure(index).get_ase()
        atoms.calc = calculator
        assert atoms.get_potential_energy() == pytest.approx(trajectory.get_array('energies')[index], abs=1e-5)
        assert atoms.get_forces() == pytest.approx(trajectory.get_array('forces')[index], abs=1e-5)
    assert thermo.get_array('potential_energy')[-1] == pytest.approx(trajectory.get_array('energies')[-1], abs=1e-5)
    last = outputs['structures']['bcc'].get_ase()
    shift = last.positions - trajectory.get_positions()[-1]
    # The same positions, up to a lattice vector (LAMMPS wraps atoms into the box when a run starts).
    assert np.abs(shift @ np.linalg.inv(last.cell) - np.round(shift @ np.linalg.inv(last.cell))).max() < 1e-8


@with_one_nequip('32')
def test_md_with_the_model_deviation_of_an_ensemble(potential, tiny_potentials, runner_code):
    """Exploration MD on the runner (ASE) engine, as active learning runs NequIP ensembles: the deviation of every
    sampled frame is that of the models' own calculators, whatever kind drives the run."""
    from aiida_limlip.workchains.evaluation import EvaluationWorkChain, build_evaluation_inputs

    partner = tiny_potentials['NequIP64' if potential.uuid != tiny_potentials['NequIP64'].uuid else 'NequIP32']
    parameters = {'ensemble': 'nvt_langevin', 'temperature': 200.0, 'steps': 20, 'thermo_interval': 10}
    inputs = build_evaluation_inputs(
        {'ase': runner_code}, 'md', potential, {**parameters, 'frame_interval': 10}, ensemble={'m1': partner}
    )
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A, cubic=True).repeat(2))
    inputs.update(structures={'bcc': structure}, task=orm.Str('md'))
    outputs, node = engine.run_get_node(EvaluationWorkChain, inputs)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    trajectory, deviation = outputs['trajectory']['bcc'], outputs['model_deviation']['bcc']
    assert list(deviation.get_array('step')) == list(trajectory.get_stepids()) == [0, 10, 20]
    calculators = [calculator_of(potential), calculator_of(partner)]
    for index in range(trajectory.numsteps):
        atoms = trajectory.get_step_structure(index).get_ase()
        forces = []
        for calculator in calculators:
            atoms.calc = calculator
            forces.append(atoms.get_forces())
        spread = np.linalg.norm(np.std(np.array(forces), axis=0), axis=1)
        assert deviation.get_array('max_devi_f')[index] == pytest.approx(spread.max(), rel=1e-4, abs=1e-6)
    assert deviation.get_array('max_devi_f').max() > 1e-3  # two different models do disagree


@with_one_nequip('32')
def test_neb(potential, runner_code):
    """A vacancy hop in a 15-atom cell: the band converges and its images hold their own energies (one calculator
    is shared by every image of a machine-learning potential)."""
    from aiida_limlip.workchains.evaluation import EvaluationWorkChain, build_evaluation_inputs

    initial, final = vacancy_hop(A, 2)
    parameters = {'images': 3, 'relax_endpoints': True, 'fmax': 0.05, 'max_steps': 1000}
    inputs = build_evaluation_inputs({'ase': runner_code}, 'neb', potential, parameters)
    inputs.update(
        structures={'image_0': orm.StructureData(ase=initial), 'image_1': orm.StructureData(ase=final)},
        task=orm.Str('neb'),
    )
    outputs, node = engine.run_get_node(EvaluationWorkChain, inputs)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    path = outputs['results']['items']['path']
    calculator = calculator_of(potential)
    for atoms, energy in zip(outputs['frames'].get_frames(), path['energies'], strict=True):
        frame_energy = atoms.get_potential_energy()
        atoms.calc = calculator
        assert frame_energy == pytest.approx(energy, abs=1e-6)
        assert atoms.get_potential_energy() == pytest.approx(energy, abs=1e-5)
    assert path['barrier_forward'] == pytest.approx(max(path['energies']) - path['energies'][0], abs=1e-9)


@with_one_nequip('64')
def test_adsorption_and_diffusion(potential, runner_code):
    """A 2x2 grid on a thin (100) slab, then the bands from its minimum: E_ads from energies evaluated directly on the
    stored structures, every frame its own, and each path's barrier from its band's images."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A, cubic=True))
    overrides = {
        'miller_indices': [[1, 0, 0]],
        'min_slab_size': 4.0,
        'fixed_thickness': 1.5,
        'surface_supercell': [2, 2],
        'grid': [2, 2],
    }
    builder = AdsorptionEnergySurfaceWorkChain.get_builder_from_protocol(
        runner_code, structure, potential, overrides=overrides
    )
    spes, spes_node = run_ok(builder)
    assert_frames_are_their_own(spes_node, potential)
    facet = spes['results']['facets']['f100']
    calculator = calculator_of(potential)
    sites = spes_node.base.links.get_outgoing(link_label_filter='sites').one().node
    references = {
        atoms.info['label']: atoms.get_potential_energy()
        for atoms in spes_node.base.links.get_outgoing(link_label_filter='references')
        .one()
        .node.outputs.frames.get_frames()
    }
    assert set(references) == {'bulk', 'clean_f100'}
    lowest = spes['minima'][facet['minima'][0]['label']].get_ase()
    lowest.calc = calculator
    reference = sites.outputs.bulk.get_ase()
    reference.calc = calculator
    direct = lowest.get_potential_energy() - references['clean_f100'] - reference.get_potential_energy() / 2
    # The bulk cell's positions do not move in its relaxation; the stored minimum is evaluated here afresh.
    assert facet['minima'][0]['adsorption_energy'] == pytest.approx(direct, abs=1e-5)

    builder = SurfaceDiffusionWorkChain.get_builder_from_protocol(
        runner_code,
        structure,
        potential,
        overrides={'evaluation': {'parameters': {'images': 3, 'fmax': 0.05}}},
        adsorption=spes['results'],
        minima=spes['minima'],
    )
    diffusion, node = run_ok(builder)
    for path in diffusion['results']['facets']['f100']['paths']:
        band = node.base.links.get_outgoing(link_label_filter=f'bands_{path["legs"][0]["name"]}').one().node
        energies = []
        for atoms in band.outputs.frames.get_frames():
            atoms.calc = calculator
            energies.append(atoms.get_potential_energy())
        assert path['barrier'] == pytest.approx(max(energies) - min(energies), abs=1e-5)


@with_one_nequip('32')
def test_finite_temperature(potential, runner_code, lmp_code):
    """Both finite-temperature work chains on a 16-atom cell for a few steps, on the engine chosen for the potential:
    a(T) is the mean recorded box, and C11, C12, C44 the weighted slopes of the recorded stresses, both recomputed
    here from the child runs' records with numpy."""
    from aiida_limlip.workchains.properties.finite_temperature import (
        FiniteTemperatureElasticWorkChain,
        ThermalExpansionWorkChain,
    )

    codes = {'ase': runner_code, 'lammps': lmp_code}
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A, cubic=True)).store()
    md = {'evaluation': {'parameters': {'steps': 40, 'equilibration_steps': 10, 'thermo_interval': 5}}}
    overrides = {'temperatures': [100.0], 'supercell': [2, 2, 2], 'heating_rate': 2.0, **md}
    builder = ThermalExpansionWorkChain.get_builder_from_protocol(codes, structure, potential, overrides=overrides)
    assert builder.evaluation.engine.value == ('lammps' if potential.has_lammps_pair_style else 'ase')
    thermal, node = run_ok(builder)
    (run,) = [n for n in node.called if n.process_label == 'EvaluationWorkChain']
    thermo = run.outputs.thermo.cell
    first = 50 + 10  # heating from 1 K at 2 K/step, then the equilibration
    mask = thermo.get_array('step') >= first
    expected = np.mean(thermo.get_array('cell_lengths')[mask]) / 2
    assert thermal['lattice_constants'].get_array('lattice_constant')[0] == pytest.approx(expected, rel=1e-12)

    builder = FiniteTemperatureElasticWorkChain.get_builder_from_protocol(
        codes, structure, potential, overrides=md, lattice_constants=thermal['lattice_constants']
    )
    elastic, node = run_ok(builder)
    (run,) = [n for n in node.called if n.process_label == 'EvaluationWorkChain']
    items = run.outputs.results['items']
    strains = {'reference': (None, 0.0)}
    for cell in node.called:
        if cell.process_label == 'strained_structures':
            strains.update({k: tuple(v) for k, v in cell.outputs.strains.get_dict().items()})
    entry = elastic['results']['by_temperature']['T_100']

    def slope(component, stresses):
        """The weighted straight line through every (strain, stress) point of the constant, as one fit."""
        x, y, w = [], [], []
        for label, (strained, magnitude) in strains.items():
            if strained in (component, None):
                for stress in stresses:
                    average = items[label]['averages'][f'stress_{stress}']
                    x.append(magnitude)
                    y.append(average['mean'])
                    w.append(1 / average['sem'])
        return np.polyfit(x, y, 1, w=w)[0]

    assert entry['C11']['value'] == pytest.approx(slope(0, ['xx']), rel=1e-9)
    assert entry['C12']['value'] == pytest.approx(slope(0, ['yy', 'zz']), rel=1e-9)
    assert entry['C44']['value'] == pytest.approx(slope(3, ['yz']), rel=1e-9)
