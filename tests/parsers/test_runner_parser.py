"""Tests of ``RunnerParser`` on files written by the real runner."""

import json
import shutil

import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.plugins import CalculationFactory, ParserFactory
from ase.build import bulk

from aiida_limlip.runner import __main__ as runner_main
from aiida_limlip.runner import files


@pytest.fixture
def run_runner(tmp_path, snap_spec):
    """Run the real runner on ``structures`` in a temporary folder; return the folder."""
    spec, directory = snap_spec

    def factory(task, parameters, structures):
        import ase.io

        (tmp_path / files.POTENTIAL_DIR).mkdir()
        for name in spec['files']:
            shutil.copy(directory / name, tmp_path / files.POTENTIAL_DIR / name)
        labels = sorted(structures)
        request = {'task': task, 'parameters': parameters, 'potential': spec, 'labels': labels}
        (tmp_path / files.INPUT_FILE).write_text(json.dumps(request))
        ase.io.write(tmp_path / files.STRUCTURES_FILE, [structures[label] for label in labels], format='extxyz')
        runner_main.run(tmp_path)
        return tmp_path

    return factory


@pytest.fixture
def calcjob_node(aiida_localhost, snap_potential):
    """Return a stored ``CalcJobNode`` of ``limlip.run`` with the given structures and retrieved files."""

    def factory(task, structures, folder=None, names=None, parameters=None):
        node = orm.CalcJobNode(
            computer=aiida_localhost, process_type=CalculationFactory('limlip.run').build_process_type()
        )
        node.set_option('resources', {'num_machines': 1})
        inputs = {'potential': snap_potential, 'task': orm.Str(task)}
        if parameters:
            inputs['parameters'] = orm.Dict(parameters)
        inputs.update({f'structures__{label}': orm.StructureData(ase=atoms) for label, atoms in structures.items()})
        for label, value in inputs.items():
            node.base.links.add_incoming(value.store(), LinkType.INPUT_CALC, label)
        node.store()
        retrieved = orm.FolderData()
        for path in sorted(folder.iterdir()) if folder is not None else []:
            if (
                path.is_file()
                and (names is None or path.name in names)
                and path.name
                not in (
                    files.INPUT_FILE,
                    files.STRUCTURES_FILE,
                )
            ):
                retrieved.base.repository.put_object_from_file(str(path), path.name)
        retrieved.base.links.add_incoming(node, LinkType.CREATE, 'retrieved')
        retrieved.store()
        return node

    return factory


def parse(node):
    return ParserFactory('limlip.run').parse_from_node(node, store_provenance=False)


def test_parse_relax(run_runner, calcjob_node):
    """Every output frame holds its own energy, forces and stress: equal to the summaries and the structures."""
    structures = {'a': bulk('Li', 'bcc', a=3.45, cubic=True), 'b': bulk('Li', 'bcc', a=3.6)}
    folder = run_runner('relax', {'relax_cell': True}, structures)
    node = calcjob_node('relax', structures, folder)
    results, calcfunction = parse(node)
    assert calcfunction.is_finished_ok, calcfunction.exit_message
    raw = json.loads((folder / files.RESULTS_FILE).read_text())
    items = results['results']['items']
    assert items['a']['energy'] == raw['items']['a']['energy']
    assert items['b']['natoms'] == 1
    assert results['results']['units']['energy'] == 'eV'
    frames = {atoms.info['label']: atoms for atoms in results['frames'].get_frames()}
    assert frames['a'].get_potential_energy() == pytest.approx(items['a']['energy'], abs=1e-8)
    assert frames['b'].get_forces().shape == (1, 3) and frames['a'].get_stress().shape == (6,)
    assert results['structures']['b'].get_ase().get_volume() == pytest.approx(items['b']['volume'])
    assert results['frames'].get_frames()[0].info['source'] == node.uuid


def test_parse_singlepoint_makes_no_new_structures(run_runner, calcjob_node):
    structures = {'crystal': bulk('Li', 'bcc', a=3.5, cubic=True)}
    folder = run_runner('singlepoint', {}, structures)
    results, calcfunction = parse(calcjob_node('singlepoint', structures, folder))
    assert calcfunction.is_finished_ok
    assert 'structures' not in results and results['frames'].num_frames == 1


def test_parse_md(run_runner, calcjob_node):
    """An MD run gives its thermo record, sampled frames and last structure as nodes, with their units."""
    structures = {'hot': bulk('Li', 'bcc', a=3.5, cubic=True).repeat(2)}
    parameters = {'ensemble': 'nve', 'steps': 20, 'thermo_interval': 5, 'frame_interval': 10}
    folder = run_runner('md', parameters, structures)
    results, calcfunction = parse(calcjob_node('md', structures, folder, parameters=parameters))
    assert calcfunction.is_finished_ok, calcfunction.exit_message
    thermo = results['thermo']['hot']
    assert list(thermo.get_array('step')) == [0, 5, 10, 15, 20]
    assert thermo.base.attributes.get('units')['pressure'].startswith('GPa')
    trajectory = results['trajectory']['hot']
    assert list(trajectory.get_stepids()) == [0, 10, 20] and trajectory.get_array('forces').shape == (3, 16, 3)
    assert trajectory.get_array('energies')[-1] == pytest.approx(thermo.get_array('potential_energy')[-1])
    assert results['structures']['hot'].get_ase().positions == pytest.approx(trajectory.get_positions()[-1])
    assert results['results']['items']['hot']['status'] == 'completed'


def test_parse_runner_error(run_runner, calcjob_node):
    structures = {'crystal': bulk('Li', 'bcc', a=3.30, cubic=True)}
    parameters = {'relax_cell': True, 'fmax': 1e-9, 'max_steps': 1, 'fallback_optimizer': None}
    folder = run_runner('relax', parameters, structures)
    results, calcfunction = parse(calcjob_node('relax', structures, folder))
    assert calcfunction.exit_status == 320
    assert 'did not relax' in calcfunction.exit_message
    assert results == {}  # no half-written results


def test_parse_missing_results(calcjob_node, tmp_path):
    (tmp_path / files.STDOUT_FILE).write_text('killed')
    results, calcfunction = parse(calcjob_node('singlepoint', {'x': bulk('Li')}, tmp_path))
    assert calcfunction.exit_status == 301
    assert results == {}


def test_parse_incomplete_results(run_runner, calcjob_node):
    folder = run_runner('singlepoint', {}, {'a': bulk('Li')})
    structures = {'a': bulk('Li'), 'b': bulk('Li', 'bcc', a=3.4)}
    results, calcfunction = parse(calcjob_node('singlepoint', structures, folder))
    assert calcfunction.exit_status == 303
    assert results == {}


def test_parse_corrupt_results(calcjob_node, tmp_path):
    (tmp_path / files.RESULTS_FILE).write_text('{"items": [')
    results, calcfunction = parse(calcjob_node('singlepoint', {'x': bulk('Li')}, tmp_path))
    assert calcfunction.exit_status == 302


def test_parse_output_error(calcjob_node, tmp_path):
    (tmp_path / files.ERROR_FILE).write_text(json.dumps({'reason': 'output', 'message': 'OSError: disk full'}))
    results, calcfunction = parse(calcjob_node('relax', {'x': bulk('Li')}, tmp_path))
    assert calcfunction.exit_status == 313
    assert 'could not be written: OSError: disk full' in calcfunction.exit_message
    assert results == {}
