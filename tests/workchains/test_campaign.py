"""Active learning and the campaign: bad inputs refused before submission, and the smallest campaign end to end.

The end-to-end test runs real programs: pw.x labels, deepmd-kit ensembles, LAMMPS exploration with the ensemble's
model deviation, and the benchmark; then it walks the provenance from Table 1 back to the pw.x runs.
"""

import os

import numpy as np
import pytest
from aiida import engine, orm
from ase.build import bulk

from aiida_limlip.analysis.active_learning import SLAB_CLASSES, supercell_repeats
from aiida_limlip.workchains.active_learning import ActiveLearningWorkChain
from aiida_limlip.workchains.campaign import CampaignWorkChain
from aiida_limlip.workchains.common import check_builder


@pytest.fixture
def codes(pw_code, dp_code, lmp_code, runner_code, li_family):
    """The codes of the campaign (the pseudopotential family installed)."""
    return {'pw': pw_code, 'train': dp_code, 'dp': dp_code, 'lammps': lmp_code, 'runner': runner_code}


def al_builder(codes, overrides=None, seeds=None, protocol='fast'):
    return ActiveLearningWorkChain.get_builder_from_protocol(codes, seeds=seeds, protocol=protocol, overrides=overrides)


@pytest.mark.parametrize(
    ('overrides', 'message'),
    [
        ({'selection': {'trust_lo': 0.2, 'trust_hi': 0.1}}, 'trust_lo < trust_hi'),
        ({'exploration': {'temperatures': []}}, 'temperature grid is empty'),
        ({'num_models': 1}, 'at least 2 models'),
        ({'selection': {'trust_low': 0.1}}, 'unknown selection setting'),
        ({'explorations': {}}, 'unknown override key'),
    ],
)
def test_active_learning_refuses_bad_settings(codes, overrides, message):
    with pytest.raises(ValueError, match=message):
        al_builder(codes, overrides)


@pytest.mark.parametrize('protocol', ['fast', 'demo', 'paper'])
def test_every_active_learning_protocol_makes_a_valid_builder(codes, protocol):
    builder = al_builder(codes, protocol=protocol)
    check_builder(builder)
    seeds = {structure.get_ase().get_global_number_of_atoms() for structure in builder.seeds.values()}
    assert max(seeds) <= 128
    # The MD cells (and so the candidate frames to label) keep every seed's size up to one repeat of the smallest:
    # the demo's 15-atom vacancy cell once became 120 atoms under an 8-fold repeat.
    exploration = builder.exploration.get_dict()
    for structure in builder.seeds.values():
        atoms = structure.get_ase()
        slab = structure.base.attributes.get('config_class', '') in SLAB_CLASSES
        repeats = supercell_repeats(atoms.cell.lengths(), len(atoms), exploration['min_atoms'], slab)
        assert len(atoms) * np.prod(repeats) <= max(128, 2 * exploration['min_atoms']), (structure.label, repeats)
        if len(atoms) >= 8:  # defect and slab cells of the protocol are explored as they are
            assert repeats == (1, 1, 1), (structure.label, len(atoms))
    selection = builder.selection.get_dict()
    assert selection['trust_lo'] < selection['trust_hi']
    if protocol == 'paper':  # DP-GEN's defaults for metals, and the paper's DFT settings
        assert (selection['trust_lo'], selection['trust_hi']) == (0.05, 0.15)
        assert builder.labelling.parameters['ELECTRONS']['conv_thr_per_atom'] == 1.0e-10
        assert builder.labelling.parameters['SYSTEM']['ecutwfc'] == 100.0


def test_active_learning_refuses_bad_seeds_and_ensembles_on_the_builder(codes):
    builder = al_builder(codes)
    check_builder(builder)  # the protocol's own inputs pass
    # Seeds of another element than the data to continue from.
    sodium = orm.StructureData(ase=bulk('Na', 'bcc', a=4.2, cubic=True))
    builder.seeds = {'bulk_na': sodium}
    from aiida_limlip.data.frame_set import FrameSetData

    frame = FrameSetData.make_frame(bulk('Li', 'bcc', a=3.44, cubic=True), -3.8, np.zeros((2, 3)))
    builder.initial_data = FrameSetData([frame] * 3)
    builder.test_set = FrameSetData([frame])
    with pytest.raises(ValueError, match=r"seeds hold \['Na'\] but initial_data holds \['Li'\]"):
        check_builder(builder)
    # Without initial data the pw.x labelling would need a Na pseudopotential.
    builder = al_builder(codes)
    builder.seeds = {'bulk_na': sodium}
    with pytest.raises(ValueError, match=r"no pseudopotential for \['Na'\]"):
        check_builder(builder)
    builder = al_builder(codes)
    builder.training.num_models = orm.Int(1)
    with pytest.raises(ValueError, match='ensemble of at least 2 models'):
        check_builder(builder)


def test_campaign_refuses_bad_input(codes):
    with pytest.raises(ValueError, match="element 'Na' is not supported"):
        CampaignWorkChain.get_builder_from_protocol(codes, protocol='fast', element='Na')
    with pytest.raises(ValueError, match="unknown protocol 'quick'"):
        CampaignWorkChain.get_builder_from_protocol(codes, protocol='quick')
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['figure9'\]"):
        CampaignWorkChain.get_builder_from_protocol(codes, protocol='fast', overrides={'stages': ['figure9']})
    builder = CampaignWorkChain.get_builder_from_protocol(codes, protocol='fast')
    builder.stages = orm.List(['training'])  # no active learning, and no data set to train on
    with pytest.raises(ValueError, match='training needs a `dataset`'):
        check_builder(builder)


@pytest.mark.parametrize(
    ('settings', 'message'),
    [
        ({'colums': ['SNAP']}, r"unknown setting\(s\) \['colums'\]"),
        ({'protocol': 'quick'}, "unknown protocol 'quick'"),
        ({'overrides': {'spes': {'miller': [1, 0, 0]}}}, r'surface_kinetics, spes: unknown override key\(s\) miller'),
        ({'overrides': {'thermal_expansion': {}}}, r"overrides for \['thermal_expansion'\]"),
        ({'columns': ['NequIP99_m00']}, r"columns \['NequIP99_m00'\] are neither baselines nor trained"),
        ({'columns': []}, '`columns` is empty'),
    ],
)
def test_campaign_refuses_bad_figure_settings(codes, settings, message):
    overrides = {'stages': ['surface_kinetics'], 'surface_kinetics': settings}
    with pytest.raises(ValueError, match=message):
        CampaignWorkChain.get_builder_from_protocol(codes, protocol='fast', overrides=overrides)


def test_conventional_cubic_cell_of_the_figure_stages():
    from aiida_limlip.workchains.campaign import conventional_cubic_cell

    primitive = orm.StructureData(ase=bulk('Li', 'bcc', a=3.4374))
    cubic = conventional_cubic_cell(primitive).get_ase()
    assert len(cubic) == 2 and np.allclose(cubic.cell.lengths(), 3.4374) and np.allclose(cubic.cell.angles(), 90)
    assert np.allclose(conventional_cubic_cell(orm.StructureData(ase=cubic)).get_ase().cell.lengths(), 3.4374)


def test_campaign_paper_protocol_runs_every_stage(codes, nequip_train_code, nequip_compile_code):
    from aiida_limlip.workchains.campaign import STAGES

    codes = dict(codes, nequip=nequip_train_code, nequip_compile=nequip_compile_code)
    builder = CampaignWorkChain.get_builder_from_protocol(codes, protocol='paper')
    assert builder.stages.get_list() == list(STAGES)
    assert builder.finite_temperature['protocol'] == builder.surface_kinetics['protocol'] == 'paper'
    assert {'SNAP', 'MEAM'} == set(builder.baselines)


@pytest.mark.slow
def test_figure_stages_of_a_baseline(codes, tmp_path):
    """Figs. 2 and 3 as campaign stages, here for the SNAP baseline alone on the smallest settings."""
    from aiida_limlip.data.potential import PotentialData, find_lammps_potentials_dir
    from aiida_limlip.query import campaign_progress, write_campaign_report

    snap = PotentialData.from_snap_zuo2020(find_lammps_potentials_dir())
    overrides = {
        'stages': ['finite_temperature', 'surface_kinetics'],
        'lattice_constant': 3.5062,  # SNAP's own: without a benchmark stage the figures start from this guess
        'finite_temperature': {
            'overrides': {
                'thermal_expansion': {'temperatures': [50.0], 'supercell': [2, 2, 2], 'heating_rate': 1.0},
                'elastic_t': {'evaluation': {'parameters': {'steps': 600, 'equilibration_steps': 200}}},
            }
        },
        'surface_kinetics': {'overrides': {'spes': {'miller_indices': [[1, 0, 0]]}}},
    }
    # Named as the first member of an ensemble, so the stages also give its (one-model) ensemble spread.
    builder = CampaignWorkChain.get_builder_from_protocol(
        codes, protocol='fast', overrides=overrides, baselines={'SNAP_m00': snap}
    )
    results, node = engine.run_get_node(builder)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    fig2, fig3 = results['finite_temperature']['SNAP_m00'], results['surface_kinetics']['SNAP_m00']
    assert set(fig2) == {'thermal_expansion', 'elastic_t'}
    assert set(fig3) == {'spes', 'surface_diffusion', 'ehrlich_schwoebel'}
    # SNAP at 50 K in 16 atoms: within 1 % of its 0 K lattice constant 3.5062 Å, as the finite-temperature tests
    # find at 300 K (measured here: 3.485 Å; this SNAP contracts slightly when heated).
    a50 = fig2['thermal_expansion']['by_temperature']['T_50']['lattice_constant']['mean']
    assert a50 == pytest.approx(3.5062, rel=0.01)
    c11 = fig2['elastic_t']['by_temperature']['T_50']['C11']['value']
    assert 5.0 < c11 < 40.0  # GPa; Li's C11 is ~14 (wiring, not a converged number: 600 steps)
    # SNAP's (100) adatom sits in the hollow, and stepping down the (100) step is downhill (as the surface tests find).
    assert fig3['spes']['facets']['f100']['minima'][0]['site'] == pytest.approx([0.5, 0.5], abs=0.01)
    assert fig3['ehrlich_schwoebel']['terrace_barrier'] > 0
    assert fig3['ehrlich_schwoebel']['direct']['reaction_energy'] < 0
    assert fig3['surface_diffusion']['facets']['f100']['minimum_barrier'] > 0
    progress = campaign_progress(node)
    assert progress['stages_done'] == progress['stages_total'] == 2
    spread = results['finite_temperature_ensemble']['ensembles']['SNAP']
    assert spread['thermal_expansion']['a(50 K)'] == {'mean': a50, 'std': None, 'n': 1, 'unit': 'Å'}
    assert spread['elastic_t']['C11(50 K)']['mean'] == c11
    barriers = results['surface_kinetics_ensemble']['ensembles']['SNAP']
    assert barriers['ehrlich_schwoebel']['E_T']['mean'] == fig3['ehrlich_schwoebel']['terrace_barrier']
    assert (
        barriers['surface_diffusion']['E_D(100)']['mean']
        == fig3['surface_diffusion']['facets']['f100']['minimum_barrier']
    )
    written = {path.name for path in write_campaign_report(node, tmp_path)}
    assert {'figure2.png', 'figure3.png', 'figure2_ensemble.md', 'figure3_ensemble.md'} <= written
    assert 'a(50 K) (Å)' in (tmp_path / 'figure2_ensemble.md').read_text()


def check_the_loop_learnt(records: list[dict], dataset, cap: int) -> None:
    """The iteration records add up, and the last ensemble learnt from the labels added before it.

    Every iteration explores the same condition (50 K, 0 GPa) from the same seeds, so the ensembles are judged on the
    same region: the last one agrees better there (measured in the campaign: median deviation 0.33 -> 0.10 eV/Å), and
    it has more accurate frames or lower errors on the fixed test set (measured: forces 193 -> 156 meV/Å).
    """
    for record in records:
        overall = record['exploration']['overall']
        assert overall['accurate'] + overall['candidate'] + overall['failed'] == overall['total'] > 0
        assert sum(c['total'] for c in record['exploration']['classes'].values()) == overall['total']
        assert record['candidates_chosen'] <= cap
    first, last = records[0], records[-1]
    assert last['training_frames'] > first['training_frames']
    assert sum(r['labels_added'] for r in records) >= 4, records
    first_overall, last_overall = first['exploration']['overall'], last['exploration']['overall']
    assert last_overall['median_max_devi_f'] < 0.8 * first_overall['median_max_devi_f'], records
    assert (
        last_overall['accurate_fraction'] > first_overall['accurate_fraction']
        or last['test_errors']['forces'] < first['test_errors']['forces']
    ), records
    # The data set grew by exactly the labels added.
    assert dataset.num_frames == first['training_frames'] + sum(r['labels_added'] for r in records)


def check_deviation_of_training_and_hot_frames(potentials, dataset):
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    from aiida_limlip.analysis.model_deviation import model_deviation

    calculators = [potentials[label].get_ase_calculator() for label in sorted(potentials)]
    learnt = next(frame for frame in dataset.get_frames() if frame.info.get('config_class') == 'rattled')

    def deviation(atoms):
        forces, energies = [], []
        for calculator in calculators:
            atoms.calc = calculator
            forces.append(atoms.get_forces())
            energies.append(atoms.get_potential_energy())
        return model_deviation(np.array(energies), np.array(forces))['max_devi_f']

    hot = learnt.copy()
    hot.calc = calculators[0]
    MaxwellBoltzmannDistribution(hot, temperature_K=900.0, rng=np.random.default_rng(3))
    Langevin(hot, 1.0 * units.fs, temperature_K=900.0, friction=0.02, rng=np.random.default_rng(4)).run(150)
    on_learnt, on_hot = deviation(learnt.copy()), deviation(hot.copy())
    assert on_learnt < on_hot, (on_learnt, on_hot)


def called_with(parent: orm.WorkflowNode, label: str) -> orm.ProcessNode:
    """The process ``parent`` called with link label ``label``."""
    return parent.base.links.get_outgoing(link_label_filter=label).one().node


def walk_to_pw(node: orm.Node) -> set:
    """Return the pks of the PwCalculation nodes among the ancestors of ``node`` (every link, not links by name)."""
    from aiida_limlip.query import upstream_calculations

    return set(upstream_calculations(node))


def test_upstream_calculations_walks_every_link(pw_code):
    """The walk finds a calculation two hops up through a calcfunction, and nothing that is not upstream."""
    from aiida.common.links import LinkType

    from aiida_limlip.query import upstream_calculations

    calc = orm.CalcJobNode(computer=pw_code.computer, process_type='aiida.calculations:quantumespresso.pw')
    calc.set_process_label('PwCalculation')
    calc.set_option('resources', {'num_machines': 1})
    calc.store()
    label = orm.Dict({'energy': -1.0})
    label.base.links.add_incoming(calc, LinkType.CREATE, 'output_parameters')
    label.store()
    function = orm.CalcFunctionNode()
    function.base.links.add_incoming(label, LinkType.INPUT_CALC, 'label')
    function.store()
    table = orm.Dict({'a': 1.0})
    table.base.links.add_incoming(function, LinkType.CREATE, 'result')
    table.store()
    assert set(upstream_calculations(table)) == {calc.pk}
    assert upstream_calculations(label) == {calc.pk: calc}
    assert upstream_calculations(orm.Dict().store()) == {}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_active_learning_loop_learns(codes):
    """The fast loop alone, in the CI's budget (the whole campaign around it is opt-in below): two iterations with
    real programs, pw.x labels of 16-atom seeds, 2-model DeePMD ensembles, LAMMPS exploration at 50 K with the
    ensemble's model deviation, selection and labelling of the candidates.

    Every iteration explores the same condition from the same seeds, so the ensembles are judged on the same region:
    the last one must agree better there than the first (measured in the campaign form of this loop: median
    deviation 0.33 -> 0.10 eV/Å), and it must have more accurate frames or a lower force error on the fixed test set.
    """
    from aiida_limlip.query import active_learning_iterations, dft_calculations_of

    # Smaller than the fast protocol (five seeds, eight candidates: 578 s alone): four seeds, four candidates.
    overrides = {'seeds': {'rattled_count': 2}, 'selection': {'max_candidates': 4}}
    results, node = engine.run_get_node(al_builder(codes, overrides))
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    records = [entry['record'] for entry in active_learning_iterations(node)]
    assert len(records) == 2
    dataset = results['dataset']
    check_the_loop_learnt(records, dataset, cap=4)
    # Every model of the last ensemble was fed by pw.x runs that finished.
    for potential in results['potentials'].values():
        fed = dft_calculations_of(potential)
        assert fed and all(calc.process_label == 'PwCalculation' and calc.is_finished_ok for calc in fed.values())
    check_deviation_of_training_and_hot_frames(results['potentials'], dataset)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get('LIMLIP_CAMPAIGN_TEST'),
    reason='the smallest campaign takes 10 min alone and 17-20 min beside the rest of the suite on 2 cores, beyond '
    'the CI budget; LIMLIP_CAMPAIGN_TEST=1 runs it',
)
@pytest.mark.timeout(3600)
def test_the_smallest_campaign_end_to_end(codes, tmp_path):
    """Active learning (2 iterations), production training and Table 1, all with real programs."""
    from aiida_limlip.data.potential import PotentialData, find_lammps_potentials_dir
    from aiida_limlip.query import (
        active_learning_iterations,
        campaign_progress,
        dft_calculations_of,
        properties_from_dataset,
        write_campaign_report,
    )

    snap = PotentialData.from_snap_zuo2020(find_lammps_potentials_dir())
    builder = CampaignWorkChain.get_builder_from_protocol(codes, protocol='fast', baselines={'SNAP': snap})
    results, node = engine.run_get_node(builder)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'

    # Active learning: at least two iterations, each a record with counts that add up.
    iterations = active_learning_iterations(node)
    assert len(iterations) >= 2
    records = [entry['record'] for entry in iterations]
    dataset = results['active_learning']['dataset']
    check_the_loop_learnt(records, dataset, cap=8)  # the protocol's cap

    # A new run continues from the last finished iteration, with the same seeds, settings and test set.
    al_node = iterations[0]['training'].caller
    restart = ActiveLearningWorkChain.get_builder_restart(al_node, max_iterations=1)
    assert restart.initial_data.uuid == dataset.uuid
    assert restart.test_set.uuid == results['active_learning']['test_set'].uuid
    assert restart.first_iteration.value == len(records) and restart.max_iterations.value == 1
    check_builder(restart)

    # The last ensemble disagrees less on a frame it learnt than on a frame of 900 K MD from it.
    check_deviation_of_training_and_hot_frames(results['active_learning']['potentials'], dataset)

    # Table 1 from nodes: the trained models and SNAP against the pw.x column, each model's lattice constant. A young
    # model whose energy minimum lies off the volume grid is left out with its reason (seen once in CI); the others
    # stay, and the ensemble column is the mean ± std of those present.
    table = results['table'].get_dict()
    models = [column for column in table['columns'] if column.startswith('DeePMD_m')]
    assert {'DFT', 'SNAP'} <= set(table['columns']) and models
    benchmark = called_with(node, 'benchmark')
    for column in ('DeePMD_m00', 'DeePMD_m01'):
        assert column in models or f'eos of {column}' in (benchmark.exit_message or ''), column
    for column in ('DFT', 'SNAP', *models):
        assert table['values'][column]['lattice_constant'] is not None
    # The DFT column and SNAP need no model: they started with the campaign, before the active learning ended, and
    # Table 1 took their lattice constants from there; only SNAP's test-set errors ran with the models.
    early = called_with(node, 'early_columns')
    dft_eos, snap_eos = called_with(early, 'eos_DFT'), called_with(early, 'eos_SNAP')
    assert early.is_finished_ok and dft_eos.ctime < called_with(node, 'active_learning').mtime
    assert snap_eos.ctime < called_with(node, 'active_learning').mtime
    assert not benchmark.base.links.get_outgoing(link_label_filter='eos_SNAP').all()
    assert called_with(benchmark, 'errors_SNAP').is_finished_ok and table['values']['SNAP']['force_rmse'] > 0
    assert table['values']['DFT']['lattice_constant'] == pytest.approx(dft_eos.outputs.lattice_constant.value, rel=1e-9)
    assert 3.3 < table['values']['DFT']['lattice_constant'] < 3.6
    assert table['values']['SNAP']['lattice_constant'] == pytest.approx(3.5062, abs=2e-3)  # SNAP's own minimum
    ensemble = results['table_ensemble'].get_dict()
    values = [table['values'][column]['lattice_constant'] for column in models]
    assert ensemble['values']['DeePMD']['lattice_constant'] == pytest.approx(np.mean(values))
    if len(values) > 1:
        assert ensemble['spread']['DeePMD']['lattice_constant'] == pytest.approx(np.std(values, ddof=1))

    # Provenance: every number of Table 1 traces back to pw.x runs, the models' through their training data.
    pw_runs = walk_to_pw(results['table'])
    for label, potential in results['potentials'].items():
        fed = dft_calculations_of(potential)
        assert fed and all(calc.process_label == 'PwCalculation' and calc.is_finished_ok for calc in fed.values())
        assert {calc.pk for calc in fed.values()} <= pw_runs, label
        assert properties_from_dataset(potential.creator.inputs.training_set), label
    assert walk_to_pw(dft_eos.outputs.results) and walk_to_pw(dft_eos.outputs.results) <= pw_runs

    # Status and report, from the graph.
    progress = campaign_progress(node)
    assert progress['stages_done'] == progress['stages_total'] == 3 and progress['table']
    written = {path.name for path in write_campaign_report(node, tmp_path)}
    assert {'table1.md', 'table1.csv', 'active_learning.png', 'learning_curves.png', 'parity.png'} <= written


def test_an_incomplete_benchmark_fails_the_campaign(runner_code):
    """A Table 1 with a failed property is exposed, but the campaign ends with 405 naming it, not with 0.

    The vacancy relaxation of SNAP is given one step, which cannot converge: the vacancy work chain fails, the
    benchmark ends 402 with the equation of state in its table.
    """
    from aiida_limlip.data.potential import PotentialData, find_lammps_potentials_dir

    snap = PotentialData.from_snap_zuo2020(find_lammps_potentials_dir())
    overrides = {
        'stages': ['benchmark'],
        'benchmark': {
            'properties': ['vacancy'],
            'overrides': {'vacancy': {'supercell_sizes': [2], 'evaluation': {'parameters': {'max_steps': 1}}}},
        },
    }
    builder = CampaignWorkChain.get_builder_from_protocol(
        {'runner': runner_code}, protocol='fast', overrides=overrides, baselines={'SNAP': snap}
    )
    results, node = engine.run_get_node(builder)
    assert node.exit_status == CampaignWorkChain.exit_codes.ERROR_STAGES_INCOMPLETE.status, node.exit_message
    # SNAP needs no trained model: it ran among the early columns, whose failure names the vacancy.
    assert 'early columns (BenchmarkWorkChain<' in node.exit_message and '[402]' in node.exit_message
    assert 'vacancy of SNAP' in node.exit_message
    assert 'SNAP' in results['table']['columns']
    assert results['summary']['stages']['benchmark']['early_columns']['ok'] is False


def test_the_dft_column_starts_with_the_campaign(runner_code, pw_code, li_family):
    """With a pw.x code the campaign starts Table 1's DFT column at once (in `early_columns`, with the baselines)
    and the models' benchmark takes its results as `computed`: Table 1's DFT lattice constant is that of the pw.x
    equation of state, and it traces back to the pw.x runs. Cheap pw.x settings (60 Ry, 7^3 k-points; at 30 Ry and
    4^3 the minimum fell off the volume grid, and the campaign ended 405 naming the DFT column): the value
    is checked against its own work chain and a wide physical window, not against the paper."""
    from aiida_limlip.data.potential import PotentialData, find_lammps_potentials_dir
    from aiida_limlip.query import campaign_progress

    snap = PotentialData.from_snap_zuo2020(find_lammps_potentials_dir())
    cheap_dft = {'kpoints_spacing': 0.05, 'parameters': {'SYSTEM': {'ecutwfc': 60.0, 'ecutrho': 240.0}}}
    overrides = {
        'stages': ['benchmark'],
        # Five volumes over the protocol's ±4 %, not seven: five pw.x SCFs.
        'benchmark': {
            'overrides': {
                'eos': {'volume_strains': [-0.04, -0.02, 0.0, 0.02, 0.04], 'evaluation': {'dft_overrides': cheap_dft}}
            }
        },
    }
    builder = CampaignWorkChain.get_builder_from_protocol(
        {'runner': runner_code, 'pw': pw_code}, protocol='fast', overrides=overrides, baselines={'SNAP': snap}
    )
    assert 'dft_code' in builder.benchmark
    results, node = engine.run_get_node(builder)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    early, benchmark = called_with(node, 'early_columns'), called_with(node, 'benchmark')
    assert early.ctime < benchmark.ctime and 'dft_code' not in benchmark.inputs
    dft_eos = called_with(early, 'eos_DFT')
    assert benchmark.inputs.computed.DFT.eos.uuid == dft_eos.outputs.results.uuid
    assert benchmark.inputs.computed.SNAP.eos.uuid == called_with(early, 'eos_SNAP').outputs.results.uuid
    table = results['table'].get_dict()
    a_dft = table['values']['DFT']['lattice_constant']
    assert a_dft == pytest.approx(dft_eos.outputs.lattice_constant.value, rel=1e-9)
    assert 3.2 < a_dft < 3.7
    assert table['values']['SNAP']['lattice_constant'] == pytest.approx(3.5062, abs=2e-3)
    assert walk_to_pw(results['table']) and walk_to_pw(results['table']) == walk_to_pw(dft_eos.outputs.results)
    assert results['summary']['stages']['benchmark']['early_columns']['pk'] == early.pk
    progress = campaign_progress(node)
    assert progress['stages_done'] == progress['stages_total'] == 1
