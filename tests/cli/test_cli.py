"""Tests of the ``aiida-limlip`` command line."""

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_limlip.cli.demo import cmd_demo
from aiida_limlip.cli.potential import cmd_potential_list, cmd_potential_snap
from aiida_limlip.cli.setup import cmd_setup_codes


def invoke(command, args=()):
    result = CliRunner().invoke(command, list(args), catch_exceptions=False)
    return result


def test_setup_codes_is_idempotent(tmp_path):
    first = invoke(cmd_setup_codes, ['--workdir', str(tmp_path)])
    assert first.exit_code == 0, first.output
    second = invoke(cmd_setup_codes, ['--workdir', str(tmp_path)])
    assert second.exit_code == 0
    assert 'created' not in second.output
    runner = orm.load_code('limlip-runner@localhost')
    assert runner.default_calc_job_plugin == 'limlip.run'
    assert orm.load_code('dp@localhost').default_calc_job_plugin == 'limlip.deepmd.train'
    mpirun = orm.load_computer('localhost').get_mpirun_command()
    assert mpirun[0] in ('/usr/bin/mpirun', 'mpirun')
    if mpirun[0] == '/usr/bin/mpirun':  # concurrent 1-process pw.x runs must not all be pinned to core 0
        assert mpirun[1:3] == ['--bind-to', 'none']


def test_potential_commands():
    result = invoke(cmd_potential_snap)
    assert result.exit_code == 0
    assert 'SNAP Li (Zuo et al. 2020)' in result.output
    invoke(cmd_potential_snap)
    from aiida_limlip.data.potential import PotentialData

    count = orm.QueryBuilder().append(PotentialData, filters={'attributes.kind': 'snap'}).count()
    assert count == 1  # the second call reused the stored node
    assert 'snap' in invoke(cmd_potential_list).output


def test_demo_rejects_unknown_protocol():
    result = CliRunner().invoke(cmd_demo, ['--protocol', 'nope', '--code', 'limlip-runner@localhost'])
    assert result.exit_code != 0
    assert "unknown protocol 'nope'" in result.output


@pytest.mark.slow
def test_demo_runs_through_the_daemon(started_daemon_client, tmp_path):
    invoke(cmd_setup_codes, ['--workdir', str(tmp_path)])
    result = invoke(cmd_demo, ['--timeout', '300'])
    assert result.exit_code == 0, result.output
    assert 'Birch-Murnaghan: a0 =' in result.output
    assert 'is finished' in result.output
    assert '|EvaluationWorkChain|' in result.output  # the reports of called processes too, not only the top one
    node = orm.QueryBuilder().append(orm.WorkflowNode, filters={'label': {'like': 'demo:%'}}).first(flat=True)
    assert node.is_finished_ok
    # The demo's printed lattice constant is the node's.
    assert f'{node.outputs.results["lattice_constant"]:12.5f}' in result.output
