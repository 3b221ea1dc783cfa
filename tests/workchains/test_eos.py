"""Tests of ``EquationOfStateWorkChain``."""

import numpy as np
import pytest
from aiida import engine, orm
from aiida.common.links import LinkType
from ase.build import bulk
from ase.eos import EquationOfState
from ase.units import GPa

from aiida_limlip.data.potential import PotentialData
from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain

from ..lammps_reference import relaxed_bcc_lattice_constant


def test_protocols():
    assert EquationOfStateWorkChain.get_default_protocol() == 'fast'
    assert set(EquationOfStateWorkChain.get_available_protocols()) == {'paper', 'fast', 'demo'}
    paper = EquationOfStateWorkChain.get_protocol_inputs('paper')
    assert len(paper['volume_strains']) == 11
    merged = EquationOfStateWorkChain.get_protocol_inputs('fast', {'relax_parameters': {'fmax': 1e-5}})
    assert merged['relax_parameters'] == {
        'relax_cell': True,
        'keep_symmetry': True,
        'fmax': 1e-5,
        'max_steps': 500,
        'optimizer': 'BFGS',
    }
    with pytest.raises(ValueError, match='unknown override key.*relax_parameter\\b'):
        EquationOfStateWorkChain.get_protocol_inputs('fast', {'relax_parameter': {'fmax': 1e-5}})
    with pytest.raises(ValueError, match=r'unknown override key.*evaluation.dft_protocl'):
        EquationOfStateWorkChain.get_protocol_inputs('fast', {'evaluation': {'dft_protocl': 'paper'}})


def test_builder_from_protocol(runner_code, snap_potential, bcc_li):
    builder = EquationOfStateWorkChain.get_builder_from_protocol(
        runner_code, bcc_li(), snap_potential, protocol='paper', options={'max_wallclock_seconds': 60}
    )
    assert builder.relax_parameters['fmax'] == 1e-4
    assert builder.evaluation.engine.value == 'ase'
    options = builder.evaluation.ase.metadata.options
    assert options['max_wallclock_seconds'] == 60
    assert options['resources'] == {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
    assert builder.evaluation.ase.code.uuid == runner_code.uuid
    assert builder.evaluation.potential.uuid == snap_potential.uuid


def test_builder_accepts_a_code_label(runner_code, snap_potential, bcc_li):
    builder = EquationOfStateWorkChain.get_builder_from_protocol(runner_code.full_label, bcc_li(), snap_potential)
    assert builder.evaluation.ase.code.uuid == runner_code.uuid


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'protocol': 'precise'}, "unknown protocol 'precise'.*available: paper, fast, demo"),
        ({'code': None}, 'a code for `limlip.run or quantumespresso.pw` is required'),
        ({'code': {'lammps': 'no-such-code@localhost'}}, "code 'no-such-code@localhost' not found"),
        ({'code': {'cp2k': 'x'}}, "unknown engine 'cp2k'"),
        ({'engine': 'lammps'}, "the lammps engine does not run the task 'singlepoint'"),
        ({'engine': 'pw'}, 'pw.x computes DFT: give no potential'),
        ({'overrides': {'evaluation': {'parameters': {'fmax': 0.01}}}}, "unknown parameter.*'fmax'.*singlepoint"),
        ({'code': 'no-such-code@localhost'}, "code 'no-such-code@localhost' not found"),
        ({'structure': 'NaCl'}, r"contains \['Cl', 'Na'\], which the potential"),
    ],
)
def test_bad_inputs_fail_before_submission(runner_code, snap_potential, bcc_li, kwargs, message):
    inputs = {'code': runner_code, 'structure': bcc_li(), 'potential': snap_potential, **kwargs}
    if inputs['structure'] == 'NaCl':
        inputs['structure'] = orm.StructureData(ase=bulk('NaCl', 'rocksalt', a=5.6))
    count = orm.QueryBuilder().append(orm.ProcessNode).count()
    with pytest.raises(ValueError, match=message):
        EquationOfStateWorkChain.get_builder_from_protocol(**inputs)
    assert orm.QueryBuilder().append(orm.ProcessNode).count() == count  # nothing was created


def test_wrong_species_rejected_by_the_spec_too(runner_code, snap_potential, bcc_li):
    """A hand-made builder with a foreign element is refused when the process is created, before any job."""
    builder = EquationOfStateWorkChain.get_builder_from_protocol(runner_code, bcc_li(), snap_potential)
    builder.structure = orm.StructureData(ase=bulk('Na', 'bcc', a=4.2))
    with pytest.raises(ValueError, match=r"contains \['Na'\]"):
        engine.submit(builder)


@pytest.mark.slow
def test_failed_fit_leaves_no_outputs(runner_code, snap_potential, bcc_li):
    """A grid that does not bracket the minimum ends with the fit exit code and no result nodes at all."""
    builder = EquationOfStateWorkChain.get_builder_from_protocol(
        runner_code,
        bcc_li(3.2),
        snap_potential,
        overrides={'relax_parameters': None, 'volume_strains': [0.0, 0.01, 0.02, 0.03, 0.04]},
    )
    _, node = engine.run_get_node(builder)
    assert node.exit_status == EquationOfStateWorkChain.exit_codes.ERROR_ANALYSIS_FAILED.status
    assert 'edge of the volume grid' in node.exit_message
    assert not node.base.links.get_outgoing(link_type=LinkType.RETURN).all()


@pytest.mark.slow
def test_failed_relaxation_exit_code(runner_code, snap_potential, bcc_li):
    builder = EquationOfStateWorkChain.get_builder_from_protocol(
        runner_code,
        bcc_li(3.3),
        snap_potential,
        overrides={'relax_parameters': {'fmax': 1e-9, 'max_steps': 2, 'fallback_steps': 2}},
    )
    _, node = engine.run_get_node(builder)
    assert node.exit_status == EquationOfStateWorkChain.exit_codes.ERROR_EVALUATION_FAILED.status
    assert 'crystal did not relax' in node.exit_message and 'residual force' in node.exit_message
    assert not node.base.links.get_outgoing(link_type=LinkType.RETURN).all()


@pytest.mark.slow
def test_eos_through_the_daemon(submit_and_await, runner_code, snap_potential, bcc_li, snap_spec, tmp_path):
    """SNAP bcc Li through the daemon: a0 from LAMMPS's own minimiser, B0 from ASE's fit of direct energies."""
    builder = EquationOfStateWorkChain.get_builder_from_protocol(runner_code, bcc_li(3.45), snap_potential, 'fast')
    node = submit_and_await(builder, timeout=300)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'

    # Lattice constant: LAMMPS `fix box/relax` on a 128-atom cell, no ASE or aiida-limlip code involved. The fitted
    # a0 of 7 points within ±4 % differs from the true minimum by < 1e-4 Å; 5e-4 Å leaves room for the fit's bias.
    spec, directory = snap_spec
    pair_lines = [
        'pair_style snap',
        f'pair_coeff * * {directory}/Li_Zuo_JPCA2020.snapcoeff {directory}/Li_Zuo_JPCA2020.snapparam Li',
    ]
    a_lammps, e_lammps = relaxed_bcc_lattice_constant(pair_lines, tmp_path)
    assert node.outputs.lattice_constant.value == pytest.approx(a_lammps, abs=5e-4)
    assert node.outputs.energy_per_atom.value == pytest.approx(e_lammps, abs=1e-5)

    # Bulk modulus: ASE's Birch-Murnaghan on energies evaluated directly with LAMMPS's copy of the files, at the
    # volumes of the work chain's grid. Same data, independent evaluation and fit: they agree to 0.1 %.
    volumes = node.outputs.eos_data.get_array('volumes')[0]
    relaxed = node.outputs.relaxed_structure.get_ase()
    calculator = PotentialData.from_snap_zuo2020().get_ase_calculator()
    energies = []
    for volume in volumes:
        atoms = relaxed.copy()
        atoms.set_cell(relaxed.cell * (volume / relaxed.get_volume()) ** (1 / 3), scale_atoms=True)
        atoms.calc = calculator
        energies.append(atoms.get_potential_energy())
    assert np.array(energies) == pytest.approx(node.outputs.eos_data.get_array('energies')[0], abs=1e-9)
    _, _, b0 = EquationOfState(volumes, energies, eos='birchmurnaghan').fit()
    assert node.outputs.bulk_modulus.value == pytest.approx(b0 / GPa, rel=1e-3)

    # The equilibrium structure is the relaxed cell scaled to the fitted volume.
    equilibrium = node.outputs.equilibrium_structure.get_ase()
    assert equilibrium.get_volume() / len(equilibrium) == pytest.approx(node.outputs.results['volume_per_atom'])
    assert np.allclose(equilibrium.get_scaled_positions(), relaxed.get_scaled_positions())

    # Units travel with the results, and the report tells the story.
    assert node.outputs.lattice_constant.base.attributes.get('unit') == 'Å'
    assert node.outputs.bulk_modulus.base.attributes.get('unit') == 'GPa'
    assert 'GPa' in node.outputs.bulk_modulus.description
    assert node.outputs.results['units']['energy_per_atom'] == 'eV/atom'
    report = '\n'.join(log.message for log in orm.Log.collection.get_logs_for(node))
    for fragment in ('relax of 1 crystal', 'relaxed in', 'singlepoint of 7 volumes with SNAP', 'Birch-Murnaghan: a0 ='):
        assert fragment in report
    called = {link.link_label for link in node.base.links.get_outgoing(link_type=(LinkType.CALL_CALC,)).all()}
    assert called == {'volumes', 'eos_data', 'fit'}
    called = {link.link_label for link in node.base.links.get_outgoing(link_type=(LinkType.CALL_WORK,)).all()}
    assert called == {'relax', 'evaluation'}


@pytest.mark.slow
def test_query_finds_results_by_potential_files(runner_code, snap_potential, bcc_li):
    """The query helper finds an EOS result from any node holding the same potential files."""
    from aiida_limlip.query import get_eos_results

    builder = EquationOfStateWorkChain.get_builder_from_protocol(runner_code, bcc_li(3.5), snap_potential, 'fast')
    _, node = engine.run_get_node(builder)
    rows = [row for row in get_eos_results(PotentialData.from_snap_zuo2020()) if row['workchain'] == node.pk]
    assert len(rows) == 1
    assert rows[0]['lattice_constant'] == node.outputs.lattice_constant.value
    assert rows[0]['bulk_modulus'] == node.outputs.bulk_modulus.value
    assert rows[0]['kind'] == 'snap'
    assert rows[0]['formula'] == 'Li2'
    other = PotentialData.from_ase('morse', ['Li'])
    assert all(row['workchain'] != node.pk for row in get_eos_results(other))
