"""Equation-of-state fits.

The third-order Birch-Murnaghan form is fitted by non-linear least squares, started from a parabola through the
data, so that the fit is robust for any reasonable volume grid around the minimum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import curve_fit

from .units import EV_PER_ANGSTROM3_TO_GPA


@dataclass(frozen=True)
class BirchMurnaghanFit:
    """Result of a Birch-Murnaghan fit; energies in eV, volumes in Å^3, bulk modulus in GPa."""

    e0: float
    v0: float
    b0_gpa: float
    b0_prime: float
    rms_residual: float

    def as_dict(self) -> dict[str, float]:
        """Return the fit as a plain dictionary."""
        return asdict(self)


def birch_murnaghan_energy(
    volume: np.ndarray | float, e0: float, v0: float, b0: float, b0_prime: float
) -> np.ndarray | float:
    """Return the third-order Birch-Murnaghan energy.

    Parameters
    ----------
    volume
        Volume(s) in Å^3.
    e0, v0, b0, b0_prime
        Minimum energy (eV), equilibrium volume (Å^3), bulk modulus (eV/Å^3) and its pressure derivative.
    """
    eta = (v0 / np.asarray(volume)) ** (2.0 / 3.0) - 1.0
    return e0 + 9.0 * v0 * b0 / 16.0 * (eta**3 * b0_prime + eta**2 * (6.0 - 4.0 * (eta + 1.0)))


def fit_birch_murnaghan(volumes: np.ndarray, energies: np.ndarray) -> BirchMurnaghanFit:
    """Fit the third-order Birch-Murnaghan equation of state to E(V) points.

    Parameters
    ----------
    volumes
        Cell volumes in Å^3 (at least 5 distinct values).
    energies
        Total energies in eV, same length as ``volumes``.

    Returns
    -------
    BirchMurnaghanFit
        The fitted parameters, bulk modulus converted to GPa.

    Raises
    ------
    ValueError
        If there are too few points, or the minimum of the data lies on the edge of the volume grid (the grid does
        not bracket the equilibrium volume, so the fit would be an extrapolation).
    """
    volumes = np.asarray(volumes, dtype=float)
    energies = np.asarray(energies, dtype=float)
    if volumes.shape != energies.shape or volumes.ndim != 1:
        raise ValueError('volumes and energies must be one-dimensional arrays of the same length')
    if len(np.unique(volumes)) < 5:
        raise ValueError(f'need at least 5 distinct volumes for a Birch-Murnaghan fit, got {len(np.unique(volumes))}')

    order = np.argsort(volumes)
    volumes, energies = volumes[order], energies[order]
    imin = int(np.argmin(energies))
    if imin in (0, len(volumes) - 1):
        raise ValueError(
            'the lowest energy lies at the edge of the volume grid: the grid does not bracket the equilibrium volume'
        )

    a, b, c = np.polyfit(volumes, energies, 2)
    v0_guess = -b / (2.0 * a)
    b0_guess = 2.0 * a * v0_guess
    guess = (a * v0_guess**2 + b * v0_guess + c, v0_guess, b0_guess, 4.0)
    popt, _ = curve_fit(birch_murnaghan_energy, volumes, energies, p0=guess, maxfev=20000)
    e0, v0, b0, b0_prime = (float(x) for x in popt)
    residual = energies - birch_murnaghan_energy(volumes, *popt)
    return BirchMurnaghanFit(
        e0=e0,
        v0=v0,
        b0_gpa=b0 * EV_PER_ANGSTROM3_TO_GPA,
        b0_prime=b0_prime,
        rms_residual=float(np.sqrt(np.mean(residual**2))),
    )


def equilibrium_lattice_constant(atoms, volume: float) -> float:
    """Return the conventional lattice constant (Å) of ``atoms`` scaled isotropically to ``volume`` (Å^3).

    For a cubic lattice this is the edge of the cube of that volume per conventional cell, a = (V Z / N)^(1/3) with
    Z atoms per conventional cell, whatever small strain a relaxation left in the input cell; for other lattices, the
    conventional ``a`` scaled with the volume.
    """
    from .structures import conventional_standard_structure

    conventional = conventional_standard_structure(atoms)
    if conventional.lattice.is_orthogonal and np.allclose(conventional.lattice.abc, conventional.lattice.a, rtol=1e-3):
        return float((volume / len(atoms) * len(conventional)) ** (1.0 / 3.0))
    return float(conventional.lattice.a * (volume / atoms.get_volume()) ** (1.0 / 3.0))
