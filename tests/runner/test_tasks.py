"""Tests of the runner tasks and the ``limlip-runner`` executable, with the real LAMMPS SNAP potential."""

import json
import shutil
import subprocess

import ase.io
import numpy as np
import pytest
from ase.build import bulk

from aiida_limlip.runner import files
from aiida_limlip.runner.base import TaskContext, TaskFailedError, TaskInputError
from aiida_limlip.runner.calculators import make_calculator_factory
from aiida_limlip.runner.tasks import TASKS, get_task, validate_task_parameters

from ..lammps_reference import relaxed_bcc_lattice_constant


@pytest.fixture
def snap_context(snap_spec):
    spec, directory = snap_spec
    return TaskContext(make_calculator_factory(spec, directory))


def test_every_task_declares_its_parameters():
    """The registry is the one place tasks are described: output kind, help with units, checked defaults."""
    assert set(TASKS) == {'singlepoint', 'relax', 'md', 'neb'}
    assert {task.output for task in TASKS.values()} == {'frames', 'trajectory', 'path'}
    for task in TASKS.values():
        assert task.validate({}) == task.defaults
        assert all(parameter.help for parameter in task.parameters.values())


def test_validate_task_parameters():
    assert validate_task_parameters('relax', {'fmax': 0.01})['fmax'] == 0.01
    assert validate_task_parameters('relax', None)['optimizer'] == 'BFGS'
    with pytest.raises(TaskInputError, match='unknown runner task'):
        validate_task_parameters('phonopy', {})
    with pytest.raises(TaskInputError, match=r"unknown parameter\(s\) \['fmx'\]"):
        validate_task_parameters('relax', {'fmx': 0.01})
    with pytest.raises(TaskInputError, match="'fmax' must be > 0"):
        validate_task_parameters('relax', {'fmax': -1})
    with pytest.raises(TaskInputError, match='fallback_optimizer must differ'):
        validate_task_parameters('relax', {'optimizer': 'FIRE', 'fallback_optimizer': 'FIRE'})


@pytest.mark.parametrize(
    ('parameters', 'message'),
    [
        ({'ensemble': 'nvk'}, "'ensemble' must be one of"),
        ({'temperature': -5.0}, "'temperature' must be >= 0"),
        ({'timestep': 0.0}, "'timestep' must be > 0"),
        ({'ensemble': 'nvt_nose_hoover', 'temperature': 0.0}, 'needs temperatures above 0 K'),
        ({'ensemble': 'nve', 'ramp_steps': 100}, 'needs a thermostat'),
        ({'frame_interval': 15, 'thermo_interval': 10}, 'multiple of thermo_interval'),
        ({'ensemble': 'npt', 'constraints': {'fixed_atoms': [0]}}, 'does not support constraints'),
        ({'steps': 100, 'equilibration_steps': 100}, 'nothing would be averaged'),
        ({'constraints': {'fixed_atom': [0]}}, 'unknown keys'),
    ],
)
def test_md_parameters_are_checked(parameters, message):
    with pytest.raises(TaskInputError, match=message):
        validate_task_parameters('md', parameters)


def test_md_structures_are_checked():
    task = get_task('md')
    npt = task.validate({'ensemble': 'npt'})
    with pytest.raises(TaskInputError, match='npt needs a periodic cell'):
        slab = bulk('Li', 'bcc', a=3.45, cubic=True).repeat((2, 2, 2))
        slab.pbc = (True, True, False)
        task.validate_structures([slab], npt)
    with pytest.raises(TaskInputError, match='orthorhombic'):
        task.validate_structures([bulk('Li', 'bcc', a=3.45).repeat(3)], npt)
    with pytest.raises(TaskInputError, match='MD needs at least 2'):
        task.validate_structures([bulk('Li', 'bcc', a=3.45)], task.validate({}))


def test_singlepoint_matches_direct_evaluation(snap_context):
    rng = np.random.default_rng(1)
    atoms = bulk('Li', 'bcc', a=3.44, cubic=True).repeat(2)
    atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
    output = TASKS['singlepoint'].function([atoms], snap_context, validate_task_parameters('singlepoint', {}))
    direct = atoms.copy()
    direct.calc = snap_context.calculator()
    frame, summary = output.frames[0], output.summaries[0]
    assert summary['energy'] == pytest.approx(direct.get_potential_energy(), abs=1e-10)
    assert frame.get_forces() == pytest.approx(direct.get_forces(), abs=1e-10)
    assert frame.get_stress() == pytest.approx(direct.get_stress(), abs=1e-12)
    # Newton's third law holds for the sum of forces.
    assert np.abs(frame.get_forces().sum(axis=0)).max() < 1e-8


def test_relax_cell_matches_lammps_box_relax(snap_context, snap_spec, tmp_path):
    """The ASE cell relaxation finds the lattice constant that LAMMPS's own minimiser finds."""
    spec, directory = snap_spec
    parameters = validate_task_parameters('relax', {'relax_cell': True, 'fmax': 1e-5})
    output = TASKS['relax'].function([bulk('Li', 'bcc', a=3.40, cubic=True)], snap_context, parameters)
    a_ours = output.frames[0].cell.lengths()[0]
    pair_lines = [f'pair_style {spec["pair_style"]}', *(f'pair_coeff {line}' for line in spec['pair_coeff'])]
    pair_lines = [line.replace('Li_Zuo', f'{directory}/Li_Zuo') for line in pair_lines]
    a_lammps, e_lammps = relaxed_bcc_lattice_constant(pair_lines, tmp_path)
    summary = output.summaries[0]
    assert summary['converged'] and summary['optimizers'] == ['BFGS']
    # Both minimisers stop at a residual stress of ~1e-6 eV/Å^3; that moves a by far less than 1e-4 Å.
    assert a_ours == pytest.approx(a_lammps, abs=1e-4)
    assert summary['energy'] / 2 == pytest.approx(e_lammps, abs=1e-7)
    assert np.abs(summary['stress']).max() < 1e-5


def test_relax_reports_non_convergence_with_the_residual_force(snap_context):
    atoms = bulk('Li', 'bcc', a=3.30, cubic=True)
    parameters = validate_task_parameters(
        'relax', {'relax_cell': True, 'fmax': 1e-8, 'max_steps': 2, 'fallback_steps': 2}
    )
    with pytest.raises(TaskFailedError, match=r'did not relax .* in 4 steps \(BFGS then FIRE\); residual force'):
        TASKS['relax'].function([atoms], snap_context, parameters)


def test_relax_falls_back_to_fire_and_can_leave_the_decision_to_the_work_chain(snap_context):
    """BFGS stopped early hands over to FIRE, which finishes; with require_convergence off a miss is reported."""
    atoms = bulk('Li', 'bcc', a=3.45, cubic=True).repeat(2)
    atoms.rattle(0.1, seed=3)
    parameters = validate_task_parameters('relax', {'fmax': 1e-3, 'max_steps': 3, 'fallback_steps': 2000})
    summary = TASKS['relax'].function([atoms], snap_context, parameters).summaries[0]
    assert summary['optimizers'] == ['BFGS', 'FIRE'] and summary['converged'] and summary['fmax'] < 1e-3
    lenient = validate_task_parameters(
        'relax', {'fmax': 1e-6, 'max_steps': 2, 'fallback_optimizer': None, 'require_convergence': False}
    )
    summary = TASKS['relax'].function([atoms], snap_context, lenient).summaries[0]
    assert not summary['converged'] and not summary['accepted'] and summary['fmax'] > 1e-6
    accepting = validate_task_parameters(
        'relax', {'fmax': 1e-6, 'max_steps': 2, 'fallback_optimizer': None, 'accept_fmax': 10.0}
    )
    assert TASKS['relax'].function([atoms], snap_context, accepting).summaries[0]['accepted']


def test_relax_keeps_constrained_atoms_in_place(snap_context):
    """A slab with its bottom held and an adatom moving along z only (the SPES set-up)."""
    from ase.build import add_adsorbate, bcc100

    slab = bcc100('Li', size=(2, 2, 4), a=3.45, vacuum=6.0)
    add_adsorbate(slab, 'Li', 1.8, 'hollow', offset=(0.3, 0.2))
    start = slab.copy()
    constraints = {'fixed_below': 1.0, 'fixed_directions': {'-1': [True, True, False]}}
    parameters = validate_task_parameters('relax', {'fmax': 1e-2, 'constraints': constraints})
    relaxed = TASKS['relax'].function([slab], snap_context, parameters).frames[0]
    bottom = start.positions[:, 2] - start.positions[:, 2].min() < 1.0
    assert np.abs(relaxed.positions[bottom] - start.positions[bottom]).max() < 1e-12
    assert relaxed.positions[-1, :2] == pytest.approx(start.positions[-1, :2], abs=1e-12)
    assert abs(relaxed.positions[-1, 2] - start.positions[-1, 2]) > 1e-3  # it did move along z
    assert not relaxed.constraints  # the output frame carries no constraint of the task


def test_relax_keeps_the_space_group_when_asked(tmp_path):
    """A potential with a small shear stress on a cubic crystal (an unstable ML model's bcc, in effect) shears the cell
    in a free relaxation; with ``keep_symmetry`` the stress is symmetrised and the crystal stays cubic."""
    from ase.calculators.emt import EMT

    from aiida_limlip.analysis.structures import is_cubic
    from aiida_limlip.runner.calculators import _shared

    class ShearedEMT(EMT):
        def calculate(self, *args, **kwargs):
            super().calculate(*args, **kwargs)
            if 'stress' in self.results:
                self.results['stress'] = self.results['stress'] + np.array([0, 0, 0, 0, 0, 2e-3])  # eV/Å^3, xy

    context = TaskContext(_shared(ShearedEMT))
    cells = {}
    for keep in (False, True):
        parameters = validate_task_parameters('relax', {'relax_cell': True, 'fmax': 1e-4, 'keep_symmetry': keep})
        cells[keep] = TASKS['relax'].function([bulk('Cu', 'fcc', a=3.6)], context, parameters).frames[0]
    assert not is_cubic(cells[False])  # the check can fail: the shear stress did break the symmetry
    assert is_cubic(cells[True])
    # Symmetrised, the stress left is EMT's own hydrostatic one: the volume is EMT's equilibrium.
    reference = bulk('Cu', 'fcc', a=3.6)
    reference.calc = EMT()
    parameters = validate_task_parameters('relax', {'relax_cell': True, 'fmax': 1e-4, 'hydrostatic_strain': True})
    expected = TASKS['relax'].function([reference], TaskContext(_shared(EMT)), parameters).frames[0]
    assert cells[True].get_volume() == pytest.approx(expected.get_volume(), rel=1e-4)


def test_batch_frames_keep_their_own_results_with_a_shared_calculator(tmp_path):
    """ML calculators are shared by a batch; every relaxed frame still carries its own energy, forces and stress.

    EMT stands in for a model here (one instance handed out for every structure, as for NequIP and DeePMD); the
    structures differ in size, which made writing the relaxed frames crash when frames kept the shared calculator.
    """
    from ase.calculators.emt import EMT

    from aiida_limlip.runner.calculators import _shared

    context = TaskContext(_shared(EMT))
    structures = [bulk('Cu', 'fcc', a=3.7).repeat(2), bulk('Cu', 'fcc', a=3.6, cubic=True)]
    del structures[1][0]
    for atoms in structures:
        atoms.rattle(0.05, seed=2)
    output = TASKS['relax'].function(structures, context, validate_task_parameters('relax', {'fmax': 0.01}))
    ase.io.write(tmp_path / files.FRAMES_FILE, output.frames, format='extxyz')
    read = ase.io.read(tmp_path / files.FRAMES_FILE, index=':')
    for summary, atoms in zip(output.summaries, read, strict=True):
        direct = atoms.copy()
        direct.calc = EMT()
        assert atoms.get_potential_energy() == pytest.approx(summary['energy'], abs=1e-8)
        assert atoms.get_potential_energy() == pytest.approx(direct.get_potential_energy(), abs=1e-6)
        assert atoms.get_forces() == pytest.approx(direct.get_forces(), abs=1e-6)


def write_request(directory, spec, potential_dir, task, parameters, structures, labels=None):
    (directory / files.POTENTIAL_DIR).mkdir()
    for name in spec.get('files', []):
        shutil.copy(potential_dir / name, directory / files.POTENTIAL_DIR / name)
    request = {'task': task, 'parameters': parameters, 'potential': spec, 'labels': labels}
    (directory / files.INPUT_FILE).write_text(json.dumps(request))
    ase.io.write(directory / files.STRUCTURES_FILE, structures, format='extxyz')


def test_runner_executable_end_to_end(snap_spec, tmp_path, runner_executable):
    spec, directory = snap_spec
    structures = [bulk('Li', 'bcc', a=3.45, cubic=True), bulk('Li', 'bcc', a=3.55)]
    write_request(tmp_path, spec, directory, 'relax', {'relax_cell': True, 'fmax': 1e-5}, structures, ['cube', 'prim'])
    process = subprocess.run([runner_executable, '.'], cwd=tmp_path, capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    results = json.loads((tmp_path / files.RESULTS_FILE).read_text())
    assert results['task'] == 'relax' and results['output'] == 'frames' and results['labels'] == ['cube', 'prim']
    assert [results['items'][label]['natoms'] for label in ('cube', 'prim')] == [2, 1]
    relaxed = ase.io.read(tmp_path / files.FRAMES_FILE, index=':')
    assert [atoms.info['label'] for atoms in relaxed] == ['cube', 'prim']
    # The conventional and the primitive cell relax to the same volume per atom.
    assert relaxed[0].get_volume() / 2 == pytest.approx(relaxed[1].get_volume(), rel=1e-4)
    assert relaxed[1].get_potential_energy() == pytest.approx(results['items']['prim']['energy'], abs=1e-8)
    assert not (tmp_path / files.ERROR_FILE).exists()


@pytest.mark.parametrize(
    ('change', 'reason', 'status'),
    [
        ({'pair_coeff': ['* * missing.snapcoeff Li']}, 'task', 5),
        ({'files': ['missing.snapcoeff']}, 'potential', 3),
        ({'kind': 'gap'}, 'potential', 3),
    ],
)
def test_runner_executable_reports_errors(snap_spec, tmp_path, runner_executable, change, reason, status):
    spec, directory = snap_spec
    write_request(tmp_path, spec, directory, 'singlepoint', {}, [bulk('Li', 'bcc', a=3.45)])
    request_file = tmp_path / files.INPUT_FILE
    data = json.loads(request_file.read_text())
    data['potential'].update(change)
    request_file.write_text(json.dumps(data))
    process = subprocess.run([runner_executable], cwd=tmp_path, capture_output=True, text=True)
    assert process.returncode == status
    error = json.loads((tmp_path / files.ERROR_FILE).read_text())
    assert error['reason'] == reason
    assert not (tmp_path / files.RESULTS_FILE).exists()


def test_runner_executable_rejects_unknown_task(snap_spec, tmp_path, runner_executable):
    spec, directory = snap_spec
    write_request(tmp_path, spec, directory, 'phonopy', {}, [bulk('Li', 'bcc', a=3.45)])
    process = subprocess.run([runner_executable], cwd=tmp_path, capture_output=True, text=True)
    assert process.returncode == 2
    assert 'unknown runner task' in json.loads((tmp_path / files.ERROR_FILE).read_text())['message']


def test_runner_reports_a_failure_to_write_its_results(snap_spec, tmp_path, monkeypatch):
    """A failure after the task (here: writing the frames) ends in error.json, never in silence."""
    from aiida_limlip.runner import __main__ as runner_main

    spec, directory = snap_spec
    write_request(tmp_path, spec, directory, 'relax', {}, [bulk('Li', 'bcc', a=3.45, cubic=True)])

    def broken_write(*args, **kwargs):
        raise OSError('No space left on device')

    monkeypatch.setattr(ase.io, 'write', broken_write)
    assert runner_main.run(tmp_path) == 6
    error = json.loads((tmp_path / files.ERROR_FILE).read_text())
    assert error['reason'] == 'output' and 'No space left on device' in error['message']
    assert not (tmp_path / files.RESULTS_FILE).exists()
