"""Birch-Murnaghan fit of an E-V grid, with provenance."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..analysis.eos import equilibrium_lattice_constant, fit_birch_murnaghan
from ..analysis.structures import scale_to_volume
from ..data.frame_set import FrameSetData
from .frames import frames_by_label
from .quantities import quantity


@calcfunction
def volume_scaled_structures(structure: orm.StructureData, volume_strains: orm.List) -> dict:
    """Return ``structure`` scaled isotropically to V = V_input (1 + strain), labelled ``volume_NN`` in order."""
    atoms = structure.get_ase()
    return {
        f'volume_{index:02d}': orm.StructureData(ase=scale_to_volume(atoms, atoms.get_volume() * (1.0 + strain)))
        for index, strain in enumerate(volume_strains.get_list())
    }


@calcfunction
def collect_eos_data(frames: FrameSetData) -> orm.ArrayData:
    """Return the E-V grid of evaluated ``volume_NN`` frames: ``volumes`` (Å^3), ``energies`` (eV), ``pressures``.

    One row, sorted by label; a frame without stress has a NaN pressure.
    """
    by_label = frames_by_label(frames)
    labels = sorted(label for label in by_label if label.startswith('volume_'))
    atoms = [by_label[label] for label in labels]
    pressures = [-float(np.mean(a.calc.results['stress'][:3])) if 'stress' in a.calc.results else np.nan for a in atoms]
    data = orm.ArrayData()
    data.set_array('volumes', np.array([[a.get_volume() for a in atoms]]))
    data.set_array('energies', np.array([[a.get_potential_energy() for a in atoms]]))
    data.set_array('pressures', np.array([pressures]))
    data.base.attributes.set('units', {'volumes': 'Å^3', 'energies': 'eV', 'pressures': 'eV/Å^3'})
    return data


@calcfunction
def fit_equation_of_state(eos_data: orm.ArrayData, structure: orm.StructureData) -> dict:
    """Fit the third-order Birch-Murnaghan equation of state to the first row of ``eos_data``.

    Parameters
    ----------
    eos_data
        Output ``arrays`` of a runner ``eos`` task: ``volumes`` (Å^3) and ``energies`` (eV) of ``structure``'s cell.
    structure
        The reference structure; its conventional lattice parameter is scaled to the fitted volume.
    """
    volumes = eos_data.get_array('volumes')[0]
    energies = eos_data.get_array('energies')[0]
    try:
        fit = fit_birch_murnaghan(volumes, energies)
    except (ValueError, RuntimeError) as exception:
        return ExitCode(411, f'the Birch-Murnaghan fit failed: {exception}')

    atoms = structure.get_ase()
    natoms = len(atoms)
    lattice_constant = equilibrium_lattice_constant(atoms, fit.v0)
    results = {
        'lattice_constant': lattice_constant,
        'bulk_modulus': fit.b0_gpa,
        'bulk_modulus_derivative': fit.b0_prime,
        'energy_per_atom': fit.e0 / natoms,
        'volume_per_atom': fit.v0 / natoms,
        'rms_residual_per_atom': fit.rms_residual / natoms,
        'number_of_points': len(volumes),
        'units': {
            'lattice_constant': 'Å',
            'bulk_modulus': 'GPa',
            'bulk_modulus_derivative': '1',
            'energy_per_atom': 'eV/atom',
            'volume_per_atom': 'Å^3/atom',
            'rms_residual_per_atom': 'eV/atom',
        },
    }
    equilibrium = orm.StructureData(ase=scale_to_volume(atoms, fit.v0))
    equilibrium.label = 'equilibrium_structure'
    return {
        'equilibrium_structure': equilibrium,
        'results': orm.Dict(results),
        'lattice_constant': quantity(lattice_constant, 'Å', 'lattice_constant', 'Equilibrium lattice constant a0'),
        'bulk_modulus': quantity(fit.b0_gpa, 'GPa', 'bulk_modulus', 'Bulk modulus B0 (Birch-Murnaghan)'),
        'bulk_modulus_derivative': quantity(fit.b0_prime, '1', 'bulk_modulus_derivative', "Pressure derivative B0'"),
        'energy_per_atom': quantity(fit.e0 / natoms, 'eV/atom', 'energy_per_atom', 'Equilibrium energy E0 per atom'),
    }
