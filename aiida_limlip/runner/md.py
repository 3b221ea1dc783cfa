"""Molecular dynamics with ASE for any potential (NequIP included), and the thermo record both MD engines write.

Ensembles: ``nve`` (velocity Verlet), ``nvt_langevin``, ``nvt_nose_hoover`` (Nose-Hoover chain of 3) and ``npt``
(Martyna-Tobias-Klein with a Nose-Hoover chain, the box kept orthorhombic and each side free: ASE's
``MaskedMTKNPT``). A linear temperature ramp can precede the production run (the paper heats at 0.01 K/step).

The thermo record is the same for the ASE and the LAMMPS engine (:data:`THERMO_UNITS`): the temperature counts
3N - 3 degrees of freedom (the centre of mass is at rest in both engines), and pressure and stress include the
kinetic term, as barostats and LAMMPS's ``press`` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.calculators.singlepoint import SinglePointCalculator

from ..analysis.model_deviation import COLUMNS as DEVIATION_COLUMNS
from ..analysis.model_deviation import model_deviation
from ..analysis.statistics import describe
from .base import (
    CONSTRAINTS,
    Parameter,
    Task,
    TaskContext,
    TaskFailedError,
    TaskOutput,
    Trajectory,
    apply_constraints,
    boolean,
    evaluate,
    is_orthorhombic,
    label_of,
    non_negative,
    non_negative_integer,
    one_of,
    positive,
    positive_integer,
)

ENSEMBLES = ('nve', 'nvt_langevin', 'nvt_nose_hoover', 'npt')

#: Columns of the thermo record (one row per record) and their units.
THERMO_UNITS = {
    'step': '1',
    'time': 'ps',
    'temperature': 'K (3N - 3 degrees of freedom)',
    'potential_energy': 'eV',
    'kinetic_energy': 'eV',
    'total_energy': 'eV',
    'conserved_energy': 'eV (total plus thermostat and barostat energy; NaN where not defined)',
    'pressure': 'GPa (positive = compressed; kinetic term included)',
    'stress': 'GPa (Voigt xx yy zz yz xz xy; positive = tensile; kinetic term included)',
    'cell_lengths': 'Å',
    'cell_angles': 'degree',
    'volume': 'Å^3',
}

PARAMETERS = {
    'ensemble': Parameter('nvt_langevin', f'one of {", ".join(ENSEMBLES)}', one_of(*ENSEMBLES)),
    'temperature': Parameter(300.0, 'target temperature (K); the end of the ramp', non_negative),
    'initial_temperature': Parameter(
        None,
        'temperature (K) of the Maxwell-Boltzmann velocities and the start of the ramp (default: `temperature`; 0 '
        'starts at rest)',
        non_negative,
    ),
    'ramp_steps': Parameter(
        0,
        'steps of a linear ramp from initial_temperature to temperature before the production run',
        non_negative_integer,
    ),
    'steps': Parameter(1000, 'production steps after the ramp', positive_integer),
    'timestep': Parameter(1.0, 'time step (fs)', positive),
    'pressure': Parameter(0.0, 'npt: target normal stress on each axis (GPa, positive = compression)'),
    'thermostat_damping': Parameter(
        100.0, 'thermostat time constant (fs): Nose-Hoover relaxation time, inverse Langevin friction', positive
    ),
    'barostat_damping': Parameter(1000.0, 'barostat time constant (fs)', positive),
    'thermo_interval': Parameter(10, 'steps between records of the thermo quantities', positive_integer),
    'frame_interval': Parameter(
        0,
        'steps between sampled frames (with their model deviation if an ensemble is given); a multiple of '
        'thermo_interval; 0: none',
        non_negative_integer,
    ),
    'equilibration_steps': Parameter(
        0, 'production steps left out of the averages (the ramp always is)', non_negative_integer
    ),
    'seed': Parameter(1, 'seed of the initial velocities and the Langevin noise', non_negative_integer),
    'max_temperature': Parameter(
        None, 'the run stops if the temperature exceeds this (K; default 2 T + 500 K): a blow-up', positive
    ),
    'stress_in_frames': Parameter(True, 'store the (static) stress of the sampled frames', boolean),
    'constraints': CONSTRAINTS,
}


def _check(parameters: dict) -> str | None:
    ensemble = parameters['ensemble']
    if parameters['frame_interval'] % parameters['thermo_interval']:
        return 'frame_interval must be a multiple of thermo_interval'
    if ensemble == 'nve' and parameters['ramp_steps']:
        return 'a temperature ramp needs a thermostat; nve has none'
    thermostatted = ensemble != 'nve'
    start = parameters['initial_temperature']
    if thermostatted and (
        parameters['temperature'] <= 0 or (parameters['ramp_steps'] and start is not None and start <= 0)
    ):
        return f'{ensemble} needs temperatures above 0 K (start a ramp at 1 K rather than 0 K)'
    if parameters['constraints'] and ensemble in ('nvt_nose_hoover', 'npt'):
        return f'{ensemble} in ASE does not support constraints; use nve or nvt_langevin'
    if parameters['equilibration_steps'] >= parameters['steps']:
        return 'equilibration_steps must be fewer than steps (nothing would be averaged)'
    return None


def _check_structures(structures: Sequence[Atoms], parameters: dict) -> str | None:
    for index, atoms in enumerate(structures):
        if len(atoms) < 2:
            return f'{label_of(atoms, index)} has {len(atoms)} atom: MD needs at least 2'
        if parameters['ensemble'] == 'npt':
            if not all(atoms.pbc):
                return f'npt needs a periodic cell; {label_of(atoms, index)} is not periodic in every direction'
            if not is_orthorhombic(atoms):
                return f'npt keeps the box orthorhombic: give {label_of(atoms, index)} a cell along x, y and z'
    return None


def max_temperature(parameters: dict) -> float:
    """Return the temperature (K) above which a run counts as blown up."""
    if parameters['max_temperature'] is not None:
        return float(parameters['max_temperature'])
    hottest = max(parameters['temperature'], parameters['initial_temperature'] or 0.0)
    return 2.0 * hottest + 500.0


def cell_lengths_and_angles(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the lengths (Å) and angles alpha, beta, gamma (degree) of a cell given by its rows."""
    from ase.geometry import cell_to_cellpar

    parameters = cell_to_cellpar(np.asarray(cell))
    return parameters[:3], parameters[3:]


def temperature(kinetic_energy: float, degrees_of_freedom: int) -> float:
    """Return the temperature (K) of ``kinetic_energy`` (eV) shared by ``degrees_of_freedom``."""
    return 2.0 * kinetic_energy / (max(degrees_of_freedom, 1) * units.kB)


def degrees_of_freedom(atoms: Atoms) -> int:
    """Return 3N - 3 less what constraints remove (with atoms held in place the centre of mass is not free)."""
    removed = sum(constraint.get_removed_dof(atoms) for constraint in atoms.constraints)
    return 3 * len(atoms) - removed - (0 if removed else 3)


def thermo_averages(thermo: dict[str, np.ndarray], first_step: int) -> dict[str, Any]:
    """Return mean, standard deviation and blocked standard error of the thermo quantities from ``first_step`` on.

    Vector columns (``stress``, ``cell_lengths``) give one entry per component, e.g. ``stress_xx``, ``cell_length_a``.
    """
    mask = np.asarray(thermo['step']) >= first_step
    averages: dict[str, Any] = {}
    for key in ('temperature', 'potential_energy', 'total_energy', 'pressure', 'volume'):
        averages[key] = describe(np.asarray(thermo[key])[mask])
    for index, component in enumerate(('xx', 'yy', 'zz', 'yz', 'xz', 'xy')):
        averages[f'stress_{component}'] = describe(np.asarray(thermo['stress'])[mask, index])
    for index, axis in enumerate('abc'):
        averages[f'cell_length_{axis}'] = describe(np.asarray(thermo['cell_lengths'])[mask, index])
    averages['first_step'] = int(first_step)
    return averages


def continuation_parameters(parameters: dict, done: int, segment: int) -> dict | None:
    """Return the ``md`` parameters that continue a run of ``parameters`` stopped after ``done`` steps.

    ``parameters`` are those of the whole run (validated), ``done`` the steps (ramp and production) it made so far,
    ``segment`` the number of the new part (1 for the first continuation). The new part starts from the last frame
    with its velocities: a ramp goes on from the temperature it had reached, the production runs the steps left, and
    the part of the equilibration not yet made is left out of its averages. The seed changes, so that Langevin noise
    is not replayed; the blow-up limit stays that of the whole run. None if nothing remains.
    """
    ramp, steps, equilibration = parameters['ramp_steps'], parameters['steps'], parameters['equilibration_steps']
    if done >= ramp + steps:
        return None
    final = float(parameters['temperature'])
    start = final if parameters['initial_temperature'] is None else float(parameters['initial_temperature'])
    continued = {**parameters, 'seed': parameters['seed'] + segment, 'max_temperature': max_temperature(parameters)}
    if done < ramp:
        continued.update(ramp_steps=ramp - done, initial_temperature=start + (final - start) * done / ramp)
    else:
        production = done - ramp
        continued.update(
            ramp_steps=0,
            steps=steps - production,
            equilibration_steps=max(0, equilibration - production),
            initial_temperature=None,
        )
    return continued


def join_records(records: list[dict], offsets: list[int]) -> dict:
    """Join the per-step records (thermo, samples or model deviation) of consecutive parts of one run.

    ``offsets``: the steps made before each part. Steps are shifted by them; a later part's records at its own step
    0 repeat the state the previous part ended in and are dropped. Every array keeps its dtype and trailing shape.
    """
    joined: dict[str, list] = {key: [] for key in records[0]}
    for index, (record, offset) in enumerate(zip(records, offsets, strict=True)):
        steps = np.asarray(record['step'])
        keep = steps > 0 if index else np.ones(len(steps), dtype=bool)
        for key in joined:
            values = np.asarray(record[key])[keep]
            joined[key].append(values + offset if key == 'step' else values)
    return {key: np.concatenate(parts) for key, parts in joined.items()}


class _Recorder:
    """Collects the thermo record, the sampled frames and their model deviation of one run."""

    def __init__(self, atoms: Atoms, timestep_fs: float, ensemble_calculators: list, stress_in_frames: bool):
        self.rows: dict[str, list] = {key: [] for key in THERMO_UNITS}
        self.samples: list[Atoms] = []
        self.deviation: dict[str, list] = {'step': [], **{key: [] for key in DEVIATION_COLUMNS}}
        self.timestep = timestep_fs
        self.ensemble = ensemble_calculators
        self.stress_in_frames = stress_in_frames
        self.dof = degrees_of_freedom(atoms)

    def record(self, atoms: Atoms, step: int, conserved: float) -> float:
        """Append one thermo row; return the temperature (K)."""
        potential = float(atoms.get_potential_energy())
        kinetic = float(atoms.get_kinetic_energy())
        stress = np.array(atoms.get_stress(voigt=True, include_ideal_gas=True)) / units.GPa
        lengths, angles = cell_lengths_and_angles(atoms.cell)
        current = temperature(kinetic, self.dof)
        row = {
            'step': step,
            'time': step * self.timestep / 1000.0,
            'temperature': current,
            'potential_energy': potential,
            'kinetic_energy': kinetic,
            'total_energy': potential + kinetic,
            'conserved_energy': conserved,
            'pressure': -float(np.mean(stress[:3])),
            'stress': stress,
            'cell_lengths': lengths,
            'cell_angles': angles,
            'volume': float(atoms.get_volume()),
        }
        for key, value in row.items():
            self.rows[key].append(value)
        if not (np.isfinite(potential) and np.all(np.isfinite(atoms.get_forces()))):
            raise TaskFailedError('nan', f'the potential returned a non-finite energy or force at step {step}')
        return current

    def sample(self, atoms: Atoms, step: int, current_temperature: float) -> None:
        """Keep a copy of the current frame with its own results, and the ensemble's deviation on it."""
        frame = atoms.copy()
        frame.set_constraint()
        frame.info = {'step': step, 'time': step * self.timestep / 1000.0, 'temperature': current_temperature}
        results = {'energy': float(atoms.get_potential_energy()), 'forces': np.array(atoms.get_forces())}
        if self.stress_in_frames and all(atoms.pbc):
            results['stress'] = np.array(atoms.get_stress(voigt=True))
        frame.calc = SinglePointCalculator(frame, **results)
        self.samples.append(frame)
        if self.ensemble:
            energies, forces, virials = [results['energy']], [results['forces']], [_virial(atoms)]
            for calculator in self.ensemble:
                probe = frame.copy()
                probe.calc = calculator
                energies.append(probe.get_potential_energy())
                forces.append(probe.get_forces())
                virials.append(_virial(probe))
            stressless = any(virial is None for virial in virials)
            values = model_deviation(energies, np.array(forces), None if stressless else np.array(virials))
            self.deviation['step'].append(step)
            for key, value in values.items():
                self.deviation[key].append(value)

    def trajectory(self) -> Trajectory:
        """Return the record as arrays."""
        thermo = {key: np.array(values, dtype=float) for key, values in self.rows.items()}
        thermo['step'] = thermo['step'].astype(int)
        deviation = None
        if self.ensemble:
            deviation = {key: np.array(values, dtype=float) for key, values in self.deviation.items()}
            deviation['step'] = deviation['step'].astype(int)
        return Trajectory(thermo, self.samples, deviation)


def _virial(atoms: Atoms) -> np.ndarray | None:
    from ase.calculators.calculator import PropertyNotImplementedError

    if not all(atoms.pbc):
        return None
    try:
        return -np.array(atoms.get_stress(voigt=False)) * atoms.get_volume()
    except PropertyNotImplementedError:
        return None


def _integrator(atoms: Atoms, parameters: dict, target: float, rng: np.random.Generator):
    """Return the ASE integrator of the ensemble at temperature ``target`` (K)."""
    from ase.md.langevin import Langevin
    from ase.md.nose_hoover_chain import MaskedMTKNPT, NoseHooverChainNVT
    from ase.md.verlet import VelocityVerlet

    timestep = parameters['timestep'] * units.fs
    tdamp = parameters['thermostat_damping'] * units.fs
    ensemble = parameters['ensemble']
    if ensemble == 'nve':
        return VelocityVerlet(atoms, timestep=timestep)
    if ensemble == 'nvt_langevin':
        return Langevin(atoms, timestep=timestep, temperature_K=target, friction=1.0 / tdamp, fixcm=True, rng=rng)
    if ensemble == 'nvt_nose_hoover':
        return NoseHooverChainNVT(atoms, timestep=timestep, temperature_K=target, tdamp=tdamp)
    return MaskedMTKNPT(
        atoms,
        timestep=timestep,
        temperature_K=target,
        pressure_au=parameters['pressure'] * units.GPa,
        tdamp=tdamp,
        pdamp=parameters['barostat_damping'] * units.fs,
        mask=(True, True, True),
    )


def _conserved(integrator, atoms: Atoms, ensemble: str) -> float:
    if ensemble == 'nve':
        return float(atoms.get_potential_energy() + atoms.get_kinetic_energy())
    if hasattr(integrator, 'get_conserved_energy'):
        return float(integrator.get_conserved_energy())
    return float('nan')


def run_md(atoms: Atoms, context: TaskContext, parameters: dict) -> tuple[Atoms, dict[str, Any], Trajectory]:
    """Run one MD simulation; return the last frame (owning its results), a summary and the trajectory.

    The velocities are drawn from Maxwell-Boltzmann at ``initial_temperature``, or kept as given if the structure's
    ``info`` has ``given_velocities`` (a run continued from the last frame of another). The last frame keeps its
    velocities.

    The run stops early, keeping what it recorded, at a temperature blow-up (``status: temperature``) or when the
    job runs out of time (``status: walltime``); otherwise ``status: completed``.
    """
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    atoms = atoms.copy()
    atoms.calc = context.calculator()
    apply_constraints(atoms, parameters['constraints'])
    rng = np.random.default_rng(parameters['seed'])
    final_temperature = float(parameters['temperature'])
    start_temperature = parameters['initial_temperature']
    start_temperature = final_temperature if start_temperature is None else float(start_temperature)
    if atoms.info.get('given_velocities'):
        pass  # a continued run: the velocities of the last frame of the previous one, as they were
    elif start_temperature > 0:
        MaxwellBoltzmannDistribution(atoms, temperature_K=start_temperature, rng=rng)
        Stationary(atoms)
    else:
        atoms.set_momenta(np.zeros((len(atoms), 3)))

    recorder = _Recorder(
        atoms,
        parameters['timestep'],
        [factory() for factory in context.ensemble],
        parameters['stress_in_frames'],
    )
    interval, frames = parameters['thermo_interval'], parameters['frame_interval']
    ramp, total = parameters['ramp_steps'], parameters['ramp_steps'] + parameters['steps']
    hottest = max_temperature(parameters)
    ensemble = parameters['ensemble']

    step, status = 0, 'completed'
    integrator = _integrator(atoms, parameters, start_temperature if ramp else final_temperature, rng)
    current = recorder.record(atoms, 0, _conserved(integrator, atoms, ensemble))
    if frames:
        recorder.sample(atoms, 0, current)
    while step < total:
        count = min(interval - step % interval, total - step)
        if step < ramp:
            count = min(count, ramp - step)
            target = start_temperature + (final_temperature - start_temperature) * (step + count / 2) / ramp
            integrator = _retarget(integrator, atoms, parameters, target, rng)
        elif step == ramp and ramp:
            integrator = _retarget(integrator, atoms, parameters, final_temperature, rng)
        integrator.run(count)
        step += count
        if step % interval == 0 or step == total:
            current = recorder.record(atoms, step, _conserved(integrator, atoms, ensemble))
            if frames and step % frames == 0:
                recorder.sample(atoms, step, current)
            if current > hottest:
                status = 'temperature'
                break
            # Out of time only on a sampled step (so a continuation samples at the run's own steps), and never at
            # the end: a run that made every step is complete, whatever the clock says.
            if step < total and step % (frames or interval) == 0 and context.out_of_time():
                status = 'walltime'
                break

    trajectory = recorder.trajectory()
    final = atoms.copy()
    final.set_constraint()
    final.calc = atoms.calc
    summary = evaluate(final)
    summary.update(
        status=status,
        steps_completed=int(step),
        production_steps=int(max(0, step - ramp)),
        max_temperature=hottest,
        averages=thermo_averages(trajectory.thermo, ramp + parameters['equilibration_steps']),
    )
    return final, summary, trajectory


def _retarget(integrator, atoms: Atoms, parameters: dict, target: float, rng: np.random.Generator):
    """Return an integrator at the new target temperature: Langevin changes its target, the others are rebuilt.

    Rebuilding a Nose-Hoover integrator resets its thermostat variables, which is harmless during a ramp of small
    steps; the production run gets a fresh one.
    """
    if parameters['ensemble'] == 'nvt_langevin':
        integrator.set_temperature(temperature_K=target)
        return integrator
    return _integrator(atoms, parameters, target, rng)


def md(structures: list[Atoms], context: TaskContext, parameters: dict) -> TaskOutput:
    """Run MD from every structure, one after the other."""
    frames, summaries, trajectories = [], [], []
    for atoms in structures:
        final, summary, trajectory = run_md(atoms, context, parameters)
        frames.append(final)
        summaries.append(summary)
        trajectories.append(trajectory)
    return TaskOutput(frames, summaries, trajectories)


TASK = Task(
    'md',
    md,
    'trajectory',
    PARAMETERS,
    'Molecular dynamics (NVE, NVT Langevin or Nose-Hoover chain, NPT with an orthorhombic box) from every structure, '
    'with a thermo record, sampled frames and, given an ensemble, their model deviation.',
    check=_check,
    check_structures=_check_structures,
    uses_ensemble=True,
)
