"""Tests of ``ConvergenceWorkChain`` with the real pw.x."""

import numpy as np
import pytest
from aiida import engine, orm
from aiida.common.links import LinkType
from ase.build import bulk

from aiida_limlip.analysis.convergence import converged_setting
from aiida_limlip.workchains.convergence import ConvergenceWorkChain
from aiida_limlip.workchains.labelling import LabellingWorkChain


def test_bad_sweeps_are_refused(pw_code, li_family):
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.43))
    builder = ConvergenceWorkChain.get_builder_from_protocol(pw_code, structure, overrides={'cutoffs': [30]})
    with pytest.raises(ValueError, match='at least two values'):
        engine.submit(builder)


@pytest.mark.slow
def test_convergence_sweep(pw_code, li_family):
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.43))
    builder = ConvergenceWorkChain.get_builder_from_protocol(pw_code, structure, protocol='fast')
    _, node = engine.run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    results = node.outputs.results

    # Energies per atom are those of the SCFs, collected independently here from the called work chains.
    children = {link.link_label: link.node for link in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()}
    e_cut = [children[f'cutoff_{i}'].outputs.output_parameters['energy'] for i in range(4)]
    e_k = [children[f'kspacing_{i}'].outputs.output_parameters['energy'] for i in range(4)]
    assert results['cutoff_energies'] == pytest.approx(e_cut, abs=1e-9)
    assert results['kpoints_energies'] == pytest.approx(e_k, abs=1e-9)

    # Variational principle: at a fixed k-mesh the total energy falls as the cutoff rises.
    assert np.all(np.diff(e_cut) < 0)
    assert results['ecutwfc'] == converged_setting(results['cutoffs'], e_cut, 1e-3)
    assert results['kpoints_spacing'] == converged_setting(results['kpoints_spacings'], e_k, 1e-3, False)
    assert results['ecutrho'] == 4 * results['ecutwfc']

    # The converged settings feed the labelling protocol directly.
    labelling = LabellingWorkChain.get_builder_from_protocol(
        pw_code, {'x': structure}, overrides=node.outputs.overrides.get_dict()
    )
    assert labelling.parameters['SYSTEM']['ecutwfc'] == results['ecutwfc']
    assert labelling.kpoints_spacing.value == results['kpoints_spacing']
