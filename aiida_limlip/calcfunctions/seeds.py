"""Seed structures with provenance."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..structures.seeds import SeedSettings, generate_seeds


@calcfunction
def generate_seed_structures(settings: orm.Dict, seed: orm.Int) -> dict:
    """Return the seed structures (label to ``StructureData``) of :func:`aiida_limlip.structures.seeds.generate_seeds`.

    Each structure carries its configuration class in the attribute ``config_class`` and in its label.
    """
    structures = {}
    for label, config_class, atoms in generate_seeds(SeedSettings.from_dict(settings.get_dict()), seed.value):
        structure = orm.StructureData(ase=atoms)
        structure.base.attributes.set('config_class', config_class)
        structure.label = f'{config_class}: {label}'
        structures[label] = structure
    return structures
