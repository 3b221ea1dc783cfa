"""Generate ``Li.pbe-s-kjpaw_psl.1.0.0.UPF`` with ``ld1.x`` and make it readable by pw.x 6.7 (no AiiDA)."""

from __future__ import annotations

import hashlib
import pathlib
import re
import shutil
import subprocess

PSEUDO_FILENAME = 'Li.pbe-s-kjpaw_psl.1.0.0.UPF'
LD1_INPUT = pathlib.Path(__file__).parent / 'Li.pbe-s-kjpaw_psl.1.0.0.ld1.in'
#: pw.x 6.7's XML reader refuses lines longer than this many characters.
MAX_LINE_LENGTH = 1024
_NUMBER = re.compile(r'^[\s0-9eEdD+\-.]+$')


def rewrap_long_lines(text: str, numbers_per_line: int = 4, max_length: int = MAX_LINE_LENGTH) -> str:
    """Split over-long lines of whitespace-separated numbers into lines of ``numbers_per_line`` numbers.

    Only purely numeric lines are touched (tags and attributes never are), so the data are unchanged.

    Raises
    ------
    ValueError
        If an over-long line is not purely numeric (then it cannot be rewrapped safely).
    """
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) <= max_length:
            lines.append(line)
            continue
        if not _NUMBER.match(line):
            raise ValueError(f'line {number} is longer than {max_length} characters and not purely numeric')
        values = line.split()
        lines.extend('  '.join(values[i : i + numbers_per_line]) for i in range(0, len(values), numbers_per_line))
    return '\n'.join(lines) + '\n'


def generate_li_paw(directory: str | pathlib.Path, ld1: str = 'ld1.x') -> dict:
    """Run ``ld1.x`` on the packaged input in ``directory`` and rewrap the UPF it writes.

    Returns
    -------
    dict
        ``filepath`` of the UPF, its ``md5``, and the cutoffs (Ry) that ld1.x suggests, ``suggested_cutoff_wfc``
        and ``suggested_cutoff_rho``.

    Raises
    ------
    FileNotFoundError
        If ``ld1.x`` is not installed.
    RuntimeError
        If ``ld1.x`` fails or writes no data set.
    """
    executable = shutil.which(ld1)
    if executable is None:
        raise FileNotFoundError(f'{ld1} not found: install Quantum ESPRESSO (Debian package quantum-espresso)')
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.run(
        [executable], input=LD1_INPUT.read_text(), capture_output=True, text=True, cwd=directory, check=False
    )
    (directory / 'ld1.out').write_text(process.stdout + process.stderr)
    upf = directory / PSEUDO_FILENAME
    if process.returncode != 0 or not upf.is_file():
        raise RuntimeError(f'ld1.x failed (exit {process.returncode}); see {directory / "ld1.out"}')

    upf.write_text(rewrap_long_lines(upf.read_text()))
    header = upf.read_text()
    wfc = re.search(r'wfc_cutoff="\s*([0-9.Ee+-]+)"', header)
    rho = re.search(r'rho_cutoff="\s*([0-9.Ee+-]+)"', header)
    return {
        'filepath': upf,
        'md5': hashlib.md5(upf.read_bytes()).hexdigest(),
        'suggested_cutoff_wfc': float(wfc.group(1)) if wfc else None,
        'suggested_cutoff_rho': float(rho.group(1)) if rho else None,
    }
