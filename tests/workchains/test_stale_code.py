"""A process whose aiida-limlip modules are older than the files on disk refuses to run (a daemon after an upgrade)."""

import shutil

from aiida import engine
from aiida.common.links import LinkType

import aiida_limlip
from aiida_limlip import code_version
from aiida_limlip.code_version import PACKAGE, code_fingerprint, stale_code_message
from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain


def test_the_fingerprint_follows_an_edit(tmp_path):
    copy = tmp_path / 'aiida_limlip'
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns('__pycache__'))
    before = code_fingerprint(copy)
    assert code_fingerprint(copy) == before and stale_code_message(before, copy) is None
    (copy / 'utils.py').write_text((copy / 'utils.py').read_text() + '\n# an upgrade\n')
    code_version._cache.clear()  # the files are looked at once per CACHE_SECONDS
    message = stale_code_message(before, copy)
    assert code_fingerprint(copy) != before and 'verdi daemon restart' in message


def test_a_work_chain_with_stale_code_stops_before_its_first_step(runner_code, snap_potential, bcc_li, monkeypatch):
    builder = EquationOfStateWorkChain.get_builder_from_protocol(runner_code, bcc_li(), snap_potential)
    monkeypatch.setattr(aiida_limlip, 'LOADED_FINGERPRINT', 'imported-before-an-upgrade')
    _, node = engine.run_get_node(builder)
    assert node.exit_status == EquationOfStateWorkChain.exit_codes.ERROR_STALE_CODE.status == 390
    assert 'verdi daemon restart' in node.exit_message
    assert not node.called and not node.base.links.get_outgoing(link_type=LinkType.RETURN).all()  # nothing ran
