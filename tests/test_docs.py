"""The tutorial in docs/ runs as written."""

import pathlib
import re

import pytest
from click.testing import CliRunner

from aiida_limlip.cli.setup import cmd_setup_codes

DOCS = pathlib.Path(__file__).parent.parent / 'docs'


@pytest.mark.slow
def test_tutorial_runs(tmp_path, capsys):
    CliRunner().invoke(cmd_setup_codes, ['--workdir', str(tmp_path)], catch_exceptions=False)
    blocks = re.findall(r'```python\n(.*?)```', (DOCS / 'tutorial.md').read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, 'docs/tutorial.md', 'exec'), namespace)  # noqa: S102
    output = capsys.readouterr().out
    assert 'which the potential' in output  # the refused sodium structure
    assert namespace['node'].is_finished_ok
    assert namespace['meam_node'].is_finished_ok
    assert all(node.is_finished_ok for node in namespace['md'].values())
    assert namespace['thermal_node'].is_finished_ok and namespace['elastic_node'].is_finished_ok
    assert all(namespace[key].is_finished_ok for key in ('spes_node', 'diffusion_node', 'schwoebel_node'))
    # The tutorial's claim: the (100) minimum is the hollow.
    assert namespace['spes']['results']['facets']['f100']['minima'][0]['site'] == pytest.approx([0.5, 0.5], abs=0.01)
    # The tutorial's claims about SNAP hold.
    assert namespace['node'].outputs.lattice_constant.value == pytest.approx(3.506, abs=1e-3)
    assert namespace['node'].outputs.bulk_modulus.value == pytest.approx(10.0, abs=0.5)
