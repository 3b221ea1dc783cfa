"""Seed structures of the paper's data set (science spec, section 2), deterministic for a given random seed.

Configuration classes: ``bulk`` (bcc, fcc, hcp), ``strained`` (random cell strains), ``rattled`` (random
displacements), ``vacancy``, ``interstitial`` (bcc tetrahedral site), ``surface`` ((100), (110), (111) slabs with
vacuum) and ``adatom`` (a slab with adatoms in hollow sites at several coverages).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.build import add_adsorbate, bcc100, bcc110, bcc111, bulk

from ..utils import settings_from_dict

CONFIG_CLASSES = ('bulk', 'strained', 'rattled', 'vacancy', 'interstitial', 'surface', 'adatom')
SLAB_BUILDERS = {'100': bcc100, '110': bcc110, '111': bcc111}
MAX_ATOMS = 128
#: Height (Å) of an adatom above a hollow site, chosen so its nearest neighbours sit near the bulk 2.97 Å.
ADATOM_HEIGHTS = {'100': 1.6, '110': 2.0, '111': 1.0}


@dataclass
class SeedSettings:
    """What to generate; lengths in Å, strains dimensionless.

    The defaults give a small, diverse set (about 20 structures, all <= 54 atoms) suitable for tests; the
    protocols of the labelling work chain scale it up to the paper's sizes (<= 128 atoms).
    """

    lattice_constant: float = 3.434
    bulk_phases: list[str] = field(default_factory=lambda: ['bcc', 'fcc', 'hcp'])
    bulk_repeat: int = 2
    strained_count: int = 3
    strain_max: float = 0.03
    rattled_count: int = 3
    rattle_stdev: float = 0.05
    defect_repeat: int = 3
    surfaces: list[str] = field(default_factory=lambda: ['100', '110', '111'])
    slab_size: tuple[int, int, int] = (2, 2, 5)
    vacuum: float = 6.0
    adatom_coverages: list[int] = field(default_factory=lambda: [1, 2])
    max_atoms: int = MAX_ATOMS

    @classmethod
    def from_dict(cls, data: dict) -> SeedSettings:
        """Build settings from a dictionary, rejecting unknown keys."""
        settings = settings_from_dict(cls, data, 'seed')
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ``ValueError`` for impossible settings."""
        bad = sorted(set(self.surfaces) - set(SLAB_BUILDERS))
        if bad:
            raise ValueError(f'unsupported surface(s) {bad}; choose from {", ".join(SLAB_BUILDERS)}')
        bad = sorted(set(self.bulk_phases) - {'bcc', 'fcc', 'hcp'})
        if bad:
            raise ValueError(f'unsupported bulk phase(s) {bad}; choose from bcc, fcc, hcp')
        if self.defect_repeat < 0 or self.defect_repeat == 1:
            raise ValueError(f'defect_repeat must be 0 (no defect seeds) or at least 2, got {self.defect_repeat}')
        if self.lattice_constant <= 0 or self.vacuum < 0 or self.strain_max < 0 or self.rattle_stdev < 0:
            raise ValueError('lattice_constant must be positive; vacuum, strain_max and rattle_stdev non-negative')


def _bulk_phase(phase: str, a_bcc: float) -> Atoms:
    """Return a conventional cell of ``phase`` with the volume per atom of bcc at ``a_bcc``."""
    volume = a_bcc**3 / 2
    if phase == 'bcc':
        return bulk('Li', 'bcc', a=a_bcc, cubic=True)
    if phase == 'fcc':
        return bulk('Li', 'fcc', a=(4 * volume) ** (1 / 3), cubic=True)
    c_over_a = np.sqrt(8 / 3)
    a = (2 * volume / (np.sqrt(3) / 2 * c_over_a)) ** (1 / 3)
    return bulk('Li', 'hcp', a=a, c=a * c_over_a)


def _slab(facet: str, settings: SeedSettings) -> Atoms:
    slab = SLAB_BUILDERS[facet]('Li', size=settings.slab_size, a=settings.lattice_constant, vacuum=settings.vacuum)
    slab.pbc = True  # plane-wave codes need 3D periodicity; the vacuum separates the images
    return slab


def generate_seeds(settings: SeedSettings, seed: int = 0) -> list[tuple[str, str, Atoms]]:
    """Return ``(label, config_class, atoms)`` for every seed structure, in a fixed order.

    Raises
    ------
    ValueError
        If a structure would exceed ``settings.max_atoms``.
    """
    rng = np.random.default_rng(seed)
    a = settings.lattice_constant
    seeds: list[tuple[str, str, Atoms]] = []

    for phase in settings.bulk_phases:
        seeds.append((f'bulk_{phase}', 'bulk', _bulk_phase(phase, a).repeat(settings.bulk_repeat)))

    reference = bulk('Li', 'bcc', a=a, cubic=True).repeat(settings.bulk_repeat)
    for index in range(settings.strained_count):
        strained = reference.copy()
        strain = rng.uniform(-settings.strain_max, settings.strain_max, (3, 3))
        strained.set_cell(strained.cell @ (np.eye(3) + (strain + strain.T) / 2), scale_atoms=True)
        seeds.append((f'strained_{index}', 'strained', strained))
    for index in range(settings.rattled_count):
        rattled = reference.copy()
        rattled.positions += rng.normal(0.0, settings.rattle_stdev, rattled.positions.shape)
        seeds.append((f'rattled_{index}', 'rattled', rattled))

    if settings.defect_repeat:  # 0: no defect seeds (the smallest test sets)
        supercell = bulk('Li', 'bcc', a=a, cubic=True).repeat(settings.defect_repeat)
        vacancy = supercell.copy()
        del vacancy[0]
        seeds.append(('vacancy', 'vacancy', vacancy))
        interstitial = supercell.copy()
        # Tetrahedral site of bcc, (1/2, 1/4, 0): a*sqrt(5)/4 = 1.92 Å from its 4 neighbours, against a/2 = 1.72 Å
        # from 2 neighbours at the octahedral site; MD from the seed explores the rest.
        interstitial.append('Li')
        interstitial.positions[-1] = np.array([0.5, 0.25, 0.0]) * a
        seeds.append(('interstitial', 'interstitial', interstitial))

    for facet in settings.surfaces:
        seeds.append((f'surface_{facet}', 'surface', _slab(facet, settings)))
        for coverage in settings.adatom_coverages:
            slab = SLAB_BUILDERS[facet]('Li', size=settings.slab_size, a=a, vacuum=settings.vacuum)
            # Hollow sites of different surface cells, filled one after another.
            nx, ny, _ = settings.slab_size
            for site in range(coverage):
                offset = slab.cell[0] * (site % nx) / nx + slab.cell[1] * (site // nx % ny) / ny
                add_adsorbate(slab, 'Li', height=ADATOM_HEIGHTS[facet], position='hollow', offset=None)
                slab.positions[-1, :2] += offset[:2]
            slab.center(vacuum=settings.vacuum, axis=2)
            slab.pbc = True
            slab.wrap()
            seeds.append((f'adatom_{facet}_{coverage}', 'adatom', slab))

    for label, _, atoms in seeds:
        if len(atoms) > settings.max_atoms:
            raise ValueError(f'seed `{label}` has {len(atoms)} atoms, more than max_atoms={settings.max_atoms}')
    return seeds
