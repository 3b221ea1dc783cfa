"""Finite-temperature bulk properties with provenance: MD supercells, a(T) and C_ij(T) from the MD records."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..analysis import thermal
from ..utils import finite_or_none
from .quantities import quantity

LATTICE_UNITS = {
    'temperatures': 'K',
    'lattice_constant': 'Å',
    'lattice_constant_std': 'Å',
    'lattice_constant_sem': 'Å',
    'box': 'Å',
    'box_sem': 'Å',
    'pressure': 'GPa',
    'pressure_sem': 'GPa',
    'temperature': 'K',
    'cubic': 'whether the mean box stayed cubic (bool)',
}


@calcfunction
def md_supercell(structure: orm.StructureData, repeat: orm.List) -> orm.StructureData:
    """Return ``structure`` repeated ``repeat`` times along its cell vectors (the MD cell)."""
    return orm.StructureData(ase=structure.get_ase().repeat(tuple(int(n) for n in repeat.get_list())))


@calcfunction
def analyse_thermal_expansion(supercell: orm.StructureData, settings: orm.Dict, **thermo: orm.ArrayData) -> dict:
    """Average the box of each NPT run and fit a(T).

    ``settings``: ``repeat`` (the supercell of the conventional cell) and ``runs``, by label, each with its
    ``temperature`` (K) and ``first_step`` (the first step averaged: after the heating and the equilibration).
    ``thermo``: the thermo record of each run, by the same labels.

    Outputs ``results`` (per temperature the mean, standard deviation and blocked standard error of a, the box and
    the pressure; the fit of a(T)), ``lattice_constants`` (the same as arrays against T, with the supercell
    ``repeat`` and the ``structure_uuid`` of the conventional cell as attributes) and ``equilibrated_structures``:
    the supercell with the cubic box of each temperature's mean lattice constant, the start of the elastic runs.
    """
    repeat = settings['repeat']
    runs = settings['runs']
    ordered = sorted(runs, key=lambda label: runs[label]['temperature'])
    per_temperature = {}
    try:
        for label in ordered:
            record = {key: thermo[label].get_array(key) for key in ('step', 'cell_lengths', 'pressure', 'temperature')}
            per_temperature[label] = thermal.npt_statistics(record, runs[label]['first_step'], repeat)
    except ValueError as exception:
        return ExitCode(410, f'{label}: {exception}')
    temperatures = [float(runs[label]['temperature']) for label in ordered]
    lattice = [per_temperature[label]['lattice_constant'] for label in ordered]
    # Only temperatures where the crystal stayed cubic enter the fit of a(T).
    cubic = [index for index, label in enumerate(ordered) if per_temperature[label]['cubic']]
    fit = thermal.thermal_expansion(
        [temperatures[i] for i in cubic], [lattice[i]['mean'] for i in cubic], [lattice[i]['sem'] for i in cubic]
    )

    arrays = orm.ArrayData()
    arrays.set_array('temperatures', np.array(temperatures))
    for key in ('mean', 'std', 'sem'):
        arrays.set_array(
            'lattice_constant' if key == 'mean' else f'lattice_constant_{key}', np.array([x[key] for x in lattice])
        )
    arrays.set_array('box', np.array([[side['mean'] for side in per_temperature[k]['box']] for k in ordered]))
    arrays.set_array('box_sem', np.array([[side['sem'] for side in per_temperature[k]['box']] for k in ordered]))
    for key in ('pressure', 'temperature'):
        arrays.set_array(key, np.array([per_temperature[k][key]['mean'] for k in ordered]))
    arrays.set_array('cubic', np.array([per_temperature[k]['cubic'] for k in ordered]))
    arrays.set_array('pressure_sem', np.array([per_temperature[k]['pressure']['sem'] for k in ordered]))
    arrays.base.attributes.set_many(
        {
            'units': LATTICE_UNITS,
            'repeat': list(repeat),
            'structure_uuid': settings['structure_uuid'],
            'labels': ordered,
        }
    )

    structures = {}
    for label in ordered:
        # The crystal is cubic on average: the box sides' differences are shape fluctuations, not structure.
        atoms = supercell.get_ase()
        atoms.set_cell(np.diag(np.array(repeat) * per_temperature[label]['lattice_constant']['mean']), scale_atoms=True)
        structures[label] = orm.StructureData(ase=atoms)

    results = {
        'temperatures': temperatures,
        'labels': ordered,
        'by_temperature': per_temperature,
        'fit': fit,
        'repeat': list(repeat),
        'units': {
            'temperatures': 'K',
            'lattice_constant': 'Å',
            'box': 'Å',
            'pressure': 'GPa',
            'temperature': 'K',
            'fit.slope': 'Å/K',
            'fit.extrapolated_lattice_constant': 'Å',
            'fit.thermal_expansion_coefficient': '1/K',
            'fit.reference_temperature': 'K',
        },
    }
    outputs = {
        'results': orm.Dict(finite_or_none(results)),
        'lattice_constants': arrays,
        'equilibrated_structures': structures,
    }
    if fit:
        outputs['thermal_expansion_coefficient'] = quantity(
            fit['thermal_expansion_coefficient'],
            '1/K',
            'thermal_expansion_coefficient',
            f'Linear thermal expansion coefficient at {fit["reference_temperature"]:.0f} K',
        )
    return outputs


@calcfunction
def cells_at_temperatures(
    structure: orm.StructureData, lattice_constants: orm.ArrayData, temperatures: orm.List
) -> dict:
    """Return the MD supercell at the mean box of each requested temperature of a thermal-expansion run.

    Outputs by temperature label (``T_300``); the supercell is the conventional ``structure`` repeated as in the
    thermal-expansion run, with the cubic box of its mean lattice constant (ideal positions).
    """
    repeat = lattice_constants.base.attributes.get('repeat')
    known = lattice_constants.get_array('temperatures')
    boxes = lattice_constants.get_array('box')
    lattice = lattice_constants.get_array('lattice_constant')
    outputs = {}
    for temperature in temperatures.get_list():
        index = int(np.argmin(np.abs(known - float(temperature))))
        if abs(known[index] - float(temperature)) > 1e-6:
            return ExitCode(410, f'{temperature} K is not among the temperatures of the lattice constants: {known}')
        if 'cubic' in lattice_constants.get_arraynames() and not lattice_constants.get_array('cubic')[index]:
            return ExitCode(
                410, f'at {temperature} K the mean box is not cubic ({boxes[index]} Å): the crystal transformed'
            )
        atoms = structure.get_ase().repeat(tuple(repeat))
        atoms.set_cell(np.diag(np.array(repeat) * lattice[index]), scale_atoms=True)
        outputs[thermal.temperature_label(temperature)] = orm.StructureData(ase=atoms)
    return outputs


ELASTIC_KEYS = ('C11', 'C12', 'C44')
MODULI_KEYS = (
    'zener_anisotropy',
    'universal_anisotropy',
    'bulk_modulus_vrh',
    'shear_modulus_vrh',
    'youngs_modulus',
    'poisson_ratio',
)
ELASTIC_UNITS = {
    'temperatures': 'K',
    **{key: 'GPa' for key in ELASTIC_KEYS},
    'zener_anisotropy': '1',
    'universal_anisotropy': '1',
    'bulk_modulus_vrh': 'GPa',
    'shear_modulus_vrh': 'GPa',
    'youngs_modulus': 'GPa',
    'poisson_ratio': '1',
    'temperature': 'K',
    'reference_pressure': 'GPa',
}

VOIGT = ('xx', 'yy', 'zz', 'yz', 'xz', 'xy')


@calcfunction
def fit_elastic_at_temperatures(settings: orm.Dict, **results: orm.Dict) -> dict:
    """Fit C11, C12, C44 at each temperature to the MD-averaged stresses of its strained cells; derive the moduli.

    ``settings``: ``runs`` by temperature label, each with its ``temperature`` (K) and ``strains`` (cell label to
    ``[Voigt component, engineering strain]``; the unstrained cell is ``reference``). ``results``: the ``results`` of
    each temperature's MD evaluation, whose items carry the averaged stresses and their blocked standard errors.

    Outputs ``results`` (per temperature: C_ij with the standard errors of the fits, reduced chi^2, the moduli with
    propagated errors, null where the constants violate the Born conditions (``mechanically_stable`` false), the
    mean temperature and the unstrained cell's mean stress) and ``elastic_constants`` (arrays against T: each
    constant and modulus, and ``<name>_error``).
    """
    runs = settings['runs']
    ordered = sorted(runs, key=lambda label: runs[label]['temperature'])
    by_temperature = {}
    for label in ordered:
        items = results[label]['items']
        strains = runs[label]['strains']
        cells = ['reference', *sorted(strains)]
        missing = [cell for cell in cells if cell not in items or 'averages' not in items[cell]]
        if missing:
            return ExitCode(410, f'{label}: no MD averages for {", ".join(missing)}')
        components = [None] + [int(strains[cell][0]) for cell in cells[1:]]
        magnitudes = [0.0] + [float(strains[cell][1]) for cell in cells[1:]]
        stresses = np.array([[items[c]['averages'][f'stress_{v}']['mean'] for v in VOIGT] for c in cells], dtype=float)
        # A null error (one sample) becomes NaN, and the fit then weighs the points equally.
        errors = np.array([[items[c]['averages'][f'stress_{v}']['sem'] for v in VOIGT] for c in cells], dtype=float)
        try:
            constants = thermal.fit_cubic_constants(components, magnitudes, stresses, errors)
        except ValueError as exception:
            return ExitCode(411, f'{label}: {exception}')
        try:
            moduli, stable = thermal.cubic_moduli_with_errors(constants), True
        except ValueError:
            # Born-unstable constants (a crystal near its instability, or too short a run) are results too: kept,
            # with undefined moduli.
            moduli, stable = {key: {'value': float('nan'), 'error': float('nan')} for key in MODULI_KEYS}, False
        reference = items['reference']['averages']
        by_temperature[label] = {
            'temperature': float(runs[label]['temperature']),
            'mean_temperature': {k: reference['temperature'][k] for k in ('mean', 'sem')},
            'reference_stress': {v: {k: reference[f'stress_{v}'][k] for k in ('mean', 'sem')} for v in VOIGT},
            'reference_pressure': {k: reference['pressure'][k] for k in ('mean', 'sem')},
            'mechanically_stable': stable,
            **constants,
            **moduli,
        }

    arrays = orm.ArrayData()
    arrays.set_array('temperatures', np.array([by_temperature[k]['temperature'] for k in ordered]))
    for key in ELASTIC_KEYS + MODULI_KEYS:
        arrays.set_array(key, np.array([by_temperature[k][key]['value'] for k in ordered]))
        arrays.set_array(f'{key}_error', np.array([by_temperature[k][key]['error'] for k in ordered]))
    arrays.base.attributes.set_many({'units': ELASTIC_UNITS, 'labels': ordered})
    units = dict(ELASTIC_UNITS)
    units.update(reference_stress='GPa (Voigt, positive = tensile)', mean_temperature='K')
    return {
        'results': orm.Dict(
            finite_or_none(
                {
                    'temperatures': [by_temperature[k]['temperature'] for k in ordered],
                    'labels': ordered,
                    'by_temperature': by_temperature,
                    'units': units,
                }
            )
        ),
        'elastic_constants': arrays,
    }
