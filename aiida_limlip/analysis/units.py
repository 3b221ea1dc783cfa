"""Unit conversions used across the package (ASE's metal units: eV, Å, eV/Å^3)."""

from ase import units

#: 1 eV/Å^3 in GPa.
EV_PER_ANGSTROM3_TO_GPA: float = 1.0 / units.GPa

#: 1 kbar in GPa.
KBAR_TO_GPA: float = 0.1
