"""File names of the runner's contract with the CalcJob and parser (one place, used by both sides)."""

INPUT_FILE = 'aiida.in.json'
STRUCTURES_FILE = 'structures.extxyz'
RESULTS_FILE = 'results.json'
RELAXED_FILE = 'relaxed.extxyz'
ERROR_FILE = 'error.json'
STDOUT_FILE = 'aiida.out'
POTENTIAL_DIR = 'potential'
