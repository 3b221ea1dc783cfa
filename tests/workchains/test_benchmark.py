"""``BenchmarkWorkChain``: Table 1 and Fig. 1 for SNAP and MEAM through the daemon, every cell traced to its node."""

import csv
import io

import pytest
from aiida import orm
from aiida.common.links import LinkType
from ase.build import bulk
from click.testing import CliRunner

from aiida_limlip.analysis.tables import PAPER_TABLE
from aiida_limlip.cli.benchmark import cmd_table
from aiida_limlip.data.potential import PotentialData
from aiida_limlip.workchains.benchmark import BenchmarkWorkChain

from ..archive_roundtrip import answers, export, imported_answers


def called(node, label):
    """Return the process that ``node`` called with link label ``label``."""
    return node.base.links.get_outgoing(link_label_filter=label, link_type=LinkType.CALL_WORK).one().node


@pytest.mark.slow
def test_table1_for_snap_and_meam_through_the_daemon(
    submit_and_await, runner_code, snap_potential, lammps_potentials_dir, snap_labelled_set, tmp_path
):
    meam = PotentialData.from_meam(lammps_potentials_dir / 'library.meam', None, ['Li']).get_or_store()
    builder = BenchmarkWorkChain.get_builder_from_protocol(
        runner_code,
        orm.StructureData(ase=bulk('Li', 'bcc', a=3.45)),
        {'SNAP': snap_potential, 'MEAM': meam},
        test_set=snap_labelled_set,
        dft_reference=PAPER_TABLE['DFT (paper)'],
        # The demo campaign's cheaper elastic constants and E-V grid (5 relaxations instead of 25, 5 volumes): the
        # full six-strain fit of every potential kind is in test_every_potential.py.
        overrides={
            'elastic': {'strain_components': [0, 3], 'strain_magnitudes': [0.01]},
            'eos': {'volume_strains': [-0.04, -0.02, 0.0, 0.02, 0.04]},
        },
    )
    node = submit_and_await(builder, timeout=900)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    table = node.outputs.table.get_dict()
    assert table['columns'][:3] == ['DFT (literature)', 'DFT (paper)', 'DFT']
    assert sorted(table['columns'][3:]) == ['MEAM', 'SNAP']
    snap = table['values']['SNAP']

    # Every cell is the output of the work chain that computed it.
    eos, elastic = called(node, 'eos_SNAP'), called(node, 'elastic_SNAP')
    assert snap['lattice_constant'] == eos.outputs.lattice_constant.value
    assert snap['C44'] == elastic.outputs.C44.value
    assert snap['vacancy_formation_energy'] == called(node, 'vacancy_SNAP').outputs.vacancy_formation_energy.value
    assert snap['surface_energy_110'] == called(node, 'surfaces_SNAP').outputs.results['surface_energies']['110']
    # The elastic work chain started from the EOS minimum of the same potential, once that EOS had ended.
    assert elastic.inputs.structure.uuid == eos.outputs.equilibrium_structure.uuid
    for column in ('SNAP', 'MEAM'):
        end = called(node, f'eos_{column}').mtime
        for prop in ('elastic', 'vacancy', 'surfaces', 'phonons', 'errors'):
            assert called(node, f'{prop}_{column}').ctime >= end, (prop, column)

    # Independent relation: B from the E-V fit (energies) and (C11 + 2 C12)/3 (stresses) of the same potential.
    assert snap['bulk_modulus'] == pytest.approx((snap['C11'] + 2 * snap['C12']) / 3, rel=0.02)
    # SNAP scored on frames it labelled itself: zero error.
    assert snap['energy_rmse'] < 1e-3 and snap['force_rmse'] < 1e-3
    # Percentage errors against the DFT column, by hand.
    expected = 100 * (snap['C11'] - PAPER_TABLE['DFT (paper)']['C11']) / PAPER_TABLE['DFT (paper)']['C11']
    assert table['percent_errors']['SNAP']['C11'] == pytest.approx(expected)
    assert table['percent_errors']['DFT']['C11'] is None

    # The CLI prints the Markdown table and writes CSV and Fig. 1. The command is invoked directly, not through the
    # `aiida-limlip` group, whose logging set-up for the terminal would stop later in-process tests storing reports.
    result = CliRunner().invoke(
        cmd_table,
        [str(node.pk), '--csv', str(tmp_path / 'table.csv'), '--figure', str(tmp_path / 'fig1.png')],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert '| Lattice constant (Å) |' in result.output
    assert len([line for line in result.output.splitlines() if line.startswith('| ')]) == 14  # header + 13 rows
    rows = list(csv.reader(io.StringIO((tmp_path / 'table.csv').read_text())))
    assert len(rows) == 14 and rows[0][:2] == ['property', 'unit']
    assert (tmp_path / 'fig1.png').read_bytes() == node.outputs.figure.get_content('rb')

    # The graph moves: exported with `verdi archive` and imported into a fresh profile, it gives the same answers to
    # the query helpers, the same Table 1 when regenerated from the imported nodes, and potentials that still load.
    here = answers(node.uuid)
    assert here['regenerated'] == here['table']
    assert len(here['queries']['elastic:SNAP']) == 1 and here['queries']['errors:MEAM']
    there = imported_answers(export(node, tmp_path / 'benchmark.aiida'), node.uuid, tmp_path / 'elsewhere')
    assert there == here

    # Columns computed earlier (as the campaign's baselines beside active learning) are taken as they are: the same
    # table and figure from the same nodes, nothing computed again but the test-set errors of a potential given.
    computed = {column: {} for column in ('SNAP', 'MEAM')}
    for column, outputs in computed.items():
        for prop in ('eos', 'elastic', 'vacancy', 'surfaces', 'phonons'):
            child = called(node, f'{prop}_{column}')
            outputs[prop] = child.outputs.results
            outputs.update({name: child.outputs[name] for name in ('wulff', 'phonon_data') if name in child.outputs})
    computed['MEAM']['errors'] = called(node, 'errors_MEAM').outputs.errors
    builder = BenchmarkWorkChain.get_builder_from_protocol(
        runner_code,
        orm.StructureData(ase=bulk('Li', 'bcc', a=3.45)),
        {'SNAP': snap_potential},
        test_set=snap_labelled_set,
        dft_reference=PAPER_TABLE['DFT (paper)'],
        computed=computed,
    )
    again = submit_and_await(builder, timeout=300)
    assert again.is_finished_ok, f'[{again.exit_status}] {again.exit_message}'
    children = [link.link_label for link in again.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()]
    assert children == ['errors_SNAP']
    assert again.outputs.table['values'] == table['values']
    assert again.outputs.figure.get_content('rb') == node.outputs.figure.get_content('rb')


@pytest.mark.slow
def test_a_property_that_refuses_a_columns_equilibrium_is_left_out(submit_and_await, runner_code, snap_potential):
    """The elastic constants refuse a non-cubic equilibrium (a model that transformed its crystal, in effect): Table 1
    is still assembled with the lattice constant, and the work chain ends 402 naming what was left out."""
    tetragonal = bulk('Li', 'bcc', a=3.40)  # 10 % longer along z: near SNAP's equilibrium volume
    tetragonal.set_cell(tetragonal.cell * [1.0, 1.0, 1.1], scale_atoms=True)
    builder = BenchmarkWorkChain.get_builder_from_protocol(
        runner_code,
        orm.StructureData(ase=tetragonal),
        {'SNAP': snap_potential},
        properties=['elastic'],
        # No relaxation: the E-V grid is scaled from the tetragonal cell, which stays the column's equilibrium.
        overrides={'eos': {'relax_parameters': None, 'volume_strains': [-0.08, -0.04, 0.0, 0.04, 0.08]}},
    )
    node = submit_and_await(builder, timeout=600)
    eos = called(node, 'eos_SNAP')
    assert node.exit_status == BenchmarkWorkChain.exit_codes.ERROR_PROPERTIES_FAILED.status, eos.exit_message
    assert 'elastic of SNAP' in node.exit_message
    table = node.outputs.table.get_dict()
    eos = called(node, 'eos_SNAP')
    assert table['values']['SNAP']['lattice_constant'] == eos.outputs.lattice_constant.value
    assert table['values']['SNAP'].get('C11') is None
    assert not node.base.links.get_outgoing(link_label_filter='elastic_SNAP').all()  # nothing was submitted
    report = '\n'.join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert 'elastic of SNAP not run' in report, report
    assert 'the structure is not cubic' in report, report


def test_benchmark_bad_inputs(runner_code, snap_potential):
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.45))
    cases = [
        ({'potentials': {}}, 'nothing to benchmark'),
        ({'properties': ['elastic', 'viscosity']}, r"unknown \['viscosity'\]"),
        ({'protocol': 'exact'}, 'unknown protocol'),
        ({'structure': orm.StructureData(ase=bulk('Li', 'bcc', a=3.45, cubic=True))}, 'one-atom primitive cell'),
        ({'potentials': {'DFT': snap_potential}}, 'name of the DFT column'),
        ({'computed': {'MEAM': {'elastic': orm.Dict({'C11': 1.0})}}}, 'column `MEAM` has no `eos`'),
        ({'computed': {'MEAM': {'eos': orm.Dict(), 'viscosity': orm.Dict()}}}, r"unknown outputs \['viscosity'\]"),
        ({'computed': {'DFT': {'eos': orm.Dict()}}, 'dft_reference': {'C11': 15.0}}, 'both given and to be computed'),
        ({'potentials': {'NequIP__m0': snap_potential}}, 'where `__` separates namespaces: e.g. `NequIP_m0`'),
    ]
    for overrides, message in cases:
        inputs = {'runner_code': runner_code, 'structure': structure, 'potentials': {'SNAP': snap_potential}}
        inputs.update(overrides)
        with pytest.raises(ValueError, match=message):
            BenchmarkWorkChain.get_builder_from_protocol(**inputs)


def test_column_values_centre_the_energy_of_another_energy_zero():
    """A potential whose energies sit 1 eV/atom off the DFT labels is given the centred energy RMSE, with a note."""
    from aiida_limlip.analysis.tables import column_values

    errors = {
        'overall': {
            'energy': {'rmse': 1000.0},
            'energy_centered': {'rmse': 2.5},
            'forces': {'rmse': 30.0},
            'stress': None,
        },
        'energy_offset': 1000.0,
    }
    values, notes = column_values({'errors': errors, 'eos': {'lattice_constant': 3.5, 'bulk_modulus': 10.0}})
    assert values['energy_rmse'] == 2.5 and values['force_rmse'] == 30.0 and values['stress_rmse'] is None
    assert values['lattice_constant'] == 3.5 and 'centred' in notes[0]
    values, notes = column_values({'errors': {**errors, 'energy_offset': 1.0}})
    assert values['energy_rmse'] == 1000.0 and not notes


def test_a_dft_column_from_pw_results_keeps_its_provenance(runner_code, snap_potential):
    """assemble_dft_column: rows from the results of DFT work chains; a converged xx-only run replaces C11 and C12
    and the anisotropy follows; the column, given as dft_reference, links back to every results node."""
    from aiida_limlip.calcfunctions.benchmark import assemble_dft_column

    results = {
        'eos': orm.Dict({'lattice_constant': 3.435, 'bulk_modulus': 13.93}),
        'elastic': orm.Dict({'C11': 15.88, 'C12': 12.79, 'C44': 10.02, 'zener_anisotropy': 6.49}),
        'shear': orm.Dict({'C11': 14.9, 'C12': 13.2, 'C_prime': 0.85}),
        'vacancy': orm.Dict({'vacancy_formation_energy': 0.52}),
        'surfaces': orm.Dict({'surface_energies': {'100': 0.029, '110': 0.031, '111': 0.033}}),
    }
    column = assemble_dft_column(**results)
    assert column['C11'] == 14.9 and column['C12'] == 13.2 and column['C44'] == 10.02
    assert column['zener_anisotropy'] == pytest.approx(2 * 10.02 / (14.9 - 13.2))
    assert column['lattice_constant'] == 3.435 and column['surface_energy_111'] == 0.033
    sources = {link.link_label: link.node.pk for link in column.creator.base.links.get_incoming().all()}
    assert sources == {name: node.pk for name, node in results.items()}
    builder = BenchmarkWorkChain.get_builder_from_protocol(
        runner_code, orm.StructureData(ase=bulk('Li', 'bcc', a=3.45)), {'SNAP': snap_potential}, dft_reference=column
    )
    assert builder.dft_reference.pk == column.pk
