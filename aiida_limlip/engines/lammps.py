"""LAMMPS as an MD engine: the input it needs and the records it writes, in the runner's units and frame (no AiiDA).

``write_input`` turns a structure, a potential specification and the parameters of the runner's ``md`` task into a
LAMMPS data file and script; the ``read_*`` functions turn what LAMMPS wrote back into the runner's thermo record,
frames and model deviation, so both MD engines give the same nodes.

LAMMPS keeps the first cell vector along x and the second in the xy plane. A cell that is not of that form is
rotated into it (``rotation``, an orthogonal matrix: positions_lammps = positions @ rotation); every vector and
tensor read back is rotated into the frame of the input structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from ..runner.calculators import lammps_commands
from ..runner.md import max_temperature

DATA_FILE = 'structure.data'
SCRIPT_FILE = 'input.in'
STDOUT_FILE = 'lammps.out'
THERMO_FILE = 'thermo.dat'
SAMPLES_FILE = 'samples.dat'
DUMP_FILE = 'frames.dump'
FINAL_DUMP_FILE = 'final.dump'
FINAL_FILE = 'final.dat'
FINAL_VELOCITIES_FILE = 'final_velocities.dump'
DEVIATION_FILE = 'model_devi.out'
RESTART_FILE = 'restart.*.lammps'
#: bar (LAMMPS metal units) in GPa.
BAR = 1e-4
#: Quantities of the thermo file, in order, and their LAMMPS thermo keyword.
THERMO_KEYWORDS = (
    ('step', 'step'),
    ('temperature', 'temp'),
    ('potential_energy', 'pe'),
    ('kinetic_energy', 'ke'),
    ('total_energy', 'etotal'),
    ('conserved_energy', 'econserve'),
    ('pressure', 'press'),
    *((f'p{component}', f'p{component}') for component in ('xx', 'yy', 'zz', 'yz', 'xz', 'xy')),
    *((key, key) for key in ('lx', 'ly', 'lz', 'xy', 'xz', 'yz', 'vol')),
)
#: Per-atom columns of the frame dumps: the interatomic forces as stored by ``fix store/force`` before any
#: thermostat adds its own (the dump's ``fx`` would include Langevin's friction and noise).
DUMP_COLUMNS = 'id type x y z f_limlip_forces[1] f_limlip_forces[2] f_limlip_forces[3]'
#: Order of the 6 components of a LAMMPS ``compute pressure`` vector: xx, yy, zz, xy, xz, yz.
COMPUTE_PRESSURE_ORDER = ('xx', 'yy', 'zz', 'xy', 'xz', 'yz')


@dataclass
class LammpsInput:
    """The files of a LAMMPS MD job and the rotation from the structure's frame into LAMMPS's."""

    script: str
    data: str
    rotation: np.ndarray


def lammps_frame(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the cell in LAMMPS's lower-triangular form and the rotation into it (``cell @ rotation``)."""
    cell = np.asarray(cell, dtype=float)
    q, r = np.linalg.qr(cell.T)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    rotation = q * signs
    lower = cell @ rotation
    lower[np.abs(lower) < 1e-12] = 0.0
    return lower, rotation


def write_data(
    atoms: Atoms, species: list[str], rotation: np.ndarray, lower: np.ndarray, velocities: np.ndarray | None = None
) -> str:
    """Return a LAMMPS data file (atom style atomic) with atom types in the order of ``species``.

    ``velocities`` (Å/fs, input frame), if given, go into its ``Velocities`` section (Å/ps, LAMMPS frame).
    """
    (ax, _, _), (bx, by, _), (cx, cy, cz) = lower
    lines = [
        'LAMMPS data file written by aiida-limlip',
        '',
        f'{len(atoms)} atoms',
        f'{len(species)} atom types',
        '',
        f'0.0 {ax:.16g} xlo xhi',
        f'0.0 {by:.16g} ylo yhi',
        f'0.0 {cz:.16g} zlo zhi',
    ]
    if any(abs(value) > 1e-12 for value in (bx, cx, cy)):
        lines.append(f'{bx:.16g} {cx:.16g} {cy:.16g} xy xz yz')
    lines += ['', 'Masses', '']
    lines += [f'{index + 1} {atomic_masses[atomic_numbers[symbol]]:.8g}' for index, symbol in enumerate(species)]
    lines += ['', 'Atoms # atomic', '']
    positions = atoms.positions @ rotation
    types = [species.index(symbol) + 1 for symbol in atoms.get_chemical_symbols()]
    lines += [
        f'{index + 1} {kind} {x:.16g} {y:.16g} {z:.16g}'
        for index, (kind, (x, y, z)) in enumerate(zip(types, positions, strict=True))
    ]
    if velocities is not None:
        rotated = np.asarray(velocities, dtype=float) @ rotation * 1000.0  # Å/fs -> Å/ps
        lines += ['', 'Velocities', '']
        lines += [f'{index + 1} {vx:.16g} {vy:.16g} {vz:.16g}' for index, (vx, vy, vz) in enumerate(rotated)]
    return '\n'.join(lines) + '\n'


def pair_commands(
    spec: dict, ensemble: list[dict], potential_dir: str, ensemble_dirs: list[str], every: int
) -> list[str]:
    """Return the ``pair_style`` and ``pair_coeff`` lines; an ensemble of DeePMD models writes its model deviation."""
    if not ensemble:
        return lammps_commands(spec, potential_dir, relative=True)
    models = [f'{potential_dir}/{spec["files"][0]}'] + [
        f'{directory}/{model["files"][0]}' for model, directory in zip(ensemble, ensemble_dirs, strict=True)
    ]
    return [
        f'pair_style deepmd {" ".join(models)} out_freq {every} out_file {DEVIATION_FILE}',
        f'pair_coeff * * {" ".join(spec["species"])}',
    ]


def _thermostat_fixes(parameters: dict, start: float, stop: float) -> list[str]:
    """Return the integration fixes of the ensemble, ramping the target temperature from ``start`` to ``stop``."""
    ensemble = parameters['ensemble']
    tdamp = parameters['thermostat_damping'] / 1000.0  # fs -> ps
    seed = parameters['seed'] + 1  # LAMMPS seeds must be positive
    if ensemble == 'nve':
        return ['fix limlip_integrate all nve']
    if ensemble == 'nvt_langevin':
        return [
            'fix limlip_integrate all nve',
            f'fix limlip_thermostat all langevin {start:.10g} {stop:.10g} {tdamp:.10g} {seed} zero yes tally yes',
        ]
    if ensemble == 'nvt_nose_hoover':
        return [f'fix limlip_integrate all nvt temp {start:.10g} {stop:.10g} {tdamp:.10g}']
    pressure = parameters['pressure'] / BAR  # GPa -> bar
    pdamp = parameters['barostat_damping'] / 1000.0
    return [
        f'fix limlip_integrate all npt temp {start:.10g} {stop:.10g} {tdamp:.10g} '
        f'aniso {pressure:.10g} {pressure:.10g} {pdamp:.10g}'
    ]


def write_input(
    atoms: Atoms,
    spec: dict,
    parameters: dict,
    ensemble: list[dict] | None = None,
    potential_dir: str = 'potential',
    ensemble_dirs: list[str] | None = None,
    max_seconds: float | None = None,
    velocities: np.ndarray | None = None,
) -> LammpsInput:
    """Return the LAMMPS data file and script of the runner ``md`` task's ``parameters`` (already validated).

    Parameters
    ----------
    atoms
        The structure.
    spec
        The potential specification (``PotentialData.to_runner_spec``), its files in ``potential_dir``.
    parameters
        Parameters of the runner's ``md`` task (K, fs, GPa).
    ensemble
        Specifications of further DeePMD models for the model deviation.
    potential_dir, ensemble_dirs
        Folders (relative to the job's) of the potential's and of each ensemble model's files.
    max_seconds
        The job's wall time (s): LAMMPS stops its runs at 90 % of it and the records written so far are kept.
    velocities
        Start velocities (Å/fs, one row per atom) instead of Maxwell-Boltzmann ones: a continued run.
    """
    ensemble = list(ensemble or [])
    lower, rotation = lammps_frame(atoms.cell)
    species = list(spec['species'])
    data = write_data(atoms, species, rotation, lower, velocities)
    thermo_every, frame_every = parameters['thermo_interval'], parameters['frame_interval']
    final_temperature = float(parameters['temperature'])
    start = parameters['initial_temperature']
    start = final_temperature if start is None else float(start)
    ramp = parameters['ramp_steps']

    variables = [f'variable limlip_{name} equal {keyword}' for name, keyword in THERMO_KEYWORDS]
    thermo_line = ' '.join(f'${{limlip_{name}}}' for name, _ in THERMO_KEYWORDS)
    header = '# ' + ' '.join(name for name, _ in THERMO_KEYWORDS)
    virial = ' '.join(f'${{limlip_virial_{index}}}' for index in range(1, 7))
    lines = [
        '# aiida-limlip: MD with the parameters of the runner task `md` (metal units: eV, Å, ps, bar, K)',
        'units metal',
        'atom_style atomic',
        'atom_modify map yes',
        'boundary p p p',
        f'read_data {DATA_FILE}',
        *pair_commands(spec, ensemble, potential_dir, list(ensemble_dirs or []), max(frame_every, 1)),
        'neighbor 1.0 bin',
        'neigh_modify every 1 delay 0 check yes',
        f'timestep {parameters["timestep"] / 1000.0:.10g}',
        'compute limlip_virial all pressure NULL virial',
        # Defined before the thermostats, so it keeps the interatomic forces only.
        'fix limlip_forces all store/force',
        *variables,
        *(f'variable limlip_virial_{index} equal c_limlip_virial[{index}]' for index in range(1, 7)),
        'thermo_style custom step temp pe etotal press vol',
        f'thermo {thermo_every}',
        'thermo_modify flush yes',
    ]
    if max_seconds:
        # Checked on sampled steps only, so a continuation's samples keep the run's own spacing.
        lines.append(f'timer timeout {max(1.0, 0.9 * max_seconds):.0f} every {frame_every or thermo_every}')
    if start > 0 and velocities is None:
        lines.append(f'velocity all create {start:.10g} {parameters["seed"] + 1} dist gaussian mom yes rot no')
    # Records of step 0: a run of 0 steps makes every quantity current.
    lines += [
        'run 0 post no',
        f'print "{header}" file {THERMO_FILE} screen no',
        f'print "{thermo_line}" append {THERMO_FILE} screen no',
        f'fix limlip_thermo all print {thermo_every} "{thermo_line}" append {THERMO_FILE} screen no',
        f'fix limlip_halt all halt {thermo_every} v_limlip_temperature > {max_temperature(parameters):.10g} '
        'error hard message yes',
    ]
    if frame_every:
        lines += [
            f'print "# step pe virial_pressure(xx yy zz xy xz yz)" file {SAMPLES_FILE} screen no',
            f'print "${{limlip_step}} ${{limlip_potential_energy}} {virial}" append {SAMPLES_FILE} screen no',
            f'fix limlip_samples all print {frame_every} "${{limlip_step}} ${{limlip_potential_energy}} {virial}" '
            f'append {SAMPLES_FILE} screen no',
            f'dump limlip_frames all custom {frame_every} {DUMP_FILE} {DUMP_COLUMNS}',
            'dump_modify limlip_frames sort id format float %20.15g',
        ]
    lines.append(f'restart {max(thermo_every * 100, 1000)} restart.a.lammps restart.b.lammps')
    if ramp:
        fixes = _thermostat_fixes(parameters, start, final_temperature)
        lines += [*fixes, f'run {ramp}', *(f'unfix {fix.split()[1]}' for fix in fixes)]
    lines += [*_thermostat_fixes(parameters, final_temperature, final_temperature), f'run {parameters["steps"]}']
    lines += [
        'run 0 post no',
        # The last step is recorded even off the thermo interval (as the ASE engine does), so a complete run is seen
        # as complete; a step recorded twice is read once.
        f'print "{thermo_line}" append {THERMO_FILE} screen no',
        f'write_dump all custom {FINAL_DUMP_FILE} {DUMP_COLUMNS} modify sort id format float %20.15g',
        f'write_dump all custom {FINAL_VELOCITIES_FILE} id vx vy vz modify sort id format float %20.15g',
        f'print "${{limlip_step}} ${{limlip_potential_energy}} {virial}" file {FINAL_FILE} screen no',
    ]
    return LammpsInput('\n'.join(lines) + '\n', data, rotation)


def _lammps_cell(lx, ly, lz, xy, xz, yz) -> np.ndarray:
    return np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])


def _stress_from_pressure(components: dict[str, float], rotation: np.ndarray) -> np.ndarray:
    """Return the stress (GPa, ASE sign, Voigt) in the input frame from LAMMPS pressure components (bar)."""
    tensor = np.empty((3, 3))
    for (i, j), name in zip(
        ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)), ('xx', 'yy', 'zz', 'yz', 'xz', 'xy'), strict=True
    ):
        tensor[i, j] = tensor[j, i] = -components[name] * BAR
    tensor = rotation @ tensor @ rotation.T
    return tensor[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]


def read_thermo(text: str, rotation: np.ndarray, timestep_fs: float) -> dict[str, np.ndarray]:
    """Return the thermo record (the runner's columns and units) from the thermo file LAMMPS wrote.

    A step recorded twice (at the end of the ramp and the start of the production run) is kept once.
    """
    from ..runner.md import cell_lengths_and_angles

    names = [name for name, _ in THERMO_KEYWORDS]
    rows = {}
    for line in text.splitlines():
        if line.startswith('#') or not line.strip():
            continue
        values = [float(value) for value in line.split()]
        if len(values) == len(names):
            rows[int(values[0])] = dict(zip(names, values, strict=True))
    steps = sorted(rows)
    thermo: dict[str, list] = {key: [] for key in ('step', 'time', 'temperature', 'potential_energy')}
    thermo.update({key: [] for key in ('kinetic_energy', 'total_energy', 'conserved_energy', 'pressure', 'stress')})
    thermo.update({key: [] for key in ('cell_lengths', 'cell_angles', 'volume')})
    for step in steps:
        row = rows[step]
        lengths, angles = cell_lengths_and_angles(
            _lammps_cell(row['lx'], row['ly'], row['lz'], row['xy'], row['xz'], row['yz'])
        )
        thermo['step'].append(step)
        thermo['time'].append(step * timestep_fs / 1000.0)
        for key in ('temperature', 'potential_energy', 'kinetic_energy', 'total_energy', 'conserved_energy'):
            thermo[key].append(row[key])
        thermo['pressure'].append(row['pressure'] * BAR)
        thermo['stress'].append(
            _stress_from_pressure({c: row[f'p{c}'] for c in ('xx', 'yy', 'zz', 'yz', 'xz', 'xy')}, rotation)
        )
        thermo['cell_lengths'].append(lengths)
        thermo['cell_angles'].append(angles)
        thermo['volume'].append(row['vol'])
    result = {key: np.array(values, dtype=float) for key, values in thermo.items()}
    result['step'] = result['step'].astype(int)
    return result


def read_dump(text: str, species: list[str], rotation: np.ndarray) -> list[tuple[int, Atoms]]:
    """Return ``(step, Atoms)`` of every snapshot of a dump of :data:`DUMP_COLUMNS`, in the input frame.

    The Atoms carry the forces (eV/Å) in ``arrays['forces']``; a step written twice is kept once (the last).
    """
    lines = text.splitlines()
    snapshots: dict[int, Atoms] = {}
    index = 0
    while index < len(lines):
        if not lines[index].startswith('ITEM: TIMESTEP'):
            index += 1
            continue
        step = int(lines[index + 1])
        count = int(lines[index + 3])
        bounds_header = lines[index + 4]
        bounds = [[float(value) for value in lines[index + 5 + k].split()] for k in range(3)]
        columns = lines[index + 8].split()[2:]
        table = np.array([[float(value) for value in line.split()] for line in lines[index + 9 : index + 9 + count]])
        index += 9 + count
        if 'xy' in bounds_header:
            (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = bounds
            xlo = xlo_b - min(0.0, xy, xz, xy + xz)
            xhi = xhi_b - max(0.0, xy, xz, xy + xz)
            ylo, yhi = ylo_b - min(0.0, yz), yhi_b - max(0.0, yz)
        else:
            (xlo, xhi), (ylo, yhi), (zlo, zhi) = bounds
            xy = xz = yz = 0.0
        cell = _lammps_cell(xhi - xlo, yhi - ylo, zhi - zlo, xy, xz, yz) @ rotation.T
        data = {name: table[:, column] for column, name in enumerate(columns)}
        origin = np.array([xlo, ylo, zlo])
        positions = (np.column_stack([data['x'], data['y'], data['z']]) - origin) @ rotation.T
        forces = table[:, -3:] @ rotation.T  # the last three columns: fx, fy, fz or the stored forces
        symbols = [species[int(kind) - 1] for kind in data['type']]
        atoms = Atoms(symbols, positions=positions, cell=cell, pbc=True)
        atoms.arrays['forces'] = forces
        snapshots[step] = atoms
    return sorted(snapshots.items())


def read_velocities(text: str, rotation: np.ndarray) -> np.ndarray:
    """Return the velocities (Å/fs, input frame, in atom order) of a one-snapshot dump of ``id vx vy vz``."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith('ITEM: ATOMS')) + 1
    count = int(lines[lines.index('ITEM: NUMBER OF ATOMS') + 1])
    table = np.array([[float(value) for value in line.split()] for line in lines[start : start + count]])
    table = table[np.argsort(table[:, 0])]
    return table[:, 1:4] @ rotation.T / 1000.0  # Å/ps -> Å/fs


def read_energies_and_virials(text: str, rotation: np.ndarray) -> dict[int, tuple[float, np.ndarray]]:
    """Return ``{step: (energy in eV, static stress in eV/Å^3, ASE sign, Voigt, input frame)}`` of the frames file."""
    from ase.units import GPa

    result = {}
    for line in text.splitlines():
        if line.startswith('#') or not line.strip():
            continue
        values = [float(value) for value in line.split()]
        components = dict(zip(COMPUTE_PRESSURE_ORDER, values[2:8], strict=True))
        result[int(values[0])] = (values[1], _stress_from_pressure(components, rotation) * GPa)
    return result


def read_deviation(text: str) -> dict[str, np.ndarray]:
    """Return the model deviation written by the ``deepmd`` pair style, one row per step (a repeated step once).

    Columns of ``model_devi.out``: step, max/min/avg_devi_v, max/min/avg_devi_f and (deepmd-kit >= 2.2) devi_e.
    """
    rows = {}
    for line in text.splitlines():
        if line.startswith('#') or not line.strip():
            continue
        values = [float(value) for value in line.split()]
        rows[int(values[0])] = values
    names = ['max_devi_v', 'min_devi_v', 'avg_devi_v', 'max_devi_f', 'min_devi_f', 'avg_devi_f', 'devi_e']
    steps = sorted(rows)
    result = {'step': np.array(steps, dtype=int)}
    for column, name in enumerate(names, start=1):
        result[name] = np.array([rows[step][column] if len(rows[step]) > column else np.nan for step in steps])
    return result
