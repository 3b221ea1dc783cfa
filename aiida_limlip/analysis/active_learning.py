"""Active learning in the style of DP-GEN (no AiiDA): exploration schedule, selection by model deviation, convergence.

A frame explored by MD is *accurate* if the ensemble's maximum force deviation ``max_devi_f`` is below ``trust_lo``,
a *candidate* between ``trust_lo`` and ``trust_hi`` and *failed* at or above ``trust_hi`` (unphysical: not worth a DFT
label). At most ``max_candidates`` candidates are labelled per iteration, chosen by a seeded random draw as DP-GEN
does (the same seed and records give the same choice). The loop has converged when the accurate fraction of every
configuration class reaches ``accurate_threshold``; it stops there, or when no candidates remain.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..utils import settings_from_dict

VERDICTS = ('accurate', 'candidate', 'failed')
#: Classes whose cells hold vacuum: explored at constant volume, a barostat would collapse the vacuum.
SLAB_CLASSES = ('surface', 'adatom')


@dataclass
class SelectionSettings:
    """Trust levels (eV/Å on ``max_devi_f``), the cap per iteration, the seed and the convergence threshold."""

    trust_lo: float = 0.05
    trust_hi: float = 0.15
    max_candidates: int = 20
    seed: int = 1
    accurate_threshold: float = 0.9

    @classmethod
    def from_dict(cls, data: dict) -> SelectionSettings:
        """Build settings from a dictionary, rejecting unknown keys and impossible values.

        Raises
        ------
        ValueError
            For an unknown key, ``trust_lo >= trust_hi``, a negative trust level, a cap below 1 or a threshold
            outside (0, 1].
        """
        settings = settings_from_dict(cls, data, 'selection')
        if not 0.0 <= settings.trust_lo < settings.trust_hi:
            raise ValueError(
                f'trust levels must satisfy 0 <= trust_lo < trust_hi, got trust_lo={settings.trust_lo} and '
                f'trust_hi={settings.trust_hi} eV/Å'
            )
        if settings.max_candidates < 1:
            raise ValueError(f'max_candidates must be at least 1, got {settings.max_candidates}')
        if not 0.0 < settings.accurate_threshold <= 1.0:
            raise ValueError(f'accurate_threshold must lie in (0, 1], got {settings.accurate_threshold}')
        return settings

    def as_dict(self) -> dict:
        """Return the settings as a dictionary."""
        return asdict(self)


@dataclass
class ExplorationSettings:
    """The MD of an exploration: a temperature (K) x pressure (GPa) grid visited in blocks, and the run lengths."""

    temperatures: list[float] = field(default_factory=lambda: [50.0, 300.0, 450.0, 900.0])
    pressures: list[float] = field(default_factory=lambda: [0.0, 0.1, 1.0, 10.0])
    conditions_per_iteration: int = 4
    steps: int = 1000
    timestep: float = 1.0
    frame_interval: int = 50
    thermo_interval: int = 10
    structures_per_class: int = 1
    min_atoms: int = 0

    @classmethod
    def from_dict(cls, data: dict) -> ExplorationSettings:
        """Build settings from a dictionary, rejecting unknown keys and impossible values.

        Raises
        ------
        ValueError
            For an unknown key, an empty temperature or pressure grid, a temperature <= 0 K, or run lengths that
            sample no frame.
        """
        settings = settings_from_dict(cls, data, 'exploration')
        if not settings.temperatures:
            raise ValueError('the temperature grid is empty: give at least one temperature (K)')
        if not settings.pressures:
            raise ValueError('the pressure grid is empty: give at least one pressure (GPa)')
        if min(settings.temperatures) <= 0:
            raise ValueError(f'exploration temperatures must be above 0 K, got {settings.temperatures}')
        if settings.conditions_per_iteration < 1 or settings.structures_per_class < 1:
            raise ValueError('conditions_per_iteration and structures_per_class must be at least 1')
        if settings.frame_interval < 1 or settings.frame_interval > settings.steps:
            raise ValueError(
                f'frame_interval ({settings.frame_interval}) must lie between 1 and steps ({settings.steps})'
            )
        if settings.frame_interval % settings.thermo_interval:
            raise ValueError('frame_interval must be a multiple of thermo_interval')
        return settings

    def as_dict(self) -> dict:
        """Return the settings as a dictionary."""
        return asdict(self)

    @property
    def grid(self) -> list[tuple[float, float]]:
        """Every (temperature, pressure), from cold to hot and, at each temperature, from low to high pressure."""
        return list(itertools.product(sorted(self.temperatures), sorted(self.pressures)))

    @property
    def num_blocks(self) -> int:
        """Iterations it takes to visit the whole grid once."""
        return math.ceil(len(self.grid) / self.conditions_per_iteration)

    def conditions(self, iteration: int) -> list[tuple[float, float]]:
        """Return the (T, P) of ``iteration`` (0-based).

        The grid is visited in order, ``conditions_per_iteration`` at a time, as the paper's sequential runs (each
        step's data trains the models that explore the next, hotter and more compressed, conditions). Once every
        block has been visited, later iterations explore the whole grid, so convergence is judged everywhere.
        """
        if iteration < 0:
            raise ValueError(f'iteration must be >= 0, got {iteration}')
        grid = self.grid
        if iteration >= self.num_blocks:
            return grid
        size = self.conditions_per_iteration
        return grid[iteration * size : (iteration + 1) * size]


def md_parameters(
    settings: ExplorationSettings, temperature: float, pressure: float, constant_volume: bool, seed: int
) -> dict:
    """Return the runner ``md`` task parameters of one exploration run.

    Periodic orthorhombic bulk cells run NPT at ``pressure``. Slabs (a barostat would squeeze their vacuum) and
    non-orthorhombic cells (the runner's barostat keeps the box orthorhombic) run NVT (Langevin) with
    ``constant_volume``; their pressure is recorded as None.
    """
    parameters = {
        'ensemble': 'nvt_langevin' if constant_volume else 'npt',
        'temperature': float(temperature),
        'steps': settings.steps,
        'timestep': settings.timestep,
        'thermo_interval': settings.thermo_interval,
        'frame_interval': settings.frame_interval,
        'seed': seed,
        'stress_in_frames': False,
    }
    if not constant_volume:
        parameters['pressure'] = float(pressure)
    return parameters


def supercell_repeats(lengths: Sequence[float], natoms: int, min_atoms: int, slab: bool) -> tuple[int, int, int]:
    """Return how often to repeat a seed of ``natoms`` along its cell vectors to reach ``min_atoms`` for MD.

    Tiny cells make poor MD: the temperature of 2 atoms fluctuates by its own size and trips the blow-up guard, and
    the frames barely differ. The shortest repeated vector (Å, from ``lengths``) grows by one cell at a time, so a
    cell just under ``min_atoms`` is doubled once, not eight times (seen: a 15-atom vacancy cell became 120 atoms
    and its candidate frames needed 120-atom SCFs). Slabs grow only in plane (z holds the vacuum). ``min_atoms`` 0
    keeps the seed as it is.
    """
    repeats = [1, 1, 1]
    axes = (0, 1) if slab else (0, 1, 2)
    while natoms * math.prod(repeats) < min_atoms:
        axis = min(axes, key=lambda i: (lengths[i] * repeats[i], i))
        repeats[axis] += 1
    return tuple(repeats)


def classify(max_devi_f: Sequence[float], trust_lo: float, trust_hi: float) -> list[str]:
    """Return ``accurate``, ``candidate`` or ``failed`` for each frame's ``max_devi_f`` (eV/Å); NaN is failed."""
    verdicts = []
    for value in np.asarray(max_devi_f, dtype=float):
        if not np.isfinite(value) or value >= trust_hi:
            verdicts.append('failed')
        elif value < trust_lo:
            verdicts.append('accurate')
        else:
            verdicts.append('candidate')
    return verdicts


def _counts(verdicts: Sequence[str], deviations: Sequence[float]) -> dict:
    counts = {verdict: int(sum(v == verdict for v in verdicts)) for verdict in VERDICTS}
    total = sum(counts.values())
    counts['total'] = total
    counts['accurate_fraction'] = counts['accurate'] / total if total else None
    # The median deviation shows learning that the counts hide while every frame is still above trust_hi.
    finite = np.asarray(deviations, dtype=float)
    finite = finite[np.isfinite(finite)]
    counts['median_max_devi_f'] = float(np.median(finite)) if finite.size else None
    return counts


def select(records: Sequence[dict], settings: SelectionSettings) -> tuple[list[int], dict]:
    """Sort explored frames by their model deviation and choose the candidates to label.

    Parameters
    ----------
    records
        One per frame: ``max_devi_f`` (eV/Å), ``config_class``, ``temperature`` (K) and ``pressure`` (GPa or None).
    settings
        Trust levels, cap, seed and threshold.

    Returns
    -------
    tuple
        The indices (into ``records``, ascending) of the chosen candidates, and the statistics: counts, accurate
        fraction and median ``max_devi_f`` (eV/Å) overall, per class and per condition (``"T=300K P=0.1GPa"``,
        ``P=NVT`` for slabs), the number of candidates found and chosen, and whether the loop has converged.
    """
    verdicts = classify([r['max_devi_f'] for r in records], settings.trust_lo, settings.trust_hi)
    candidates = [index for index, verdict in enumerate(verdicts) if verdict == 'candidate']
    rng = np.random.default_rng(settings.seed)
    if len(candidates) > settings.max_candidates:
        chosen = sorted(int(i) for i in rng.choice(candidates, size=settings.max_candidates, replace=False))
    else:
        chosen = candidates
    by_class: dict[str, list[int]] = {}
    by_condition: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        by_class.setdefault(record['config_class'], []).append(index)
        by_condition.setdefault(condition_key(record['temperature'], record.get('pressure')), []).append(index)
    deviations = [record['max_devi_f'] for record in records]

    def counts(indices: Sequence[int]) -> dict:
        return _counts([verdicts[i] for i in indices], [deviations[i] for i in indices])

    statistics = {
        'overall': counts(range(len(records))),
        'classes': {name: counts(v) for name, v in sorted(by_class.items())},
        'conditions': {name: counts(v) for name, v in sorted(by_condition.items())},
        'candidates_found': len(candidates),
        'candidates_chosen': len(chosen),
        'settings': settings.as_dict(),
    }
    statistics['converged'] = is_converged(statistics, settings.accurate_threshold)
    statistics['stop_reason'] = stop_reason(statistics)
    return chosen, statistics


def condition_key(temperature: float, pressure: float | None) -> str:
    """Return the label of an MD condition, e.g. ``T=300K P=0.1GPa`` (``P=NVT`` at constant volume)."""
    return f'T={temperature:g}K P={"NVT" if pressure is None else f"{pressure:g}GPa"}'


def is_converged(statistics: dict, threshold: float) -> bool:
    """Whether the accurate fraction of every class reaches ``threshold``."""
    return bool(statistics['classes']) and all(
        (c['accurate_fraction'] or 0.0) >= threshold for c in statistics['classes'].values()
    )


def stop_reason(statistics: dict) -> str | None:
    """Why the loop stops after this exploration (``converged`` or ``no candidates``), or None to go on.

    Without candidates there is nothing to label: the loop stops, converged or not (all frames failed means the
    trust levels or the models need attention, which the statistics show).
    """
    if statistics['converged']:
        return 'converged'
    if statistics['candidates_found'] == 0:
        return 'no candidates'
    return None
