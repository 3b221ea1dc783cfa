"""Tests of the runner tasks and the ``limlip-runner`` executable, with the real LAMMPS SNAP potential."""

import json
import shutil
import subprocess

import ase.io
import numpy as np
import pytest
from ase.build import bulk

from aiida_limlip.runner import files
from aiida_limlip.runner.calculators import make_calculator_factory
from aiida_limlip.runner.tasks import TASKS, TaskInputError, validate_task_parameters

from ..lammps_reference import relaxed_bcc_lattice_constant


@pytest.fixture
def snap_factory(snap_spec):
    spec, directory = snap_spec
    return make_calculator_factory(spec, directory)


def test_validate_task_parameters():
    assert validate_task_parameters('relax', {'fmax': 0.01})['fmax'] == 0.01
    assert validate_task_parameters('relax', None)['optimizer'] == 'BFGS'
    with pytest.raises(TaskInputError, match='unknown runner task'):
        validate_task_parameters('md', {})
    with pytest.raises(TaskInputError, match=r"unknown parameter\(s\) \['fmx'\]"):
        validate_task_parameters('relax', {'fmx': 0.01})


def test_singlepoint_matches_direct_evaluation(snap_factory):
    rng = np.random.default_rng(1)
    atoms = bulk('Li', 'bcc', a=3.44, cubic=True).repeat(2)
    atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
    frames, structures = TASKS['singlepoint'].function(
        [atoms], snap_factory, validate_task_parameters('singlepoint', {})
    )
    assert structures is None
    direct = atoms.copy()
    direct.calc = snap_factory()
    assert frames[0]['energy'] == pytest.approx(direct.get_potential_energy(), abs=1e-10)
    assert np.array(frames[0]['forces']) == pytest.approx(direct.get_forces(), abs=1e-10)
    assert np.array(frames[0]['stress']) == pytest.approx(direct.get_stress(), abs=1e-12)
    # Newton's third law holds for the sum of forces.
    assert np.abs(np.sum(frames[0]['forces'], axis=0)).max() < 1e-8


def test_relax_cell_matches_lammps_box_relax(snap_factory, snap_spec, tmp_path):
    """The ASE cell relaxation finds the lattice constant that LAMMPS's own minimiser finds."""
    spec, directory = snap_spec
    parameters = validate_task_parameters('relax', {'relax_cell': True, 'fmax': 1e-5})
    frames, relaxed = TASKS['relax'].function([bulk('Li', 'bcc', a=3.40, cubic=True)], snap_factory, parameters)
    a_ours = relaxed[0].cell.lengths()[0]
    pair_lines = [f'pair_style {spec["pair_style"]}', *(f'pair_coeff {line}' for line in spec['pair_coeff'])]
    pair_lines = [line.replace('Li_Zuo', f'{directory}/Li_Zuo') for line in pair_lines]
    a_lammps, e_lammps = relaxed_bcc_lattice_constant(pair_lines, tmp_path)
    assert frames[0]['converged']
    # Both minimisers stop at a residual stress of ~1e-6 eV/Å^3; that moves a by far less than 1e-4 Å.
    assert a_ours == pytest.approx(a_lammps, abs=1e-4)
    assert frames[0]['energy'] / 2 == pytest.approx(e_lammps, abs=1e-7)
    assert np.abs(frames[0]['stress']).max() < 1e-5


def test_relax_reports_non_convergence(snap_factory):
    from aiida_limlip.runner.tasks import TaskFailedError

    atoms = bulk('Li', 'bcc', a=3.30, cubic=True)
    parameters = validate_task_parameters('relax', {'relax_cell': True, 'fmax': 1e-8, 'max_steps': 2})
    with pytest.raises(TaskFailedError, match='did not relax'):
        TASKS['relax'].function([atoms], snap_factory, parameters)


def test_eos_points_are_isotropic_scalings(snap_factory):
    atoms = bulk('Li', 'bcc', a=3.5, cubic=True)
    strains = [-0.02, -0.01, 0.0, 0.01, 0.02]
    frames, _ = TASKS['eos'].function(
        [atoms], snap_factory, validate_task_parameters('eos', {'volume_strains': strains})
    )
    assert np.array(frames[0]['volumes']) == pytest.approx(atoms.get_volume() * (1 + np.array(strains)), rel=1e-12)
    # The pressure is -dE/dV: compare with a central finite difference of the energies.
    energies, volumes = np.array(frames[0]['energies']), np.array(frames[0]['volumes'])
    dedv = (energies[3] - energies[1]) / (volumes[3] - volumes[1])
    assert frames[0]['pressures'][2] == pytest.approx(-dedv, abs=2e-5)


def _write_request(directory, spec, task, parameters, structures):
    (directory / files.POTENTIAL_DIR).mkdir()
    for name in spec.get('files', []):
        shutil.copy(spec['_dir'] / name, directory / files.POTENTIAL_DIR / name)
    request = {'task': task, 'parameters': parameters, 'potential': {k: v for k, v in spec.items() if k != '_dir'}}
    (directory / files.INPUT_FILE).write_text(json.dumps(request))
    ase.io.write(directory / files.STRUCTURES_FILE, structures, format='extxyz')


def test_runner_executable_end_to_end(snap_spec, tmp_path, runner_executable):
    spec, directory = snap_spec
    _write_request(
        tmp_path,
        {**spec, '_dir': directory},
        'relax',
        {'relax_cell': True, 'fmax': 1e-5},
        [bulk('Li', 'bcc', a=3.45, cubic=True), bulk('Li', 'bcc', a=3.55)],
    )
    process = subprocess.run([runner_executable, '.'], cwd=tmp_path, capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    results = json.loads((tmp_path / files.RESULTS_FILE).read_text())
    assert results['task'] == 'relax'
    assert [frame['natoms'] for frame in results['frames']] == [2, 1]
    relaxed = ase.io.read(tmp_path / files.RELAXED_FILE, index=':')
    # The conventional and the primitive cell relax to the same volume per atom.
    assert relaxed[0].get_volume() / 2 == pytest.approx(relaxed[1].get_volume(), rel=1e-4)
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
    request = {**spec, '_dir': directory}
    _write_request(tmp_path, {**request, 'files': spec['files']}, 'singlepoint', {}, [bulk('Li', 'bcc', a=3.45)])
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
    _write_request(tmp_path, {**spec, '_dir': directory}, 'md', {}, [bulk('Li', 'bcc', a=3.45)])
    process = subprocess.run([runner_executable], cwd=tmp_path, capture_output=True, text=True)
    assert process.returncode == 2
    assert 'unknown runner task' in json.loads((tmp_path / files.ERROR_FILE).read_text())['message']


def test_batch_frames_keep_their_own_results_with_a_shared_calculator(tmp_path):
    """ML calculators are shared by a batch; every relaxed frame still carries its own energy, forces and stress.

    EMT stands in for a model here (one instance handed out for every structure, as for NequIP and DeePMD); the
    structures differ in size, which made writing ``relaxed.extxyz`` crash when frames kept the shared calculator.
    """
    from ase.calculators.emt import EMT

    from aiida_limlip.runner.calculators import _shared

    factory = _shared(EMT)
    structures = [bulk('Cu', 'fcc', a=3.7).repeat(2), bulk('Cu', 'fcc', a=3.6, cubic=True)]
    del structures[1][0]
    for atoms in structures:
        atoms.rattle(0.05, seed=2)
    frames, relaxed = TASKS['relax'].function(structures, factory, validate_task_parameters('relax', {'fmax': 0.01}))
    ase.io.write(tmp_path / files.RELAXED_FILE, relaxed, format='extxyz')
    read = ase.io.read(tmp_path / files.RELAXED_FILE, index=':')
    for frame, atoms in zip(frames, read, strict=True):
        direct = atoms.copy()
        direct.calc = EMT()
        assert atoms.get_potential_energy() == pytest.approx(frame['energy'], abs=1e-8)
        assert atoms.get_potential_energy() == pytest.approx(direct.get_potential_energy(), abs=1e-6)
        assert atoms.get_forces() == pytest.approx(np.array(frame['forces']), abs=1e-8)


def test_runner_reports_a_failure_to_write_its_results(snap_spec, tmp_path, monkeypatch):
    """A failure after the task (here: writing the relaxed structures) ends in error.json, never in silence."""
    from aiida_limlip.runner import __main__ as runner_main

    spec, directory = snap_spec
    _write_request(tmp_path, {**spec, '_dir': directory}, 'relax', {}, [bulk('Li', 'bcc', a=3.45, cubic=True)])

    def broken_write(*args, **kwargs):
        raise OSError('No space left on device')

    monkeypatch.setattr(ase.io, 'write', broken_write)
    assert runner_main.run(tmp_path) == 6
    error = json.loads((tmp_path / files.ERROR_FILE).read_text())
    assert error['reason'] == 'output' and 'No space left on device' in error['message']
    assert not (tmp_path / files.RESULTS_FILE).exists()
