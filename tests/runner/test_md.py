"""The runner's ASE molecular dynamics, NEB and model deviation on small cells with real LAMMPS potentials."""

import time

import numpy as np
import pytest
from ase.build import bulk

from aiida_limlip.analysis.model_deviation import model_deviation
from aiida_limlip.runner.base import TaskContext
from aiida_limlip.runner.calculators import make_calculator_factory
from aiida_limlip.runner.md import THERMO_UNITS, degrees_of_freedom
from aiida_limlip.runner.tasks import get_task

from ..cells import vacancy_hop


@pytest.fixture
def snap_factory(snap_spec):
    spec, directory = snap_spec
    return make_calculator_factory(spec, directory)


@pytest.fixture
def meam_factory(lammps_potentials_dir):
    spec = {
        'kind': 'meam',
        'species': ['Li'],
        'files': ['library.meam'],
        'pair_style': 'meam',
        'pair_coeff': ['* * library.meam Li NULL Li'],
    }
    return make_calculator_factory(spec, lammps_potentials_dir)


def run(factory, parameters, atoms=None, ensemble=(), deadline=None):
    task = get_task('md')
    atoms = atoms if atoms is not None else bulk('Li', 'bcc', a=3.51, cubic=True).repeat(2)
    return task.function([atoms], TaskContext(factory, list(ensemble), deadline), task.validate(parameters))


def test_thermo_record_columns_units_and_temperature(snap_factory):
    parameters = {'ensemble': 'nve', 'temperature': 300.0, 'steps': 40, 'thermo_interval': 10, 'frame_interval': 20}
    output = run(snap_factory, parameters)
    thermo = output.trajectories[0].thermo
    assert set(thermo) == set(THERMO_UNITS)
    assert list(thermo['step']) == [0, 10, 20, 30, 40]
    assert thermo['time'] == pytest.approx([0.0, 0.01, 0.02, 0.03, 0.04])
    # 3N - 3 degrees of freedom: the Maxwell-Boltzmann velocities are drawn and the centre of mass set at rest.
    atoms = bulk('Li', 'bcc', a=3.51, cubic=True).repeat(2)
    expected = 2 * thermo['kinetic_energy'] / ((3 * len(atoms) - 3) * 8.617333262e-5)
    assert thermo['temperature'] == pytest.approx(expected, rel=1e-6)
    assert degrees_of_freedom(atoms) == 45
    # Pressure is minus the mean normal stress, both with the kinetic term; GPa.
    assert thermo['pressure'] == pytest.approx(-thermo['stress'][:, :3].mean(axis=1), rel=1e-9)
    assert thermo['volume'] == pytest.approx(np.prod(thermo['cell_lengths'], axis=1), rel=1e-9)
    samples = output.trajectories[0].samples
    assert [frame.info['step'] for frame in samples] == [0, 20, 40]
    assert samples[-1].get_potential_energy() == pytest.approx(thermo['potential_energy'][-1], abs=1e-9)
    summary = output.summaries[0]
    assert summary['status'] == 'completed' and summary['steps_completed'] == 40
    assert summary['averages']['temperature']['samples'] == 5


def test_ramp_heats_and_blowup_stops_the_run(snap_factory):
    """A Langevin ramp from 10 to 600 K ends hotter than it starts; a low limit stops the run with its record."""
    ramp = {'ensemble': 'nvt_langevin', 'initial_temperature': 10.0, 'temperature': 600.0, 'ramp_steps': 300}
    output = run(snap_factory, {**ramp, 'steps': 10, 'thermo_interval': 10, 'thermostat_damping': 20.0})
    temperature = output.trajectories[0].thermo['temperature']
    assert temperature[0] < 50 and temperature[-1] > 300
    stopped = run(snap_factory, {**ramp, 'steps': 10, 'thermo_interval': 10, 'max_temperature': 100.0})
    summary = stopped.summaries[0]
    assert summary['status'] == 'temperature' and summary['steps_completed'] < 310
    assert stopped.trajectories[0].thermo['temperature'][-1] > 100.0


def test_walltime_stops_the_run_and_keeps_the_record(snap_factory):
    output = run(snap_factory, {'steps': 1000, 'thermo_interval': 10}, deadline=time.monotonic() - 1)
    summary = output.summaries[0]
    assert summary['status'] == 'walltime' and summary['steps_completed'] == 10
    assert len(output.trajectories[0].thermo['step']) == 2


def test_a_run_that_reaches_its_last_step_after_the_deadline_is_complete(snap_factory):
    """Out of time at the last thermo step is not out of time: nothing is left to continue (a continuation of
    nothing once ran the default 1000 steps)."""
    output = run(snap_factory, {'steps': 10, 'thermo_interval': 10}, deadline=time.monotonic() - 1)
    summary = output.summaries[0]
    assert summary['status'] == 'completed' and summary['steps_completed'] == 10


def test_model_deviation_of_an_ensemble(snap_factory, meam_factory):
    """Identical models deviate by 0; SNAP against MEAM by exactly what a direct evaluation of the frames gives."""
    parameters = {'ensemble': 'nvt_langevin', 'steps': 20, 'thermo_interval': 10, 'frame_interval': 10}
    same = run(snap_factory, parameters, ensemble=[snap_factory, snap_factory]).trajectories[0].deviation
    assert list(same['step']) == [0, 10, 20]
    for key in ('max_devi_f', 'avg_devi_f', 'devi_e', 'max_devi_v'):
        assert np.abs(same[key]).max() < 1e-10

    trajectory = run(snap_factory, parameters, ensemble=[meam_factory]).trajectories[0]
    for index, frame in enumerate(trajectory.samples):
        energies, forces, virials = [], [], []
        for factory in (snap_factory, meam_factory):
            atoms = frame.copy()
            atoms.calc = factory()
            energies.append(atoms.get_potential_energy())
            forces.append(atoms.get_forces())
            virials.append(-atoms.get_stress(voigt=False) * atoms.get_volume())
        # By hand: the per-atom norm of the force standard deviation over the two models.
        spread = np.linalg.norm(np.std(np.array(forces), axis=0), axis=1)
        assert trajectory.deviation['max_devi_f'][index] == pytest.approx(spread.max(), rel=1e-6)
        assert trajectory.deviation['avg_devi_f'][index] == pytest.approx(spread.mean(), rel=1e-6)
        assert trajectory.deviation['devi_e'][index] == pytest.approx(abs(energies[0] - energies[1]) / 2 / 16, rel=1e-6)
        reference = model_deviation(energies, np.array(forces), np.array(virials))
        assert trajectory.deviation['max_devi_v'][index] == pytest.approx(reference['max_devi_v'], rel=1e-6)
    assert trajectory.deviation['max_devi_f'][1:].min() > 0.01  # off the perfect lattice they disagree


def test_neb_vacancy_hop_matches_a_direct_ase_neb(snap_factory):
    """The vacancy migration barrier of bcc Li (SNAP, 53 atoms) equals an ASE NEB written here: within 1 meV."""
    from ase.mep import NEB
    from ase.optimize import BFGS, FIRE

    initial, final = vacancy_hop(3.506, 3)

    task = get_task('neb')
    parameters = task.validate({'images': 5, 'relax_endpoints': True, 'fmax': 0.01})
    output = task.function([initial, final], TaskContext(snap_factory), parameters)
    summary = output.summaries[0]
    assert summary['converged'] and len(output.frames) == 7 and summary['saddle_index'] == 3

    ends = []
    for atoms in (initial.copy(), final.copy()):
        atoms.calc = snap_factory()
        BFGS(atoms, logfile=None).run(fmax=0.01)
        ends.append(atoms)
    images = [ends[0]] + [ends[0].copy() for _ in range(5)] + [ends[1]]
    for image in images[1:-1]:
        image.calc = snap_factory()
    band = NEB(images, k=0.1, climb=True)
    band.interpolate(method='idpp', mic=True)
    FIRE(band, logfile=None).run(fmax=0.01, steps=500)
    energies = [image.get_potential_energy() for image in images]
    # Both bands converged to 0.01 eV/Å on a symmetric path: the saddle energies agree to well under 1 meV.
    assert summary['barrier_forward'] == pytest.approx(max(energies) - energies[0], abs=1e-3)
    assert summary['barrier_forward'] == pytest.approx(summary['barrier_backward'], abs=1e-3)  # symmetric hop
    assert summary['reaction_coordinate'][-1] == pytest.approx(np.sqrt(3) / 2 * 3.506, rel=0.05)


def test_neb_refuses_end_points_with_other_atoms():
    from aiida_limlip.runner.base import TaskInputError

    task = get_task('neb')
    first = bulk('Li', 'bcc', a=3.5, cubic=True).repeat(2)
    second = first.copy()
    del second[0]
    with pytest.raises(TaskInputError, match='has other atoms'):
        task.validate_structures([first, second], task.validate({}))
    with pytest.raises(TaskInputError, match='the end points are the same structure'):
        task.validate_structures([first, first.copy()], task.validate({}))


def test_continuation_parameters_cover_the_rest_of_the_run():
    """A run stopped in its ramp continues the ramp from the temperature reached; one stopped in its production
    runs the steps left and leaves out only the equilibration not yet made; nothing remains after the last step."""
    from aiida_limlip.runner.md import PARAMETERS, continuation_parameters

    whole = {key: parameter.default for key, parameter in PARAMETERS.items()}
    whole.update(initial_temperature=100.0, temperature=300.0, ramp_steps=1000, steps=2000, equilibration_steps=500)
    in_ramp = continuation_parameters(whole, 250, 1)
    assert in_ramp['ramp_steps'] == 750 and in_ramp['initial_temperature'] == pytest.approx(150.0)
    assert in_ramp['steps'] == 2000 and in_ramp['equilibration_steps'] == 500 and in_ramp['seed'] == whole['seed'] + 1
    in_production = continuation_parameters(whole, 1200, 2)
    assert in_production['ramp_steps'] == 0 and in_production['steps'] == 1800
    assert in_production['equilibration_steps'] == 300 and in_production['max_temperature'] == 2 * 300.0 + 500
    assert continuation_parameters(whole, 3000, 3) is None


def test_join_records_shifts_steps_and_drops_the_repeated_state():
    from aiida_limlip.runner.md import join_records

    first = {'step': np.array([0, 10, 20]), 'value': np.array([1.0, 2.0, 3.0]), 'vector': np.ones((3, 2))}
    second = {'step': np.array([0, 10]), 'value': np.array([3.0, 4.0]), 'vector': 2 * np.ones((2, 2))}
    joined = join_records([first, second], [0, 20])
    assert joined['step'].tolist() == [0, 10, 20, 30]
    assert joined['value'].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert joined['vector'].shape == (4, 2) and joined['vector'][-1].tolist() == [2.0, 2.0]
