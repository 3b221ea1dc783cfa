"""File names of the runner's contract with the CalcJob and parser (one place, used by both sides)."""

INPUT_FILE = 'aiida.in.json'
STRUCTURES_FILE = 'structures.extxyz'
RESULTS_FILE = 'results.json'
#: Every output frame (evaluated, relaxed, last of an MD run, image of a band) with its own results.
FRAMES_FILE = 'frames.extxyz'
ERROR_FILE = 'error.json'
STDOUT_FILE = 'aiida.out'
POTENTIAL_DIR = 'potential'
#: Models of an ensemble (model deviation) go to ``ensemble/model_00``, ``ensemble/model_01``, ...
ENSEMBLE_DIR = 'ensemble'


def thermo_file(label: str) -> str:
    """Return the name of the thermo record of the MD run of ``label`` (NumPy ``.npz``)."""
    return f'thermo.{label}.npz'


def samples_file(label: str) -> str:
    """Return the name of the sampled frames of the MD run of ``label`` (extended XYZ)."""
    return f'samples.{label}.extxyz'


def deviation_file(label: str) -> str:
    """Return the name of the model deviation along the MD run of ``label`` (NumPy ``.npz``)."""
    return f'deviation.{label}.npz'


def ensemble_dir(index: int) -> str:
    """Return the folder of the ``index``-th ensemble model."""
    return f'{ENSEMBLE_DIR}/model_{index:02d}'
