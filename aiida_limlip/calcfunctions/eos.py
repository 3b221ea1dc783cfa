"""Birch-Murnaghan fit of an E-V grid, with provenance."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..analysis.eos import fit_birch_murnaghan
from ..analysis.structures import conventional_lattice_constant
from .quantities import quantity


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
        return ExitCode(400, f'the Birch-Murnaghan fit failed: {exception}')

    atoms = structure.get_ase()
    natoms = len(atoms)
    lattice_constant = conventional_lattice_constant(atoms) * (fit.v0 / atoms.get_volume()) ** (1.0 / 3.0)
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
    return {
        'results': orm.Dict(results),
        'lattice_constant': quantity(lattice_constant, 'Å', 'lattice_constant', 'Equilibrium lattice constant a0'),
        'bulk_modulus': quantity(fit.b0_gpa, 'GPa', 'bulk_modulus', 'Bulk modulus B0 (Birch-Murnaghan)'),
        'bulk_modulus_derivative': quantity(fit.b0_prime, '1', 'bulk_modulus_derivative', "Pressure derivative B0'"),
        'energy_per_atom': quantity(fit.e0 / natoms, 'eV/atom', 'energy_per_atom', 'Equilibrium energy E0 per atom'),
    }
