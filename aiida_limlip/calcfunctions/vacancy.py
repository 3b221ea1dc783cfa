"""Vacancy supercells and the formation energy, with provenance."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..analysis.vacancy import size_convergence, vacancy_formation_energy, vacancy_supercells
from ..data.frame_set import FrameSetData
from .frames import frames_by_label
from .quantities import quantity


@calcfunction
def vacancy_structures(structure: orm.StructureData, sizes: orm.List) -> dict:
    """Return ``perfect_N`` and ``vacancy_N`` (N x N x N conventional cells, one atom removed) for every size."""
    outputs = {}
    for size in sizes.get_list():
        perfect, vacancy = vacancy_supercells(structure.get_ase(), int(size))
        outputs[f'perfect_{size}'] = orm.StructureData(ase=perfect)
        outputs[f'vacancy_{size}'] = orm.StructureData(ase=vacancy)
    return outputs


@calcfunction
def vacancy_energies(frames: FrameSetData, sizes: orm.List) -> dict:
    """Return E_v per supercell size (eV) and the value of the largest size, with its change from the previous one."""
    by_label = frames_by_label(frames)
    sizes_list = sorted(int(size) for size in sizes.get_list())
    per_size = {}
    for size in sizes_list:
        perfect, vacancy = by_label[f'perfect_{size}'], by_label[f'vacancy_{size}']
        per_size[str(size)] = {
            'natoms': len(perfect),
            'formation_energy': vacancy_formation_energy(
                perfect.get_potential_energy(), len(perfect), vacancy.get_potential_energy()
            ),
        }
    energies = [per_size[str(size)]['formation_energy'] for size in sizes_list]
    value = energies[-1]
    results = {
        'vacancy_formation_energy': value,
        'supercell_size': sizes_list[-1],
        'natoms': per_size[str(sizes_list[-1])]['natoms'],
        'per_size': per_size,
        'size_convergence': size_convergence(sizes_list, energies),
        'units': {'vacancy_formation_energy': 'eV', 'size_convergence': 'eV', 'supercell_size': 'conventional cells'},
    }
    return {
        'results': orm.Dict(results),
        'vacancy_formation_energy': quantity(
            value,
            'eV',
            'vacancy_formation_energy',
            f'Vacancy formation energy ({len(by_label[f"perfect_{sizes_list[-1]}"])}-site cell)',
        ),
    }
