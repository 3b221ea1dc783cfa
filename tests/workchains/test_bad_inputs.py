"""Bad input, as a new user would give it, across the work chains and CalcJobs: one table.

Each row is refused before anything is submitted (no process node is created), with a message that names the input.
The individual modules' tests go deeper into each check; this table is the overview a user reads first.
"""

from __future__ import annotations

import pytest
from aiida import engine, orm
from ase import Atoms
from ase.build import bulk

from aiida_limlip.calculations.runner import RunnerCalculation
from aiida_limlip.data.frame_set import FrameSetData
from aiida_limlip.data.potential import PotentialData
from aiida_limlip.workchains.active_learning import ActiveLearningWorkChain
from aiida_limlip.workchains.benchmark import BenchmarkWorkChain
from aiida_limlip.workchains.campaign import CampaignWorkChain
from aiida_limlip.workchains.labelling import LabellingWorkChain
from aiida_limlip.workchains.prediction_errors import PredictionErrorsWorkChain
from aiida_limlip.workchains.properties.elastic import ElasticConstantsWorkChain
from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain
from aiida_limlip.workchains.properties.finite_temperature import ThermalExpansionWorkChain
from aiida_limlip.workchains.properties.phonons import PhononWorkChain
from aiida_limlip.workchains.properties.surface_kinetics import AdsorptionEnergySurfaceWorkChain
from aiida_limlip.workchains.properties.surfaces import SurfaceEnergyWorkChain
from aiida_limlip.workchains.properties.vacancy import VacancyFormationWorkChain
from aiida_limlip.workchains.training import TrainingWorkChain


def li(a: float = 3.44, cubic: bool = False) -> orm.StructureData:
    return orm.StructureData(ase=bulk('Li', 'bcc', a=a, cubic=cubic))


def eos(f, **kwargs):
    inputs = {'code': f.runner, 'structure': li(), 'potential': f.snap, **kwargs}
    return EquationOfStateWorkChain.get_builder_from_protocol(**inputs)


def prop(cls, f, overrides=None, **kwargs):
    return cls.get_builder_from_protocol(f.runner, kwargs.pop('structure', li()), f.snap, overrides=overrides, **kwargs)


def runner_job(f, **change):
    inputs = {'code': f.runner, 'potential': f.snap, 'structures': {'a': li()}, 'task': orm.Str('singlepoint')}
    engine.run(RunnerCalculation, **{**inputs, **change})


def benchmark(f, potentials=None, **kwargs):
    return BenchmarkWorkChain.get_builder_from_protocol(f.runner, li(), potentials or {'SNAP': f.snap}, **kwargs)


def overlapping() -> orm.StructureData:
    atoms = bulk('Li', 'bcc', a=3.44, cubic=True)
    atoms.append('Li')  # a second atom on the first
    return orm.StructureData(ase=atoms)


def unlabelled_set() -> FrameSetData:
    return FrameSetData([bulk('Li', 'bcc', a=3.4 + 0.02 * i, cubic=True) for i in range(4)])


#: (id, what the user did, the message expected; a regex naming the input).
CASES = [
    # Species, protocols, codes.
    ('wrong-species', lambda f: eos(f, structure=orm.StructureData(ase=bulk('Na', 'bcc', a=4.2))), r"\['Na'\]"),
    ('unknown-protocol', lambda f: eos(f, protocol='exact'), "unknown protocol 'exact'"),
    ('unknown-override', lambda f: eos(f, overrides={'num_point': 5}), r'unknown override key\(s\) num_point'),
    ('missing-code', lambda f: eos(f, code='no-such-code@localhost'), "code 'no-such-code@localhost' not found"),
    ('wrong-code', lambda f: eos(f, code=f.pw), r'no code was given for the ase engine.*given for: pw'),
    # Structures that cannot be right.
    ('bcc-a-0.5', lambda f: eos(f, structure=li(0.5)), r'0\.43 Å apart.*overlapping atoms, or lengths not in Å'),
    ('overlapping-atoms', lambda f: prop(ElasticConstantsWorkChain, f, structure=overlapping()), 'overlapping atoms'),
    (
        'no-cell-volume',
        lambda f: prop(PhononWorkChain, f, structure=orm.StructureData(ase=Atoms('Li', cell=[1, 1, 0], pbc=True))),
        'no volume',
    ),
    (
        'not-primitive',
        lambda f: BenchmarkWorkChain.get_builder_from_protocol(f.runner, li(cubic=True), {'SNAP': f.snap}),
        'one-atom primitive cell',
    ),
    # Impossible or absurd settings.
    (
        'miller-000',
        lambda f: prop(SurfaceEnergyWorkChain, f, {'max_index': None, 'miller_indices': [[0, 0, 0]]}),
        'impossible Miller index',
    ),
    (
        'miller-two-indices',
        lambda f: prop(AdsorptionEnergySurfaceWorkChain, f, {'miller_indices': [[1, 0]]}),
        'impossible Miller index',
    ),
    ('zero-strain', lambda f: prop(ElasticConstantsWorkChain, f, {'strain_magnitudes': [0.0]}), 'non-zero strain'),
    (
        'shear-strain-alone',
        lambda f: prop(ElasticConstantsWorkChain, f, {'strain_components': [3]}),
        'strain_components must be all six',
    ),
    ('phonon-supercell-0', lambda f: prop(PhononWorkChain, f, {'supercell': [0, 5, 5]}), 'repeats must be positive'),
    (
        'vacancy-supercell-2.5',
        lambda f: prop(VacancyFormationWorkChain, f, {'supercell_sizes': [2.5]}),
        'positive integers',
    ),
    (
        'negative-temperature',
        lambda f: ThermalExpansionWorkChain.get_builder_from_protocol(
            f.engines, li(cubic=True), f.snap, overrides={'temperatures': [-10.0]}
        ),
        'above 0 K',
    ),
    ('negative-fmax', lambda f: eos(f, overrides={'evaluation': {'parameters': {'fmax': -0.01}}}), 'fmax'),
    (
        'negative-kspacing',
        lambda f: LabellingWorkChain.get_builder_from_protocol(f.pw, {'a': li()}, overrides={'kpoints_spacing': -0.1}),
        'kpoints_spacing must be positive',
    ),
    (
        'two-number-kmesh',
        lambda f: LabellingWorkChain.get_builder_from_protocol(f.pw, {'a': li()}, overrides={'kpoints_mesh': [8, 8]}),
        'kpoints_mesh must be three positive integers',
    ),
    ('runner-unknown-task', lambda f: runner_job(f, task=orm.Str('phonopy')), 'unknown runner task'),
    ('runner-unknown-parameter', lambda f: runner_job(f, parameters=orm.Dict({'fmx': 0.1})), 'unknown parameter'),
    # Data sets.
    ('empty-data-set', lambda f: FrameSetData([]), 'empty'),
    (
        'unlabelled-data-set',
        lambda f: TrainingWorkChain.get_builder_from_protocol(f.dp, f.runner, unlabelled_set(), 'deepmd'),
        'label',
    ),
    (
        'unlabelled-test-set',
        lambda f: PredictionErrorsWorkChain.get_builder_from_protocol(f.runner, f.snap, unlabelled_set()),
        'label',
    ),
    (
        'unknown-architecture',
        lambda f: TrainingWorkChain.get_builder_from_protocol(f.dp, f.runner, f.dataset, 'mace'),
        'unknown architecture',
    ),
    # Potentials that are not what they say.
    (
        'text-as-deepmd-model',
        lambda f: PotentialData('deepmd', ['Li'], {'graph.pth': b'not a model'}),
        'is not a PyTorch model',
    ),
    (
        'binary-as-snap-file',
        lambda f: PotentialData('snap', ['Li'], {'Li.snapcoeff': b'PK\x03\x04\x00\x00'}, pair_style='snap'),
        'is binary',
    ),
    # Benchmark, active learning and campaign.
    ('column-name', lambda f: benchmark(f, {'NequIP64-mlearn': f.snap}), 'e.g. `NequIP64_mlearn`'),
    ('column-named-DFT', lambda f: benchmark(f, {'DFT': f.snap}), 'name of the DFT column'),
    ('unknown-property', lambda f: benchmark(f, properties=['viscosity']), r"unknown \['viscosity'\]"),
    (
        'trust-levels-swapped',
        lambda f: ActiveLearningWorkChain.get_builder_from_protocol(
            f.codes, protocol='fast', overrides={'selection': {'trust_lo': 0.2, 'trust_hi': 0.1}}
        ),
        'trust_lo < trust_hi',
    ),
    (
        'ensemble-of-one',
        lambda f: ActiveLearningWorkChain.get_builder_from_protocol(
            f.codes, protocol='fast', overrides={'num_models': 1}
        ),
        'at least 2 models',
    ),
    (
        'campaign-element',
        lambda f: CampaignWorkChain.get_builder_from_protocol(f.codes, protocol='fast', element='Na'),
        "element 'Na' is not supported",
    ),
    (
        'campaign-unknown-stage',
        lambda f: CampaignWorkChain.get_builder_from_protocol(f.codes, protocol='fast', overrides={'stages': ['fig9']}),
        r"unknown stage\(s\) \['fig9'\]",
    ),
]


class Fixtures:
    """The codes and nodes the rows use."""

    def __init__(self, runner, pw, dp, lmp, snap, dataset):
        self.runner, self.pw, self.dp, self.snap, self.dataset = runner, pw, dp, snap, dataset
        self.codes = {'pw': pw, 'train': dp, 'dp': dp, 'lammps': lmp, 'runner': runner}
        self.engines = {'ase': runner, 'lammps': lmp}


def test_the_table_has_at_least_25_rows():
    assert len(CASES) >= 25 and len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(('make', 'message'), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_before_submission(
    make, message, runner_code, pw_code, dp_code, lmp_code, li_family, snap_potential, snap_labelled_set
):
    fixtures = Fixtures(runner_code, pw_code, dp_code, lmp_code, snap_potential, snap_labelled_set)
    count = orm.QueryBuilder().append(orm.ProcessNode).count()
    with pytest.raises(ValueError, match=message):
        make(fixtures)
    assert orm.QueryBuilder().append(orm.ProcessNode).count() == count  # nothing was submitted
