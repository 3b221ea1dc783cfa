"""The ``limlip-runner`` executable: run one task over a batch of structures in the current directory."""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from . import files

#: Process exit status of the runner by error reason (the parser reads the reason from ``error.json``).
EXIT_STATUS = {'input': 2, 'potential': 3, 'not_converged': 4, 'nan': 4, 'task': 5, 'output': 6, 'internal': 7}
#: Fraction of the job's wall time a long task may use; the rest is for writing the results.
WALLTIME_FRACTION = 0.9


class RunnerError(Exception):
    """A failure with a reason for ``error.json``."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _write_error(directory: Path, reason: str, message: str) -> int:
    (directory / files.ERROR_FILE).write_text(json.dumps({'reason': reason, 'message': message}, indent=1))
    print(f'limlip-runner: {reason}: {message}', file=sys.stderr)
    return EXIT_STATUS[reason]


def run(directory: Path | str = '.') -> int:
    """Run the task described by ``aiida.in.json`` in ``directory``; return the process exit status.

    Every failure that Python sees ends in ``error.json`` (reason and message) and a non-zero status, so the parser
    can always say what went wrong; only a killed process leaves neither results nor an error report.
    """
    directory = Path(directory)
    try:
        return _run(directory)
    except RunnerError as exception:
        return _write_error(directory, exception.reason, str(exception))
    except Exception as exception:  # noqa: BLE001 - a bug of ours must still leave an error report
        return _write_error(directory, 'internal', f'{type(exception).__name__}: {exception}\n{traceback.format_exc()}')


def _run(directory: Path) -> int:
    import ase.io

    from .base import TaskContext, TaskFailedError, TaskInputError
    from .calculators import PotentialSpecError, make_calculator_factory
    from .tasks import UNITS, get_task

    start, started = time.perf_counter(), time.time()
    try:
        request = json.loads((directory / files.INPUT_FILE).read_text())
        task = get_task(request['task'])
        parameters = task.validate(request.get('parameters'))
        structures = ase.io.read(directory / files.STRUCTURES_FILE, index=':', format='extxyz')
        labels = request.get('labels') or [f'structure_{index:06d}' for index in range(len(structures))]
        if len(labels) != len(structures):
            raise TaskInputError(f'{len(labels)} labels for {len(structures)} structures')
        for atoms, label in zip(structures, labels, strict=True):
            atoms.info['label'] = label
        task.validate_structures(structures, parameters)
    except (OSError, KeyError, ValueError, TaskInputError) as exception:
        raise RunnerError('input', f'{type(exception).__name__}: {exception}') from exception

    try:
        calculator = make_calculator_factory(request['potential'], directory / files.POTENTIAL_DIR)
        ensemble = [
            make_calculator_factory(spec, directory / files.ensemble_dir(index))
            for index, spec in enumerate(request.get('ensemble') or [])
        ]
    except (PotentialSpecError, ImportError, OSError) as exception:
        raise RunnerError('potential', f'{type(exception).__name__}: {exception}') from exception
    if ensemble and not task.uses_ensemble:
        raise RunnerError('input', f'task {task.name!r} takes no ensemble')

    max_seconds = request.get('max_seconds')
    deadline = None
    if max_seconds:
        deadline = time.monotonic() + max_seconds * WALLTIME_FRACTION - (time.perf_counter() - start)
    context = TaskContext(calculator, ensemble, deadline)
    try:
        output = task.function(structures, context, parameters)
    except TaskFailedError as exception:
        raise RunnerError(exception.reason if exception.reason in EXIT_STATUS else 'task', str(exception)) from None
    except TaskInputError as exception:
        raise RunnerError('input', str(exception)) from None
    except Exception as exception:  # noqa: BLE001 - any failure of the backend is reported, never half-written
        message = f'{type(exception).__name__}: {exception}\n{traceback.format_exc()}'
        raise RunnerError('task', message) from exception

    try:
        _write_outputs(directory, task, parameters, labels, output, UNITS, time.perf_counter() - start, started)
    except Exception as exception:  # noqa: BLE001 - e.g. a full disk, or a structure ASE cannot write
        message = f'{type(exception).__name__}: {exception}\n{traceback.format_exc()}'
        raise RunnerError('output', message) from exception
    print(
        f'limlip-runner: task {task.name} on {len(structures)} structure(s) done in {time.perf_counter() - start:.2f} s'
    )
    return 0


def output_labels(task, labels: list[str], count: int) -> list[str]:
    """Return the labels of the output frames: the inputs' for one frame per input, ``image_NN`` for a path."""
    if task.output == 'path':
        return [f'image_{index:02d}' for index in range(count)]
    return list(labels)


def _write_outputs(
    directory: Path, task, parameters: dict, labels: list[str], output, units: dict, wall: float, started: float
):
    """Write the output frames, the per-run records and, last and in one go, ``results.json``.

    ``wall_time`` (s) runs from the start of the task's set-up (after Python and the runner are imported) to the
    writing of the results; ``started`` and ``finished`` are Unix times, to place the job on a timeline.
    """
    import ase.io
    import numpy as np

    frame_labels = output_labels(task, labels, len(output.frames))
    for atoms, label in zip(output.frames, frame_labels, strict=True):
        atoms.info = {'label': label}
    ase.io.write(directory / files.FRAMES_FILE, output.frames, format='extxyz')
    for label, trajectory in zip(labels, output.trajectories or [], strict=False):
        np.savez(directory / files.thermo_file(label), **trajectory.thermo)
        if trajectory.samples:
            ase.io.write(directory / files.samples_file(label), trajectory.samples, format='extxyz')
        if trajectory.deviation is not None:
            np.savez(directory / files.deviation_file(label), **trajectory.deviation)
    items = dict(zip(['path'] if task.output == 'path' else labels, output.summaries, strict=True))
    results = {
        'task': task.name,
        'output': task.output,
        'parameters': parameters,
        'units': units,
        'labels': frame_labels,
        'items': items,
        'wall_time': wall,
        'started': started,
        'finished': time.time(),
    }
    # Written last and in one go, so a results file exists only for a complete run.
    temporary = directory / (files.RESULTS_FILE + '.part')
    temporary.write_text(json.dumps(results))
    temporary.rename(directory / files.RESULTS_FILE)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else '.'))


if __name__ == '__main__':
    main()
