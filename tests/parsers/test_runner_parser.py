"""Tests of ``RunnerParser`` on files written by the real runner."""

import json
import shutil

import numpy as np
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
        request = {'task': task, 'parameters': parameters, 'potential': spec}
        (tmp_path / files.INPUT_FILE).write_text(json.dumps(request))
        ase.io.write(tmp_path / files.STRUCTURES_FILE, structures, format='extxyz')
        runner_main.run(tmp_path)
        return tmp_path

    return factory


@pytest.fixture
def calcjob_node(aiida_localhost, snap_potential):
    """Return a stored ``CalcJobNode`` of ``limlip.run`` with the given structures and retrieved files."""

    def factory(task, structures, folder=None, names=None):
        node = orm.CalcJobNode(
            computer=aiida_localhost, process_type=CalculationFactory('limlip.run').build_process_type()
        )
        node.set_option('resources', {'num_machines': 1})
        inputs = {'potential': snap_potential, 'task': orm.Str(task)}
        inputs.update({f'structures__{label}': orm.StructureData(ase=atoms) for label, atoms in structures.items()})
        for label, value in inputs.items():
            node.base.links.add_incoming(value.store(), LinkType.INPUT_CALC, label)
        node.store()
        retrieved = orm.FolderData()
        outputs = (files.RESULTS_FILE, files.RELAXED_FILE, files.ERROR_FILE, files.STDOUT_FILE)
        for name in names if names is not None else outputs:
            if folder is not None and (folder / name).is_file():
                retrieved.base.repository.put_object_from_file(str(folder / name), name)
        retrieved.base.links.add_incoming(node, LinkType.CREATE, 'retrieved')
        retrieved.store()
        return node

    return factory


def parse(node):
    return ParserFactory('limlip.run').parse_from_node(node, store_provenance=False)


def test_parse_relax(run_runner, calcjob_node):
    structures = {'a': bulk('Li', 'bcc', a=3.45, cubic=True), 'b': bulk('Li', 'bcc', a=3.6)}
    folder = run_runner('relax', {'relax_cell': True}, list(structures.values()))
    results, calcfunction = parse(calcjob_node('relax', structures, folder))
    assert calcfunction.is_finished_ok, calcfunction.exit_message
    raw = json.loads((folder / files.RESULTS_FILE).read_text())
    frames = results['results']['frames']
    assert frames['a']['energy'] == raw['frames'][0]['energy']
    assert frames['b']['natoms'] == 1
    assert results['results']['units']['energy'] == 'eV'
    arrays = results['arrays']
    assert arrays.get_array('energies') == pytest.approx([raw['frames'][0]['energy'], raw['frames'][1]['energy']])
    assert arrays.get_array('forces_a').shape == (2, 3)
    assert arrays.get_array('stresses').shape == (2, 6)
    assert results['structures']['b'].get_ase().get_volume() == pytest.approx(raw['frames'][1]['volume'])


def test_parse_eos(run_runner, calcjob_node):
    structures = {'crystal': bulk('Li', 'bcc', a=3.5, cubic=True)}
    strains = [-0.02, -0.01, 0.0, 0.01, 0.02]
    folder = run_runner('eos', {'volume_strains': strains}, list(structures.values()))
    results, calcfunction = parse(calcjob_node('eos', structures, folder))
    assert calcfunction.is_finished_ok
    volumes = results['arrays'].get_array('volumes')
    assert volumes.shape == (1, 5)
    assert volumes[0] == pytest.approx(3.5**3 * (1 + np.array(strains)))
    assert 'structures' not in results


def test_parse_runner_error(run_runner, calcjob_node):
    structures = {'crystal': bulk('Li', 'bcc', a=3.30, cubic=True)}
    folder = run_runner('relax', {'relax_cell': True, 'fmax': 1e-9, 'max_steps': 1}, list(structures.values()))
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
    folder = run_runner('singlepoint', {}, [bulk('Li')])
    structures = {'a': bulk('Li'), 'b': bulk('Li', 'bcc', a=3.4)}
    results, calcfunction = parse(calcjob_node('singlepoint', structures, folder))
    assert calcfunction.exit_status == 303
    assert results == {}


def test_parse_corrupt_results(calcjob_node, tmp_path):
    (tmp_path / files.RESULTS_FILE).write_text('{"frames": [')
    results, calcfunction = parse(calcjob_node('singlepoint', {'x': bulk('Li')}, tmp_path))
    assert calcfunction.exit_status == 302


def test_parse_output_error(calcjob_node, tmp_path):
    (tmp_path / files.ERROR_FILE).write_text(json.dumps({'reason': 'output', 'message': 'OSError: disk full'}))
    results, calcfunction = parse(calcjob_node('relax', {'x': bulk('Li')}, tmp_path))
    assert calcfunction.exit_status == 313
    assert 'could not write its results: OSError: disk full' in calcfunction.exit_message
    assert results == {}
