"""A foreground run (no communicator, hence no broadcasts) learns of its children's ends within a second."""

import time
from types import SimpleNamespace

import pytest
from aiida import orm
from aiida.engine.runners import Runner
from aiida.manage import get_manager
from ase.build import bulk

from aiida_limlip.workchains.common import FOREGROUND_POLL_INTERVAL, hasten_foreground_polling
from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain


@pytest.mark.parametrize(
    ('communicator', 'interval', 'expected'),
    [(None, 60.0, FOREGROUND_POLL_INTERVAL), (object(), 60.0, 60.0), (None, 0.0, 0.0)],
    ids=['foreground', 'daemon', 'test-profile'],
)
def test_only_a_runner_without_communicator_polls_faster(communicator, interval, expected):
    runner = SimpleNamespace(communicator=communicator, _poll_interval=interval)
    hasten_foreground_polling(runner)
    assert runner._poll_interval == expected


@pytest.mark.slow
def test_a_foreground_work_chain_does_not_wait_for_the_poll_interval(runner_code, snap_potential):
    """SNAP's equation of state (two runner jobs, one after the other, each awaited by two work chains) in a runner
    like the one ``engine.run`` makes outside tests: no communicator, a 60 s poll. It ends in well under 60 s."""
    runner = Runner(poll_interval=60.0, communicator=None, persister=get_manager().get_persister())
    builder = EquationOfStateWorkChain.get_builder_from_protocol(
        runner_code, orm.StructureData(ase=bulk('Li', 'bcc', a=3.45)), snap_potential
    )
    start = time.monotonic()
    _, node = runner.run_get_node(builder)
    wall = time.monotonic() - start
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    jobs = [child for child in node.called_descendants if isinstance(child, orm.CalcJobNode)]
    assert len(jobs) == 2
    assert runner._poll_interval == FOREGROUND_POLL_INTERVAL
    # Unhastened, each of the four awaits waited for a 60 s poll (measured with 30 s: 130 s for 15 s of jobs).
    assert wall < 45, wall
