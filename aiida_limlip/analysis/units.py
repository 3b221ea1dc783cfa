"""Unit conversions used across the package (ASE's metal units: eV, Å, eV/Å^3)."""

from ase import units

#: 1 eV/Å^3 in GPa.
EV_PER_ANGSTROM3_TO_GPA: float = 1.0 / units.GPa

#: 1 eV/Å^2 in J/m^2 (surface energies).
EV_PER_ANGSTROM2_TO_J_PER_M2: float = units._e * 1e20

#: 1 kbar in GPa.
KBAR_TO_GPA: float = 0.1
