"""The ``limlip-runner`` executable: run one task over a batch of structures in the current directory."""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from . import files


def _write_error(directory: Path, reason: str, message: str) -> None:
    (directory / files.ERROR_FILE).write_text(json.dumps({'reason': reason, 'message': message}, indent=1))
    print(f'limlip-runner: {reason}: {message}', file=sys.stderr)


def run(directory: Path | str = '.') -> int:
    """Run the task described by ``aiida.in.json`` in ``directory``; return the process exit status.

    Every failure that Python sees ends in ``error.json`` (reason and message) and a non-zero status, so the parser
    can always say what went wrong; only a killed process leaves neither results nor an error report.
    """
    directory = Path(directory)
    try:
        return _run(directory)
    except Exception as exception:  # noqa: BLE001 - a bug of ours must still leave an error report
        _write_error(directory, 'internal', f'{type(exception).__name__}: {exception}\n{traceback.format_exc()}')
        return 7


def _run(directory: Path) -> int:
    import ase.io

    from .calculators import PotentialSpecError, make_calculator_factory, set_thread_count
    from .tasks import TASKS, UNITS, TaskFailedError, TaskInputError, validate_task_parameters

    start = time.perf_counter()
    try:
        request = json.loads((directory / files.INPUT_FILE).read_text())
        task = request['task']
        parameters = validate_task_parameters(task, request.get('parameters'))
        structures = ase.io.read(directory / files.STRUCTURES_FILE, index=':', format='extxyz')
    except (OSError, KeyError, ValueError, TaskInputError) as exception:
        _write_error(directory, 'input', f'{type(exception).__name__}: {exception}')
        return 2

    try:
        set_thread_count()
        factory = make_calculator_factory(request['potential'], directory / files.POTENTIAL_DIR)
    except (PotentialSpecError, ImportError, OSError) as exception:
        _write_error(directory, 'potential', f'{type(exception).__name__}: {exception}')
        return 3

    try:
        frames, output_structures = TASKS[task].function(structures, factory, parameters)
    except TaskFailedError as exception:
        _write_error(directory, exception.reason, str(exception))
        return 4
    except TaskInputError as exception:
        _write_error(directory, 'input', str(exception))
        return 2
    except Exception as exception:  # noqa: BLE001 - any failure of the backend is reported, never half-written
        _write_error(directory, 'task', f'{type(exception).__name__}: {exception}\n{traceback.format_exc()}')
        return 5

    results = {
        'task': task,
        'parameters': parameters,
        'units': UNITS,
        'frames': frames,
        'wall_time': time.perf_counter() - start,
    }
    try:
        if output_structures is not None:
            ase.io.write(directory / files.RELAXED_FILE, output_structures, format='extxyz')
        # Written last and in one go, so a results file exists only for a complete run.
        temporary = directory / (files.RESULTS_FILE + '.part')
        temporary.write_text(json.dumps(results))
        temporary.rename(directory / files.RESULTS_FILE)
    except Exception as exception:  # noqa: BLE001 - e.g. a full disk, or a structure ASE cannot write
        _write_error(directory, 'output', f'{type(exception).__name__}: {exception}\n{traceback.format_exc()}')
        return 6
    print(f'limlip-runner: task {task} on {len(structures)} structure(s) done in {results["wall_time"]:.2f} s')
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else '.'))


if __name__ == '__main__':
    main()
